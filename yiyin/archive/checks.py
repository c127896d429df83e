"""The four checks (四性检测) of DA/T 70-2018 on an archive package, one line per numbered check
item of the standard's filing stage (归档环节): authenticity 1-x, integrity 2-x, usability 3-x,
security 4-x. Items about optical discs (4-4 to 4-6) do not apply to a package on disk and say so.

The checker trusts nothing in the package by itself: digests are recomputed, every seal is
validated offline against the trust anchors the package carries (and, when given, compared with
the anchors the bureau publishes), every log proof is checked against the signed checkpoint, and
every payload file must equal the copy sealed inside the volume.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import bagit
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pypdf import PdfReader

from yiyin.archive import metadata as md
from yiyin.archive.digests import ALGORITHMS, digest
from yiyin.archive.dossier import ARCHIVAL_CODE, DocumentKind
from yiyin.archive.package import METADATA, README, VOLUME
from yiyin.archive.scan import BUNDLED_SIGNATURES, active_content, clamav_version, program_kind, virus_scan
from yiyin.archive.volume import SEAL_FIELD
from yiyin.errors import UnreadableDocument
from yiyin.signing.validate import PdfValidation, validate_pdf

ARCHIVE_SEAL = "档案专用章"
GROUPS = {"1": ("真实性", "authenticity"), "2": ("完整性", "integrity"), "3": ("可用性", "usability"), "4": ("安全性", "security")}
ITEMS: dict[str, str] = {
    "1-1": "固化信息有效性检测（摘要、电子印章、时间戳、登记与日志证明）",
    "1-2": "元数据项数据长度检测",
    "1-3": "元数据项数据类型、格式检测",
    "1-4": "设定值域的元数据项值域符合度检测",
    "1-5": "元数据项数据值合理性检测",
    "1-6": "元数据项数据包含特殊字符检测",
    "1-7": "档号规范性检测",
    "1-8": "元数据项数据重复性检测",
    "1-9": "内容数据的电子属性一致性检测",
    "1-10": "元数据是否关联内容数据检测",
    "1-11": "说明文件和目录文件规范性检测",
    "1-12": "信息包目录结构规范性检测",
    "1-13": "信息包一致性检测（包内文件与签章案卷所附一致）",
    "2-1": "总件数相符性检测",
    "2-2": "总字节数相符性检测",
    "2-3": "元数据项完整性检测",
    "2-4": "元数据必填著录项目检测",
    "2-5": "过程信息完整性检测",
    "2-6": "连续性元数据项检测",
    "2-7": "内容数据完整性检测",
    "2-8": "附件数据完整性检测",
    "2-9": "应归档文件齐全性检测",
    "2-10": "归档信息包元数据完整性检测",
    "2-11": "归档信息包内容数据完整性检测",
    "3-1": "元数据的可读性检测",
    "3-2": "目标数据库中的元数据可访问性检测",
    "3-3": "内容数据格式检测",
    "3-4": "内容数据的可读性检测",
    "3-5": "软硬件环境合规性检测",
    "3-6": "信息包中元数据的可读性检测",
    "3-7": "信息包中内容数据的可读性检测",
    "3-8": "信息包中包含的内容数据格式合规性检测（无加密、无非公开压缩）",
    "4-1": "系统环境中是否安装杀毒软件检测",
    "4-2": "病毒感染检测（恶意代码、主动内容）",
    "4-3": "载体中多余文件检测（及大小、数量上限）",
    "4-4": "载体读取速度检测",
    "4-5": "载体外观检测",
    "4-6": "光盘合格性检测",
    "4-7": "归档过程安全性检测",
}
#: formats an archive keeps content in (GB/T 18894-2016: PDF/A, OFD, common images; XML/JSON/text for data)
COMMON_FORMATS = {"application/pdf", "image/jpeg", "image/png", "image/tiff", "application/ofd", "application/xml",
                  "application/json", "text/plain", "application/x-pem-file", "application/pkix-crl", "application/ocsp-response"}
STANDARD_FILTERS = {"/FlateDecode", "/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/RunLengthDecode",
                    "/ASCIIHexDecode", "/ASCII85Decode", "/LZWDecode"}
PAYLOAD_DIRS = {"documents", "originals", "evidence"}
TAG_FILES = re.compile(r"^(bagit\.txt|bag-info\.txt|(tag)?manifest-(sha256|sha512)\.txt)$")

LogVerifier = Callable[[dict[str, Any], str, str], tuple[bool, str]]
#: the detail of an item that passed with nothing more to say
PASSED = "通过"


@dataclass(frozen=True)
class Limits:
    max_files: int = 5000
    max_file_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    max_pdf_objects: int = 500_000
    max_pages: int = 10_000


@dataclass
class ItemResult:
    code: str
    title: str
    group: str
    status: str            # pass | fail | n/a
    detail: str
    findings: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    package: str
    items: list[ItemResult]
    archival_code: str = ""

    @property
    def ok(self) -> bool:
        return all(i.status != "fail" for i in self.items)

    def failed(self) -> list[str]:
        return [i.code for i in self.items if i.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "archival_code": self.archival_code, "passed": self.ok,
                "failed": self.failed(), "standard": "DA/T 70-2018 归档环节",
                "groups": {en: {"title": cn, "passed": all(i.status != "fail" for i in self.items if i.group == en)}
                           for cn, en in GROUPS.values()},
                "items": [asdict(i) for i in self.items]}

    def render(self) -> str:
        mark = {"pass": "✓ 通过", "fail": "✗ 不通过", "n/a": "－ 不适用"}
        lines = [f"四性检测 DA/T 70-2018  {self.package}  {self.archival_code}"]
        for prefix, (cn, en) in GROUPS.items():
            group = [i for i in self.items if i.group == en]
            lines.append(f"\n{cn} {en}: {'通过 passed' if all(i.status != 'fail' for i in group) else '不通过 FAILED'}")
            for i in group:
                said = f"：{i.detail}" if i.detail and i.detail != PASSED else ""
                lines.append(f"  {i.code:<5} {mark[i.status]:<6} {i.title}{said}")
                lines.extend(f"          - {f}" for f in i.findings[:20])
                if len(i.findings) > 20:
                    lines.append(f"          … 另有 {len(i.findings) - 20} 条未列出 {len(i.findings) - 20} more")
        lines.append("\n结论 result: " + ("全部通过 ALL PASSED" if self.ok
                                          else f"不通过 FAILED（{'、'.join(self.failed())}）"))
        return "\n".join(lines)


class _Findings:
    """Problems collected per check item while the package is read."""

    def __init__(self) -> None:
        self.by_item: dict[str, list[str]] = {code: [] for code in ITEMS}
        self.notes: dict[str, str] = {}
        self.na: set[str] = set()

    def add(self, code: str, problem: str) -> None:
        self.by_item[code].append(problem)

    def note(self, code: str, text: str) -> None:
        self.notes[code] = text


@dataclass
class _FileRecord:
    path: str
    size: int
    media_type: str
    format: str
    digests: dict[str, str]
    where: str


def _read_anchors(data: dict[str, bytes]) -> list[asn1_x509.Certificate]:
    anchors = []
    for path in sorted(p for p in data if p.startswith("evidence/anchors/")):
        for _, _, der in asn1_pem.unarmor(data[path], multiple=True):
            anchors.append(asn1_x509.Certificate.load(der))
    return anchors


def _values(el: ET.Element | None, rules: dict[str, md.Rule], where: str, f: _Findings) -> None:
    """1-2 length, 1-3 type, 1-4 range, 1-6 special characters, 2-3 presence, 2-4 required."""
    if el is None:
        f.add("2-3", f"{where}：元数据中缺少这条记录")
        return
    for tag, rule in rules.items():
        found = el.findall(tag)
        if not found:
            f.add("2-3", f"{where}：缺少元数据项 {tag}")
            continue
        for child in found:
            value = (child.text or "").strip()
            if not value:
                if rule.required:
                    f.add("2-4", f"{where}/{tag}：必填项，但为空")
                continue
            if len(value) > rule.max_length:
                f.add("1-2", f"{where}/{tag}：长 {len(value)} 个字符，超过上限 {rule.max_length} 个字符")
            if not md.TYPES[rule.kind](value):
                f.add("1-3", f"{where}/{tag}：值 {value[:40]!r} 不是有效的{md.KIND_TEXT[rule.kind]}")
            if rule.values is not None and value not in rule.values:
                f.add("1-4", f"{where}/{tag}：值 {value[:40]!r} 不在规定的值域内（可取 {'、'.join(sorted(rule.values))}）")


def _file_records(root: ET.Element) -> list[_FileRecord]:
    out = []
    for tag in ("计算机文件", "原件", "说明文件", "验证报告", "日志包含证明"):
        for el in root.iter(tag):
            name = (el.findtext("计算机文件名") or "").strip()
            size = (el.findtext("计算机文件大小") or "").strip()
            where = f"{tag}（{name or '未记文件名'}）"
            out.append(_FileRecord(name, int(size) if size.isdigit() else -1, (el.findtext("媒体类型") or "").strip(),
                                   (el.findtext("格式信息") or "").strip(),
                                   {d.get("算法", ""): (d.text or "").strip() for d in el.findall("数字摘要")}, where))
    return out


def _labels(root: ET.Element | None) -> dict[str, str]:
    """How the findings name each file the metadata files under a document: by its 件号 (and
    what it is to that document), then its path in the package, e.g. 文件 3 的原件（data/originals/003-01.png）."""
    out: dict[str, str] = {}
    for doc in root.iterfind("案卷/卷内文件/文件") if root is not None else []:
        seq = (doc.findtext("件号") or "").strip()
        for tag, role in (("计算机文件", ""), ("原件", " 的原件"), ("登记信息/验证报告", " 的验证报告"),
                          ("登记信息/日志包含证明", " 的日志包含证明")):
            for el in doc.iterfind(tag):
                name = (el.findtext("计算机文件名") or "").strip()
                if name and seq:
                    out.setdefault(name, f"文件 {seq}{role}（data/{name}）")
    return out


def _pdf_reader(data: bytes) -> PdfReader:
    if data[:5] != b"%PDF-":
        raise ValueError("不是 PDF 文件（开头没有 %PDF- 标记）")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise PermissionError("PDF 文件已加密，档案中的文件不得加密")
    return reader


def _renders(data: bytes, pages: int) -> str:
    """'' when poppler renders every page, else why not. Page ranges render in parallel: decoding
    the page images is what costs, and it is independent per page."""
    workers = max(1, min(os.cpu_count() or 1, 4, pages))
    step = -(-pages // workers)
    with tempfile.TemporaryDirectory(prefix="yiyin-check-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        try:
            procs = [subprocess.Popen(["pdftoppm", "-f", str(first), "-l", str(min(first + step - 1, pages)), "-scale-to", "48",
                                       "-gray", str(src), str(Path(tmp) / "p")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for first in range(1, pages + 1, step)]
        except FileNotFoundError:
            return "未安装 poppler 的 pdftoppm，无法检查各页能否显示（Debian 软件包 poppler-utils）"
        errors = []
        for proc in procs:
            _, err = proc.communicate(timeout=900)
            if proc.returncode != 0:
                errors.append(err.decode("utf-8", "replace").strip()[:200])
        made = len(list(Path(tmp).glob("p-*.pgm")))
        if errors or made != pages:
            return f"共 {pages} 页，只有 {made} 页能正常显示" + (f"：{'; '.join(errors)}" if errors else "")
    return ""


def _pdfa_identified(reader: PdfReader) -> bool:
    xmp = reader.trailer["/Root"].get("/Metadata")
    if xmp is None:
        return False
    text = xmp.get_object().get_data()
    return (b"<pdfaid:part>3</pdfaid:part>" in text or b'pdfaid:part="3"' in text) and "/OutputIntents" in reader.trailer["/Root"]


def _filters(reader: PdfReader, limit: int) -> set[str]:
    from yiyin.archive.scan import pdf_objects
    from pypdf.generic import StreamObject

    used: set[str] = set()
    for obj in pdf_objects(reader, limit):
        if isinstance(obj, StreamObject):
            flt = obj.get("/Filter")
            if flt is not None:
                used.update(str(x) for x in (flt if isinstance(flt, list) else [flt]))
    return used


def check_package(path: Path, *, log_verifier: LogVerifier | None = None, expected_anchors: set[str] | None = None,
                  expected_log_key: str | None = None, registry_lookup: Callable[[str], bool] | None = None,
                  limits: Limits = Limits(), at: datetime | None = None) -> CheckReport:
    """Run every check item on the package folder ``path``. Raises UnreadableDocument only when
    ``path`` is not a folder; everything else is a finding.

    ``at`` checks the package as it will check on that date, offline, with only what it carries:
    every seal must then be proven by a timestamp (its certificate will have expired), every
    timestamp is judged at the time it states, and revocation data for every certificate must be
    in the package (evidence/crls, evidence/ocsp) or in the documents themselves."""
    if not path.is_dir():
        raise UnreadableDocument(f"{path} 不是档案包文件夹（不存在，或不是文件夹）")
    f = _Findings()
    report = CheckReport(package=str(path), items=[])

    # -- what is on disk (4-3, bounds) ---------------------------------------------------------
    on_disk: dict[str, int] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink():
                f.add("4-3", f"{rel}：是符号链接，档案包中不应有")
            elif name.startswith("."):
                f.add("4-3", f"{rel}：是隐藏文件或文件夹（名称以 . 开头），档案包中不应有")
            elif full.is_file():
                size = full.stat().st_size
                on_disk[rel] = size
                total += size
                if size > limits.max_file_bytes:
                    f.add("4-3", f"{rel}：{size} 字节，超过单个文件的上限 {limits.max_file_bytes} 字节")
            elif not full.is_dir():
                f.add("4-3", f"{rel}：不是普通文件（如设备文件、管道），档案包中不应有")
    if len(on_disk) > limits.max_files:
        f.add("4-3", f"包内共 {len(on_disk)} 个文件，超过上限 {limits.max_files} 个")
    if total > limits.max_total_bytes:
        f.add("4-3", f"包内文件共 {total} 字节，超过总量上限 {limits.max_total_bytes} 字节")
    oversized = {p for p, s in on_disk.items() if s > limits.max_file_bytes} or set()
    bounded = len(on_disk) <= limits.max_files and total <= limits.max_total_bytes
    data: dict[str, bytes] = {}
    if bounded:
        for rel in on_disk:
            if rel not in oversized:
                data[rel] = (path / rel).read_bytes()
    payload = {p[len("data/"):]: d for p, d in data.items() if p.startswith("data/")}
    # the metadata is read first (3-1): the findings name each file by the 件号 it is filed under
    root: ET.Element | None = None
    xml = payload.get(METADATA)
    if xml is None:
        f.add("3-1", f"缺少元数据文件 data/{METADATA}")
    elif b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        f.add("3-1", f"data/{METADATA}：含有 DOCTYPE 或实体（ENTITY）声明，元数据中不允许")
    else:
        try:
            root = ET.fromstring(xml)
            if root.tag != md.ROOT or root.get("版本") != md.VERSION:
                f.add("3-1", f"data/{METADATA}：根元素为 {root.tag}，版本 {root.get('版本')}；应为 {md.ROOT}，版本 {md.VERSION}")
        except ET.ParseError as exc:
            f.add("3-1", f"data/{METADATA} 无法解析（不是格式正确的 XML）：{exc}")
    labels = _labels(root)

    def named(rel: str) -> str:
        """A payload file as the findings name it: 件号 first when the metadata files it under a document."""
        return labels.get(rel, f"data/{rel}")

    # -- bag structure and manifests (1-12, 2-2, 2-7, 2-10, 2-11) -------------------------------
    for rel in on_disk:
        top = rel.split("/")[0]
        if "/" not in rel and not TAG_FILES.match(rel):
            f.add("1-12", f"{rel}：不是 BagIt 标签文件，包的顶层只应有 bagit.txt、bag-info.txt、manifest-*.txt、tagmanifest-*.txt 和 data/")
        elif top == "data" and rel.count("/") >= 2 and rel.split("/")[1] not in PAYLOAD_DIRS:
            f.add("1-12", f"{rel}：不在 data/documents/、data/originals/、data/evidence/ 之内")
        elif top not in ("data",) and "/" in rel:
            f.add("1-12", f"{rel}：位于包顶层 data/ 以外的文件夹中")
    for needed in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
                   "tagmanifest-sha256.txt", "tagmanifest-sha512.txt", f"data/{VOLUME}", f"data/{METADATA}", f"data/{README}"):
        if needed not in on_disk:
            f.add("1-12" if not needed.startswith("data/") else "2-11", f"缺少 {needed}")
    bag_info: dict[str, Any] = {}
    manifest_entries: dict[str, dict[str, str]] = {}
    try:
        bag = bagit.Bag(str(path))
        bag_info = dict(bag.info)
        manifest_entries = {p[len("data/"):]: h for p, h in bag.payload_entries().items()}
        tag_entries = bag.tagfile_entries()
        for alg in ("sha256", "sha512"):
            if alg not in bag.algorithms:
                f.add("2-7", f"缺少 {alg} 清单 manifest-{alg}.txt")
        for tag_file in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"):
            if tag_file not in tag_entries:
                f.add("2-10", f"{tag_file} 未列入标签清单 tagmanifest-*.txt")
        for tag_file, hashes in tag_entries.items():
            actual = data.get(tag_file)
            for alg, expected in hashes.items():
                if actual is None:
                    f.add("2-10", f"{tag_file}：列于 tagmanifest-{alg}.txt，但包中没有这个文件（缺失）")
                elif alg in ("sha256", "sha512") and hashlib.new(alg, actual).hexdigest() != expected:
                    f.add("2-10", f"{tag_file}：{alg} 摘要与 tagmanifest-{alg}.txt 所记不符（文件已被改动）")
    except (bagit.BagError, UnicodeDecodeError, ValueError, OSError) as exc:
        f.add("2-10", f"不是可读取的 BagIt 包：{exc}")
    for rel, hashes in manifest_entries.items():
        for alg in ("sha256", "sha512"):
            if alg not in hashes:
                f.add("2-7", f"{named(rel)}：未列入 manifest-{alg}.txt")
        actual = payload.get(rel)
        for alg, expected in hashes.items():
            if actual is None:
                f.add("2-11", f"{named(rel)}：列于 manifest-{alg}.txt，但包中没有这个文件（缺失）")
                break
            if alg in ("sha256", "sha512") and hashlib.new(alg, actual).hexdigest() != expected:
                f.add("2-7", f"{named(rel)}：{alg} 摘要与 manifest-{alg}.txt 所记不符（文件已被改动）")
    for rel in payload:
        if rel not in manifest_entries:
            f.add("2-11", f"{named(rel)}：在包中，但未列入任何清单（多出的文件）")
    oxum = str(bag_info.get("Payload-Oxum", ""))
    payload_bytes, payload_count = sum(len(d) for d in payload.values()), len(payload)
    if oxum != f"{payload_bytes}.{payload_count}":
        f.add("2-2", f"bag-info.txt 的 Payload-Oxum（字节数.文件数）为 {oxum or '（未记载）'}，而 data/ 中实有 "
                     f"{payload_count} 个文件、共 {payload_bytes} 字节")

    # -- metadata (1-2 … 1-8, 2-3, 2-4) ---------------------------------------------------------
    volume_el = root.find("案卷") if root is not None else None
    docs = volume_el.findall("卷内文件/文件") if volume_el is not None else []
    if root is not None:
        for el in root.iter():
            if el.text and (bad := md.SPECIAL.search(el.text)):
                f.add("1-6", f"元数据项 {el.tag}：含有控制字符或替换字符 U+{ord(bad.group()):04X}")
            for k, v in el.attrib.items():
                if bad := md.SPECIAL.search(v):
                    f.add("1-6", f"元数据项 {el.tag} 的属性 {k}：含有控制字符或替换字符 U+{ord(bad.group()):04X}")
        for tag in ("封装包创建时间", "封装包创建单位", "软硬件环境"):
            if not (root.findtext(tag) or "").strip():
                f.add("2-4", f"{tag}：必填项，但为空")
        _values(volume_el, md.VOLUME_RULES, "案卷", f)
        for i, doc in enumerate(docs, start=1):
            _values(doc, md.DOCUMENT_RULES, f"文件[{i}]", f)
        for i, ev in enumerate(volume_el.findall("业务行为/行为") if volume_el is not None else [], start=1):
            _values(ev, md.EVENT_RULES, f"行为[{i}]", f)
    files = _file_records(root) if root is not None else []
    for rec in files:
        fake = ET.Element("x")
        for tag, value in (("计算机文件名", rec.path), ("计算机文件大小", str(rec.size) if rec.size >= 0 else "?"),
                           ("媒体类型", rec.media_type), ("格式信息", rec.format)):
            ET.SubElement(fake, tag).text = value
        for alg, value in rec.digests.items():
            ET.SubElement(fake, "数字摘要").text = value
        _values(fake, md.FILE_RULES, rec.where, f)
        if set(rec.digests) != set(md.DIGEST_ALGORITHMS):
            f.add("2-3", f"{rec.where}：数字摘要的算法为 {'、'.join(sorted(rec.digests)) or '（无）'}，"
                         f"应为 {'、'.join(md.DIGEST_ALGORITHMS)}")

    def text(el: ET.Element | None, tag: str) -> str:
        return (el.findtext(tag) or "").strip() if el is not None else ""

    code = text(volume_el, "档号")
    report.archival_code = code
    # 1-7 档号
    match = ARCHIVAL_CODE.match(code)
    if not match or match["seq"]:
        f.add("1-7", f"案卷档号 {code!r} 不符合“全宗号-门类代码·年度-保管期限代码-机构问题代码-案卷号”的格式")
    else:
        parts = {"fonds": "全宗号", "category": "门类代码", "year": "年度", "retention": "保管期限代码", "unit": "机构问题代码", "volume": "案卷号"}
        for group_name, tag in parts.items():
            if match[group_name] != text(volume_el, tag):
                f.add("1-7", f"档号中的{tag}为 {match[group_name]}，而元数据项 {tag} 为 {text(volume_el, tag)!r}，两者不一致")
    for doc in docs:
        seq = text(doc, "件号")
        if not seq.isdigit():
            f.add("1-7", f"文件 {seq or '（无件号）'}：件号不是数字，无法核对其档号 {text(doc, '档号')!r}")
        elif text(doc, "档号") != f"{code}-{int(seq):03d}":
            f.add("1-7", f"文件 {seq}：档号 {text(doc, '档号')!r} 不是案卷档号加件号（应为 {code}-{int(seq):03d}）")
    if bag_info and bag_info.get("External-Identifier") != code:
        f.add("1-7", f"bag-info.txt 的 External-Identifier 为 {bag_info.get('External-Identifier')!r}，与案卷档号 {code!r} 不一致")
    # 1-8 duplicates
    for what, values in (("档号", [text(d, "档号") for d in docs]), ("件号", [text(d, "件号") for d in docs]),
                         ("文件编号", [text(d, "文件编号") for d in docs if text(d, "文件编号")]),
                         ("计算机文件名", [r.path for r in files]),
                         ("文件的 SHA-256 摘要", [r.digests.get("SHA-256", "") for r in files if r.path.startswith("documents/")])):
        for value, n in Counter(values).items():
            if n > 1:
                f.add("1-8", f"{what} {value[:64]!r} 重复出现 {n} 次")

    # 1-5 plausibility, 2-1 counts, 2-6 continuity
    def as_date(value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None

    received, closed, filed = (as_date(text(volume_el, t)) for t in ("受理日期", "办结日期", "立卷日期"))
    if received and closed and closed < received:
        f.add("1-5", f"办结日期 {closed} 早于受理日期 {received}")
    if closed and filed and filed < closed:
        f.add("1-5", f"立卷日期 {filed} 早于办结日期 {closed}")
    if closed and text(volume_el, "年度") != str(closed.year):
        f.add("1-5", f"年度 {text(volume_el, '年度')} 不是办结的年份（{closed.year}）")
    for doc in docs:
        d = as_date(text(doc, "日期"))
        if d and filed and d > filed:
            f.add("1-5", f"文件 {text(doc, '件号')}：日期 {d} 晚于立卷日期 {filed}")
        elif d and filed and d.year < 1949:
            f.add("1-5", f"文件 {text(doc, '件号')}：日期 {d} 早于 1949 年，不合理")
    for rec in files:
        if rec.size == 0:
            f.add("1-5", f"{rec.where}：元数据记载的文件大小为 0 字节（空文件）")
    seqs = [int(text(d, "件号")) if text(d, "件号").isdigit() else -1 for d in docs]
    if seqs != list(range(1, len(docs) + 1)):
        f.add("2-6", f"件号依次为 {'、'.join(str(s) if s >= 0 else '（非数字）' for s in seqs)}，应从 1 到 {len(docs)} 连续编排、不缺号")
    expected_start = 1
    for doc in docs:
        start, pages = text(doc, "起始页号"), text(doc, "页数")
        if not (start.isdigit() and pages.isdigit()) or int(start) != expected_start:
            f.add("2-6", f"文件 {text(doc, '件号')}：起始页号为 {start or '（空）'}，应为 {expected_start}（页号须前后连续、不缺页）")
        expected_start = (int(start) if start.isdigit() else expected_start) + (int(pages) if pages.isdigit() else 0)
    doc_files = sorted(p for p in payload if p.startswith("documents/"))
    count = text(volume_el, "件数")
    if not (count == str(len(docs)) == str(len(doc_files))):
        f.add("2-1", f"元数据记载件数 {count or '（空）'}，著录了 {len(docs)} 件文件，data/documents/ 中有 {len(doc_files)} 个文件；三者应相同")
    total_pages = sum(int(text(d, "页数")) for d in docs if text(d, "页数").isdigit())
    if text(volume_el, "页数") != str(total_pages):
        f.add("2-6", f"案卷页数 {text(volume_el, '页数') or '（空）'} 不等于卷内各件页数之和（{total_pages}）")

    # 1-9, 1-10, 2-7, 2-8, 2-11 against the files
    described = {r.path for r in files}
    for rec in files:
        actual = payload.get(rec.path)
        if actual is None:
            f.add("1-10", f"{rec.where}：元数据所记的文件 data/{rec.path} 不在包中")
            f.add("2-8" if rec.path.startswith("originals/") else "2-11", f"缺少 {named(rec.path)}")
            continue
        if rec.size != len(actual):
            f.add("1-9", f"{named(rec.path)}：实为 {len(actual)} 字节，元数据记载为 {rec.size} 字节")
        for alg, expected in rec.digests.items():
            if alg in ALGORITHMS and digest(alg, actual) != expected:
                f.add("1-1", f"{named(rec.path)}：{alg} 摘要与元数据所记不符（文件已被改动）")
                f.add("2-8" if rec.path.startswith("originals/") else "2-7", f"{named(rec.path)}：内容与元数据所记的 {alg} 摘要不符")
        if rec.media_type == "application/pdf":
            if not actual.startswith(b"%PDF-"):
                f.add("1-9", f"{named(rec.path)}：元数据记为 PDF，实际不是 PDF 文件")
            elif rec.format == "PDF/A-3b":
                try:
                    if not _pdfa_identified(_pdf_reader(actual)):
                        f.add("1-9", f"{named(rec.path)}：元数据记为 PDF/A-3b，但文件没有 PDF/A-3 标识")
                except Exception as exc:
                    f.add("1-9", f"{named(rec.path)}：无法读取：{exc}")
    for rel in payload:
        if rel not in described and rel not in (VOLUME, METADATA):
            f.add("2-11", f"{named(rel)}：在包中，但元数据中没有它的记录（多出的文件）")
    for doc in docs:
        rel = (doc.findtext("计算机文件/计算机文件名") or "").strip()
        pages = text(doc, "页数")
        if rel in payload and pages.isdigit():
            try:
                if (counted := len(_pdf_reader(payload[rel]).pages)) != int(pages):
                    f.add("1-9", f"{named(rel)}：实有 {counted} 页，元数据记载为 {pages} 页")
            except Exception as exc:
                f.add("1-9", f"{named(rel)}：无法读取：{exc}")
    # 2-9 required documents
    present = {d.find("文件类别").get("代码") for d in docs if d.find("文件类别") is not None}
    required = [el.get("类别") for el in (volume_el.findall("应归档文件") if volume_el is not None else [])]
    for kind in required:
        if kind not in present:
            title = DocumentKind(kind).title if kind in DocumentKind._value2member_map_ else kind
            f.add("2-9", f"本事项应归档{title}，卷内没有")
    f.note("2-9", f"本事项应归档的 {len(required)} 类文件均已归档" if required else "元数据未列出本事项应归档的文件")

    # 1-11 description and catalogue files
    if README not in payload or not payload.get(README, b"").strip():
        f.add("1-11", f"说明文件 data/{README} 缺失或为空")
    for key, tag in (("External-Description", "案卷题名"), ("Internal-Sender-Identifier", "办件编号"),
                     ("Source-Organization", "立档单位名称")):
        expected = text(volume_el, tag)
        if bag_info.get(key) != expected:
            f.add("1-11", f"bag-info.txt 的 {key} 为 {bag_info.get(key)!r}，与元数据项 {tag}（{expected!r}）不一致")
    try:
        if (path / "bagit.txt").read_text("utf-8").splitlines()[0] != "BagIt-Version: 1.0":
            f.add("1-11", "bagit.txt 的第一行不是 BagIt-Version: 1.0")
    except (OSError, UnicodeDecodeError, IndexError):
        f.add("1-11", "bagit.txt 缺失或无法读取")

    # -- the sealed volume (1-1, 1-13, 3-7, 4-7) ------------------------------------------------
    anchors = _read_anchors(payload)
    crls = [d for p, d in sorted(payload.items()) if p.startswith("evidence/crls/")]
    ocsps = [d for p, d in sorted(payload.items()) if p.startswith("evidence/ocsp/")]
    anchor_prints = {a.sha256.hex() for a in anchors}
    if not anchors:
        f.add("1-1", "包中没有信任锚证书（data/evidence/anchors/ 为空或缺失）")
    if expected_anchors is not None and not anchor_prints <= expected_anchors:
        f.add("1-1", "包中的信任锚不是本局的根证书（SHA-256 指纹前 16 位）：" + "、".join(sorted(p[:16] for p in anchor_prints - expected_anchors)))
    f.note("1-1", "信任锚与本局的根证书一致" if expected_anchors is not None
           else "信任锚取自包内（data/evidence/anchors/），请将其指纹与本局公布的根证书指纹核对")
    if at is not None:
        lapsed = sorted({a.subject.native.get("common_name", "") for a in anchors if a["tbs_certificate"]["validity"]["not_after"].native < at})
        f.note("1-1", f"{f.notes['1-1']}；按 {at.date()} 离线检测，只用包内材料：每枚印章须由时间戳证明签章时间，"
                      f"每个时间戳按其所载时间判断，须有证书撤销信息"
                      + (f"；届时已过期的信任锚：{'、'.join(lapsed)}" if lapsed else ""))

    def validate(where: str, blob: bytes, sealed: bool = True) -> PdfValidation | None:
        """``where`` names the file in the findings. ``sealed``: the file must carry a seal (the
        volume, registry documents); a material converted from paper carries none, but any
        signature it does carry must be valid."""
        try:
            v = validate_pdf(blob, anchors, crls, ocsps=ocsps, at=at)
        except UnreadableDocument as exc:
            f.add("1-1", f"{where}：{exc.message}")
            return None
        if sealed and not v.seals:
            f.add("1-1", f"{where}：没有电子印章")
        if at is not None:
            for s in v.seals:
                if not s.timestamp_trusted:
                    f.add("1-1", f"{where}，签名域 {s.field_name}：没有可信的时间戳证明签章时间；"
                                 f"到 {at.date()}，印章证书已不能再证明这枚印章有效")
        for s in v.signatures:
            for problem in s.problems_zh:
                f.add("1-1", f"{where}，签名域 {s.field_name}：{problem}")
        return v

    volume = payload.get(VOLUME)
    if volume is not None:
        v = validate(f"data/{VOLUME}", volume)
        if v is not None:
            archive_seals = [s for s in v.seals if s.field_name == SEAL_FIELD]
            if not archive_seals or not archive_seals[-1].signer_common_name.endswith(ARCHIVE_SEAL):
                f.add("1-1", f"data/{VOLUME}：案卷没有加盖{ARCHIVE_SEAL}")
            if not any(s.kind == "document_timestamp" and s.ok for s in v.signatures):
                f.add("4-7", f"data/{VOLUME}：案卷没有有效的文档时间戳（归档时间戳），不是 PAdES B-LTA 级签章")
            if not any(s.timestamp_trusted for s in v.seals):
                f.add("4-7", f"data/{VOLUME}：{ARCHIVE_SEAL}没有可信的签名时间戳")
        try:
            reader = _pdf_reader(volume)
            attached = {name: blobs[0] for name, blobs in reader.attachments.items()}
            for rel, blob in payload.items():
                if rel == VOLUME:
                    continue
                if rel not in attached:
                    f.add("1-13", f"{named(rel)}：不在签章案卷所附的文件之中（后加入的文件）")
                elif attached[rel] != blob:
                    f.add("1-13", f"{named(rel)}：与签章案卷中所附的副本不一致（文件已被改动）")
            for name in attached:
                if name not in payload:
                    f.add("1-13", f"{named(name)}：签章案卷中附有这个文件，但包中没有（缺失）")
            pages = len(reader.pages)
            if pages > limits.max_pages:
                f.add("4-3", f"data/{VOLUME}：共 {pages} 页，超过上限 {limits.max_pages} 页")
            else:
                if not _pdfa_identified(reader):
                    f.add("3-7", f"data/{VOLUME}：没有 PDF/A-3 标识或输出意图（OutputIntent）")
                problem = _renders(volume, pages)
                if problem:
                    f.add("3-7", f"data/{VOLUME}：{problem}")
                # the cover, then the catalogue (卷内文件目录): one page, or more for a long one
                front = pages - total_pages
                if volume_el is not None and not 2 <= front <= 1 + max(1, -(-len(docs) // 10)):
                    f.add("2-6", f"data/{VOLUME}：共 {pages} 页，应为卷皮、卷内文件目录加上 {total_pages} 页有页号的文件页")
        except Exception as exc:
            f.add("3-7", f"data/{VOLUME} 无法读取：{exc}")
    else:
        f.add("1-1", f"缺少案卷 data/{VOLUME}")

    # -- documents and registry (1-1) -------------------------------------------------------------
    key_text = payload.get("evidence/log/verifier-key.txt", b"").decode("utf-8", "replace").strip()
    checkpoint = payload.get("evidence/log/checkpoint.txt", b"").decode("utf-8", "replace")
    if expected_log_key is not None and key_text and key_text != expected_log_key:
        f.add("1-1", "包中的日志公钥（data/evidence/log/verifier-key.txt）不是本局透明日志的公钥")
    versions: dict[str, dict[int, tuple[str, str]]] = {}  # licence (identifier without version) -> version -> (件号, number)
    for doc in docs:
        rel = (doc.findtext("计算机文件/计算机文件名") or "").strip()
        blob = payload.get(rel)
        if blob is None:
            continue
        reg = doc.find("登记信息")
        where = named(rel)
        v = validate(where, blob, sealed=reg is not None)
        if reg is None:
            continue
        number, sealed = text(reg, "文书编号"), text(reg, "登记摘要")
        if v is not None and v.seals:
            end = v.seals[-1].signed_revision_end or len(blob)
            if hashlib.sha256(blob[:end]).hexdigest() != sealed:
                f.add("1-1", f"{where}：签章时的文件不是登记簿为 {number} 登记的那一份（SHA-256 摘要不符）")
        proof_rel = (reg.findtext("日志包含证明/计算机文件名") or "").strip()
        try:
            bundle = json.loads(payload[proof_rel])
            leaf = json.loads(bundle["leaf"])
        except (KeyError, ValueError, TypeError) as exc:
            if not proof_rel:
                f.add("1-1", f"{where}：元数据没有记载它的日志包含证明")
            elif proof_rel not in payload:
                f.add("1-1", f"{where}：缺少它的日志包含证明 data/{proof_rel}")
            else:
                f.add("1-1", f"{where}：日志包含证明 data/{proof_rel} 无法读取：{exc}")
            continue
        if leaf.get("number") != number or leaf.get("sha256") != sealed:
            f.add("1-1", f"{where}：包含证明中的日志条目是 {leaf.get('number')!r} 的，不是 {number} 的")
        elif isinstance(leaf.get("licence_id"), str) and leaf["licence_id"].count(".") > 2 and isinstance(leaf.get("version"), int):
            versions.setdefault(leaf["licence_id"].rsplit(".", 2)[0], {})[leaf["version"]] = (text(doc, "件号"), number)
        if bundle.get("checkpoint") != checkpoint:
            f.add("1-1", f"{where}：包含证明指向的签名检查点与 data/evidence/log/checkpoint.txt 不同")
        if log_verifier is None:
            f.add("1-1", f"{where}：没有提供日志证明的核验方法，包含证明未经核验")
        else:
            ok, detail = log_verifier(bundle, key_text, sealed)
            if not ok:
                f.add("1-1", f"{where}：日志包含证明未通过核验：{detail}")
        if registry_lookup is not None and not registry_lookup(sealed):
            f.add("3-2", f"{where}：登记簿中没有 {number}")
    # 2-9 every version of a changed licence: the log entry of each licence version names the licence
    # (its GB/T 36904 identifier) and its version, so a volume holding version n must hold 1 … n-1
    changed = 0
    for licence, held in sorted(versions.items()):
        last = max(held)
        changed += last > 1
        lacking = [str(v) for v in range(1, last) if v not in held]
        if lacking:
            seq, number = held[last]
            f.add("2-9", f"文件 {seq}：{number} 是许可证 {licence} 的第 {last} 版，卷内缺少被它取代的第 "
                         f"{'、'.join(lacking)} 版（{DocumentKind.earlier_licence.title}）")
    if changed:
        f.note("2-9", f"{f.notes.get('2-9', '')}；{changed} 个变更过的许可证，其以前各版均已归档")
    if registry_lookup is None:
        f.na.add("3-2")
        f.note("3-2", "本次只检测档案包本身，未查询登记簿（立卷时已核对登记簿）")
    # 2-5 process history
    acts = volume_el.findall("业务行为/行为") if volume_el is not None else []
    times = []
    for act in acts:
        try:
            times.append(datetime.fromisoformat(text(act, "行为时间")))
        except ValueError:
            pass
    if times != sorted(times):
        f.add("2-5", "过程信息（业务行为）没有按时间先后排列")
    if not any(text(a, "行为名称") == "归档" for a in acts):
        f.add("2-5", "过程信息中没有“归档”行为")
    for doc in docs:
        if doc.find("登记信息") is not None and not any(a.get("件号") == text(doc, "件号") for a in acts):
            f.add("2-5", f"文件 {text(doc, '件号')}：过程信息中没有它的签发（出具）记录")
    seqs_known = {text(d, "件号") for d in docs}
    for i, act in enumerate(acts, start=1):
        if act.get("件号") is not None and act.get("件号") not in seqs_known:
            f.add("2-5", f"行为[{i}] {text(act, '行为名称')}：所记件号 {act.get('件号')} 在卷内没有")
    # the acts a finished case must show (接件, 受理, 审批决定, 签发, 送达, 归档), each by someone, in order
    wanted = [text(el, ".") for el in (volume_el.findall("应有业务行为") if volume_el is not None else [])]
    names = [text(a, "行为名称") for a in acts]
    after = -1  # each wanted step must come after the one before it (earlier acts, e.g. an agreement's issuance, may precede)
    for step in wanted:
        if step not in names:
            f.add("2-5", f"过程信息中缺少“{step}”行为")
            continue
        later = [i for i, n in enumerate(names) if n == step and i > after]
        if not later:
            f.add("2-5", f"过程信息中“{wanted[wanted.index(step) - 1]}”之后没有“{step}”：{'、'.join(wanted)} 的先后顺序不对")
            continue
        after = later[0]
    if wanted:
        f.note("2-5", f"共记录业务行为 {len(acts)} 项，每项都有机构人员和时间；{'、'.join(wanted)} 齐全，顺序正确")

    # -- usability of content (3-3, 3-4, 3-5, 3-6, 3-8) and active content (4-2) ---------------
    for rec in files:
        if rec.media_type not in COMMON_FORMATS:
            f.add("3-3", f"{named(rec.path)}：" + (f"媒体类型 {rec.media_type} 不是长期保存格式" if rec.media_type
                                                 else "元数据未记载媒体类型，无法确认是长期保存格式"))
        if rec.path.startswith("documents/") and rec.format != "PDF/A-3b":
            f.add("3-3", f"{named(rec.path)}：格式为 {rec.format or '（未记载）'}，不是 PDF/A")
    env = text(root, "软硬件环境") if root is not None else ""
    if not env.startswith("yiyin"):
        f.add("3-5", f"元数据项 软硬件环境 {env[:60]!r} 没有写明生成档案包的软件（应以 yiyin 及其版本开头）")
    for rel in ("bagit.txt", "bag-info.txt"):
        try:
            (path / rel).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            f.add("3-6", f"{rel}：不能作为 UTF-8 文本读取：{exc}")
    if volume is not None:
        try:
            sealed_meta = _pdf_reader(volume).attachments.get(METADATA, [b""])[0]
            ET.fromstring(sealed_meta)
        except Exception as exc:
            f.add("3-6", f"签章案卷中所附的元数据 {METADATA} 无法读取：{exc}")
    for rel, blob in payload.items():
        kind = program_kind(blob[:8])
        if kind:
            f.add("4-2", f"{named(rel)}：是 {kind}，档案包中不应有")
            f.add("3-8", f"{named(rel)}：是 {kind}，档案包中不应有")
        if not rel.endswith(".pdf") and not blob.startswith(b"%PDF-"):
            continue
        try:
            reader = _pdf_reader(blob)
        except PermissionError as exc:
            f.add("3-8", f"{named(rel)}：{exc}")
            continue
        except Exception as exc:
            f.add("3-4", f"{named(rel)} 无法打开：{exc}")
            continue
        try:
            found, unembedded = active_content(reader, limits.max_pdf_objects)
            odd = _filters(reader, limits.max_pdf_objects) - STANDARD_FILTERS
        except ValueError as exc:
            f.add("4-3", f"{named(rel)}：{exc}")
            continue
        for what in found:
            f.add("4-2", f"{named(rel)}：含有 {what}")
        for font in unembedded:
            f.add("3-4", f"{named(rel)}：字体 {font} 未嵌入")
        if odd:
            f.add("3-8", f"{named(rel)}：使用了非标准的压缩方式（过滤器 {'、'.join(sorted(odd))}）")
    # -- virus scan (4-1, 4-2) --------------------------------------------------------------------
    scan = virus_scan(path)
    if not scan.available:
        f.add("4-1", scan.error)
        f.add("4-2", "没有进行病毒扫描（没有可用的杀毒软件）")
    else:
        f.note("4-1", "已安装 " + (clamav_version() or "ClamAV").splitlines()[0])
        if scan.error:
            f.add("4-2", scan.error)
        for line in scan.infected:
            found, _, signature = line.replace(str(path) + "/", "").partition(": ")
            f.add("4-2", f"{named(found[len('data/'):]) if found.startswith('data/') else found}：ClamAV 发现恶意代码：{signature}")
        system = [d for d in scan.databases if d != BUNDLED_SIGNATURES.name]
        f.note("4-2", f"ClamAV 已扫描，病毒库 {'、'.join(scan.databases)}"
                      + ("" if system else "（只有随附的测试特征库，本机未安装 ClamAV 病毒库，请用 freshclam 更新）")
                      + "；已逐个检查每个 PDF，没有 JavaScript、启动动作或嵌入的程序")
    for code in ("4-4", "4-5", "4-6"):
        f.na.add(code)
        f.note(code, "档案包是磁盘上的文件夹，不是光盘（光盘的检测见 DA/T 38）")

    default_detail = {"1-1": "所有电子印章、时间戳和摘要均有效；每件登记簿文书都在签名的透明日志中",
                      "1-13": "包内每个文件都与签章案卷所附的副本一致", "3-7": "案卷为 PDF/A-3，每一页都能正常显示",
                      "3-4": "每个 PDF 都能打开，字体均已嵌入", "2-7": "SHA-256 和 SHA-512 清单均相符",
                      "2-11": "无缺失，无多余", "4-3": "没有多余文件；文件大小和数量均在上限之内"}
    for code, title in ITEMS.items():
        problems = f.by_item[code]
        group = GROUPS[code.split("-")[0]][1]
        if problems:
            report.items.append(ItemResult(code, title, group, "fail", f"{len(problems)} 个问题", problems))
        elif code in f.na:
            report.items.append(ItemResult(code, title, group, "n/a", f.notes.get(code, "")))
        else:
            report.items.append(ItemResult(code, title, group, "pass", f.notes.get(code) or default_detail.get(code, PASSED)))
    return report
