"""Security scans of a package: ClamAV for malicious code, and a walk over every PDF object for
active content that has no place in an archive (JavaScript, launch actions, embedded programs).

ClamAV runs offline: it is given the signatures bundled here (the EICAR test signature, which
proves the engine and this wiring work) plus the system's ClamAV database when one has been
installed (``freshclam``, /var/lib/clamav); without the latter only the bundled signatures apply,
and the report says so.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

BUNDLED_SIGNATURES = Path(__file__).parent / "signatures" / "yiyin.ndb"
SYSTEM_DATABASE = Path("/var/lib/clamav")
#: magic numbers of programs and archives an archive package must not carry
_PROGRAMS = {b"MZ": "Windows 可执行程序（MZ）", b"\x7fELF": "ELF 可执行程序", b"#!": "脚本程序（#!）",
             b"\xca\xfe\xba\xbe": "Mach-O 或 Java 程序", b"\xcf\xfa\xed\xfe": "Mach-O 程序",
             b"PK\x03\x04": "ZIP 压缩包", b"Rar!": "RAR 压缩包", b"7z\xbc\xaf": "7-Zip 压缩包"}
_ACTIVE_KEYS = {"/JS": "JavaScript 脚本", "/JavaScript": "JavaScript 脚本", "/RichMedia": "富媒体（Flash）",
                "/XFA": "XFA 动态表单"}
_ACTIVE_ACTIONS = {"/JavaScript": "JavaScript 动作", "/Launch": "启动外部程序的动作（Launch）",
                   "/ImportData": "导入数据的动作（ImportData）", "/SubmitForm": "提交表单的动作（SubmitForm）",
                   "/Rendition": "播放媒体的动作（Rendition）", "/GoToE": "跳转到嵌入文件的动作（GoToE）"}


def program_kind(data: bytes) -> str | None:
    for magic, what in _PROGRAMS.items():
        if data.startswith(magic):
            return what
    return None


@dataclass
class VirusScan:
    available: bool
    version: str = ""
    databases: list[str] = field(default_factory=list)
    infected: list[str] = field(default_factory=list)
    error: str = ""


def clamav_version() -> str:
    exe = shutil.which("clamscan")
    if exe is None:
        return ""
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def virus_scan(root: Path) -> VirusScan:
    exe = shutil.which("clamscan")
    if exe is None:
        return VirusScan(available=False, error="未安装杀毒软件 ClamAV（clamscan）：请安装 Debian 软件包 clamav")
    databases = [str(BUNDLED_SIGNATURES)]
    if SYSTEM_DATABASE.is_dir():
        databases += [str(p) for p in sorted(SYSTEM_DATABASE.iterdir()) if p.suffix in {".cvd", ".cld", ".ndb", ".hdb", ".ldb"}]
    args = [exe, "--no-summary", "--infected", "--recursive", "--scan-pdf=yes", "--max-filesize=512M", "--max-scansize=2048M"]
    args += [f"--database={d}" for d in databases] + [str(root)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        return VirusScan(available=True, version=clamav_version(), databases=databases, error=f"病毒扫描 clamscan 无法运行：{exc}")
    infected = [line.strip() for line in done.stdout.splitlines() if line.rstrip().endswith("FOUND")]
    scan = VirusScan(available=True, version=clamav_version(), databases=[Path(d).name for d in databases], infected=infected)
    if done.returncode not in (0, 1):
        scan.error = f"病毒扫描 clamscan 出错（退出码 {done.returncode}）：{done.stderr.strip()[:500]}"
    return scan


def pdf_objects(reader: PdfReader, limit: int):  # type: ignore[no-untyped-def]
    """Every indirect object of the PDF (all revisions' xref entries), at most ``limit``."""
    refs: set[tuple[int, int]] = set()
    for gen, table in reader.xref.items():
        refs.update((num, gen) for num in table)
    refs.update((num, 0) for num in reader.xref_objStm)
    if len(refs) > limit:
        raise ValueError(f"PDF 中有 {len(refs)} 个对象，超过上限 {limit} 个")
    for num, gen in sorted(refs):
        try:
            yield reader.get_object(IndirectObject(num, gen, reader))
        except Exception:  # an unreadable object is the readability checks' business
            continue


def _direct(obj, depth: int = 0):  # type: ignore[no-untyped-def]
    """The object and every dictionary nested in it directly (indirect ones are visited on their own)."""
    if isinstance(obj, DictionaryObject):
        yield obj
        children = obj.values()
    elif isinstance(obj, ArrayObject):
        children = obj
    else:
        return
    if depth < 32:
        for child in children:
            if not isinstance(child, IndirectObject):
                yield from _direct(child, depth + 1)


def active_content(reader: PdfReader, limit: int) -> tuple[list[str], list[str]]:
    """(active content found, fonts not embedded) in one pass over the objects."""
    found, unembedded = [], []
    for top in pdf_objects(reader, limit):
        for obj in _direct(top):
            for key, what in _ACTIVE_KEYS.items():
                if key in obj:
                    found.append(what)
            action = obj.get("/S")
            if action in _ACTIVE_ACTIONS and obj.get("/Type", "/Action") == "/Action":
                found.append(_ACTIVE_ACTIONS[action])
            if obj.get("/Type") == "/EmbeddedFile" and isinstance(obj, StreamObject):
                try:
                    kind = program_kind(obj.get_data()[:8])
                except Exception:
                    kind = "无法解码"
                if kind:
                    found.append(f"嵌入文件（{kind}）")
            if obj.get("/Type") == "/FontDescriptor" and not any(k in obj for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                unembedded.append(str(obj.get("/FontName", "?")))
            if obj.get("/Type") == "/Font" and obj.get("/Subtype") in ("/Type1", "/TrueType", "/MMType1") and "/FontDescriptor" not in obj:
                unembedded.append(str(obj.get("/BaseFont", "?")))
    return sorted(set(found)), sorted(set(unembedded))
