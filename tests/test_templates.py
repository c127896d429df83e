"""Every document type, rendered from its sample as a reader, an archive and a clerk would check it:
the same text in the PDF and the DOCX, the data embedded as JSON, the pages, nothing off the page,
the seal over the date, the QR code readable, drafts marked, long content wrapped or continued."""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import docx
import pytest
import zxingcpp
from pypdf import PdfReader

from yiyin.errors import InvalidData
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.templates.catalog import DOCUMENT_TYPES, document_type
from yiyin.templates.content import texts
from yiyin.templates.doctype import DocumentKind
from yiyin.templates.render import IssueMeta, RenderedDocument

from .test_sealed_pdf import _words

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "documents"
DAY = date(2026, 11, 22)
MM = 72 / 25.4
URL = "http://localhost:8000/v?n=%E5%8F%B0%E5%AE%A1%E6%89%B9&c=7Q4K-M2XP-9D3F"
META = IssueMeta(organ="台安县行政审批局", date=DAY, number="台审批测〔2026〕8号", verification_code="7Q4K-M2XP-9D3F",
                 verify_url=URL, public_url="http://localhost:8000")
# pages each sample prints: a licence is its 正本 plus one page per 副本
OPENING, CLOSING = "（《“〔［", "，、。；：）》”〕］！？"
PAGES = {"decision_grant": 2, "decision_refuse": 2, "notice_acceptance": 2, "notice_rejection": 1, "notice_correction": 2,
         "receipt_service": 1, "licence_drug_retail": 2, "licence_travel_agency": 1, "licence_road_transport": 2,
         "licence_hazchem": 1, "licence_medical_institution": 2, "licence_printing": 1, "agreement_transfer": 3,
         "agreement_delegation": 3}


def sample(type_id: str) -> dict:
    return resolve_dates(json.loads((SAMPLES / f"{type_id}.json").read_text("utf-8")), DAY)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in the order it was set (cell by cell in tables), page numbers left out."""
    text = flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    return re.sub(r"—\d+—", "", text)


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def check_inside_the_page(pdf: bytes, tmp_path: Path, kind: DocumentKind) -> list:
    """Every word inside the type area (the licence frame for a licence): nothing clipped or off the page."""
    path = tmp_path / "bbox.pdf"
    path.write_bytes(pdf)
    words = _words(path)
    assert words
    if kind == DocumentKind.licence:
        left, right, top, bottom = 10 * MM, 200 * MM, 10 * MM, 287 * MM
    else:  # GB/T 9704 type area, with the page number and verification note in the bottom margin
        left, right, top, bottom = 28 * MM, (210 - 26) * MM, 37 * MM - 12, 297 * MM - 8 * MM
    tolerance = 1.5
    for text, page, x1, y1, x2, y2 in words:
        # Punctuation at a line's edge is set half-width (its ink is in the half towards the text),
        # while pdftotext reports the full advance: allow half a character there.
        lead = 8.5 if text[0] in OPENING else 0
        trail = 8.5 if text[-1] in CLOSING else 0
        assert left - tolerance - lead <= x1 and x2 <= right + tolerance + trail, f"{text!r} on page {page} runs off horizontally ({x1:.0f}-{x2:.0f})"
        assert top - tolerance <= y1 and y2 <= bottom + tolerance, f"{text!r} on page {page} runs off vertically ({y1:.0f}-{y2:.0f})"
    return words


def lines_of(words: list) -> list[tuple[str, int, float, float, float, float]]:
    """pdftotext's words joined into printed lines (same page, same baseline, close together)."""
    lines: list[list] = []
    for text, page, x1, y1, x2, y2 in sorted(words, key=lambda w: (w[1], round(w[3]), w[2])):
        last = lines[-1] if lines else None
        if last and last[1] == page and abs(last[3] - y1) < 1 and x1 - last[4] < 20:
            last[0] += text
            last[4], last[5] = x2, max(last[5], y2)
        else:
            lines.append([text, page, x1, y1, x2, y2])
    return [tuple(line) for line in lines]


