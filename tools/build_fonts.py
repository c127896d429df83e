#!/usr/bin/env python3
"""Build the bundled CJK fonts in yiyin/templates/fonts/.

Why: official documents must render identically on any host, so the service
ships its own font instead of relying on whatever the server has installed.
The Noto Serif CJK collections hold five regional faces; we extract only the
Simplified Chinese face ("Noto Serif CJK SC") as a plain OpenType/CFF .otf that
typst can load (about 25 MB per weight).

Subsetting to GB 18030-2022 implementation level 1 (--subset) is kept as an
option but is off: with fontTools' subset of this CID-keyed CFF font, Typst's
PDF/A export refuses some common characters (行, 营: "could not be displayed"),
while the unsubsetted face embeds them fine. Typst subsets the font it embeds
in every PDF anyway, so only the repository pays for the full face.

Reproducible: same Debian fonts-noto-cjk version + same fontTools version
give byte-identical output (head.modified is kept from the source font).

Usage (fontTools is a build-time tool, not a project dependency):
    python3 -m venv /tmp/fontvenv && /tmp/fontvenv/bin/pip install fonttools
    /tmp/fontvenv/bin/python tools/build_fonts.py [--regular TTC] [--bold TTC] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

FAMILY = "Noto Serif CJK SC"
DEBIAN_DIR = Path("/usr/share/fonts/opentype/noto")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "yiyin" / "templates" / "fonts"

# (first, last) inclusive code point ranges kept in the subset.
UNICODE_RANGES: list[tuple[int, int]] = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x2000, 0x206F),  # General Punctuation
    (0x2100, 0x218F),  # Letterlike Symbols, Number Forms
    (0x2460, 0x24FF),  # Enclosed Alphanumerics
    (0x2E80, 0x2FDF),  # CJK Radicals Supplement, Kangxi Radicals
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0x3100, 0x312F),  # Bopomofo
    (0x3200, 0x32FF),  # Enclosed CJK Letters and Months
    (0x3300, 0x33FF),  # CJK Compatibility
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFE10, 0xFE1F),  # Vertical Forms
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
]


def family_name(font: TTFont) -> str | None:
    """Typographic family (ID 16) if present, else legacy family (ID 1)."""
    name = font["name"]
    return name.getDebugName(16) or name.getDebugName(1)


def extract_face(ttc_path: Path, family: str = FAMILY) -> TTFont:
    """Return the font in the collection whose family name is `family`."""
    collection = TTCollection(str(ttc_path), lazy=False)
    for font in collection.fonts:
        if family_name(font) == family:
            return font
    found = [family_name(f) for f in collection.fonts]
    raise SystemExit(f"{ttc_path}: no face named {family!r} (found {found})")


def subset_options() -> subset.Options:
    options = subset.Options()
    options.layout_features = ["*"]  # vert, locl, fwid, halt, palt, ... all kept
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.hinting = False  # drops CFF stem hints; PDF viewers don't need them
    options.notdef_outline = True
    options.glyph_names = False
    options.ignore_missing_unicodes = True
    options.flavor = None  # plain OpenType/CFF, not woff
    return options


def build(ttc_path: Path, out_path: Path, do_subset: bool = False) -> None:
    font = extract_face(ttc_path)
    if do_subset:
        unicodes = [cp for first, last in UNICODE_RANGES for cp in range(first, last + 1)]
        subsetter = subset.Subsetter(options=subset_options())
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
    font.recalcTimestamp = False  # keep source head.modified -> reproducible bytes
    out_path.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out_path))
    style = font["name"].getDebugName(2)
    size_mb = out_path.stat().st_size / 1_000_000
    print(f"{out_path}: {family_name(font)} {style}, "
          f"{len(font.getGlyphOrder())} glyphs, {size_mb:.2f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regular", type=Path, default=DEBIAN_DIR / "NotoSerifCJK-Regular.ttc")
    parser.add_argument("--bold", type=Path, default=DEBIAN_DIR / "NotoSerifCJK-Bold.ttc")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--subset", action="store_true", help="subset to GB 18030 level 1 (breaks PDF/A export, see above)")
    args = parser.parse_args(argv)
    build(args.regular, args.out_dir / "NotoSerifCJKsc-Regular.otf", args.subset)
    build(args.bold, args.out_dir / "NotoSerifCJKsc-Bold.otf", args.subset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
