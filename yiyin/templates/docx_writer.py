"""Blocks (yiyin.templates.content) -> an editable Word document with the same text as the PDF.

The page follows GB/T 9704: A4, margins 37/35/28/26 mm, a line grid of 22 lines (linePitch 579),
body in 3号 (16 pt) with the 3号 default size, titles in 2号 (22 pt), page numbers "— 1 —". No
character grid: Word and LibreOffice read its charSpace differently, and a line of 3号 in the
156 mm type area holds 27 to 28 characters either way. A draft carries 草稿 in every page header
and as a watermark.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from yiyin.templates.content import cn_date
from yiyin.templates.fonts import FontSet
from yiyin.templates.render import IssueMeta

BODY_PT = 16
TITLE_PT = 22
LINE_PITCH_PT = 225 / 22 * 72 / 25.4   # 28.99 pt: 22 lines in the 225 mm type area
TEXT_WIDTH_MM = 156
VML = "urn:schemas-microsoft-com:vml"
OFFICE = "urn:schemas-microsoft-com:office:office"

_ALIGN = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "right": WD_ALIGN_PARAGRAPH.RIGHT,
          "center": WD_ALIGN_PARAGRAPH.CENTER, "left": WD_ALIGN_PARAGRAPH.LEFT}


class _Writer:
    def __init__(self, title: str, meta: IssueMeta, fonts: FontSet, *, licence: bool) -> None:
        self.meta = meta
        self.date_text = cn_date(meta.date)
        self.body_font = fonts.body[0]
        self.title_font = fonts.title[0]
        self.doc: DocxDocument = Document()
        props = self.doc.core_properties
        props.title, props.author, props.keywords = title, meta.organ, meta.number
        self._page(self.doc.sections[0], licence=licence)
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = self.body_font, Pt(BODY_PT)
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), self.body_font)
        # the document grid counts characters in the default size: make it 3号 so that 28 fit a line
        defaults = self.doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        for tag in ("w:sz", "w:szCs"):
            el = defaults.find(qn(tag))
            if el is None:
                el = OxmlElement(tag)
                defaults.append(el)
            el.set(qn("w:val"), str(BODY_PT * 2))
        fmt = normal.paragraph_format
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(LINE_PITCH_PT)
        fmt.space_before = fmt.space_after = Pt(0)

    # -- page -------------------------------------------------------------------------------

    def _page(self, section: Any, *, licence: bool = False) -> None:
        section.page_width, section.page_height = Mm(210), Mm(297)
        if licence:
            section.top_margin = section.bottom_margin = Mm(16)
            section.left_margin = section.right_margin = Mm(18)
        else:
            section.top_margin, section.bottom_margin = Mm(37), Mm(35)
            section.left_margin, section.right_margin = Mm(28), Mm(26)
            grid = section._sectPr.find(qn("w:docGrid"))
            if grid is None:
                grid = OxmlElement("w:docGrid")
                section._sectPr.append(grid)
            grid.set(qn("w:type"), "lines")
            grid.set(qn("w:linePitch"), "579")
        section.footer_distance = Mm(20)
        self._footer(section, verification=not licence)
        if self.meta.draft:
            self._draft_header(section)

    def _footer(self, section: Any, *, verification: bool) -> None:
        footer = section.footer
        para = footer.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(para, "— ", size=14)
        self._field(para, "PAGE", size=14)
        self._run(para, " —", size=14)
        if verification and not self.meta.draft:
            note = footer.add_paragraph()
            self._run(note, f"文书编号：{self.meta.number}　验证码：{self.meta.verification_code or ''}　"
                            f"访问 {self.meta.public_url or ''} 输入编号和验证码，可查验本文书的真伪和效力。", size=9)

    def _draft_header(self, section: Any) -> None:
        para = section.header.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        self._run(para, "草稿（未盖章，不作为正式文书）", size=10.5, bold=True, colour=RGBColor(0xC0, 0x00, 0x00))
        # the watermark Word itself inserts (设计 > 水印): WordArt text behind the page
        mark = parse_xml(
            f'<w:r {nsdecls("w")} xmlns:v="{VML}" xmlns:o="{OFFICE}"><w:pict>'
            '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" path="m@7,l@8,m@5,21600l@6,21600e">'
            '<v:path textpathok="t" o:connecttype="custom"/><v:textpath on="t" fitshape="t"/></v:shapetype>'
            '<v:shape id="YiyinDraftMark" o:spid="_x0000_s1025" type="#_x0000_t136" '
            'style="position:absolute;margin-left:0;margin-top:0;width:360pt;height:180pt;rotation:330;z-index:-251657216;'
            'mso-position-horizontal:center;mso-position-horizontal-relative:margin;'
            'mso-position-vertical:center;mso-position-vertical-relative:margin" fillcolor="#c8c8c8" stroked="f">'
            '<v:fill opacity=".5"/>'
            f'<v:textpath style="font-family:&quot;{self.title_font}&quot;;font-size:1pt" string="草稿"/>'
            '</v:shape></w:pict></w:r>')
        para._p.append(mark)

    # -- text -------------------------------------------------------------------------------

    def _run(self, para: Paragraph, text: str, *, size: float = BODY_PT, bold: bool = False, title: bool = False,
             colour: RGBColor | None = None, spacing_pt: float = 0) -> None:
        run = para.add_run(text)
        family = self.title_font if title else self.body_font
        run.font.name, run.font.size, run.font.bold = family, Pt(size), bold
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)
        if colour is not None:
            run.font.color.rgb = colour
        if spacing_pt:
            sp = OxmlElement("w:spacing")
            sp.set(qn("w:val"), str(int(spacing_pt * 20)))
            run._element.get_or_add_rPr().append(sp)

    def _field(self, para: Paragraph, code: str, *, size: float) -> None:
        for kind, text in (("begin", None), (None, f" {code} "), ("separate", None), (None, "1"), ("end", None)):
            run = para.add_run()
            run.font.size = Pt(size)
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            elif text and text.strip() == code:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            else:
                el = OxmlElement("w:t")
                el.text = text or ""
            run._element.append(el)

    def para(self, text: str = "", *, indent: bool = False, align: str = "justify", size: float = BODY_PT,
             bold: bool = False, title: bool = False, exact: bool = True, right_chars: float = 0) -> Paragraph:
        para = self.doc.add_paragraph()
        para.alignment = _ALIGN[align]
        fmt = para.paragraph_format
        if indent:
            fmt.first_line_indent = Pt(size * 2)
        if right_chars:
            fmt.right_indent = Pt(size * right_chars)
        if not exact:
            fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.SINGLE, 1.0
        if text:
            self._run(para, text, size=size, bold=bold, title=title)
        return para

    # -- blocks -----------------------------------------------------------------------------

    def block(self, b: dict[str, Any]) -> None:
        getattr(self, f"_b_{b['k']}")(b)

    def _b_title(self, b: dict[str, Any]) -> None:
        for line in ([self.meta.organ] if b.get("organ") else []) + b["lines"]:
            self.para(line, align="center", size=TITLE_PT, bold=True, title=True, exact=False)

    def _b_number(self, b: dict[str, Any]) -> None:
        self.para()
        self.para(self.meta.number, align="center")
        self.para()

    def _b_to(self, b: dict[str, Any]) -> None:
        self.para(b["text"], align="left")

    def _b_p(self, b: dict[str, Any]) -> None:
        size = b.get("size") or BODY_PT
        self.para(b["text"], indent=b.get("indent", True), align=b.get("align", "justify"), bold=b.get("bold", False),
                  size=size, exact=size == BODY_PT)

    def _b_h(self, b: dict[str, Any]) -> None:
        self.para(b["text"], align="left", bold=True)

    def _b_space(self, b: dict[str, Any]) -> None:
        for _ in range(max(1, round(b["lines"]))):
            self.para()

    def _table(self, rows: int, widths_mm: list[float], *, border_colour: str = "000000") -> Table:
        table = self.doc.add_table(rows=rows, cols=len(widths_mm))
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            el = OxmlElement(f"w:{edge}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "4")
            el.set(qn("w:color"), border_colour)
            borders.append(el)
        table._tbl.tblPr.append(borders)
        for column, w in zip(table.columns, widths_mm):  # the grid Word and LibreOffice lay out by
            column.width = Mm(w)
        for row in table.rows:
            for cell, w in zip(row.cells, widths_mm):
                cell.width = Mm(w)
        return table

    def _cell(self, cell: Any, text: str, *, size: float, bold: bool = False, align: str = "left") -> None:
        para = cell.paragraphs[0]
        para.alignment = _ALIGN[align]
        para.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        self._run(para, text, size=size, bold=bold)

    @staticmethod
    def _widths(columns: list[str], total: float) -> list[float]:
        fixed = sum(float(c[:-2]) for c in columns if c.endswith("mm"))
        fr = sum(float(c[:-2]) for c in columns if c.endswith("fr")) or 1
        return [float(c[:-2]) if c.endswith("mm") else (total - fixed) * float(c[:-2]) / fr for c in columns]

    def _b_table(self, b: dict[str, Any]) -> None:
        size = b.get("size", 11)
        table = self._table(len(b["rows"]) + 1, self._widths(b["columns"], TEXT_WIDTH_MM))
        header = table.rows[0]
        header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeats on every page
        for cell, text in zip(header.cells, b["header"]):
            self._cell(cell, text, size=size, bold=True, align="center")
        for row, values in zip(table.rows[1:], b["rows"]):
            for cell, text in zip(row.cells, values):
                self._cell(cell, text, size=size)

    def _b_fields(self, b: dict[str, Any]) -> None:
        label_w = self._widths([b["label_width"]], TEXT_WIDTH_MM)[0]
        table = self._table(len(b["rows"]), [label_w, TEXT_WIDTH_MM - label_w])
        for row, r in zip(table.rows, b["rows"]):
            self._cell(row.cells[0], r["label"], size=b["size"], bold=True, align="center")
            self._cell(row.cells[1], r["value"], size=b["size"])
            if r["room_mm"]:
                row.height = Mm(r["room_mm"] + 10)

    def _signature(self, lines: list[str], *, right_chars: float = 4, size: float = BODY_PT) -> None:
        for line in lines:
            self.para(line, align="right", right_chars=right_chars, size=size)

    def _b_sign(self, b: dict[str, Any]) -> None:
        self.para()
        self.para()
        self._signature([self.meta.organ, self.date_text])
        if self.meta.delegation_note:
            self.para(f"（{self.meta.delegation_note}）", align="right", size=10.5)

    def _b_parties(self, b: dict[str, Any]) -> None:
        self.para()
        entries = b["parties"]
        table = self.doc.add_table(rows=(len(entries) + 1) // 2, cols=2)
        for i, e in enumerate(entries):
            cell = table.rows[i // 2].cells[i % 2]
            cell.paragraphs[0].paragraph_format.space_before = Pt(30)
            self._cell(cell, f"{e['label']}（盖章）", size=12)
            for text in (e["organ"], self.date_text):
                para = cell.add_paragraph()
                self._run(para, text, size=12)
            cell.add_paragraph()

    def _b_licence(self, b: dict[str, Any]) -> None:
        self._certificate(b, b["rows"], None)
        for i in range(1, b["copies"] + 1):
            self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            self._certificate(b, b["copy_rows"], i)

    def _certificate(self, b: dict[str, Any], rows: list[list[str]], copy: int | None) -> None:
        para = self.para(align="center", exact=False)
        self._run(para, b["name"], size=34, bold=True, title=True, spacing_pt=6.8)
        if copy is not None:
            para = self.para(align="center", exact=False)
            self._run(para, "副本", size=18, bold=True, title=True, spacing_pt=9)
            self.para(f"第{copy}份，共{b['copies']}份", align="left", size=10.5, exact=False)
        self.para(f"{b['number_label']}：{self.meta.number}", align="right", size=12, exact=False)
        table = self._table(len(rows), [34, 140], border_colour="8A5A2B")
        for row, (label, value) in zip(table.rows, rows):
            self._cell(row.cells[0], label, size=12, bold=True, align="center")
            self._cell(row.cells[1], value, size=12)
        self.para(exact=False)
        if not self.meta.draft:
            self.para(f"验证码：{self.meta.verification_code or ''}　扫码或登录 {self.meta.public_url or ''} 查验",
                      align="left", size=9, exact=False)
        for line in (f"发证机关：{self.meta.organ}", f"发证日期：{self.date_text}"):
            self.para(line, align="right", size=14, right_chars=2, exact=False)
        if copy is None and self.meta.delegation_note:
            self.para(f"（{self.meta.delegation_note}）", align="right", size=10.5, exact=False)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def write_docx(blocks: list[dict[str, Any]], title: str, meta: IssueMeta, fonts: FontSet) -> bytes:
    writer = _Writer(title, meta, fonts, licence=any(b["k"] == "licence" for b in blocks))
    for b in blocks:
        writer.block(b)
    return writer.bytes()

