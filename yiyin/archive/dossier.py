"""The dossier of one matter as plain data: what goes into the volume, in order, and why it is genuine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from yiyin.errors import FieldProblem, InvalidData


class DocumentKind(str, Enum):
    """Kinds of paper in a matter's dossier, in the order the volume files them (DA/T 85-2019)."""

    application_form = "application_form"          # 申请表
    material = "material"                          # 申请材料
    acceptance_notice = "acceptance_notice"        # 受理、补正、不予受理通知书
    inspection_record = "inspection_record"        # 现场核查记录
    decision = "decision"                          # 行政许可决定书
    licence = "licence"                            # 许可证
    earlier_licence = "earlier_licence"            # 变更、延续前的许可证
    delegation_agreement = "delegation_agreement"  # 委托协议、划转协议
    delivery_receipt = "delivery_receipt"          # 送达回证

    @property
    def title(self) -> str:
        return KIND_TITLES[self]


KIND_TITLES = {
    DocumentKind.application_form: "申请表",
    DocumentKind.material: "申请材料",
    DocumentKind.acceptance_notice: "受理（补正）通知书",
    DocumentKind.inspection_record: "现场核查记录",
    DocumentKind.decision: "行政许可决定书",
    DocumentKind.licence: "许可证",
    DocumentKind.earlier_licence: "许可证（变更前版本）",
    DocumentKind.delegation_agreement: "委托（划转）协议",
    DocumentKind.delivery_receipt: "送达回证",
}


class Retention(str, Enum):
    """保管期限 and its code (DA/T 22-2015)."""

    permanent = "Y"    # 永久
    years_30 = "D30"   # 定期30年
    years_10 = "D10"   # 定期10年

    @property
    def title(self) -> str:
        return {"Y": "永久", "D30": "30年", "D10": "10年"}[self.value]


_FONDS = re.compile(r"^[A-Z0-9]{4}$")
_CATEGORY = re.compile(r"^[A-Z]{2}$")
_UNIT = re.compile(r"^[A-Z0-9]{2,4}$")
#: 档号 of the volume and of each document in it (DA/T 13, DA/T 22): 全宗号-门类代码·年度-保管期限-机构问题代码-案卷号[-件号]
ARCHIVAL_CODE = re.compile(r"^(?P<fonds>[A-Z0-9]{4})-(?P<category>[A-Z]{2})·(?P<year>\d{4})-(?P<retention>Y|D30|D10)"
                           r"-(?P<unit>[A-Z0-9]{2,4})-(?P<volume>\d{4})(?:-(?P<seq>\d{3}))?$")


@dataclass(frozen=True)
class ArchivalCode:
    """The parts of the 档号."""

    fonds: str           # 全宗号, e.g. Z109
    category: str        # 门类代码, e.g. ZW (政务服务)
    year: int            # 年度
    retention: Retention
    unit: str            # 机构（问题）代码, e.g. SPJ
    volume: int          # 案卷号

    @property
    def code(self) -> str:
        return f"{self.fonds}-{self.category}·{self.year}-{self.retention.value}-{self.unit}-{self.volume:04d}"

    def item(self, seq: int) -> str:
        """档号 of the document with 件号 ``seq`` in this volume."""
        return f"{self.code}-{seq:03d}"

    def problems(self) -> list[FieldProblem]:
        out = []
        for name, value, rule, label, what in (
            ("fonds", self.fonds, _FONDS, "全宗号", "4 位大写字母或数字"),
            ("category", self.category, _CATEGORY, "门类代码", "2 位大写字母"),
            ("unit", self.unit, _UNIT, "机构问题代码", "2 至 4 位大写字母或数字"),
        ):
            if not rule.match(value):
                out.append(FieldProblem(f"archival_code.{name}", "format", f"{label} {value!r} 不符合要求：须为{what}"))
        if not 1949 <= self.year <= 9999:
            out.append(FieldProblem("archival_code.year", "range", f"年度 {self.year} 不合理：须在 1949 至 9999 之间"))
        if not 1 <= self.volume <= 9999:
            out.append(FieldProblem("archival_code.volume", "range", f"案卷号 {self.volume} 须在 1 至 9999 之间"))
        return out


@dataclass(frozen=True)
class Original:
    """A file kept as it was received or issued, attached to the volume (PDF/A-3 associated file)."""

    name: str          # file name as received, e.g. 营业执照.jpg
    media_type: str    # e.g. image/jpeg
    data: bytes
    description: str = ""


@dataclass(frozen=True)
class RegistryRecord:
    """What the registry says of a document it issued, as plain values.

    ``inclusion`` is the log's proof bundle: leaf_index, leaf (the log entry), proof (base64
    hashes) and the signed checkpoint it leads to.
    """

    number: str
    sha256: str                      # SHA-256 of the document as sealed
    verification: dict[str, Any]     # the verification report at archiving time
    inclusion: dict[str, Any]


