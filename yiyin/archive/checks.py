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
from yiyin.archive.scan import active_content, clamav_version, program_kind, virus_scan
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
                lines.append(f"  {i.code:<5} {mark[i.status]:<6} {i.title}: {i.detail}")
                lines.extend(f"          - {f}" for f in i.findings[:20])
                if len(i.findings) > 20:
                    lines.append(f"          … {len(i.findings) - 20} more")
        lines.append("\n结论 result: " + ("全部通过 ALL PASSED" if self.ok else f"不通过 FAILED ({', '.join(self.failed())})"))
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
        f.add("2-3", f"{where}: the record is missing")
        return
    for tag, rule in rules.items():
        found = el.findall(tag)
        if not found:
            f.add("2-3", f"{where}: element {tag} is missing")
            continue
        for child in found:
            value = (child.text or "").strip()
            if not value:
                if rule.required:
                    f.add("2-4", f"{where}/{tag}: required, but empty")
                continue
            if len(value) > rule.max_length:
                f.add("1-2", f"{where}/{tag}: {len(value)} characters, more than {rule.max_length}")
            if not md.TYPES[rule.kind](value):
                f.add("1-3", f"{where}/{tag}: {value[:40]!r} is not a valid {rule.kind}")
            if rule.values is not None and value not in rule.values:
                f.add("1-4", f"{where}/{tag}: {value[:40]!r} is outside its value range")


def _file_records(root: ET.Element) -> list[_FileRecord]:
    out = []
    for tag in ("计算机文件", "原件", "说明文件", "验证报告", "日志包含证明"):
        for el in root.iter(tag):
            name = (el.findtext("计算机文件名") or "").strip()
            size = (el.findtext("计算机文件大小") or "").strip()
            where = tag if tag == "说明文件" else name
            out.append(_FileRecord(name, int(size) if size.isdigit() else -1, (el.findtext("媒体类型") or "").strip(),
                                   (el.findtext("格式信息") or "").strip(),
                                   {d.get("算法", ""): (d.text or "").strip() for d in el.findall("数字摘要")}, where))
    return out


