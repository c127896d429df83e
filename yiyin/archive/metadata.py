"""The package's XML metadata: the dossier and each document, with the fields of GB/T 18894-2016
and DA/T 85-2019 (government-service archives), wrapped after the encapsulation idea of
DA/T 48-2009: one self-describing package holding the metadata, the content files and what
proves them.

Element names are the standards' Chinese terms, so that an archivist reads the file without a key.
The rules each element must meet (length, type, value range) live here too, in :data:`RULES`,
for the checks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from yiyin.archive.dossier import Dossier, DocumentKind, Retention

ROOT = "电子文件封装包"
VERSION = "1.0"
DIGEST_ALGORITHMS = ("SM3", "SHA-256", "SHA-512")


@dataclass(frozen=True)
class FileInfo:
    """A content file of the package as the metadata records it."""

    path: str          # relative to the payload folder (data/)
    size: int
    media_type: str
    format: str        # 格式信息, e.g. PDF/A-3b
    digests: dict[str, str]


@dataclass(frozen=True)
class Placement:
    """Where a document sits in the volume: first page number and number of pages."""

    start: int
    pages: int


def _text(parent: ET.Element, tag: str, value: object, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    return el


def _file(parent: ET.Element, info: FileInfo, tag: str = "计算机文件", **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    _text(el, "计算机文件名", info.path)
    _text(el, "计算机文件大小", info.size)
    _text(el, "媒体类型", info.media_type)
    _text(el, "格式信息", info.format)
    for name in DIGEST_ALGORITHMS:
        _text(el, "数字摘要", info.digests[name], 算法=name)
    return el


def build(dossier: Dossier, *, created: datetime, environment: str, placements: list[Placement],
          documents: list[FileInfo], originals: list[list[tuple[FileInfo, str, str]]],
          registry_files: list[tuple[FileInfo, FileInfo] | None], signatures: list[list[dict[str, str]]],
          evidence: list[tuple[FileInfo, str]], readme: FileInfo) -> bytes:
    """The metadata XML. Lists are per document, in 件号 order: the content file, its originals
    ((file, original name, description)), its registry evidence (verification report, inclusion
    proof) and its seals as validated at archiving time."""
    m, code = dossier.matter, dossier.matter.archival_code
    root = ET.Element(ROOT, {"版本": VERSION})
    _text(root, "封装包格式描述", "依据 DA/T 48-2009 的封装思想：本包以 BagIt（RFC 8493）为封装结构，"
          "本元数据文件与全部内容文件一并附于经档案专用章签章的案卷 volume.pdf（PDF/A-3）之中；"
          "字段取自 GB/T 18894-2016 与 DA/T 85-2019。")
    _text(root, "封装包类型", "原始型")
    _text(root, "封装包创建时间", created)
    _text(root, "封装包创建单位", m.organ)
    _text(root, "软硬件环境", environment)

    volume = ET.SubElement(root, "案卷")
    _text(volume, "聚合层次", "案卷")
    _text(volume, "立档单位名称", m.organ)
    _text(volume, "档号", code.code)
    for tag, value in (("全宗号", code.fonds), ("门类代码", code.category), ("年度", code.year),
                       ("保管期限代码", code.retention.value), ("保管期限", code.retention.title),
                       ("机构问题代码", code.unit), ("案卷号", f"{code.volume:04d}")):
        _text(volume, tag, value)
    _text(volume, "案卷题名", m.title)
    _text(volume, "办件编号", m.case_id)
    _text(volume, "事项名称", m.matter)
    _text(volume, "申请人", m.applicant)
    if m.applicant_code:
        _text(volume, "申请人代码", m.applicant_code)
    for item_code, item_name in m.items:
        _text(volume, "审批事项", item_name, 编码=item_code)
    _text(volume, "受理日期", m.received)
    _text(volume, "办结日期", m.closed)
    _text(volume, "立卷日期", created.date())
    _text(volume, "件数", len(dossier.entries))
    _text(volume, "页数", sum(p.pages for p in placements))
    for kind in sorted(m.required, key=list(DocumentKind).index):
        _text(volume, "应归档文件", kind.title, 类别=kind.value)
    for position, step in enumerate(m.required_steps, start=1):
        _text(volume, "应有业务行为", step, 顺序=str(position))

    items = ET.SubElement(volume, "卷内文件")
    for i, entry in enumerate(dossier.entries):
        doc = ET.SubElement(items, "文件")
        _text(doc, "聚合层次", "文件")
        _text(doc, "件号", entry.seq)
        _text(doc, "档号", code.item(entry.seq))
        _text(doc, "文件类别", entry.kind.title, 代码=entry.kind.value)
        _text(doc, "责任者", entry.responsible)
        _text(doc, "题名", entry.title)
        _text(doc, "文件编号", entry.doc_number)
        _text(doc, "日期", entry.date)
        _text(doc, "起始页号", placements[i].start)
        _text(doc, "页数", placements[i].pages)
        _file(doc, documents[i])
        for info, name, description in originals[i]:
            orig = _file(doc, info, "原件")
            _text(orig, "原文件名", name)
            _text(orig, "说明", description)
        if entry.registry is not None and registry_files[i] is not None:
            report, proof = registry_files[i]  # type: ignore[misc]
            reg = ET.SubElement(doc, "登记信息")
            _text(reg, "文书编号", entry.registry.number)
            _text(reg, "登记摘要", entry.registry.sha256, 算法="SHA-256")
            _file(reg, report, "验证报告")
            _file(reg, proof, "日志包含证明")
        for sig in signatures[i]:
            s = ET.SubElement(doc, "电子签名")
            for tag, key in (("签名类型", "kind"), ("签名者", "signer"), ("签名时间", "time"),
                             ("时间戳机构", "tsa"), ("证书指纹", "fingerprint")):
                _text(s, tag, sig.get(key, ""))

    acts = ET.SubElement(volume, "业务行为")
    for ev in dossier.history:
        act = ET.SubElement(acts, "行为", {"件号": str(ev.seq)} if ev.seq is not None else {})
        _text(act, "行为时间", ev.at)
        _text(act, "行为名称", ev.action)
        _text(act, "机构人员", ev.actor)
        _text(act, "行为描述", ev.description)

    proofs = ET.SubElement(root, "长期验证材料")
    for info, kind in evidence:
        _file(proofs, info, 类型=kind)
    _file(root, readme, "说明文件")
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


# -- rules for the checks (DA/T 70-2018 1-2 ... 1-6, 2-3, 2-4) -----------------------------------

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
        return len(v) == 10
    except ValueError:
        return False


def _is_datetime(v: str) -> bool:
    try:
        return datetime.fromisoformat(v).tzinfo is not None
    except ValueError:
        return False


def _is_int(v: str) -> bool:
    return v.isdigit() and len(v) < 12


def _is_digest(v: str) -> bool:
    return bool(_HEX64.match(v) or _HEX128.match(v))


def _is_path(v: str) -> bool:
    return bool(v) and not v.startswith("/") and ".." not in v.split("/") and "\\" not in v


@dataclass(frozen=True)
class Rule:
    max_length: int
    kind: str = "text"                       # text | date | datetime | int | digest | path
    values: frozenset[str] | None = None     # value range, if the element has one
    required: bool = True


TYPES: dict[str, Callable[[str], bool]] = {"text": lambda v: True, "date": _is_date, "datetime": _is_datetime,
                                            "int": _is_int, "digest": _is_digest, "path": _is_path}
#: each kind of value in words, for the findings of 1-3
KIND_TEXT: dict[str, str] = {"text": "文本", "date": "日期（YYYY-MM-DD）", "datetime": "带时区的日期时间（ISO 8601）",
                             "int": "整数", "digest": "摘要值（64 或 128 位小写十六进制）", "path": "包内相对路径"}
KIND_TITLES = frozenset(k.title for k in DocumentKind)

#: element (relative to its record: 案卷 or 文件) -> rule
VOLUME_RULES: dict[str, Rule] = {
    "聚合层次": Rule(10, values=frozenset({"案卷"})),
    "立档单位名称": Rule(200),
    "档号": Rule(60),
    "全宗号": Rule(4),
    "门类代码": Rule(2),
    "年度": Rule(4, "int"),
    "保管期限代码": Rule(3, values=frozenset(r.value for r in Retention)),
    "保管期限": Rule(4, values=frozenset(r.title for r in Retention)),
    "机构问题代码": Rule(4),
    "案卷号": Rule(4, "int"),
    "案卷题名": Rule(500),
    "办件编号": Rule(64),
    "事项名称": Rule(200),
    "申请人": Rule(200),
    "受理日期": Rule(10, "date"),
    "办结日期": Rule(10, "date"),
    "立卷日期": Rule(10, "date"),
    "件数": Rule(6, "int"),
    "页数": Rule(8, "int"),
}
DOCUMENT_RULES: dict[str, Rule] = {
    "聚合层次": Rule(10, values=frozenset({"文件"})),
    "件号": Rule(3, "int"),
    "档号": Rule(64),
    "文件类别": Rule(20, values=KIND_TITLES),
    "责任者": Rule(200),
    "题名": Rule(500),
    "文件编号": Rule(100, required=False),
    "日期": Rule(10, "date"),
    "起始页号": Rule(6, "int"),
    "页数": Rule(6, "int"),
}
FILE_RULES: dict[str, Rule] = {
    "计算机文件名": Rule(255, "path"),
    "计算机文件大小": Rule(12, "int"),
    "媒体类型": Rule(100),
    "格式信息": Rule(50),
    "数字摘要": Rule(128, "digest"),
}
EVENT_RULES: dict[str, Rule] = {
    "行为时间": Rule(40, "datetime"),
    "行为名称": Rule(20),
    "机构人员": Rule(200),
    "行为描述": Rule(1000, required=False),
}
#: characters no metadata value may hold (control characters; XML escapes are fine)
SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ufeff]")
