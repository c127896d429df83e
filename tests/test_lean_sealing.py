"""The lean sealing path is judged exactly as pyHanko's own signer: same CMS, same verdicts."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from yiyin.errors import SealingError, UnreadableDocument
from yiyin.service.app import APPROVAL_SEAL, App
from yiyin.service.samples import resolve_dates
from yiyin.signing.cms_template import SignedDataTemplate
from yiyin.signing.incremental import SignatureFields, seal_update
from yiyin.signing.pades import PadesLevel, SealPlacement, SealRequest
from yiyin.signing.validate import validate_pdf
from yiyin.signing.xobject import PreparedAppearance

from . import attacks
from .test_document_data import SAMPLE


@pytest.fixture(scope="module")
def setup(app: App):  # type: ignore[no-untyped-def]
    from yiyin.registry import catalog

    with app.db.session() as s:
        seal = catalog.active_seal(s, app.bureau_id, APPROVAL_SEAL, app.now())
    sealer = app.sealer(seal, "台安县行政审批局")
    data = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
    pdf, placement = attacks.unsealed_licence(app, data)
    return sealer, pdf, placement


def request(level: PadesLevel, final: bool = True, field: str = "Seal1") -> SealRequest:
    return SealRequest(reason="药品经营许可证", location="辽宁省鞍山市台安县", signer_name="台安县行政审批局行政审批专用章",
                       level=level, final=final, field_name=field)


def verdicts(app: App, data: bytes) -> list[tuple[object, ...]]:
    result = validate_pdf(data, app.trust_roots(), app.current_crls())
    assert result.ok, [s.problems for s in result.signatures]
    return [(s.kind, s.signer_fingerprint, s.intact, s.valid, s.trusted, s.revocation, s.coverage, s.modification_level,
             s.modifications_allowed, s.locked, s.timestamp_trusted, s.problems, len(s.chain)) for s in result.signatures]


def test_template_signed_attributes_are_pyhankos_byte_for_byte(setup) -> None:  # type: ignore[no-untyped-def]
    sealer = setup[0]
    digest = hashlib.sha256(b"a document").digest()
    reference = asyncio.run(sealer.key.signer.async_sign(digest, "sha256", use_pades=True))
    lean = cms.ContentInfo.load(SignedDataTemplate(sealer.key.signer).build(digest))
    ref_data, lean_data = reference["content"], lean["content"]
    for part in ("version", "digest_algorithms", "encap_content_info", "certificates"):
        assert lean_data[part].dump() == ref_data[part].dump(), part
    (ref_info,), (lean_info,) = ref_data["signer_infos"], lean_data["signer_infos"]
    for part in ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm"):
        assert lean_info[part].dump() == ref_info[part].dump(), part
    assert {a["type"].native for a in lean_info["signed_attrs"]} == {"content_type", "message_digest", "signing_certificate_v2"}
    assert lean.dump(force=True) == lean.dump()  # canonical DER


@pytest.mark.parametrize("level", list(PadesLevel))
def test_lean_seal_validates_exactly_like_pyhankos(app: App, setup, level: PadesLevel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    revocation = app.revocation_material()
    lean = sealer.seal(pdf, placement, request(level))
    reference = sealer.seal_with_pyhanko(pdf, placement, request(level))
    assert b"pyHanko" not in lean[len(pdf):] and b"pyHanko" in reference[len(pdf):]  # two different writers
    assert verdicts(app, sealer.extend(lean, level, revocation)) == verdicts(app, sealer.extend(reference, level, revocation))

    path = tmp_path / "lean.pdf"
    path.write_bytes(lean)
    out = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in out and "Total document signed" in out and "ETSI.CAdES.detached" in out, out


def test_lean_seal_is_the_registered_size_and_sits_on_the_anchor(setup) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    sealed = sealer.seal(pdf, placement, request(PadesLevel.B_B))
    rect = [float(v) for v in re.search(rb"/Rect\[([\d. ]+)\]", sealed[len(pdf):])[1].split()]
    assert rect[2] - rect[0] == pytest.approx(sealer.diameter_pt, abs=0.01)
    assert ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2) == pytest.approx((placement.x, placement.y), abs=0.01)


def test_attacks_on_lean_seals_are_rejected(app: App, setup) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    sealed = sealer.seal(pdf, placement, request(PadesLevel.B_B))
    roots, crls = app.trust_roots(), app.current_crls()
    signed_end = int(re.search(rb"/ByteRange\[0 (\d+) (\d+) (\d+)\]", sealed)[1])
    for forged in (attacks.append_page_content(sealed), attacks.append_annotation(sealed), sealed + b"%% appended",
                   attacks.flip_byte(sealed, signed_end // 2), attacks.flip_byte(sealed, len(sealed) - 30)):
        try:
            assert not validate_pdf(forged, roots, crls).ok
        except UnreadableDocument:
            pass  # a byte flipped in the trailer (its /ID, startxref) leaves no PDF to read: refused too


def test_a_second_lean_seal_keeps_the_first_valid_and_names_must_differ(app: App, setup) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    first = sealer.seal(pdf, placement, request(PadesLevel.B_B, final=False))
    left = SealPlacement(placement.page, placement.x - 150, placement.y)
    both = sealer.seal(first, left, request(PadesLevel.B_B, field="Seal2"))
    result = validate_pdf(both, app.trust_roots(), app.current_crls())
    assert result.ok and len(result.seals) == 2 and result.seals[-1].locked, [s.problems for s in result.signatures]
    with pytest.raises(SealingError, match="已有名为 'Seal1' 的签名域"):
        sealer.seal(first, left, request(PadesLevel.B_B))


def test_a_signature_too_large_for_its_reservation_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    fields = SignatureFields("Seal1", "x", "x", "x", lock=False)
    with pytest.raises(SealingError, match="超出了为它预留的 64 字节"):
        seal_update(pdf, placement.page, (placement.x, placement.y), PreparedAppearance(sealer.appearance_pdf), fields, 64,
                    lambda digest: SignedDataTemplate(sealer.key.signer).build(digest))


def test_a_document_with_a_cross_reference_stream_is_sealed_by_pyhanko_and_validates(app: App, setup) -> None:  # type: ignore[no-untyped-def]
    sealer, pdf, placement = setup
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf)), writer_kwargs={"stream_xrefs": True})
    out = io.BytesIO()
    writer.write(out)
    streamed = out.getvalue()
    assert PdfFileReader(io.BytesIO(streamed)).has_xref_stream
    sealed = sealer.seal(streamed, placement, request(PadesLevel.B_B))
    assert b"pyHanko" in sealed[len(streamed):]  # left to pyHanko's writer, which keeps the stream form
    assert PdfFileReader(io.BytesIO(sealed)).has_xref_stream
    verdicts(app, sealed)
