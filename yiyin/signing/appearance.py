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


# Diameters in millimetres by the organ's level and kind. People's governments follow 国务院关于国家
# 行政机关和企业事业单位社会团体印章管理的规定 (国发〔1999〕25号): provinces 50, autonomous
# prefectures, cities, counties and city districts 45, townships 42. Their working departments
# (and party and other organs of the same level) follow the provinces' rules, which give 45 at
# provincial level and 42 below; the national rule caps them at 45.
STANDARD_DIAMETER_MM = {
    ("province", "government"): 50, ("province", "department"): 45,
    ("city", "government"): 45, ("city", "department"): 42,
    ("county", "government"): 45, ("county", "department"): 42,
    ("township", "government"): 42, ("township", "department"): 42,
}


def organ_level(division_code: str) -> str:
    """province, city, county or township from the organ's administrative division code
    (GB/T 2260, six digits PPCCDD; a township's code (GB/T 10114) has nine or more)."""
    code = division_code.strip()
    if not code.isdigit() or len(code) < 6:
        raise ConfigurationError(f"行政区划代码 {division_code!r} 不正确：应为六位或更多数字（GB/T 2260）")
    if len(code) > 6:
        return "township"
    if code[2:] == "0000":
        return "province"
    return "city" if code[4:] == "00" else "county"


def standard_diameter_mm(division_code: str, organ_name: str) -> int:
    """The standard seal diameter for an organ: by its level, and whether it is a people's
    government (人民政府) or one of its departments or another organ of that level."""
    kind = "government" if organ_name.strip().endswith("人民政府") else "department"
    return STANDARD_DIAMETER_MM[(organ_level(division_code), kind)]


@dataclass(frozen=True)
class SealAppearanceSpec:
    organ: str               # full name along the upper arc
    purpose: str             # e.g. 行政审批专用章
    diameter_mm: float = 42  # the standard for a county's departments; see standard_diameter_mm
    color: str = SEAL_RED
    code: str = ""           # seal registration code printed small at the bottom, if any

    def __post_init__(self) -> None:
        if not self.organ.strip():
            raise ConfigurationError("印章图样：机关名称为空")
        if not 20 <= self.diameter_mm <= 60:
            raise ConfigurationError(f"印章图样：直径 {self.diameter_mm} 毫米超出 20–60 毫米的范围")

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
        raise ConfigurationError(f"印章图样绘制失败：{exc}") from exc
    if warnings:
        raise ConfigurationError("印章图样绘制时出现警告，未生成图样：" + "; ".join(map(str, warnings)))
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
