"""Field types shared by document schemas, and translation of schema errors for clerks.

Every schema field carries a Chinese ``title``; errors name the field by its path and title and the
rule it broke, and all offending fields are reported at once.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from yiyin.errors import FieldProblem, InvalidData
from yiyin.templates.codes import resident_id_problem, uscc_problem


def _uscc(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(f"统一社会信用代码 {problem}")
    return value


def _resident_id(value: str) -> str:
    problem = resident_id_problem(value)
    if problem:
        raise ValueError(f"公民身份号码 {problem}")
    return value


def _holder_code(value: str) -> str:
    """A party is a company or organ (统一社会信用代码) or a natural person (公民身份号码)."""
    looks_like_id = looks_like_resident_id(value)
    problem = resident_id_problem(value) if looks_like_id else uscc_problem(value)
    if problem:
        raise ValueError(f"{'公民身份号码' if looks_like_id else '统一社会信用代码'} {problem}")
    return value


def looks_like_resident_id(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit() and value[6:8] in ("18", "19", "20")


def holder_code_label(value: str) -> str:
    return "公民身份号码" if looks_like_resident_id(value) else "统一社会信用代码"


def _court(value: str) -> str:
    if not value.endswith("人民法院"):
        raise ValueError("must name a court, ending in 人民法院")
    return value


def _reconsideration_body(value: str) -> str:
    # Since the 2023 行政复议法 (第二十四条), the 行政复议机关 for acts of a county government's
    # departments, the bureau among them, is the county 人民政府.
    if not value.endswith("人民政府"):
        raise ValueError("must name the 行政复议机关: for the bureau's acts the county 人民政府 (行政复议法 第二十四条)")
    return value


def _no_control_chars(value: str) -> str:
    bad = [c for c in value if ord(c) < 0x20 and c not in "\n"]
    if bad:
        raise ValueError(f"contains control character U+{ord(bad[0]):04X}")
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


def problems_from(error: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    problems = []
    for e in error.errors(include_url=False):
        message = str(e["msg"]).removeprefix("Value error, ")
        problems.append(FieldProblem(field=label_of(model, tuple(e["loc"])) or "(data)", rule=e["type"], message=message))
    return problems


def validate_data(model: type[DocumentData], data: Any, context: str) -> DocumentData:
    """Validate ``data`` or raise :class:`InvalidData` listing every offending field."""
    if not isinstance(data, dict):
        raise InvalidData([FieldProblem("(data)", "type", f"must be a JSON object, got {type(data).__name__}")], context)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidData(problems_from(exc, model), context) from None


def check_period(start: date, end: date, start_field: str, end_field: str) -> None:
    if end <= start:
        raise ValueError(f"{end_field} ({end.isoformat()}) must be after {start_field} ({start.isoformat()})")


def years_after(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def check_validity(start: date, end: date, *, max_years: int, min_years: int = 0, rule: str = "") -> None:
    """A licence's 有效期: end after start, and within the years its rules allow (five years from
    2026-01-01 may be written to end on 2030-12-31 or on 2031-01-01, as issuing offices do)."""
    check_period(start, end, "valid_from（有效期自）", "valid_until（有效期至）")
    because = f" ({rule})" if rule else ""
    latest = years_after(start, max_years)
    if end > latest:
        raise ValueError(f"valid_until（有效期至） may be at most {max_years} years after valid_from, i.e. {latest.isoformat()}{because}")
    if min_years:
        earliest = years_after(start, min_years) - timedelta(days=1)
        if end < earliest:
            raise ValueError(f"valid_until（有效期至） must be at least {min_years} years after valid_from, i.e. {earliest.isoformat()}{because}")


def no_repeats(values: list[Any], field: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{field} lists an entry twice")


__all__ = [
    "Court", "DocumentData", "Field", "HolderCode", "ReconsiderationBody", "holder_code_label", "LongText", "Phone", "ResidentID", "Text", "USCC",
    "check_period", "check_validity", "no_repeats", "validate_data", "years_after",
]
