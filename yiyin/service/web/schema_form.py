"""An HTML form generated from a document type's pydantic schema, and the form read back.

Each field becomes an input by its type: text, long text, date, number, a choice, a checkbox, a
list of lines (one entry per line) or, for nested structures, JSON. Labels are the fields'
Chinese titles; required fields are marked.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Literal

from annotated_types import MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from yiyin.errors import FieldProblem, InvalidData


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str          # text | textarea | date | number | select | checkbox | lines | json
    required: bool
    value: str
    options: tuple[str, ...] = ()
    error: str = ""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, optional) for ``X | None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _kind(annotation: Any, info: FieldInfo) -> tuple[str, tuple[str, ...]]:
    inner, _ = _unwrap(annotation)
    origin = typing.get_origin(inner)
    if origin is Literal:
        return "select", tuple(str(a) for a in typing.get_args(inner))
    if isinstance(inner, type) and issubclass(inner, Enum):
        return "select", tuple(str(m.value) for m in inner)
    if origin in (list, tuple, set):
        args = typing.get_args(inner)
        element = _unwrap(args[0])[0] if args else str
        if isinstance(element, type) and issubclass(element, BaseModel):
            return "json", ()
        return "lines", ()
    if isinstance(inner, type):
        if issubclass(inner, BaseModel) or inner is dict:
            return "json", ()
        if issubclass(inner, bool):
            return "checkbox", ()
        if issubclass(inner, date):
            return "date", ()
        if issubclass(inner, int):
            return "number", ()
    long = any(getattr(m, "max_length", 0) and m.max_length > 200 for m in info.metadata) or \
        any(isinstance(m, MaxLen) and m.max_length > 200 for m in info.metadata)
    return ("textarea" if long else "text"), ()


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if kind == "checkbox":
        return "on" if value else ""
    return str(value)


def form_fields(schema: type[BaseModel], values: dict[str, Any], problems: list[FieldProblem] | None = None) -> list[FormField]:
    errors: dict[str, str] = {}
    for p in problems or []:
        name = p.field.split("（")[0].split(".")[0].split("[")[0]
        errors[name] = f"{errors[name]}；{p.message}" if name in errors else p.message
    out = []
    for name, info in schema.model_fields.items():
        kind, options = _kind(info.annotation, info)
        out.append(FormField(name=name, label=info.title or name, kind=kind, required=info.is_required(),
                             value=_text(values.get(name), kind), options=options, error=errors.get(name, "")))
    return out


def read_form(schema: type[BaseModel], form: dict[str, str]) -> dict[str, Any]:
    """The submitted form as data for the schema; empty fields are left out so that defaults apply
    and missing required fields are reported by the schema itself."""
    data: dict[str, Any] = {}
    problems = []
    for name, info in schema.model_fields.items():
        kind, _ = _kind(info.annotation, info)
        raw = form.get(name, "")
        if kind == "checkbox":
            data[name] = raw == "on"
            continue
        raw = raw.strip()
        if not raw:
            continue
        if kind == "lines":
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif kind == "json":
            try:
                data[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(FieldProblem(f"{name}（{info.title or name}）", "json", f"不是有效的 JSON：第 {exc.lineno} 行 {exc.msg}"))
        else:
            data[name] = raw
    if problems:
        raise InvalidData(problems, "表单")
    return data
