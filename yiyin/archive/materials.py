"""Materials received on paper or as files, converted to PDF/A for the volume: one page per image,
the picture scaled into an A4 page; the received file itself stays attached as the original.

- PNG and JPEG pages are laid out as they are;
- TIFF scans (often several pages in one file) are decoded page by page into PNG first;
- a PDF that is already PDF/A-3 is kept as it is; any other PDF is rasterised page by page
  (poppler's pdftoppm), because what it embeds (fonts, scripts, forms) cannot be vouched for in
  an archive: the pages as they look are kept, and the file as received stays beside them.

Records the bureau writes itself (a site inspection's conclusion) are laid out as a titled table.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import typst

from yiyin.errors import ConfigurationError, FieldProblem, InvalidData
from yiyin.templates.fonts import FontSet

_FORMATS = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg"}
_TIFF = (b"II*\x00", b"MM\x00*")
_LAYOUT = """#let spec = json("material.json")
#set document(title: spec.title)
#set page(paper: "a4", margin: 12mm)
#for name in spec.images { page(align(center + horizon, image(name, fit: "contain", width: 100%, height: 100%))) }
"""
_RECORD = """#let spec = json("record.json")
#set document(title: spec.title)
#set page(paper: "a4", margin: (x: 26mm, top: 30mm, bottom: 25mm))
#set text(font: spec.fonts, size: 12pt, lang: "zh", region: "cn")
#align(center, text(size: 20pt, spec.title))
#v(8mm)
#table(columns: (32mm, 1fr), inset: 8pt, stroke: 0.5pt,
  ..spec.rows.map(r => (strong(r.at(0)), r.at(1))).flatten())
#v(6mm)
#text(size: 10pt, spec.note)
"""
RASTER_DPI = 150


def _typst(workdir: Path, layout: str, name: str, spec: dict, fonts: FontSet) -> bytes:
    (workdir / f"{name}.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    (workdir / f"{name}.typ").write_text(layout, "utf-8")
    try:
        return typst.compile(str(workdir / f"{name}.typ"), root=str(workdir), font_paths=[str(d) for d in fonts.dirs],
                             ignore_system_fonts=True, pdf_standards=["a-3b"], pdf_tags=False)
    except typst.TypstError as exc:
        raise InvalidData([FieldProblem("images", "readable", f"页面无法排版：{exc}")]) from exc


def images_to_pdfa(images: list[bytes], title: str, fonts: FontSet) -> bytes:
    """A PDF/A-3b with one page per image (PNG, JPEG, or every page of a TIFF)."""
    if not images:
        raise InvalidData([FieldProblem("images", "required", f"{title}：至少需要一页图像")])
    pages: list[tuple[str, bytes]] = []
    for i, data in enumerate(images):
        ext = next((e for magic, e in _FORMATS.items() if data.startswith(magic)), None)
        if ext is not None:
            pages.append((ext, data))
        elif data.startswith(_TIFF):
            pages.extend(("png", png) for png in tiff_pages(data, f"images[{i}]"))
        else:
            raise InvalidData([FieldProblem(f"images[{i}]", "format", f"{title}：第 {i + 1} 个图像既不是 PNG、JPEG，也不是 TIFF")])
    workdir = Path(tempfile.mkdtemp(prefix="yiyin-material-"))
    try:
        names = []
        for i, (ext, data) in enumerate(pages):
            names.append(f"page-{i:04d}.{ext}")
            (workdir / names[-1]).write_bytes(data)
        return _typst(workdir, _LAYOUT, "material", {"title": title, "images": names}, fonts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tiff_pages(data: bytes, where: str = "file") -> list[bytes]:
    """Every page of a TIFF as PNG (Typst lays out PNG and JPEG only)."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as tiff:
            out = []
            for frame in ImageSequence.Iterator(tiff):
                buf = io.BytesIO()
                _eight_bit(frame).save(buf, "PNG", optimize=False)
                out.append(buf.getvalue())
            return out
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidData([FieldProblem(where, "readable", f"TIFF 图像无法解码：{exc}")]) from exc


def _eight_bit(frame):  # type: ignore[no-untyped-def]
    """One TIFF page as 8-bit grey (bilevel, grey) or RGB (colour, palette, CMYK, …). A 16-bit grey
    page is scaled down from its full range (or from its MaxSampleValue): converted directly, Pillow
    clips every value above 255, and all but the blackest ink would come out white."""
    if frame.mode in ("1", "L"):
        return frame.convert("L")
    if frame.mode.startswith("I;16"):
        top = getattr(frame, "tag_v2", {}).get(281)  # MaxSampleValue, one value or one per sample
        top = max(top) if isinstance(top, tuple) and top else top
        scale = 255 / (top if isinstance(top, int) and 0 < top <= 65535 else 65535)
        return frame.convert("I").point(lambda v: v * scale).convert("L")
    return frame.convert("RGB")


def is_pdfa3(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and (b"<pdfaid:part>3<" in data or b'pdfaid:part="3"' in data)


def pdf_to_pdfa(data: bytes, title: str, fonts: FontSet, where: str = "file") -> bytes:
    """A received PDF as PDF/A-3b: kept when it already is one, else its pages as images."""
    if is_pdfa3(data):
        return data
    if shutil.which("pdftoppm") is None:
        raise ConfigurationError("把收到的 PDF 转换为 PDF/A 需要 poppler 的 pdftoppm（Debian 软件包 poppler-utils），本机未安装")
    with tempfile.TemporaryDirectory(prefix="yiyin-raster-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        done = subprocess.run(["pdftoppm", "-r", str(RASTER_DPI), "-jpeg", "-jpegopt", "quality=85", str(src), str(Path(tmp) / "p")],
                              capture_output=True, timeout=600)
        pages = sorted(Path(tmp).glob("p-*.jpg"))
        if done.returncode != 0 or not pages:
            reason = done.stderr.decode("utf-8", "replace").strip()[:200] or "没有一页能够渲染"
            raise InvalidData([FieldProblem(where, "readable", f"{title}：PDF 文件无法读取：{reason}")])
        return images_to_pdfa([p.read_bytes() for p in pages], title, fonts)


def material_to_pdfa(data: bytes, media_type: str, title: str, fonts: FontSet, where: str = "file") -> bytes:
    """Any material the window accepts (PDF, JPEG, PNG, TIFF) as PDF/A-3b pages."""
    if media_type == "application/pdf" or data.startswith(b"%PDF-"):
        return pdf_to_pdfa(data, title, fonts, where)
    return images_to_pdfa([data], title, fonts)


def record_to_pdfa(title: str, rows: list[tuple[str, str]], note: str, fonts: FontSet) -> bytes:
    """A record the bureau keeps as data (e.g. a site inspection's conclusion), as one PDF/A page."""
    fonts.check({f"record.{k}": v for k, v in [("title", title), ("note", note), *rows]})
    workdir = Path(tempfile.mkdtemp(prefix="yiyin-record-"))
    try:
        return _typst(workdir, _RECORD, "record", {"title": title, "rows": [list(r) for r in rows], "note": note,
                                                    "fonts": list(fonts.body)}, fonts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
