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
_PROGRAMS = {b"MZ": "a Windows program (MZ)", b"\x7fELF": "an ELF program", b"#!": "a script (#!)",
             b"\xca\xfe\xba\xbe": "a Mach-O/Java program", b"\xcf\xfa\xed\xfe": "a Mach-O program",
             b"PK\x03\x04": "a ZIP archive", b"Rar!": "a RAR archive", b"7z\xbc\xaf": "a 7-Zip archive"}
_ACTIVE_KEYS = {"/JS": "JavaScript", "/JavaScript": "JavaScript", "/RichMedia": "rich media (Flash)",
                "/XFA": "an XFA form"}
_ACTIVE_ACTIONS = {"/JavaScript": "a JavaScript action", "/Launch": "a launch action", "/ImportData": "an import-data action",
                   "/SubmitForm": "a submit-form action", "/Rendition": "a rendition action", "/GoToE": "an embedded go-to action"}


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
        return VirusScan(available=False, error="ClamAV (clamscan) is not installed; install Debian's clamav package")
    databases = [str(BUNDLED_SIGNATURES)]
    if SYSTEM_DATABASE.is_dir():
        databases += [str(p) for p in sorted(SYSTEM_DATABASE.iterdir()) if p.suffix in {".cvd", ".cld", ".ndb", ".hdb", ".ldb"}]
    args = [exe, "--no-summary", "--infected", "--recursive", "--scan-pdf=yes", "--max-filesize=512M", "--max-scansize=2048M"]
    args += [f"--database={d}" for d in databases] + [str(root)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        return VirusScan(available=True, version=clamav_version(), databases=databases, error=f"clamscan failed: {exc}")
    infected = [line.strip() for line in done.stdout.splitlines() if line.rstrip().endswith("FOUND")]
    scan = VirusScan(available=True, version=clamav_version(), databases=[Path(d).name for d in databases], infected=infected)
    if done.returncode not in (0, 1):
        scan.error = f"clamscan exited with {done.returncode}: {done.stderr.strip()[:500]}"
    return scan


def pdf_objects(reader: PdfReader, limit: int):  # type: ignore[no-untyped-def]
    """Every indirect object of the PDF (all revisions' xref entries), at most ``limit``."""
    refs: set[tuple[int, int]] = set()
    for gen, table in reader.xref.items():
        refs.update((num, gen) for num in table)
    refs.update((num, 0) for num in reader.xref_objStm)
    if len(refs) > limit:
        raise ValueError(f"{len(refs)} objects, more than the limit of {limit}")
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
                    kind = "an embedded file that cannot be decoded"
                if kind:
                    found.append(f"an embedded file that is {kind}")
            if obj.get("/Type") == "/FontDescriptor" and not any(k in obj for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                unembedded.append(str(obj.get("/FontName", "?")))
            if obj.get("/Type") == "/Font" and obj.get("/Subtype") in ("/Type1", "/TrueType", "/MMType1") and "/FontDescriptor" not in obj:
                unembedded.append(str(obj.get("/BaseFont", "?")))
    return sorted(set(found)), sorted(set(unembedded))
