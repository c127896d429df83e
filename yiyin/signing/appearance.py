"""Seal appearances drawn from a seal's registration, never from free text.

The picture is vector PDF made with the same layout engine as the documents, cached on disk by a
digest of its specification, and later imported as the appearance of the PAdES signature field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import typst

from yiyin.errors import ConfigurationError

SEAL_LAYOUT = Path(__file__).parent / "seal.typ"
SEAL_RED = "#e60012"


@dataclass(frozen=True)
class SealAppearanceSpec:
    organ: str               # full name along the upper arc
    purpose: str             # e.g. 行政审批专用章
    diameter_mm: float = 42  # county-level organs use 42 mm
    color: str = SEAL_RED
    code: str = ""           # seal registration code printed small at the bottom, if any

    def __post_init__(self) -> None:
        if not self.organ.strip():
            raise ConfigurationError("seal appearance: organ name is empty")
        if not 20 <= self.diameter_mm <= 60:
            raise ConfigurationError(f"seal appearance: diameter {self.diameter_mm} mm is outside 20-60 mm")

    @property
    def diameter_pt(self) -> float:
        return self.diameter_mm * 72 / 25.4


def render_appearance(spec: SealAppearanceSpec, fonts: tuple[str, ...], font_dirs: tuple[Path, ...]) -> bytes:
    payload = json.dumps({**asdict(spec), "fonts": list(fonts)}, ensure_ascii=False)
    try:
        pdf, warnings = typst.compile_with_warnings(
            str(SEAL_LAYOUT), root=str(SEAL_LAYOUT.parent), font_paths=[str(d) for d in font_dirs],
            ignore_system_fonts=True, sys_inputs={"spec": payload}, pdf_tags=False,
        )
    except typst.TypstError as exc:
        raise ConfigurationError(f"seal appearance failed to render: {exc}") from exc
    if warnings:
        raise ConfigurationError("seal appearance rendered with warnings: " + "; ".join(map(str, warnings)))
    return pdf


def appearance_file(spec: SealAppearanceSpec, fonts: tuple[str, ...], font_dirs: tuple[Path, ...], cache_dir: Path) -> Path:
    """Path of the appearance PDF for ``spec``, rendering it once."""
    key = hashlib.sha256(json.dumps([asdict(spec), list(fonts)], ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir / f"seal-{key}.pdf"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(render_appearance(spec, fonts, font_dirs))
        tmp.replace(path)
    return path
