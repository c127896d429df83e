"""A lean incremental update that adds one visible seal (signature field) to a PDF.

The original bytes are kept as they are; appended are the signature dictionary with a reserved
/Contents, the signature field's widget with the prepared seal picture as its appearance, the
page (or its /Annots array) and the AcroForm with the new field, the catalogue when it gains an
AcroForm, and a cross-reference section whose trailer points back at the previous one. The
document's /Info and XMP metadata are not touched, so PDF/A's rule that the two agree still holds.

The update is what pyHanko writes for the same seal (pyHanko's difference analysis accepts it as
a signature being added), less the XMP/Info rewrite and the PDF 2.0 extension markers.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from yiyin.errors import SealingError
from yiyin.signing.xobject import PreparedAppearance


class UnsupportedLayout(Exception):
    """The input uses a structure the lean writer leaves to pyHanko (encrypted, xref streams, …)."""


@dataclass(frozen=True)
class SignatureFields:
    field_name: str
    reason: str
    location: str
    signer_name: str
    lock: bool  # lock the document: FieldMDP /Action /All with /P 1, only validation data may follow


def _text(value: str) -> bytes:
    """A PDF text string in UTF-16BE with byte order mark, written as hex (no escaping to get wrong)."""
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


def _serialise(obj: generic.PdfObject) -> bytes:
    out = io.BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _pdf_date(when: datetime) -> bytes:
    return when.astimezone(timezone.utc).strftime("(D:%Y%m%d%H%M%SZ)").encode()


_BYTE_RANGE_WIDTH = 44  # "[0 dddddddddd dddddddddd dddddddddd]" padded with spaces


def seal_update(pdf: bytes, page_ix: int, centre: tuple[float, float], appearance: PreparedAppearance,
                fields: SignatureFields, reserve: int, sign: Callable[[bytes], bytes]) -> bytes:
    """``pdf`` with one more seal. ``sign`` receives the SHA-256 digest of the signed byte ranges
    and returns the DER of the CMS signature, which must fit into ``reserve`` bytes."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    except Exception as exc:
        raise UnsupportedLayout(f"unreadable for the lean writer: {exc}") from exc
    if reader.encrypted or reader.has_xref_stream or not pdf.rstrip().endswith(b"%%EOF"):
        raise UnsupportedLayout("encrypted, cross-reference stream or trailing bytes")
    trailer = reader.trailer
    root_ref = trailer.raw_get("/Root")
    if not isinstance(root_ref, generic.IndirectObject):
        raise UnsupportedLayout("the catalogue is not an indirect object")
    root = root_ref.get_object()
    try:
        page_ref = reader.find_page_for_modification(page_ix)[0]
    except Exception as exc:
        raise SealingError(f"文书没有第 {page_ix + 1} 页，无法在该页盖章") from exc
    page = page_ref.get_object()

    next_number = int(trailer["/Size"])
    sig_n, widget_n = next_number, next_number + 1
    lock_n = widget_n + 1 if fields.lock else None
    ap_first = (lock_n or widget_n) + 1
    next_number = ap_first + appearance.count
    updated: list[tuple[int, int, bytes]] = []  # (number, generation, body)

    def ref(n: int) -> generic.IndirectObject:
        return generic.IndirectObject(n, 0, None)

    # the field's widget joins the page's annotations
    annots = page.raw_get("/Annots") if "/Annots" in page else None
    if isinstance(annots, generic.IndirectObject):
        array = generic.ArrayObject([*annots.get_object().iterate(), ref(widget_n)])
        updated.append((annots.idnum, annots.generation, _serialise(array)))
    else:
        new_page = generic.DictionaryObject({k: page.raw_get(k) for k in page})
        new_page[generic.NameObject("/Annots")] = generic.ArrayObject([*(annots.iterate() if annots else ()), ref(widget_n)])
        updated.append((page_ref.idnum, page_ref.generation, _serialise(new_page)))

    # the field joins the AcroForm (created when the document has none); names must stay unique
    form_ref = root.raw_get("/AcroForm") if "/AcroForm" in root else None
    form = form_ref.get_object() if form_ref is not None else generic.DictionaryObject()
    fields_ref = form.raw_get("/Fields") if "/Fields" in form else None
    field_list = list(fields_ref.get_object().iterate()) if fields_ref is not None else []
    if any(str(f.get_object().get("/T", "")) == fields.field_name for f in field_list):
        raise SealingError(f"文书中已有名为 {fields.field_name!r} 的签名域，不能重复盖章")
    new_form = generic.DictionaryObject({k: form.raw_get(k) for k in form})
    if isinstance(fields_ref, generic.IndirectObject):
        array = generic.ArrayObject([*field_list, ref(widget_n)])
        updated.append((fields_ref.idnum, fields_ref.generation, _serialise(array)))
        form_changed = int(form.get("/SigFlags", 0)) != 3
    else:
        new_form[generic.NameObject("/Fields")] = generic.ArrayObject([*field_list, ref(widget_n)])
        form_changed = True
    new_form[generic.NameObject("/SigFlags")] = generic.NumberObject(3)
    if form_changed and isinstance(form_ref, generic.IndirectObject):
        updated.append((form_ref.idnum, form_ref.generation, _serialise(new_form)))
    elif form_changed:  # no AcroForm yet, or one written inside the catalogue: the catalogue changes
        new_root = generic.DictionaryObject({k: root.raw_get(k) for k in root})
        if form_ref is None:
            form_n, next_number = next_number, next_number + 1
            updated.append((form_n, 0, _serialise(new_form)))
            new_root[generic.NameObject("/AcroForm")] = ref(form_n)
        else:
            new_root[generic.NameObject("/AcroForm")] = new_form
        updated.append((root_ref.idnum, root_ref.generation, _serialise(new_root)))

    cx, cy = centre
    x0, y0, x1, y1 = appearance.size
    w, h = x1 - x0, y1 - y0
    rect = b"[%.4f %.4f %.4f %.4f]" % (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    widget = (b"<</FT/Sig/T" + _text(fields.field_name) + b"/Type/Annot/Subtype/Widget/F 132/Rect" + rect
              + b"/P %d %d R" % (page_ref.idnum, page_ref.generation)
              + (b"/Lock %d 0 R" % lock_n if lock_n else b"")
              + b"/AP<</N %d 0 R>>/V %d 0 R>>" % (ap_first, sig_n))
    updated.append((widget_n, 0, widget))
    if lock_n:
        updated.append((lock_n, 0, b"<</Type/SigFieldLock/Action/All/P 1>>"))
    updated.extend((n, 0, body) for n, body in appearance.objects(ap_first))

    reference = b""
    if fields.lock:
        reference = (b"/Reference[<</Type/SigRef/TransformMethod/FieldMDP/Data %d %d R"
                     b"/TransformParams<</Type/TransformParams/Action/All/V/1.2/P 1>>>>]" % (root_ref.idnum, root_ref.generation))
    sig_head = (b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M" + _pdf_date(datetime.now(timezone.utc))
                + b"/Name" + _text(fields.signer_name) + b"/Reason" + _text(fields.reason)
                + b"/Location" + _text(fields.location) + reference + b"/ByteRange")
    sig_body = sig_head + b" " * _BYTE_RANGE_WIDTH + b"/Contents<" + b"0" * (2 * reserve) + b">>>"

    out = bytearray(pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, tuple[int, int]] = {}
    sig_at = len(out)
    for n, gen, body in [(sig_n, 0, sig_body), *updated]:
        offsets[n] = (len(out), gen)
        out += b"%d %d obj\n" % (n, gen) + body + b"\nendobj\n"

    xref_at = len(out)
    out += b"xref\n"
    numbers = sorted(offsets)
    run_start = 0
    for i in range(1, len(numbers) + 1):
        if i == len(numbers) or numbers[i] != numbers[i - 1] + 1:
            run = numbers[run_start:i]
            out += b"%d %d\n" % (run[0], len(run))
            for n in run:
                offset, gen = offsets[n]
                out += b"%010d %05d n \n" % (offset, gen)
            run_start = i
    trailer_out = generic.DictionaryObject({
        generic.NameObject("/Size"): generic.NumberObject(next_number),
        generic.NameObject("/Root"): root_ref,
        generic.NameObject("/Prev"): generic.NumberObject(reader.last_startxref),
    })
    if "/Info" in trailer:
        trailer_out[generic.NameObject("/Info")] = trailer.raw_get("/Info")
    if "/ID" in trailer:  # the first identifier stays, the second marks this revision
        trailer_out[generic.NameObject("/ID")] = generic.ArrayObject([
            trailer["/ID"].raw_get(0), generic.ByteStringObject(secrets.token_bytes(16))])
    out += b"trailer\n" + _serialise(trailer_out) + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at

    # byte range: everything but the hex string of /Contents, delimiters included in the hole
    contents_start = sig_at + len(b"%d 0 obj\n" % sig_n) + len(sig_head) + _BYTE_RANGE_WIDTH + len(b"/Contents")
    contents_end = contents_start + 2 * reserve + 2
    byte_range = b"[0 %d %d %d]" % (contents_start, contents_end, len(out) - contents_end)
    range_at = contents_start - len(b"/Contents") - _BYTE_RANGE_WIDTH
    out[range_at:range_at + _BYTE_RANGE_WIDTH] = byte_range.ljust(_BYTE_RANGE_WIDTH)
    view = memoryview(out)
    digest = hashlib.sha256(view[:contents_start])
    digest.update(view[contents_end:])
    signature = sign(digest.digest())
    if len(signature) > reserve:
        raise SealingError(f"签名（{len(signature)} 字节）超出了为它预留的 {reserve} 字节")
    out[contents_start + 1:contents_start + 1 + 2 * len(signature)] = signature.hex().upper().encode()
    return bytes(out)