def seal_over_date(rendered: RenderedDocument, words: list) -> None:
    """Each seal's centre lies over a date line of its page, within the seal's radius (21 mm)."""
    height = 297 * MM
    for party, anchor in rendered.anchors:
        dates = [w for w in lines_of(words) if w[1] == anchor.page + 1 and re.fullmatch(r"(发证日期：)?\d+年\d+月\d+日", w[0])]
        assert dates, f"no date on the page of seal {party}"
        nearest = min(((w[2] + w[4]) / 2 - anchor.x) ** 2 + (height - (w[3] + w[5]) / 2 - anchor.y) ** 2 for w in dates) ** 0.5
        assert nearest < 21 * MM, f"seal {party} is {nearest / MM:.0f} mm from the nearest date"


@pytest.mark.parametrize("type_id", sorted(DOCUMENT_TYPES))
def test_every_type_renders_the_same_text_to_pdf_and_docx(app: App, type_id: str, tmp_path: Path) -> None:
    doc_type = document_type(type_id)
    data = sample(type_id)
    rendered = app.renderer.render(doc_type, data, META)
    model = app.renderer.validate(doc_type, data)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert len(reader.pages) == PAGES[type_id]

    # the data travel with the PDF as a PDF/A-3 associated file
    attached = json.loads(reader.attachments["yiyin-document.json"][0].decode("utf-8"))
    assert attached["type"] == type_id and attached["number"] == META.number
    assert attached["data"] == model.model_dump(mode="json")

    # the same words in the PDF and in the DOCX, all of what the type says
    in_pdf, in_docx = flat(pdf_text(rendered.pdf)), flat(docx_text(app.renderer.render_docx(doc_type, data, META)))
    for piece in texts(doc_type.blocks(model)) + [META.number]:
        assert flat(piece) in in_pdf, f"PDF lacks {piece!r}"
        assert flat(piece) in in_docx, f"DOCX lacks {piece!r}"
    assert "草稿" not in in_pdf and "草稿" not in in_docx

    words = check_inside_the_page(rendered.pdf, tmp_path, doc_type.kind)
    seal_over_date(rendered, words)
    expected_seals = len(data["parties"]) if doc_type.kind == DocumentKind.agreement else 1
    assert len(rendered.anchors) == expected_seals


