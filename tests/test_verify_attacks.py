"""A verifier never says "valid" for a document that was changed after sealing, in any way."""

from __future__ import annotations

import copy
import random
import io
import re
from datetime import date
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from yiyin.errors import UnreadableDocument
from yiyin.registry import catalog
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf

from . import attacks
from .test_document_data import SAMPLE


def failed(report) -> set[str]:
    return {c.id for c in report.checks if not c.ok}


def test_genuine_documents_verify(app: App, demo) -> None:
    for doc in (demo.decision, demo.licence):
        report = verify_pdf(app, doc.path.read_bytes())
        assert report.valid, report.to_json()
        assert report.document["number"] == doc.issued.number
        assert report.document["status"] == "有效"
        assert report.document["organ"] == "台安县行政审批局"


def test_any_byte_changed_is_rejected(app: App, demo) -> None:
    data = demo.licence.path.read_bytes()
    rng = random.Random(9704)
    contents = re.search(rb"/Contents\s*<", data)
    positions = {0, 5, len(data) // 2, len(data) - 1, len(data) - 8, data.rfind(b"startxref") + 2,
                 data.rfind(b"/ByteRange") + 12, contents.end() + 40}
    positions |= {rng.randrange(len(data)) for _ in range(30)}
    for pos in sorted(positions):
        tampered = attacks.flip_byte(data, pos)
        try:
            report = verify_pdf(app, tampered)
        except UnreadableDocument:
            continue  # unreadable is a rejection too
        assert not report.valid, f"byte {pos} changed but reported valid"


def test_appended_bytes_are_rejected(app: App, demo) -> None:
    data = demo.licence.path.read_bytes()
    for tail in (b"\n", b"%comment\n", b"\n1 0 obj\n<<>>\nendobj\n"):
        try:
            assert not verify_pdf(app, data + tail).valid
        except UnreadableDocument:
            pass


@pytest.mark.parametrize("update", [attacks.append_page_content, attacks.append_annotation, attacks.change_form_field_value])
def test_incremental_update_after_seal_is_rejected(app: App, demo, update) -> None:
    tampered = update(demo.licence.path.read_bytes())
    report = verify_pdf(app, tampered)
    assert not report.valid
    assert "intact" in failed(report)
    assert "after sealing" in next(c.detail for c in report.checks if c.id == "intact")


def test_damaged_signature_value_is_rejected(app: App, demo) -> None:
    data = demo.decision.path.read_bytes()
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    value = sig.signer_info["signature"].native.hex().encode()
    start = data.lower().find(value) + len(value) // 2
    assert start > len(value) // 2
    tampered = data[:start] + (b"0" if data[start:start + 1] != b"0" else b"1") + data[start + 1:]
    report = verify_pdf(app, tampered)
    assert not report.valid and "intact" in failed(report)
    assert "cryptographic signature is invalid" in next(c.detail for c in report.checks if c.id == "intact")


def test_damage_anywhere_in_the_signature_container_is_rejected(app: App, demo) -> None:
    """Even bytes the CMS signature does not cover (embedded certificates, padding) change the file."""
    data = demo.decision.path.read_bytes()
    m = re.search(rb"/Contents\s*<", data)
    for offset in (10, 200, 1200, 3000, 6000):
        start = m.end() + offset
        tampered = data[:start] + (b"0" if data[start:start + 1] != b"0" else b"1") + data[start + 1:]
        assert not verify_pdf(app, tampered).valid, offset


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_rejected(app: App, demo, fraction: float) -> None:
    data = demo.decision.path.read_bytes()
    try:
        report = verify_pdf(app, data[: int(len(data) * fraction)])
    except UnreadableDocument:
        return
    assert not report.valid


def test_lookalike_seal_from_another_key_is_rejected(app: App, tmp_path: Path) -> None:
    data = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
    pdf, placement = attacks.unsealed_licence(app, data)
    forged = attacks.seal_with(attacks.lookalike_sealer(app, tmp_path), pdf, placement)
    report = verify_pdf(app, forged)
    assert not report.valid
    assert {"intact", "registered_seal", "in_registry"} <= failed(report)
    assert "trusted root" in next(c.detail for c in report.checks if c.id == "intact")


def test_genuine_seal_on_unregistered_document_is_rejected(app: App) -> None:
    data = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
    data["enterprise_name"] = "台安县不存在大药房有限公司"
    pdf, placement = attacks.unsealed_licence(app, data)
    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())
    real = attacks.seal_with(app.sealer(seal, "台安县行政审批局"), pdf, placement)
    report = verify_pdf(app, real)
    assert not report.valid
    assert failed(report) == {"in_registry"}


def test_unsigned_and_non_pdf_inputs(app: App, demo) -> None:
    data = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
    pdf, _ = attacks.unsealed_licence(app, data)
    report = verify_pdf(app, pdf)
    assert not report.valid and failed(report) == {"sealed"}
    with pytest.raises(UnreadableDocument):
        verify_pdf(app, b"GIF89a not a pdf")
    with pytest.raises(UnreadableDocument):
        verify_pdf(app, b"")
