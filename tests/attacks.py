"""Forgeries built in the tests themselves: each is something an attacker could do with a sealed file."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from yiyin.service.app import App
from yiyin.signing.appearance import SealAppearanceSpec, appearance_file
from yiyin.signing.devpki import DevCA, SealIdentity, write_pkcs12
from yiyin.signing.keystore import load_pkcs12
from yiyin.signing.pades import Sealer, SealPlacement, SealRequest
from yiyin.templates.catalog import document_type
from yiyin.templates.render import IssueMeta


def flip_byte(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x01 if b[pos] not in (0x0A, 0x0D) else 0x20
    return bytes(b)


def append_page_content(data: bytes, text_ops: bytes = b"BT /F1 24 Tf 100 100 Td (VOID) Tj ET") -> bytes:
    """Incremental update that draws something new on page 1 (what a reader sees changes)."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    stream = generic.StreamObject(stream_data=b"q 1 0 0 RG 5 w 50 50 m 500 700 l S Q " + text_ops)
    w.add_stream_to_page(0, w.add_object(stream))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def append_annotation(data: bytes) -> bytes:
    """Incremental update that adds a free-text annotation over the page."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (100, 600, 400, 650)]),
        pdf_name("/Contents"): generic.TextStringObject("本证已作废"),
        pdf_name("/DA"): generic.TextStringObject("/Helv 20 Tf 1 0 0 rg"),
        pdf_name("/F"): generic.NumberObject(4),
    })
    annot_ref = w.add_object(annot)
    annots = page.get("/Annots")
    if isinstance(annots, generic.IndirectObject):
        annots = annots.get_object()
    new_annots = generic.ArrayObject(list(annots or []) + [annot_ref])
    page[pdf_name("/Annots")] = new_annots
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def change_form_field_value(data: bytes) -> bytes:
    """Incremental update that adds a filled text field (form change after sealing)."""
    from pyhanko.sign.fields import SigFieldSpec, append_signature_field

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    append_signature_field(w, SigFieldSpec("Extra", box=(10, 10, 60, 60)))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def unsealed_licence(app: App, data: dict, number: str = "辽EA032199999") -> tuple[bytes, SealPlacement]:
    rendered = app.renderer.render(document_type("licence_drug_retail"), data,
                                   IssueMeta(organ="台安县行政审批局", date=date.today(), number=number,
                                             verification_code="0000-0000-0000-0000", verify_url="http://localhost:8000/v"))
    a = rendered.anchor
    return rendered.pdf, SealPlacement(a.page, a.x, a.y)


def lookalike_sealer(app: App, tmp: Path) -> Sealer:
    """Another CA, another key, the same organ name, credit code and seal picture."""
    ca = DevCA.create()
    key, cert = ca.issue_seal(SealIdentity(organ="台安县行政审批局", uscc="11210321MB15990271", purpose="行政审批专用章",
                                           province="辽宁省", city="鞍山市"))
    p12 = tmp / "forged.p12"
    write_pkcs12(p12, "forged", key, cert, [ca.cert])
    spec = SealAppearanceSpec(organ="台安县行政审批局", purpose="行政审批专用章")
    return Sealer(load_pkcs12(p12), appearance_file(spec, app.fonts.title, app.fonts.dirs, tmp), spec.diameter_pt)


def seal_with(sealer: Sealer, pdf: bytes, placement: SealPlacement) -> bytes:
    return sealer.seal(pdf, placement, SealRequest(reason="药品经营许可证", location="辽宁省鞍山市台安县",
                                                   signer_name="台安县行政审批局行政审批专用章"))


def _page_content_ref(w: IncrementalPdfFileWriter, page_ix: int = 0) -> generic.IndirectObject:
    page = w.root["/Pages"]["/Kids"][page_ix].get_object()
    ref = page.raw_get("/Contents")
    if isinstance(ref, generic.ArrayObject):
        ref = ref[0]
    assert isinstance(ref, generic.IndirectObject)
    return ref


def _write(w: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def shadow_hide(data: bytes) -> bytes:
    """Hide: an opaque white box drawn over the page in a new content stream of a later revision."""
    return append_page_content(data, b"q 1 1 1 rg 0 0 595 842 re f Q")


def shadow_replace(data: bytes) -> bytes:
    """Replace: the page's existing content stream object is redefined in a later revision
    (same object number), so a viewer shows the new text instead of the sealed one."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    ref = _page_content_ref(w)
    w.objects[(ref.generation, ref.idnum)] = generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 700 Td (REPLACED) Tj ET")
    return _write(w)


def shadow_hide_and_replace(data: bytes) -> bytes:
    """Hide-and-replace: the page object is updated to point at a wholly different content stream."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    new_content = w.add_object(generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 700 Td (FAKE LICENCE) Tj ET"))
    page[pdf_name("/Contents")] = new_content
    w.update_container(page)
    return _write(w)


def wrap_byte_range(data: bytes, delta: int) -> bytes:
    """Signature wrapping: shift the signed ranges so that different bytes are covered."""
    import re

    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    a, b, c, d = (int(x) for x in m.groups())
    new = f"/ByteRange [{a} {b + delta} {c + delta} {d - delta}]".encode()
    old = m.group(0)
    new = new.ljust(len(old))[: len(old)] if len(new) <= len(old) else new
    return data[: m.start()] + new + data[m.end():]
