"""The catalogue of approval items and combined matters: loading, importing, reading.

A catalogue file is JSON ``{"items": [...], "matters": [...]}`` (or a CSV of items). An item row
is either a whole item (code, name, category, legal basis, section, kind or time limit, organ,
transferred or delegated, licence it produces, materials) or, for an item already known, just its
code with the window's details (kind, materials, site inspection). Every row is checked before
anything is written; a file with any bad row is refused whole, with every bad row named.

The first-run samples (``samples/items.json``, then ``samples/matters.json``) only fill in what is
missing, so that an operator's own changes stay; ``yiyin catalog import`` replaces what it names.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import ConfigurationError, FieldProblem, InvalidData
from yiyin.registry import catalog
from yiyin.registry.cases import ITEM_KINDS, ItemProfile, Matter, MatterItem
from yiyin.registry.models import Delegation, Item, Organ
from yiyin.templates.fields import problems_from

CATEGORIES = ("行政许可", "行政确认", "行政给付", "行政裁决", "其他行政权力", "公共服务")


class MaterialRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, title="材料名称")
    required: bool = Field(default=True, title="必要材料")


class ItemRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z\-]+$", title="事项编码")
    name: str | None = Field(default=None, min_length=1, max_length=200, title="事项名称")
    category: Literal[CATEGORIES] | None = Field(default=None, title="事项类别")  # type: ignore[valid-type]
    legal_basis: str | None = Field(default=None, min_length=1, title="设定依据")
    section: str | None = Field(default=None, min_length=1, max_length=50, title="审批科室")
    kind: Literal["即办件", "一审一核件", "承诺件"] | None = Field(default=None, title="办件类型")
    time_limit_days: int | None = Field(default=None, ge=1, le=365, title="承诺时限（工作日）")
    licence_type: str | None = Field(default=None, title="核发证照")
    organ_id: str | None = Field(default=None, title="实施机关")
    mode: Literal["transferred", "delegated"] | None = Field(default=None, title="划转或委托")
    delegating_organ_id: str | None = Field(default=None, title="委托机关")
    materials: list[MaterialRow] | None = Field(default=None, title="申请材料")
    site_inspection: bool | None = Field(default=None, title="现场勘验")

    ITEM_FIELDS: ClassVar[tuple[str, ...]] = ("name", "category", "legal_basis", "section", "organ_id", "mode")

    def is_profile_only(self) -> bool:
        return all(getattr(self, f) is None for f in self.ITEM_FIELDS)


class StageRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50, title="阶段")
    lead_section: str = Field(min_length=1, max_length=50, title="阶段牵头科室")


class MatterItemRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, title="事项编码")
    stage: str = Field(default="", title="阶段")


class MatterRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-z\-]+$", title="编号")
    name: str = Field(min_length=1, max_length=200, title="名称")
    kind: Literal["一件事", "一个项目"] = Field(title="类型")
    lead_section: str = Field(min_length=1, max_length=50, title="牵头科室")
    stages: list[StageRow] = Field(default_factory=list, title="阶段")
    items: list[MatterItemRow] = Field(min_length=1, title="审批事项")


@dataclass(frozen=True)
class ImportResult:
    items: int
    profiles: int
    matters: int


def read_file(path: Path) -> dict[str, Any]:
    """A catalogue file as {"items": [...], "matters": [...]}; CSV files hold items only."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidData([FieldProblem(str(path), "readable", f"无法读取：{exc.strerror}")], "事项目录导入") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidData([FieldProblem(str(path), "utf8", "不是 UTF-8 编码的文本（请另存为 UTF-8 编码）")], "事项目录导入") from None
    if path.suffix.lower() == ".csv":
        return {"items": [_csv_row(r) for r in csv.DictReader(io.StringIO(text))], "matters": []}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidData([FieldProblem(str(path), "json", f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}")], "事项目录导入") from None
    if not isinstance(data, dict) or not ({"items", "matters"} & set(data)):
        raise InvalidData([FieldProblem(str(path), "shape", '须为含 "items"（事项）和/或 "matters"（一件事）的 JSON 对象')], "事项目录导入")
    return data


def _csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    """CSV cells are text: empty means absent, materials are separated by ；or ;, booleans are 是/否."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or not value.strip():
            continue
        value = value.strip()
        if key == "materials":
            out[key] = [{"name": m.strip()} for m in value.replace("；", ";").split(";") if m.strip()]
        elif key == "site_inspection":
            out[key] = value in ("是", "true", "1", "yes", "True")
        elif key == "time_limit_days":
            out[key] = int(value) if value.isdigit() else value
        else:
            out[key] = value
    return out


def _validate(data: dict[str, Any], session: Session) -> tuple[list[ItemRow], list[MatterRow]]:
    from yiyin.templates.catalog import DOCUMENT_TYPES
    from yiyin.templates.doctype import DocumentKind

    problems: list[FieldProblem] = []
    items: list[ItemRow] = []
    matters: list[MatterRow] = []
    for key, model, out in (("items", ItemRow, items), ("matters", MatterRow, matters)):
        rows = data.get(key, [])
        if not isinstance(rows, list):
            problems.append(FieldProblem(key, "list", "须为列表"))
            continue
        for i, row in enumerate(rows):
            try:
                out.append(model.model_validate(row))
            except ValidationError as exc:
                for p in problems_from(exc, model):
                    problems.append(FieldProblem(f"{key}[{i}].{p.field}", p.rule, p.message))
    organs = set(session.execute(select(Organ.id)).scalars())
    known = {code: name for code, name in session.execute(select(Item.code, Item.name))}
    licence_types = {k for k, t in DOCUMENT_TYPES.items() if t.kind == DocumentKind.licence}
    in_file: dict[str, ItemRow] = {}
    for i, row in enumerate(items):
        where = f"items[{i}]（{row.code}）"
        if row.code in in_file:
            problems.append(FieldProblem(where, "unique", "同一事项编码在文件中出现了两次"))
        in_file[row.code] = row
        if row.is_profile_only():
            if row.code not in known:
                problems.append(FieldProblem(where, "known_item", "不在事项目录中，须填写 name（事项名称）、category（事项类别）、legal_basis（设定依据）、"
                                             "section（审批科室）、organ_id（实施机关）和 mode（划转或委托）"))
            continue
        missing = [f for f in ItemRow.ITEM_FIELDS if getattr(row, f) is None]
        if missing:
            problems.append(FieldProblem(where, "required", f"缺少 {'、'.join(f'{f}（{ItemRow.model_fields[f].title}）' for f in missing)}"))
        if row.kind is None and row.time_limit_days is None:
            problems.append(FieldProblem(where, "time_limit", "请填写 kind（办件类型：即办件/一审一核件/承诺件）或 time_limit_days（承诺时限，工作日）"))
        if row.organ_id is not None and row.organ_id not in organs:
            problems.append(FieldProblem(f"{where}.organ_id", "known_organ", f"机关 {row.organ_id!r} 未登记"))
        if row.mode == "delegated":
            if not row.delegating_organ_id:
                problems.append(FieldProblem(f"{where}.delegating_organ_id", "required", "委托事项须填写委托机关（delegating_organ_id）"))
            elif row.delegating_organ_id not in organs:
                problems.append(FieldProblem(f"{where}.delegating_organ_id", "known_organ", f"机关 {row.delegating_organ_id!r} 未登记"))
        if row.licence_type and row.licence_type not in licence_types:
            problems.append(FieldProblem(f"{where}.licence_type", "known_licence",
                                         f"{row.licence_type!r} 不是证照类型；可用的类型：{'、'.join(sorted(licence_types))}"))
    codes = set(known) | set(in_file)
    sections_of = {code: (in_file[code].section if code in in_file and in_file[code].section else None) for code in codes}
    for i, matter in enumerate(matters):
        where = f"matters[{i}]（{matter.name}）"
        stage_names = {s.name for s in matter.stages}
        seen: set[str] = set()
        for j, ref in enumerate(matter.items):
            if ref.code not in codes:
                problems.append(FieldProblem(f"{where}.items[{j}]", "known_item", f"事项 {ref.code!r} 既不在事项目录中，也不在本文件中"))
            if ref.code in seen:
                problems.append(FieldProblem(f"{where}.items[{j}]", "unique", f"事项 {ref.code} 列了两次"))
            seen.add(ref.code)
            if ref.stage and ref.stage not in stage_names:
                problems.append(FieldProblem(f"{where}.items[{j}].stage", "known_stage", f"阶段 {ref.stage!r} 不是该{matter.kind}的阶段之一（见 stages）"))
            if matter.kind == "一个项目" and matter.stages and not ref.stage:
                problems.append(FieldProblem(f"{where}.items[{j}].stage", "required", "分阶段的项目，每个事项都须写明所属阶段（stage）"))
        sections = {sections_of.get(r.code) or _section(session, r.code) for r in matter.items}
        if matter.lead_section not in sections:
            problems.append(FieldProblem(f"{where}.lead_section", "lead_is_a_section",
                                         f"牵头科室 {matter.lead_section} 不是该{matter.kind}任何事项的审批科室（各事项的审批科室：{'、'.join(sorted(s for s in sections if s))}）"))
    if problems:
        raise InvalidData(problems, "事项目录导入")
    return items, matters


def _section(session: Session, code: str) -> str | None:
    item = session.get(Item, code)
    return item.section if item else None


def _time_limit(row: ItemRow, current: int | None = None) -> int:
    if row.time_limit_days is not None:
        return row.time_limit_days
    if row.kind is not None:
        return ITEM_KINDS[row.kind]
    return current or ITEM_KINDS["承诺件"]


def kind_for(limit: int) -> str:
    """The kind an item without one is handled as, from its time limit."""
    for kind, days in ITEM_KINDS.items():
        if limit <= days:
            return kind
    return "承诺件"


def apply(session: Session, data: dict[str, Any], *, replace: bool) -> ImportResult:
    """Write a checked catalogue. ``replace`` updates what exists (an import); otherwise only what
    is missing is added (first-run samples)."""
    items, matters = _validate(data, session)
    n_items = n_profiles = 0
    for row in items:
        existing = session.get(Item, row.code)
        if not row.is_profile_only() and (existing is None or replace):
            spec = row.model_dump(exclude={"kind", "materials", "site_inspection"})
            spec["time_limit_days"] = _time_limit(row, existing.time_limit_days if existing else None)
            catalog.upsert_item(session, spec)
            n_items += 1
        profile = session.get(ItemProfile, row.code)
        if profile is not None and not replace:
            continue
        item = session.get(Item, row.code)
        assert item is not None
        profile = profile or ItemProfile(item_code=row.code, materials=[], site_inspection=False)
        profile.kind = row.kind or (profile.kind if profile.kind else kind_for(item.time_limit_days))
        if row.materials is not None:
            profile.materials = [m.model_dump() for m in row.materials]
        if row.site_inspection is not None:
            profile.site_inspection = row.site_inspection
        session.add(profile)
        n_profiles += 1
    session.flush()
    n_matters = 0
    for row in matters:
        matter = session.get(Matter, row.id)
        if matter is not None and not replace:
            continue
        matter = matter or Matter(id=row.id)
        matter.name, matter.kind, matter.lead_section = row.name, row.kind, row.lead_section
        matter.stages = [s.model_dump() for s in row.stages]
        session.add(matter)
        for old in session.execute(select(MatterItem).where(MatterItem.matter_id == row.id)).scalars():
            session.delete(old)
        session.flush()
        for position, ref in enumerate(row.items):
            session.add(MatterItem(matter_id=row.id, item_code=ref.code, position=position, stage=ref.stage))
        n_matters += 1
    session.flush()
    return ImportResult(n_items, n_profiles, n_matters)


def load_samples(session: Session, samples: Path) -> None:
    """First run: the sample matters and the items they need, where missing."""
    path = samples / "matters.json"
    if path.exists():
        apply(session, _alias_by_name(session, read_file(path)), replace=False)


def _alias_by_name(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """An item the samples define that the catalogue already has under another code (by its
    name) is that item: the matters refer to the catalogue's code instead of adding a twin."""
    names = {code: name for code, name in session.execute(select(Item.code, Item.name))}
    by_name = {name: code for code, name in names.items()}
    alias: dict[str, str] = {}
    rows = []
    for row in data.get("items", []):
        code, name = row.get("code"), row.get("name")
        if name and code in names and names[code] != name:
            # the catalogue gave this code to another item: the sample's item cannot be placed
            raise ConfigurationError(f"samples/matters.json：事项 {code} 为“{name}”，但事项目录中的 {code} 是“{names[code]}”；"
                                     f"请给样例中的这个事项换一个编码")
        if name and code and code not in names and name in by_name:
            alias[code] = by_name[name]
            continue
        rows.append(row)
    matters = [{**m, "items": [{**r, "code": alias.get(r.get("code"), r.get("code"))} for r in m.get("items", [])]}
               for m in data.get("matters", [])]
    return {"items": rows, "matters": matters}


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    category: str
    legal_basis: str
    section: str
    kind: str
    time_limit_days: int
    licence_type: str | None
    mode: str                  # 划转 | 委托
    agreement: str             # the delegation agreement for a delegated item
    materials: list[dict[str, Any]]
    site_inspection: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def item_view(session: Session, item: Item) -> ItemView:
    profile = session.get(ItemProfile, item.code)
    agreement = ""
    if item.mode == "delegated":
        refs = session.execute(select(Delegation.agreement_ref).where(Delegation.item_code == item.code)
                               .order_by(Delegation.valid_from.desc())).scalars().all()
        agreement = "；".join(refs)
    return ItemView(item.code, item.name, item.category, item.legal_basis, item.section,
                    profile.kind if profile else kind_for(item.time_limit_days), item.time_limit_days, item.licence_type,
                    "委托" if item.mode == "delegated" else "划转", agreement,
                    list(profile.materials) if profile else [], bool(profile and profile.site_inspection))


def items(session: Session) -> list[ItemView]:
    return [item_view(session, i) for i in session.execute(select(Item).order_by(Item.code)).scalars()]


@dataclass(frozen=True)
class MatterView:
    id: str
    name: str
    kind: str
    lead_section: str
    stages: list[dict[str, str]]
    items: list[tuple[str, str, str]]   # code, name, stage

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "lead_section": self.lead_section,
                "stages": self.stages, "items": [{"code": c, "name": n, "stage": s} for c, n, s in self.items]}


def matters(session: Session) -> list[MatterView]:
    out = []
    for matter in session.execute(select(Matter).order_by(Matter.id)).scalars():
        rows = session.execute(select(MatterItem.item_code, Item.name, MatterItem.stage).join(Item, Item.code == MatterItem.item_code)
                               .where(MatterItem.matter_id == matter.id).order_by(MatterItem.position)).all()
        out.append(MatterView(matter.id, matter.name, matter.kind, matter.lead_section, list(matter.stages),
                              [(c, n, s) for c, n, s in rows]))
    return out
