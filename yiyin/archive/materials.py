"""Materials received on paper or as pictures, converted to PDF/A for the volume: one page per image,
the picture scaled into an A4 page; the received file itself stays attached as the original."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import typst

from yiyin.errors import FieldProblem, InvalidData
from yiyin.templates.fonts import FontSet

_FORMATS = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg"}
_LAYOUT = """#let spec = json("material.json")
#set document(title: spec.title)
#set page(paper: "a4", margin: 12mm)
#for name in spec.images { page(align(center + horizon, image(name, fit: "contain", width: 100%, height: 100%))) }
"""


def images_to_pdfa(images: list[bytes], title: str, fonts: FontSet) -> bytes:
    """A PDF/A-3b with one page per image (PNG or JPEG)."""
    if not images:
        raise InvalidData([FieldProblem("images", "required", "give at least one page image")])
    names = []
    workdir = Path(tempfile.mkdtemp(prefix="yiyin-material-"))
    try:
        for i, data in enumerate(images):
            ext = next((e for magic, e in _FORMATS.items() if data.startswith(magic)), None)
            if ext is None:
                raise InvalidData([FieldProblem(f"images[{i}]", "format", "is neither PNG nor JPEG")])
            names.append(f"page-{i:04d}.{ext}")
            (workdir / names[-1]).write_bytes(data)
        (workdir / "material.json").write_text(json.dumps({"title": title, "images": names}, ensure_ascii=False), "utf-8")
        (workdir / "material.typ").write_text(_LAYOUT, "utf-8")
        try:
            return typst.compile(str(workdir / "material.typ"), root=str(workdir), font_paths=[str(d) for d in fonts.dirs],
                                 ignore_system_fonts=True, pdf_standards=["a-3b"], pdf_tags=False)
        except typst.TypstError as exc:
            raise InvalidData([FieldProblem("images", "readable", f"the images cannot be laid out: {exc}")]) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