@dataclass(frozen=True)
class DossierEntry:
    seq: int                 # 件号, from 1
    responsible: str         # 责任者
    title: str               # 题名
    date: date
    kind: DocumentKind
    pdf: bytes               # as issued (sealed), or the material converted to PDF/A
    doc_number: str = ""     # 文号 / 证号
    originals: tuple[Original, ...] = ()
    registry: RegistryRecord | None = None


@dataclass(frozen=True)
class ProcessEvent:
    """One step of the matter's handling (业务行为): who did what, when."""

    at: datetime
    action: str              # e.g. 受理, 审批, 签发, 送达, 归档
    actor: str
    description: str = ""
    seq: int | None = None   # 件号 of the document the step produced or acted on


@dataclass(frozen=True)
class Evidence:
    """What keeps the package verifiable offline: trust anchors, revocation data, the log's key and
    the signed checkpoint that every inclusion proof leads to."""

    trust_anchors: tuple[bytes, ...]   # DER certificates
    crls: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    log_verifier_key: str = ""
    checkpoint: str = ""


@dataclass(frozen=True)
class Matter:
    case_id: str                          # 办件编号
    matter: str                           # 事项名称, e.g. 开办药店
    applicant: str
    items: tuple[tuple[str, str], ...]    # (code, name) of the approval items
    received: date                        # 受理日期
    closed: date                          # 办结日期
    organ: str                            # 立卷单位 (the bureau)
    archival_code: ArchivalCode
    required: frozenset[DocumentKind] = field(default_factory=frozenset)
    applicant_code: str = ""              # 统一社会信用代码
    #: acts the process history must show, in this order (e.g. 接件, 受理, …, 归档); checked by 2-5
    required_steps: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """案卷题名: applicant, matter and what was decided."""
        return f"{self.applicant}{self.matter}审批档案"


@dataclass(frozen=True)
class Dossier:
    matter: Matter
    entries: tuple[DossierEntry, ...]
    history: tuple[ProcessEvent, ...]
    evidence: Evidence

    def validate(self) -> None:
        """Every rule a dossier must meet before anything is built; all problems named at once."""
        problems = list(self.matter.archival_code.problems())
        m = self.matter
        for name, label in (("case_id", "办件编号"), ("matter", "事项名称"), ("applicant", "申请人"), ("organ", "立卷单位")):
            if not str(getattr(m, name)).strip():
                problems.append(FieldProblem(f"matter.{name}", "required", f"{label}不能为空"))
        if m.closed < m.received:
            problems.append(FieldProblem("matter.closed", "after_received", f"办结日期 {m.closed} 早于受理日期 {m.received}"))
        if not self.entries:
            problems.append(FieldProblem("entries", "required", "案卷中至少要有一件文件"))
        for i, e in enumerate(self.entries):
            where = f"entries[{i}]"
            if e.seq != i + 1:
                problems.append(FieldProblem(f"{where}.seq", "consecutive", f"第 {i + 1} 件的件号为 {e.seq}，应为 {i + 1}：件号须从 1 起连续编排、不缺号"))
            for name, label in (("responsible", "责任者"), ("title", "题名")):
                if not str(getattr(e, name)).strip():
                    problems.append(FieldProblem(f"{where}.{name}", "required", f"件号 {e.seq} 的{label}不能为空"))
            if e.pdf[:5] != b"%PDF-":
                problems.append(FieldProblem(f"{where}.pdf", "pdf", f"件号 {e.seq}（{e.title}）不是 PDF 文件：请先把材料转换为 PDF/A"))
            if e.registry is not None and not re.fullmatch(r"[0-9a-f]{64}", e.registry.sha256):
                problems.append(FieldProblem(f"{where}.registry.sha256", "format", f"件号 {e.seq} 的登记摘要须为 64 位小写十六进制数字"))
            for j, o in enumerate(e.originals):
                if not o.name or "/" in o.name or o.name.startswith("."):
                    problems.append(FieldProblem(f"{where}.originals[{j}].name", "file_name",
                                                 f"件号 {e.seq} 的原件文件名 {o.name!r} 不合规：须为单纯的文件名（不能为空、不能含 /、不能以 . 开头）"))
        missing = sorted(k.title for k in m.required - {e.kind for e in self.entries})
        if missing:
            problems.append(FieldProblem("entries", "required_documents", "本事项应归档" + "、".join(missing) + "，案卷中没有"))
        if not self.evidence.trust_anchors:
            problems.append(FieldProblem("evidence.trust_anchors", "required", "档案包须带有各印章证书所追溯到的信任锚（根证书）"))
        if any(e.registry for e in self.entries) and not (self.evidence.log_verifier_key and self.evidence.checkpoint):
            problems.append(FieldProblem("evidence.checkpoint", "required", "案卷中有登记簿文书，须带有透明日志的公钥和签名检查点"))
        if problems:
            raise InvalidData(problems, f"办件 {m.case_id} 的案卷")