def _pdf_reader(data: bytes) -> PdfReader:
    if data[:5] != b"%PDF-":
        raise ValueError("not a PDF (no %PDF- header)")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise PermissionError("the PDF is encrypted")
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
            return "poppler's pdftoppm is not installed (Debian package poppler-utils)"
        errors = []
        for proc in procs:
            _, err = proc.communicate(timeout=900)
            if proc.returncode != 0:
                errors.append(err.decode("utf-8", "replace").strip()[:200])
        made = len(list(Path(tmp).glob("p-*.pgm")))
        if errors or made != pages:
            return f"{made} of {pages} pages rendered; {'; '.join(errors)}"
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
        raise UnreadableDocument(f"{path} is not a package folder")
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
                f.add("4-3", f"{rel}: a symbolic link")
            elif name.startswith("."):
                f.add("4-3", f"{rel}: a hidden file or folder")
            elif full.is_file():
                size = full.stat().st_size
                on_disk[rel] = size
                total += size
                if size > limits.max_file_bytes:
                    f.add("4-3", f"{rel}: {size} bytes, more than the limit of {limits.max_file_bytes}")
            elif not full.is_dir():
                f.add("4-3", f"{rel}: not a regular file")
    if len(on_disk) > limits.max_files:
        f.add("4-3", f"{len(on_disk)} files, more than the limit of {limits.max_files}")
    if total > limits.max_total_bytes:
        f.add("4-3", f"{total} bytes in all, more than the limit of {limits.max_total_bytes}")
    oversized = {p for p, s in on_disk.items() if s > limits.max_file_bytes} or set()
    bounded = len(on_disk) <= limits.max_files and total <= limits.max_total_bytes
    data: dict[str, bytes] = {}
    if bounded:
        for rel in on_disk:
            if rel not in oversized:
                data[rel] = (path / rel).read_bytes()
    payload = {p[len("data/"):]: d for p, d in data.items() if p.startswith("data/")}

    # -- bag structure and manifests (1-12, 2-2, 2-7, 2-10, 2-11) -------------------------------
    for rel in on_disk:
        top = rel.split("/")[0]
        if "/" not in rel and not TAG_FILES.match(rel):
            f.add("1-12", f"{rel}: not a BagIt tag file")
        elif top == "data" and rel.count("/") >= 2 and rel.split("/")[1] not in PAYLOAD_DIRS:
            f.add("1-12", f"{rel}: outside documents/, originals/ and evidence/")
        elif top not in ("data",) and "/" in rel:
            f.add("1-12", f"{rel}: a folder other than data/ at the top of the bag")
    for needed in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
                   "tagmanifest-sha256.txt", "tagmanifest-sha512.txt", f"data/{VOLUME}", f"data/{METADATA}", f"data/{README}"):
        if needed not in on_disk:
            f.add("1-12" if not needed.startswith("data/") else "2-11", f"{needed} is missing")
    bag_info: dict[str, Any] = {}
    manifest_entries: dict[str, dict[str, str]] = {}
    try:
        bag = bagit.Bag(str(path))
        bag_info = dict(bag.info)
        manifest_entries = {p[len("data/"):]: h for p, h in bag.payload_entries().items()}
        tag_entries = bag.tagfile_entries()
        for alg in ("sha256", "sha512"):
            if alg not in bag.algorithms:
                f.add("2-7", f"no {alg} manifest")
        for tag_file in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"):
            if tag_file not in tag_entries:
                f.add("2-10", f"{tag_file} is not covered by the tag manifests")
        for tag_file, hashes in tag_entries.items():
            actual = data.get(tag_file)
            for alg, expected in hashes.items():
                if actual is None:
                    f.add("2-10", f"{tag_file}: listed in tagmanifest-{alg}.txt but missing")
                elif alg in ("sha256", "sha512") and hashlib.new(alg, actual).hexdigest() != expected:
                    f.add("2-10", f"{tag_file}: {alg} differs from tagmanifest-{alg}.txt (changed)")
    except (bagit.BagError, UnicodeDecodeError, ValueError, OSError) as exc:
        f.add("2-10", f"not a readable BagIt bag: {exc}")
    for rel, hashes in manifest_entries.items():
        for alg in ("sha256", "sha512"):
            if alg not in hashes:
                f.add("2-7", f"data/{rel}: missing from manifest-{alg}.txt")
        actual = payload.get(rel)
        for alg, expected in hashes.items():
            if actual is None:
                f.add("2-11", f"data/{rel}: in manifest-{alg}.txt but missing from the package")
                break
            if alg in ("sha256", "sha512") and hashlib.new(alg, actual).hexdigest() != expected:
                f.add("2-7", f"data/{rel}: {alg} differs from manifest-{alg}.txt (changed)")
    for rel in payload:
        if rel not in manifest_entries:
            f.add("2-11", f"data/{rel}: in the package but in no manifest (added)")
    oxum = str(bag_info.get("Payload-Oxum", ""))
    payload_bytes, payload_count = sum(len(d) for d in payload.values()), len(payload)
    if oxum != f"{payload_bytes}.{payload_count}":
        f.add("2-2", f"Payload-Oxum {oxum or '(none)'} but the payload holds {payload_bytes} bytes in {payload_count} files")

    # -- metadata (3-1, 1-2 … 1-8, 2-3, 2-4) ----------------------------------------------------
    root: ET.Element | None = None
    xml = payload.get(METADATA)
    if xml is None:
        f.add("3-1", f"data/{METADATA} is missing")
    elif b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        f.add("3-1", f"data/{METADATA}: a DOCTYPE or entity declaration is not allowed")
    else:
        try:
            root = ET.fromstring(xml)
            if root.tag != md.ROOT or root.get("版本") != md.VERSION:
                f.add("3-1", f"data/{METADATA}: root element {root.tag} version {root.get('版本')}, expected {md.ROOT} {md.VERSION}")
        except ET.ParseError as exc:
            f.add("3-1", f"data/{METADATA} cannot be parsed: {exc}")
    volume_el = root.find("案卷") if root is not None else None
    docs = volume_el.findall("卷内文件/文件") if volume_el is not None else []
    if root is not None:
        for el in root.iter():
            if el.text and md.SPECIAL.search(el.text):
                f.add("1-6", f"{el.tag}: holds a control or replacement character")
            for k, v in el.attrib.items():
                if md.SPECIAL.search(v):
                    f.add("1-6", f"{el.tag}@{k}: holds a control or replacement character")
        for tag in ("封装包创建时间", "封装包创建单位", "软硬件环境"):
            if not (root.findtext(tag) or "").strip():
                f.add("2-4", f"{tag}: required, but empty")
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
            f.add("2-3", f"{rec.where}: digests {sorted(rec.digests)}, expected {list(md.DIGEST_ALGORITHMS)}")

    def text(el: ET.Element | None, tag: str) -> str:
        return (el.findtext(tag) or "").strip() if el is not None else ""

    code = text(volume_el, "档号")
    report.archival_code = code
    # 1-7 档号
    match = ARCHIVAL_CODE.match(code)
    if not match or match["seq"]:
        f.add("1-7", f"案卷档号 {code!r} does not have the form 全宗号-门类代码·年度-保管期限-机构问题代码-案卷号")
    else:
        parts = {"fonds": "全宗号", "category": "门类代码", "year": "年度", "retention": "保管期限代码", "unit": "机构问题代码", "volume": "案卷号"}
        for group_name, tag in parts.items():
            if match[group_name] != text(volume_el, tag):
                f.add("1-7", f"档号 part {tag} is {match[group_name]} but the metadata says {text(volume_el, tag)!r}")
    for doc in docs:
        if text(doc, "档号") != f"{code}-{int(text(doc, '件号') or 0):03d}":
            f.add("1-7", f"文件 {text(doc, '件号')}: 档号 {text(doc, '档号')!r} is not the volume's 档号 with its 件号")
    if bag_info and bag_info.get("External-Identifier") != code:
        f.add("1-7", f"bag-info External-Identifier {bag_info.get('External-Identifier')!r} differs from the 档号 {code!r}")
    # 1-8 duplicates
    for what, values in (("档号", [text(d, "档号") for d in docs]), ("件号", [text(d, "件号") for d in docs]),
                         ("文件编号", [text(d, "文件编号") for d in docs if text(d, "文件编号")]),
                         ("计算机文件名", [r.path for r in files]),
                         ("SHA-256 of a document", [r.digests.get("SHA-256", "") for r in files if r.path.startswith("documents/")])):
        for value, n in Counter(values).items():
            if n > 1:
                f.add("1-8", f"{what} {value[:64]!r} appears {n} times")

    # 1-5 plausibility, 2-1 counts, 2-6 continuity
    def as_date(value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None

    received, closed, filed = (as_date(text(volume_el, t)) for t in ("受理日期", "办结日期", "立卷日期"))
    if received and closed and closed < received:
        f.add("1-5", f"办结日期 {closed} is before 受理日期 {received}")
    if closed and filed and filed < closed:
        f.add("1-5", f"立卷日期 {filed} is before 办结日期 {closed}")
    if closed and text(volume_el, "年度") != str(closed.year):
        f.add("1-5", f"年度 {text(volume_el, '年度')} is not the year the matter closed ({closed.year})")
    for doc in docs:
        d = as_date(text(doc, "日期"))
        if d and filed and (d > filed or d.year < 1949):
            f.add("1-5", f"文件 {text(doc, '件号')}: date {d} is after the volume was filed or implausibly early")
    for rec in files:
        if rec.size == 0:
            f.add("1-5", f"{rec.where}: recorded as empty (0 bytes)")
    seqs = [int(text(d, "件号")) if text(d, "件号").isdigit() else -1 for d in docs]
    if seqs != list(range(1, len(docs) + 1)):
        f.add("2-6", f"件号 run {seqs}, not 1 to {len(docs)} without gaps")
    expected_start = 1
    for doc in docs:
        start, pages = text(doc, "起始页号"), text(doc, "页数")
        if not (start.isdigit() and pages.isdigit()) or int(start) != expected_start:
            f.add("2-6", f"文件 {text(doc, '件号')}: 起始页号 {start or '?'}, expected {expected_start} (pages must run on without gaps)")
        expected_start = (int(start) if start.isdigit() else expected_start) + (int(pages) if pages.isdigit() else 0)
    doc_files = sorted(p for p in payload if p.startswith("documents/"))
    count = text(volume_el, "件数")
    if not (count == str(len(docs)) == str(len(doc_files))):
        f.add("2-1", f"件数 {count or '?'}, {len(docs)} document records, {len(doc_files)} files in data/documents/")
    total_pages = sum(int(text(d, "页数")) for d in docs if text(d, "页数").isdigit())
    if text(volume_el, "页数") != str(total_pages):
        f.add("2-6", f"the volume's 页数 {text(volume_el, '页数')} is not the sum of its documents' pages ({total_pages})")

    # 1-9, 1-10, 2-7, 2-8, 2-11 against the files
    described = {r.path for r in files}
    for rec in files:
        actual = payload.get(rec.path)
        if actual is None:
            f.add("1-10", f"{rec.where}: names {rec.path}, which is not in the package")
            f.add("2-8" if rec.path.startswith("originals/") else "2-11", f"{rec.path} is missing")
            continue
        if rec.size != len(actual):
            f.add("1-9", f"{rec.path}: {len(actual)} bytes, the metadata records {rec.size}")
        for alg, expected in rec.digests.items():
            if alg in ALGORITHMS and digest(alg, actual) != expected:
                f.add("1-1", f"{rec.path}: {alg} digest differs from the metadata")
                f.add("2-8" if rec.path.startswith("originals/") else "2-7", f"{rec.path}: content differs from its {alg} digest")
        if rec.media_type == "application/pdf":
            if not actual.startswith(b"%PDF-"):
                f.add("1-9", f"{rec.path}: recorded as PDF but is not one")
            elif rec.format == "PDF/A-3b":
                try:
                    if not _pdfa_identified(_pdf_reader(actual)):
                        f.add("1-9", f"{rec.path}: recorded as PDF/A-3b but carries no PDF/A-3 identification")
                except Exception as exc:
                    f.add("1-9", f"{rec.path}: unreadable: {exc}")
    for rel in payload:
        if rel not in described and rel not in (VOLUME, METADATA):
            f.add("2-11", f"data/{rel}: in the package but described by no metadata record (extra)")
    for doc in docs:
        rel = (doc.findtext("计算机文件/计算机文件名") or "").strip()
        pages = text(doc, "页数")
        if rel in payload and pages.isdigit():
            try:
                if len(_pdf_reader(payload[rel]).pages) != int(pages):
                    f.add("1-9", f"{rel}: {len(_pdf_reader(payload[rel]).pages)} pages, the metadata records {pages}")
            except Exception as exc:
                f.add("1-9", f"{rel}: unreadable: {exc}")
    # 2-9 required documents
    present = {d.find("文件类别").get("代码") for d in docs if d.find("文件类别") is not None}
    required = [el.get("类别") for el in (volume_el.findall("应归档文件") if volume_el is not None else [])]
    for kind in required:
        if kind not in present:
            title = DocumentKind(kind).title if kind in DocumentKind._value2member_map_ else kind
            f.add("2-9", f"the matter requires {title}, which the volume does not hold")
    f.note("2-9", f"{len(required)} required kind(s) of document, all present" if required else "the metadata names no required documents")

    # 1-11 description and catalogue files
    if README not in payload or not payload.get(README, b"").strip():
        f.add("1-11", f"data/{README} (说明文件) is missing or empty")
    for key, expected in (("External-Description", text(volume_el, "案卷题名")), ("Internal-Sender-Identifier", text(volume_el, "办件编号")),
                          ("Source-Organization", text(volume_el, "立档单位名称"))):
        if bag_info.get(key) != expected:
            f.add("1-11", f"bag-info {key} {bag_info.get(key)!r} differs from the metadata ({expected!r})")
    try:
        if (path / "bagit.txt").read_text("utf-8").splitlines()[0] != "BagIt-Version: 1.0":
            f.add("1-11", "bagit.txt does not declare BagIt-Version: 1.0")
    except (OSError, UnicodeDecodeError, IndexError):
        f.add("1-11", "bagit.txt is missing or unreadable")

    # -- the sealed volume (1-1, 1-13, 3-7, 4-7) ------------------------------------------------
    anchors = _read_anchors(payload)
    crls = [d for p, d in sorted(payload.items()) if p.startswith("evidence/crls/")]
    ocsps = [d for p, d in sorted(payload.items()) if p.startswith("evidence/ocsp/")]
    anchor_prints = {a.sha256.hex() for a in anchors}
    if not anchors:
        f.add("1-1", "the package carries no trust anchors (evidence/anchors/)")
    if expected_anchors is not None and not anchor_prints <= expected_anchors:
        f.add("1-1", "the package's trust anchors are not the bureau's: " + ", ".join(sorted(p[:16] for p in anchor_prints - expected_anchors)))
    f.note("1-1", "信任锚与本局的根证书一致 trust anchors are the bureau's" if expected_anchors is not None
           else "信任锚取自包内，请与本局公布的指纹核对 trust anchors taken from the package: compare their fingerprints with the bureau's")
    if at is not None:
        lapsed = sorted({a.subject.native.get("common_name", "") for a in anchors if a["tbs_certificate"]["validity"]["not_after"].native < at})
        f.note("1-1", f"as of {at.date()}, offline, with only what the package carries: every seal proven by its timestamp, "
                      f"every timestamp judged at the time it states, revocation data required"
                      + (f"; expired by then: {', '.join(lapsed)}" if lapsed else ""))

    def validate(rel: str, blob: bytes, sealed: bool = True) -> PdfValidation | None:
        """``sealed``: the file must carry a seal (the volume, registry documents); a material
        converted from paper carries none, but any signature it does carry must be valid."""
        try:
            v = validate_pdf(blob, anchors, crls, ocsps=ocsps, at=at)
        except UnreadableDocument as exc:
            f.add("1-1", f"{rel}: {exc.message}")
            return None
        if sealed and not v.seals:
            f.add("1-1", f"{rel}: carries no seal")
        if at is not None:
            for s in v.seals:
                if not s.timestamp_trusted:
                    f.add("1-1", f"{rel} {s.field_name}: no trusted timestamp proves when the seal was made; "
                                 f"on {at.date()} its certificate can no longer vouch for it")
        for s in v.signatures:
            for p in s.problems:
                f.add("1-1", f"{rel} {s.field_name}: {p}")
        return v

    volume = payload.get(VOLUME)
    if volume is not None:
        v = validate(f"data/{VOLUME}", volume)
        if v is not None:
            archive_seals = [s for s in v.seals if s.field_name == SEAL_FIELD]
            if not archive_seals or not archive_seals[-1].signer_common_name.endswith(ARCHIVE_SEAL):
                f.add("1-1", f"data/{VOLUME}: not sealed with an archive seal ({ARCHIVE_SEAL})")
            if not any(s.kind == "document_timestamp" and s.ok for s in v.signatures):
                f.add("4-7", f"data/{VOLUME}: no archive (document) timestamp: the volume is not PAdES B-LTA")
            if not any(s.timestamp_trusted for s in v.seals):
                f.add("4-7", f"data/{VOLUME}: the archive seal has no trusted signature timestamp")
        try:
            reader = _pdf_reader(volume)
            attached = {name: blobs[0] for name, blobs in reader.attachments.items()}
            for rel, blob in payload.items():
                if rel == VOLUME:
                    continue
                if rel not in attached:
                    f.add("1-13", f"data/{rel} is not among the files sealed into the volume (added)")
                elif attached[rel] != blob:
                    f.add("1-13", f"data/{rel} differs from the copy sealed into the volume (changed)")
            for name in attached:
                if name not in payload:
                    f.add("1-13", f"{name} is sealed into the volume but missing from the package")
            pages = len(reader.pages)
            if pages > limits.max_pages:
                f.add("4-3", f"data/{VOLUME}: {pages} pages, more than the limit of {limits.max_pages}")
            else:
                if not _pdfa_identified(reader):
                    f.add("3-7", f"data/{VOLUME}: no PDF/A-3 identification or output intent")
                problem = _renders(volume, pages)
                if problem:
                    f.add("3-7", f"data/{VOLUME}: {problem}")
                # the cover, then the catalogue (卷内文件目录): one page, or more for a long one
                front = pages - total_pages
                if volume_el is not None and not 2 <= front <= 1 + max(1, -(-len(docs) // 10)):
                    f.add("2-6", f"data/{VOLUME}: {pages} pages, expected cover, catalogue and {total_pages} numbered pages")
        except Exception as exc:
            f.add("3-7", f"data/{VOLUME} cannot be read: {exc}")
    else:
        f.add("1-1", f"data/{VOLUME} is missing")

    # -- documents and registry (1-1) -------------------------------------------------------------
    key_text = payload.get("evidence/log/verifier-key.txt", b"").decode("utf-8", "replace").strip()
    checkpoint = payload.get("evidence/log/checkpoint.txt", b"").decode("utf-8", "replace")
    if expected_log_key is not None and key_text and key_text != expected_log_key:
        f.add("1-1", "the package's log verifier key is not the bureau's")
    versions: dict[str, dict[int, tuple[str, str]]] = {}  # licence (identifier without version) -> version -> (件号, number)
    for doc in docs:
        rel = (doc.findtext("计算机文件/计算机文件名") or "").strip()
        blob = payload.get(rel)
        if blob is None:
            continue
        reg = doc.find("登记信息")
        v = validate(rel, blob, sealed=reg is not None)
        if reg is None:
            continue
        number, sealed = text(reg, "文书编号"), text(reg, "登记摘要")
        if v is not None and v.seals:
            end = v.seals[-1].signed_revision_end or len(blob)
            if hashlib.sha256(blob[:end]).hexdigest() != sealed:
                f.add("1-1", f"{rel}: the document as sealed is not the one the registry recorded ({number})")
        proof_rel = (reg.findtext("日志包含证明/计算机文件名") or "").strip()
        try:
            bundle = json.loads(payload[proof_rel])
            leaf = json.loads(bundle["leaf"])
        except (KeyError, ValueError, TypeError) as exc:
            f.add("1-1", f"{rel}: log inclusion proof {proof_rel or '(none)'} missing or unreadable: {exc}")
            continue
        if leaf.get("number") != number or leaf.get("sha256") != sealed:
            f.add("1-1", f"{rel}: the log entry is for {leaf.get('number')!r}, not for {number}")
        elif isinstance(leaf.get("licence_id"), str) and leaf["licence_id"].count(".") > 2 and isinstance(leaf.get("version"), int):
            versions.setdefault(leaf["licence_id"].rsplit(".", 2)[0], {})[leaf["version"]] = (text(doc, "件号"), number)
        if bundle.get("checkpoint") != checkpoint:
            f.add("1-1", f"{rel}: the proof leads to another checkpoint than evidence/log/checkpoint.txt")
        if log_verifier is None:
            f.add("1-1", f"{rel}: no log proof verifier given; the inclusion proof was not checked")
        else:
            ok, detail = log_verifier(bundle, key_text, sealed)
            if not ok:
                f.add("1-1", f"{rel}: log inclusion proof: {detail}")
        if registry_lookup is not None and not registry_lookup(sealed):
            f.add("3-2", f"{rel}: {number} is not in the registry")
    # 2-9 every version of a changed licence: the log entry of each licence version names the licence
    # (its GB/T 36904 identifier) and its version, so a volume holding version n must hold 1 … n-1
    changed = 0
    for licence, held in sorted(versions.items()):
        last = max(held)
        changed += last > 1
        lacking = [str(v) for v in range(1, last) if v not in held]
        if lacking:
            seq, number = held[last]
            f.add("2-9", f"文件 {seq}: {number} is version {last} of licence {licence}; the volume lacks version(s) "
                         f"{', '.join(lacking)} it replaced ({DocumentKind.earlier_licence.title})")
    if changed:
        f.note("2-9", f"{f.notes.get('2-9', '')}; every earlier version of {changed} changed licence(s) present")
    if registry_lookup is None:
        f.na.add("3-2")
        f.note("3-2", "the package is checked on its own; the registry was consulted when it was built")
    # 2-5 process history
    acts = volume_el.findall("业务行为/行为") if volume_el is not None else []
    times = []
    for act in acts:
        try:
            times.append(datetime.fromisoformat(text(act, "行为时间")))
        except ValueError:
            pass
    if times != sorted(times):
        f.add("2-5", "the process history is not in time order")
    if not any(text(a, "行为名称") == "归档" for a in acts):
        f.add("2-5", "no 归档 (filing) step in the process history")
    for doc in docs:
        if doc.find("登记信息") is not None and not any(a.get("件号") == text(doc, "件号") for a in acts):
            f.add("2-5", f"文件 {text(doc, '件号')}: its issuance is not in the process history")
    seqs_known = {text(d, "件号") for d in docs}
    for i, act in enumerate(acts, start=1):
        if act.get("件号") is not None and act.get("件号") not in seqs_known:
            f.add("2-5", f"行为[{i}] {text(act, '行为名称')}: names 件号 {act.get('件号')}, which the volume does not hold")
    # the acts a finished case must show (接件, 受理, 审批决定, 签发, 送达, 归档), each by someone, in order
    wanted = [text(el, ".") for el in (volume_el.findall("应有业务行为") if volume_el is not None else [])]
    names = [text(a, "行为名称") for a in acts]
    after = -1  # each wanted step must come after the one before it (earlier acts, e.g. an agreement's issuance, may precede)
    for step in wanted:
        if step not in names:
            f.add("2-5", f"the process history lacks the step {step}")
            continue
        later = [i for i, n in enumerate(names) if n == step and i > after]
        if not later:
            f.add("2-5", f"the process history has no {step} after {wanted[wanted.index(step) - 1]}: the steps {'、'.join(wanted)} are out of order")
            continue
        after = later[0]
    if wanted:
        f.note("2-5", f"{len(acts)} recorded acts, each with who and when; {'、'.join(wanted)} present and in order")

    # -- usability of content (3-3, 3-4, 3-5, 3-6, 3-8) and active content (4-2) ---------------
    for rec in files:
        if rec.media_type not in COMMON_FORMATS:
            f.add("3-3", f"{rec.path}: {rec.media_type or 'no media type'} is not a format kept for the long term")
        if rec.path.startswith("documents/") and rec.format != "PDF/A-3b":
            f.add("3-3", f"{rec.path}: {rec.format}, not PDF/A")
    env = text(root, "软硬件环境") if root is not None else ""
    if not env.startswith("yiyin"):
        f.add("3-5", f"软硬件环境 {env[:60]!r} does not name the software that produced the package")
    for rel in ("bagit.txt", "bag-info.txt"):
        try:
            (path / rel).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            f.add("3-6", f"{rel}: not readable as UTF-8 text: {exc}")
    if volume is not None:
        try:
            sealed_meta = _pdf_reader(volume).attachments.get(METADATA, [b""])[0]
            ET.fromstring(sealed_meta)
        except Exception as exc:
            f.add("3-6", f"the metadata sealed into the volume cannot be read: {exc}")
    for rel, blob in payload.items():
        kind = program_kind(blob[:8])
        if kind:
            f.add("4-2", f"data/{rel} is {kind}")
            f.add("3-8", f"data/{rel} is {kind}")
        if not rel.endswith(".pdf") and not blob.startswith(b"%PDF-"):
            continue
        try:
            reader = _pdf_reader(blob)
        except PermissionError as exc:
            f.add("3-8", f"data/{rel}: {exc}")
            continue
        except Exception as exc:
            f.add("3-4", f"data/{rel} cannot be opened: {exc}")
            continue
        try:
            found, unembedded = active_content(reader, limits.max_pdf_objects)
            odd = _filters(reader, limits.max_pdf_objects) - STANDARD_FILTERS
        except ValueError as exc:
            f.add("4-3", f"data/{rel}: {exc}")
            continue
        for what in found:
            f.add("4-2", f"data/{rel} contains {what}")
        for font in unembedded:
            f.add("3-4", f"data/{rel}: font {font} is not embedded")
        if odd:
            f.add("3-8", f"data/{rel}: non-standard compression {sorted(odd)}")
    # -- virus scan (4-1, 4-2) --------------------------------------------------------------------
    scan = virus_scan(path)
    if not scan.available:
        f.add("4-1", scan.error)
        f.add("4-2", "no virus scanner ran")
    else:
        f.note("4-1", (clamav_version() or "ClamAV").splitlines()[0])
        if scan.error:
            f.add("4-2", scan.error)
        for line in scan.infected:
            f.add("4-2", line.replace(str(path) + "/", ""))
        f.note("4-2", f"ClamAV with {', '.join(scan.databases)}; every PDF walked for JavaScript, launch actions, embedded programs")
    for code in ("4-4", "4-5", "4-6"):
        f.na.add(code)
        f.note(code, "the package is a folder on disk, not an optical disc (DA/T 38)")

    default_detail = {"1-1": "every seal, timestamp and digest is valid; every registry document is in the signed log",
                      "1-13": "every file equals the copy sealed into the volume", "3-7": "the volume is PDF/A-3 and every page renders",
                      "3-4": "every PDF opens and embeds its fonts", "2-7": "the SHA-256 and SHA-512 manifests match",
                      "2-11": "nothing missing, nothing extra", "4-3": "no extra files; within size and count limits"}
    for code, title in ITEMS.items():
        problems = f.by_item[code]
        group = GROUPS[code.split("-")[0]][1]
        if problems:
            report.items.append(ItemResult(code, title, group, "fail", f"{len(problems)} problem(s)", problems))
        elif code in f.na:
            report.items.append(ItemResult(code, title, group, "n/a", f.notes.get(code, "")))
        else:
            report.items.append(ItemResult(code, title, group, "pass", f.notes.get(code) or default_detail.get(code, "passed")))
    return report
