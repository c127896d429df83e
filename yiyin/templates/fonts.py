"""The fonts documents are set in, and the rule that no character may fall back to a box.

Typst substitutes silently when a glyph is missing; an official paper with a blank box where a
name should be is worse than no paper, so every string is checked against the configured
families' character maps before anything is numbered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from yiyin.errors import ConfigurationError, FieldProblem, MissingGlyph

BUNDLED_FONTS = Path(__file__).parent / "fonts"
FONT_SUFFIXES = {".otf", ".ttf", ".ttc", ".otc"}
# Characters that layout inserts or that never need a glyph.
_ALWAYS_OK = {"\n", "\t", "\u200b"}


def _faces(path: Path) -> list[TTFont]:
    if path.suffix.lower() in {".ttc", ".otc"}:
        return list(TTCollection(str(path), lazy=True).fonts)
    return [TTFont(str(path), lazy=True)]


def _family(face: TTFont) -> set[str]:
    names = face["name"]
    found = set()
    for name_id in (1, 16):  # family, typographic family
        for record in names.names:
            if record.nameID == name_id:
                try:
                    found.add(record.toUnicode())
                except UnicodeDecodeError:
                    pass
    return found


@dataclass(frozen=True)
class FontSet:
    """Font directories (operator's first, bundled last) and the families body and titles use."""

    dirs: tuple[Path, ...]
    body: tuple[str, ...]
    title: tuple[str, ...]
    _cmaps: dict[str, set[int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, font_dirs: tuple[Path, ...], body: tuple[str, ...], title: tuple[str, ...]) -> "FontSet":
        return cls(dirs=(*font_dirs, BUNDLED_FONTS), body=body, title=title)

    @cached_property
    def coverage(self) -> dict[str, frozenset[int]]:
        """Code points each configured family can draw (union over its weights)."""
        wanted = set(self.body) | set(self.title)
        cover: dict[str, set[int]] = {f: set() for f in wanted}
        for d in self.dirs:
            for path in sorted(p for p in d.rglob("*") if p.suffix.lower() in FONT_SUFFIXES):
                for face in _faces(path):
                    families = _family(face) & wanted
                    if families:
                        cmap = face.getBestCmap() or {}
                        for fam in families:
                            cover[fam].update(cmap)
        missing = [f for f, c in cover.items() if not c]
        if missing:
            searched = ", ".join(str(d) for d in self.dirs)
            raise ConfigurationError(f"在 {searched} 中找不到字体 {'、'.join(missing)}；请用 YIYIN_FONT_DIRS 指向存放该字体的文件夹，或在 YIYIN_FONT_BODY、YIYIN_FONT_TITLE 中改用已有的字体")
        return {f: frozenset(c) for f, c in cover.items()}

    @cached_property
    def _body_drawable(self) -> frozenset[int]:
        return frozenset().union(*(self.coverage[f] for f in self.body))

    @cached_property
    def _title_drawable(self) -> frozenset[int]:
        return frozenset().union(*(self.coverage[f] for f in self.title))

    def check(self, texts: dict[str, str], *, title: bool = False) -> None:
        """Raise :class:`MissingGlyph` naming each field and character no configured font can draw."""
        drawable = self._title_drawable if title else self._body_drawable  # computed once: on every render's path
        problems = []
        for name, text in texts.items():
            missing = sorted({c for c in text if ord(c) not in drawable and c not in _ALWAYS_OK})
            if missing:
                chars = "、".join(f"“{c}”(U+{ord(c):04X})" for c in missing)
                problems.append(FieldProblem(name, "font_coverage", f"已配置的字体都没有字符 {chars}，无法印出；请核对文字（如生僻字可改用字库中有的写法），或由管理员配置含该字的字体（YIYIN_FONT_DIRS）"))
        if problems:
            raise MissingGlyph(problems, "文字")
