"""Field types shared by document schemas, and translation of schema errors for clerks.

Every schema field carries a Chinese ``title``; errors name the field by its path and title and the
rule it broke, and all offending fields are reported at once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from yiyin.errors import FieldProblem, InvalidData, pydantic_message
from yiyin.templates.codes import resident_id_problem, uscc_problem


def _uscc(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(f"统一社会信用代码{problem}")
    return value


def _resident_id(value: str) -> str:
    problem = resident_id_problem(value)
    if problem:
        raise ValueError(f"公民身份号码{problem}")
    return value


def holder_code_problem(value: str) -> str | None:
    """Why ``value`` is neither a valid 统一社会信用代码 (a company or organ) nor a valid 公民身份号码
    (a natural person), judged by its shape; None when it is valid."""
    looks_like_id = looks_like_resident_id(value)
    problem = resident_id_problem(value) if looks_like_id else uscc_problem(value)
    return f"{'公民身份号码' if looks_like_id else '统一社会信用代码'}{problem}" if problem else None


def _holder_code(value: str) -> str:
    problem = holder_code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def looks_like_resident_id(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit() and value[6:8] in ("18", "19", "20")


def holder_code_label(value: str) -> str:
    return "公民身份号码" if looks_like_resident_id(value) else "统一社会信用代码"


def _court(value: str) -> str:
    if not value.endswith("人民法院"):
        raise ValueError("应填写人民法院的全称，以“人民法院”结尾")
    return value


def _reconsideration_body(value: str) -> str:
    # Since the 2023 行政复议法 (第二十四条), the 行政复议机关 for acts of a county government's
    # departments, the bureau among them, is the county 人民政府.
    if not value.endswith("人民政府"):
        raise ValueError("应填写行政复议机关：对本局的行政行为，为县级人民政府（行政复议法 第二十四条），以“人民政府”结尾")
    return value


def _no_control_chars(value: str) -> str:
    bad = [c for c in value if ord(c) < 0x20 and c not in "\n"]
    if bad:
        raise ValueError(f"含有不可见的控制字符 U+{ord(bad[0]):04X}，请删除后重新填写")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_control_chars)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_no_control_chars)]
USCC = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_uscc)]
ResidentID = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_resident_id)]
#: 统一社会信用代码 of a company or organ, or 公民身份号码 of a natural person, by its shape
HolderCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_holder_code)]
Court = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=60), AfterValidator(_court)]
ReconsiderationBody = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=60),
                                AfterValidator(_reconsideration_body)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9][0-9\-]{2,19}$")]


class DocumentData(BaseModel):
    """Base of every document type's data: strict about unknown fields so typos are caught."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def label_of(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """``field.sub[2]（中文名）`` for an error location."""
    path = ""
    title = ""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        path += ("." if path else "") + str(part)
        info = getattr(current, "model_fields", {}).get(part) if current is not None else None
        if info is not None:
            title = info.title or title
            annotation = info.annotation
            inner = getattr(annotation, "__args__", None)
            current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
            if current is None and inner:
                current = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        else:
            current = None
    return f"{path}（{title}）" if title else path


_NAMED = re.compile(r"^([a-z_][a-z0-9_]*(?:\[\d+\])?（[^）]+）)")


def problems_from(error: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    problems = []
    for e in error.errors(include_url=False):
        message = pydantic_message(e)
        field = label_of(model, tuple(e["loc"]))
        if not field:
            # a rule over several fields names the one to correct first: "deposit（质量保证金）应为…"
            named = _NAMED.match(message)
            field = named.group(1) if named else "（数据）"
        problems.append(FieldProblem(field=field, rule=e["type"], message=message))
    return problems


def validate_data(model: type[DocumentData], data: Any, context: str) -> DocumentData:
    """Validate ``data`` or raise :class:`InvalidData` listing every offending field."""
    if not isinstance(data, dict):
        raise InvalidData([FieldProblem("（数据）", "type", f"应为 JSON 对象，实为 {type(data).__name__}")], context)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidData(problems_from(exc, model), context) from None


def check_period(start: date, end: date, start_field: str, end_field: str) -> None:
    if end <= start:
        raise ValueError(f"{end_field}（{end.isoformat()}）应晚于 {start_field}（{start.isoformat()}）")


def years_after(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def check_validity(start: date, end: date, *, max_years: int, min_years: int = 0, rule: str = "") -> None:
    """A licence's 有效期: end after start, and within the years its rules allow (five years from
    2026-01-01 may be written to end on 2030-12-31 or on 2031-01-01, as issuing offices do)."""
    check_period(start, end, "valid_from（有效期自）", "valid_until（有效期至）")
    because = f"（{rule}）" if rule else ""
    latest = years_after(start, max_years)
    if end > latest:
        raise ValueError(f"valid_until（有效期至）最长为 valid_from（有效期自）后 {max_years} 年，即不晚于 {latest.isoformat()}{because}")
    if min_years:
        earliest = years_after(start, min_years) - timedelta(days=1)
        if end < earliest:
            raise ValueError(f"valid_until（有效期至）至少为 valid_from（有效期自）后 {min_years} 年，即不早于 {earliest.isoformat()}{because}")


def no_repeats(values: list[Any], field: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{field} 中有重复的项目")


__all__ = [
    "Court", "DocumentData", "Field", "HolderCode", "ReconsiderationBody", "holder_code_label", "LongText", "Phone", "ResidentID", "Text", "USCC",
    "check_period", "check_validity", "no_repeats", "validate_data", "years_after",
]
