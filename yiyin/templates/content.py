"""What a document says, written once per type as a list of blocks that both the Typst layouts
(common/paper.typ, common/licence.typ) and the DOCX writer set. The PDF and the DOCX therefore
carry the same text by construction; the layouts decide only how it looks.

A block is a plain dict (it travels to Typst as JSON) with a kind ``k``:

``title`` (lines), ``number`` (the 发文字号 from the issue metadata), ``to`` (主送: the addressee
line), ``p`` (a body paragraph: text, indent, align, bold), ``h`` (a heading such as 一、…),
``table`` (columns, header, rows: runs over pages, header repeated), ``fields`` (a form of label and
value rows, with room to write by hand), ``sign`` (the issuing organ and date: where the seal goes),
``parties`` (one seal block per party of an agreement), ``space`` (lines of vertical space) and
``licence`` (a licence certificate: 正本 and optional 副本 pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

Block = dict[str, Any]

_DIGITS = "〇一二三四五六七八九"


def cn_date(value: date | str) -> str:
    """2026-11-22 -> 2026年11月22日 (Arabic numerals without leading zeros, as GB/T 9704 asks)."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d.year}年{d.month}月{d.day}日"


def cn_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 99 -> 九十九 (for 一、 and （一） numbering)."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _DIGITS[tens]) + "十" if tens else "") + (_DIGITS[ones] if ones else "")


def title(*lines: str, organ: bool = False) -> Block:
    """The title; ``organ`` puts the issuing organ's name on the line above it (发文机关标志)."""
    return {"k": "title", "lines": list(lines), "organ": organ}


def number() -> Block:
    return {"k": "number"}


def to(text: str) -> Block:
    return {"k": "to", "text": text}


def p(text: str, *, indent: bool = True, align: str = "justify", bold: bool = False, size: float | None = None) -> Block:
    """A body paragraph; ``size`` in points for a note set smaller than the 3号 body."""
    return {"k": "p", "text": text, "indent": indent, "align": align, "bold": bold, "size": size}


def h(text: str) -> Block:
    return {"k": "h", "text": text}


def numbered(texts: Iterable[str]) -> list[Block]:
    """（一）… （二）… : the sub-items of a paragraph."""
    return [p(f"（{cn_numeral(i)}）{t}") for i, t in enumerate(texts, start=1)]


def sections(parts: Sequence[tuple[str, list[Block]]]) -> list[Block]:
    """一、heading, its blocks; 二、heading, … (headings numbered in order)."""
    out: list[Block] = []
    for i, (heading, blocks) in enumerate(parts, start=1):
        out.append(h(f"{cn_numeral(i)}、{heading}"))
        out.extend(blocks)
    return out


def table(columns: Sequence[str], header: Sequence[str], rows: Sequence[Sequence[str]], *, size: float = 11) -> Block:
    """Widths as "12mm" or "1fr"; the header repeats on every page the table runs over."""
    if any(len(r) != len(columns) for r in rows) or len(header) != len(columns):
        raise ValueError("every row of a table needs one cell per column")
    return {"k": "table", "columns": list(columns), "header": list(header), "rows": [list(r) for r in rows], "size": size}


def field(label: str, value: str = "", *, room_mm: float = 0) -> dict[str, Any]:
    """One row of a form; ``room_mm`` leaves space below the value to write or sign by hand."""
    return {"label": label, "value": value, "room_mm": room_mm}


def fields(rows: Sequence[dict[str, Any]], *, label_width: str = "34mm", size: float = 14) -> Block:
    return {"k": "fields", "rows": list(rows), "label_width": label_width, "size": size}


def sign() -> Block:
    """The issuing organ and the date, right-aligned: the seal goes over them."""
    return {"k": "sign"}


def parties(entries: Sequence[tuple[str, str]]) -> Block:
    """(label such as 甲方（委托机关）, organ name) per party, in signing order."""
    return {"k": "parties", "parties": [{"label": label, "organ": organ, "party": str(i)}
                                        for i, (label, organ) in enumerate(entries)]}


def space(lines: float = 1) -> Block:
    return {"k": "space", "lines": lines}


def joined(values: Iterable[str], sep: str = "、") -> str:
    return sep.join(values)


def licence(name: str, rows: Sequence[tuple[str, str]], *, copies: int | None = None,
            copy_rows: Sequence[tuple[str, str]] | None = None, number_label: str = "许可证编号") -> Block:
    """A licence certificate: the 正本 with ``rows`` (label, value), and ``copies`` 副本 pages with
    ``copy_rows`` (by default the same rows). The seal goes on the 正本; every page carries the
    verification code."""
    return {"k": "licence", "name": name, "number_label": number_label,
            "rows": [list(r) for r in rows], "copies": copies or 0,
            "copy_rows": [list(r) for r in (copy_rows if copy_rows is not None else rows)]}


def remedies(reconsideration_body: str, court: str, paper: str = "决定书") -> str:
    """The applicant's remedies against an adverse act (行政复议法 第二十条: 60 days; 行政诉讼法
    第四十六条: 6 months), naming the bodies, as the act must (行政许可法 第三十八条第二款)."""
    act = paper.removesuffix("书")
    return (f"如不服本{act}，可以自收到本{paper}之日起六十日内向{reconsideration_body}申请行政复议，"
            f"也可以自收到本{paper}之日起六个月内直接向{court}提起行政诉讼。")


def texts(blocks: Sequence[Block]) -> list[str]:
    """Every piece of text the blocks print, in order (for tests and for readers of the DOCX)."""
    out: list[str] = []
    for b in blocks:
        k = b["k"]
        if k == "title":
            out.extend(b["lines"])
        elif k in ("to", "p", "h"):
            out.append(b["text"])
        elif k == "table":
            out.extend(b["header"])
            out.extend(c for r in b["rows"] for c in r)
        elif k == "fields":
            out.extend(s for r in b["rows"] for s in (r["label"], r["value"]) if s)
        elif k == "parties":
            out.extend(s for e in b["parties"] for s in (e["label"], e["organ"]))
        elif k == "licence":
            out.append(b["name"])
            out.extend(s for r in b["rows"] for s in r if s)
    return out