def test_qr_code_reads_back_as_the_verification_link(app: App, tmp_path: Path) -> None:
    rendered = app.renderer.render(document_type("licence_printing"), sample("licence_printing"), META)
    (tmp_path / "l.pdf").write_bytes(rendered.pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-f", "1", "-l", "1", str(tmp_path / "l.pdf"), str(tmp_path / "page")], check=True)
    pgm = next(tmp_path.glob("page*.pgm")).read_bytes()
    magic, width, height, _maxval, pixels = re.match(rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", pgm, re.S).groups()
    image = memoryview(pixels).cast("B", (int(height), int(width)))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [URL]
    assert found[0].ec_level == "M"


@pytest.mark.parametrize("type_id", ["notice_correction", "licence_hazchem"])
def test_draft_is_marked_in_pdf_and_docx(app: App, type_id: str, tmp_path: Path) -> None:
    meta = IssueMeta(organ="（发文机关）", date=DAY, number="（编号）", draft=True)
    doc_type = document_type(type_id)
    pdf = app.renderer.render(doc_type, sample(type_id), meta).pdf
    assert "草稿" in pdf_text(pdf) and b"/Sig" not in pdf
    document = docx.Document(io.BytesIO(app.renderer.render_docx(doc_type, sample(type_id), meta)))
    header = "".join(p.text for p in document.sections[0].header.paragraphs)
    assert "草稿" in header
    assert 'string="草稿"' in document.sections[0].header._element.xml  # the watermark behind the page


def _long_cases() -> dict[str, dict]:
    long_name = "台安县" + "辽河平原现代农业与冷链物流综合开发" * 4 + "有限责任公司"
    hazchem = sample("licence_hazchem") | {
        "enterprise_name": long_name, "business_mode": "批发（带储存）",
        "registered_address": "辽宁省鞍山市台安县" + "西佛镇西佛村东三组后街与台黄线交叉口向北" * 3 + "200米",
        "scope": [f"危险化学品目录（2015版）第{i}号所列化学品（含其稀释剂及溶液）" for i in range(1, 61)],
    }
    delegation = sample("agreement_delegation")
    delegation["items"] = [
        {"code": f"210321-XK-{900 + i:04d}", "name": f"第{i}项委托实施的行政许可事项（含变更、延续、补证、注销）",
         "legal_basis": "《中华人民共和国行政许可法》第二十四条；《辽宁省行政许可条例》", "powers": "受理、审查、决定、送达"}
        for i in range(1, 81)]
    refuse = sample("decision_refuse") | {"applicant": long_name,
                                          "reasons": [f"第{i}项理由：" + "申请材料与现场核查情况不一致，" * 6 for i in range(1, 13)]}
    return {"licence_hazchem": hazchem, "agreement_delegation": delegation, "decision_refuse": refuse}


@pytest.mark.parametrize("type_id", ["licence_hazchem", "agreement_delegation", "decision_refuse"])
def test_long_content_wraps_and_continues_never_clips(app: App, type_id: str, tmp_path: Path) -> None:
    doc_type = document_type(type_id)
    data = _long_cases()[type_id]
    rendered = app.renderer.render(doc_type, data, META)
    pages = len(PdfReader(io.BytesIO(rendered.pdf)).pages)
    assert pages > PAGES[type_id] - (1 if type_id == "licence_hazchem" else 0)
    words = check_inside_the_page(rendered.pdf, tmp_path, doc_type.kind)
    seal_over_date(rendered, words)
    in_pdf = flat(pdf_text(rendered.pdf))
    for piece in texts(doc_type.blocks(app.renderer.validate(doc_type, data))):
        assert flat(piece) in in_pdf, f"PDF lacks {piece!r}"
    if type_id == "agreement_delegation":
        # the table of delegated items runs over pages with its header repeated on each
        assert in_pdf.count("序号事项编码事项名称设定依据委托权限") >= 2


BAD = [
    ("decision_refuse", {"court": "台安县法院", "reconsideration_body": "鞍山市市场监督管理局", "applicant_code": "210321198503140625"},
     {"court", "reconsideration_body", "applicant_code"}),
    ("notice_acceptance", {"promised_days": 30, "statutory_days": 20}, {"promised_days"}),
    ("notice_rejection", {"competent_body": None}, {"competent_body"}),
    ("notice_correction", {"missing": [], "phone": "call me"}, {"missing", "phone"}),
    ("receipt_service", {"method": "微信送达", "servers": []}, {"method", "servers"}),
    ("licence_travel_agency", {"deposit": 140}, {"deposit"}),
    ("licence_road_transport", {"valid_until": "2028-11-21"}, {"valid_until"}),
    ("licence_hazchem", {"valid_until": "2030-11-21", "uscc": "91210321MA0WHP218D"}, {"uscc"}),
    ("licence_medical_institution", {"registration_number": "MA0YUN151210321" + "11A1001"}, {"registration_number"}),
    ("licence_printing", {"business_scope": ["出版物印刷"], "copies": 0}, {"business_scope", "copies"}),
    ("agreement_delegation", {"valid_until": "2026-01-01"}, {"valid_until"}),
]


@pytest.mark.parametrize(("type_id", "changes", "fields"), BAD, ids=[b[0] for b in BAD])
def test_bad_data_names_every_offending_field(app: App, type_id: str, changes: dict, fields: set[str]) -> None:
    data = sample(type_id) | changes
    with pytest.raises(InvalidData) as err:
        app.renderer.validate(document_type(type_id), data)
    assert {p.field.split("（")[0].split(".")[0].split("[")[0] for p in err.value.problems} == fields, err.value.message


def test_validity_and_roles_follow_each_kinds_rules(app: App) -> None:
    cases = [
        ("licence_road_transport", {"valid_until": "2028-11-21"}, "至少为 valid_from（有效期自）后 4 年"),
        ("licence_road_transport", {"business_scope": ["经营性道路危险货物运输（3类）"], "vehicles": 3}, "至少 5 辆"),
        ("licence_hazchem", {"valid_until": "2030-11-23"}, "最长为 valid_from（有效期自）后 3 年"),
        ("licence_hazchem", {"business_mode": "零售（不带储存）"}, "经营方式为零售（不带储存）的，证上不载储存设施地址"),
        ("licence_medical_institution", {"beds": 40}, "后 5 年"),
        ("licence_travel_agency", {"business_scope": ["国内旅游业务", "入境旅游业务", "出境旅游业务"]}, "应为 140 万元"),
        ("notice_rejection", {"competent_body": None}, "请填写该机关"),
        ("agreement_delegation", {"parties": list(reversed(sample("agreement_delegation")["parties"]))}, "应依次为委托机关、受委托机关"),
    ]
    for type_id, changes, message in cases:
        with pytest.raises(InvalidData, match=re.escape(message)):
            app.renderer.validate(document_type(type_id), sample(type_id) | changes)
    # 15 years is allowed with 100 beds or more, a person may be the applicant (公民身份号码)
    app.renderer.validate(document_type("licence_medical_institution"), sample("licence_medical_institution"))
    app.renderer.validate(document_type("notice_rejection"), sample("notice_rejection"))


def test_licence_copies_print_on_their_own_pages(app: App, tmp_path: Path) -> None:
    data = copy.deepcopy(sample("licence_road_transport")) | {"copies": 3}
    rendered = app.renderer.render(document_type("licence_road_transport"), data, META)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert len(reader.pages) == 4
    assert [a.page for _, a in rendered.anchors] == [0]  # the seal goes on the 正本
    for n in (1, 2, 3):
        page = flat(reader.pages[n].extract_text())
        assert "副本" in page and f"第{n}份，共3份" in page and "营运车辆36辆" in page


def test_cli_renders_pdf_or_docx_by_extension_and_lists_types(tmp_path: Path) -> None:
    from .conftest import run_cli

    data = SAMPLES / "licence_travel_agency.json"
    r = run_cli("render", "licence_travel_agency", str(data), "--out", str(tmp_path / "d.docx"), home=tmp_path)
    assert r.returncode == 0, r.stderr
    text = flat(docx_text((tmp_path / "d.docx").read_bytes()))
    assert "旅行社业务经营许可证" in text and "台安县辽河文化旅行社有限公司" in text and "草稿" in text
    r = run_cli("render", "agreement_delegation", str(SAMPLES / "agreement_delegation.json"), "--out", str(tmp_path / "a.pdf"), home=tmp_path)
    assert r.returncode == 0, r.stderr  # sample dates written @issue_date count from today
    assert "草稿" in pdf_text((tmp_path / "a.pdf").read_bytes())

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sample("licence_travel_agency") | {"deposit": 5, "uscc": "9121"}, ensure_ascii=False), "utf-8")
    r = run_cli("render", "licence_travel_agency", str(bad), "--out", str(tmp_path / "x.docx"), home=tmp_path)
    assert r.returncode == 2 and "uscc（统一社会信用代码）" in r.stderr
    assert not (tmp_path / "x.docx").exists()
    r = run_cli("render", "licence_travel_agency", str(data), "--out", str(tmp_path / "x.odt"), home=tmp_path)
    assert r.returncode == 2 and ".pdf 或 .docx" in r.stderr

    r = run_cli("templates", home=tmp_path)
    assert r.returncode == 0
    for type_id, doc_type in DOCUMENT_TYPES.items():
        assert f"{type_id}  {doc_type.title}" in r.stdout
    assert "reconsideration_body" in r.stdout and "行政复议机关" in r.stdout
