"""What a reader, an archive and an independent validator see in the issued files."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader


def pdftext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_poppler_pdfsig_validates_the_seal_over_the_whole_sealed_document(demo, tmp_path: Path) -> None:
    """pdfsig (poppler 22) checks the seal; it does not check RFC 3161 document timestamps, so the
    whole-document claim is checked on the document as sealed, before the B-LTA validation data."""
    for doc in (demo.decision, demo.licence):
        out = subprocess.run(["pdfsig", "-nocert", str(doc.path)], capture_output=True, text=True).stdout
        seal = out.split("Signature #")[1]
        assert "ETSI.CAdES.detached" in seal and "台安县行政审批局行政审批专用章" in seal
        assert "Signature is Valid" in seal, out
        data = doc.path.read_bytes()
        ranges = re.search(r"Signed Ranges: \[0 - \d+\], \[(\d+) - (\d+)\]", seal)
        sealed = tmp_path / f"{doc.path.stem}-as-sealed.pdf"
        sealed.write_bytes(data[: int(ranges[2])])
        out = subprocess.run(["pdfsig", "-nocert", str(sealed)], capture_output=True, text=True).stdout
        assert "Signature is Valid" in out and "Total document signed" in out, out
        assert hashlib.sha256(sealed.read_bytes()).hexdigest() == doc.issued.sha256


def test_pdfsig_notices_a_change(demo, tmp_path: Path) -> None:
    data = bytearray(demo.licence.path.read_bytes())
    i = data.find(b"/Creator")  # in the document's /Info, which the seal covers
    assert 0 < i < data.find(b"/ByteRange")
    data[i + 1] ^= 1
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    out = subprocess.run(["pdfsig", "-nocert", str(bad)], capture_output=True, text=True).stdout
    assert "Signature is Valid" not in out


def test_pdfa3b_identification_and_embedded_fonts(demo) -> None:
    for doc in (demo.decision, demo.licence):
        reader = PdfReader(doc.path)
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
        assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
        assert "/OutputIntents" in reader.trailer["/Root"]
        fonts = subprocess.run(["pdffonts", str(doc.path)], capture_output=True, text=True, check=True).stdout
        rows = [line for line in fonts.splitlines()[2:] if line.strip()]
        assert rows, fonts
        for row in rows:
            cols = row.split()
            # name type encoding emb sub uni object ID: "emb" is the 4th column from the right of the ID pair
            assert cols[-5] == "yes", f"font not embedded: {row}"
        assert any("NotoSerifCJK" in r or "Noto" in r for r in rows)


def test_text_reads_back(demo) -> None:
    text = pdftext(demo.licence.path)
    flat = re.sub(r"\s+", "", text)
    for expected in ("药品经营许可证", "台安县康宁大药房有限公司", "91210321MA10KX3P1U", "发证机关：台安县行政审批局",
                     demo.licence.issued.number, demo.licence.issued.verification_code):
        assert expected in flat, expected
    decision = re.sub(r"\s+", "", pdftext(demo.decision.path))
    assert "准予行政许可决定书" in decision and demo.decision.issued.number in decision
    assert "《中华人民共和国行政许可法》第三十八条第一款" in decision


def test_embedded_data_reads_back(demo) -> None:
    reader = PdfReader(demo.licence.path)
    files = reader.attachments
    assert "yiyin-document.json" in files
    payload = json.loads(files["yiyin-document.json"][0].decode("utf-8"))
    assert payload["type"] == "licence_drug_retail"
    assert payload["number"] == demo.licence.issued.number
    assert payload["data"]["uscc"] == "91210321MA10KX3P1U"
    assert payload["data"]["business_scope"][0] == "中药饮片"


def _words(path: Path) -> list[tuple[str, int, float, float, float, float]]:
    html = pdftext(path, "-bbox")
    words, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            words.append((m[5], page, *map(float, m.groups()[:4])))
    return words


@pytest.mark.parametrize("which", ["decision", "licence"])
def test_seal_sits_over_the_date_and_nothing_runs_off_the_page(demo, which: str) -> None:
    doc = getattr(demo, which)
    reader = PdfReader(doc.path)
    widgets = [(i, a.get_object()) for i, p in enumerate(reader.pages) for a in (p.get("/Annots") or [])
               if a.get_object().get("/FT") == "/Sig" and a.get_object()["/V"].get_object().get("/Type") == "/Sig"]
    assert len(widgets) == 1
    page_ix, widget = widgets[0]
    x1, y1, x2, y2 = map(float, widget["/Rect"])
    height = float(reader.pages[page_ix].mediabox.height)
    # the date line: the last word containing 年 … 日 on the seal's page, in top-down coordinates
    words = _words(doc.path)
    dates = [w for w in words if w[1] == page_ix + 1 and re.search(r"\d+年\d+月\d+日|^\d+年$|日$", w[0])]
    assert dates, "no date on the sealed page"
    line = [w for w in words if w[1] == dates[-1][1] and abs(w[3] - dates[-1][3]) < 1]
    left, right = min(w[2] for w in line), max(w[4] for w in line)
    cx, cy = (left + right) / 2, height - (dates[-1][3] + dates[-1][5]) / 2
    assert x1 < cx < x2 and y1 < cy < y2, f"date at {cx:.0f},{cy:.0f} not under the seal {widget['/Rect']}"
    # the seal circle is inside the page
    width = float(reader.pages[page_ix].mediabox.width)
    assert 0 <= x1 and x2 <= width and 0 <= y1 and y2 <= height
    # no word outside the page's printable area (8 mm)
    margin = 8 * 72 / 25.4
    for w in words:
        assert margin <= w[2] and w[4] <= width - margin, f"{w[0]!r} runs off the page horizontally"
        assert margin <= w[3] and w[5] <= height - margin, f"{w[0]!r} runs off the page vertically"


def test_pages_rasterise(demo, tmp_path: Path) -> None:
    for doc in (demo.decision, demo.licence):
        subprocess.run(["pdftoppm", "-r", "30", "-png", str(doc.path), str(tmp_path / doc.path.stem)], check=True)
    assert len(list(tmp_path.glob("*.png"))) >= 2
