"""The archive volume: cover and catalogue, every document in order with volume page numbers, every
file of the package attached (PDF/A-3 associated files), sealed with the archive seal.

Typst lays out the cover, the catalogue and the page numbers (PDF/A-3b, fonts embedded; Typst
cannot embed other PDFs' pages in PDF/A mode); pypdf puts the documents' pages behind the front
matter, with each seal's visible appearance drawn into the page (the signature fields themselves
stay in the attached originals, where they still verify); the signing layer seals the result.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import typst
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.generic import ContentStream, DecodedStreamObject, DictionaryObject, NameObject

from yiyin.archive.dossier import Dossier
from yiyin.archive.metadata import Placement
from yiyin.errors import ConfigurationError, FieldProblem, InvalidData
from yiyin.signing.pades import PadesLevel, RevocationMaterial, SealPlacement, Sealer, SealRequest
from yiyin.templates.fonts import FontSet

LAYOUT = Path(__file__).parent / "volume.typ"
SEAL_FIELD = "ArchiveSeal"


@dataclass(frozen=True)
class Attachment:
    path: str           # name inside the PDF, the same as in the package's payload
    data: bytes
    media_type: str
    relationship: str   # source | data | supplement
    description: str


@dataclass(frozen=True)
class BuiltVolume:
    pdf: bytes
    front_pages: int    # cover and catalogue, not numbered
    sealed_sha256: str  # of the volume as sealed, before validation data were added


def page_counts(dossier: Dossier) -> list[int]:
    counts = []
    for i, entry in enumerate(dossier.entries):
        try:
            counts.append(len(PdfReader(io.BytesIO(entry.pdf), strict=False).pages))
        except Exception as exc:
            raise InvalidData([FieldProblem(f"entries[{i}].pdf", "readable", f"件号 {entry.seq}（{entry.title}）的 PDF 文件无法读取：{exc}")],
                              f"办件 {dossier.matter.case_id} 的案卷") from exc
    return counts


def placements(counts: list[int]) -> list[Placement]:
    out, start = [], 1
    for n in counts:
        out.append(Placement(start, n))
        start += n
    return out


def _compile(workdir: Path, spec: dict, fonts: FontSet, pdfa: bool) -> tuple[bytes, list[dict]]:
    (workdir / "volume.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    compiler = typst.Compiler(str(workdir / "volume.typ"), root=str(workdir), font_paths=[str(d) for d in fonts.dirs],
                              ignore_system_fonts=True)
    try:
        pdf, warnings = compiler.compile_with_warnings(pdf_standards=["a-3b"] if pdfa else [], pdf_tags=False)
        anchors = json.loads(compiler.query("<seal-anchor>", field="value")) if pdfa else []
    except typst.TypstError as exc:
        raise ConfigurationError(f"案卷排版失败：{exc}") from exc
    if warnings:
        raise ConfigurationError("案卷排版时出现警告：" + "; ".join(map(str, warnings)))
    return pdf, anchors


def _flatten_widgets(page, writer: PdfWriter) -> None:  # type: ignore[no-untyped-def]
    """Draw each widget's normal appearance (the visible seal) into the page content and drop the
    widgets, whose signature fields do not travel with a copied page."""
    annots = page.get("/Annots")
    if not annots:
        return
    resources = page.setdefault(NameObject("/Resources"), DictionaryObject())
    xobjects = resources.get_object().setdefault(NameObject("/XObject"), DictionaryObject())
    ops, kept = [], []
    for i, ref in enumerate(annots):
        annot = ref.get_object()
        if annot.get("/Subtype") != "/Widget":
            kept.append(ref)
            continue
        ap = annot.get("/AP", {}).get("/N") if "/AP" in annot else None
        if ap is None or not hasattr(ap.get_object(), "get") or "/BBox" not in ap.get_object():
            continue  # invisible (document timestamps) or no appearance: nothing to draw
        # rectangles may be given in any corner order
        r, b = [float(v) for v in annot["/Rect"]], [float(v) for v in ap.get_object()["/BBox"]]
        x1, x2, y1, y2 = min(r[0], r[2]), max(r[0], r[2]), min(r[1], r[3]), max(r[1], r[3])
        bx1, bx2, by1, by2 = min(b[0], b[2]), max(b[0], b[2]), min(b[1], b[3]), max(b[1], b[3])
        if x2 - x1 <= 0 or y2 - y1 <= 0 or bx2 - bx1 <= 0 or by2 - by1 <= 0:
            continue
        sx, sy = (x2 - x1) / (bx2 - bx1), (y2 - y1) / (by2 - by1)
        name = f"/YiyinSeal{i}"
        xobjects[NameObject(name)] = ap
        ops.append(f"q {sx:.6f} 0 0 {sy:.6f} {x1 - bx1 * sx:.4f} {y1 - by1 * sy:.4f} cm {name} Do Q")
    contents = page.get_contents()
    stream = DecodedStreamObject()
    stream.set_data(b"q\n" + (contents.get_data() if contents is not None else b"") + b"\nQ\n" + "\n".join(ops).encode())
    page.replace_contents(ContentStream(stream, writer))
    if kept:
        page[NameObject("/Annots")] = type(annots)(kept)
    else:
        del page[NameObject("/Annots")]


def build_volume(dossier: Dossier, *, fonts: FontSet, attachments: list[Attachment], on: date,
                 sealer: Sealer, revocation: RevocationMaterial, location: str, signer_name: str) -> BuiltVolume:
    m = dossier.matter
    counts = page_counts(dossier)
    placed = placements(counts)
    entries = [{"seq": e.seq, "responsible": e.responsible, "doc_number": e.doc_number, "title": e.title,
                "date": e.date.isoformat(), "start": p.start, "pages": p.pages} for e, p in zip(dossier.entries, placed)]
    volume = {"code": m.archival_code.code, "title": m.title, "organ": m.organ, "case_id": m.case_id, "matter": m.matter,
              "applicant": m.applicant, "items": [{"code": c, "name": n} for c, n in m.items],
              "received": m.received.isoformat(), "closed": m.closed.isoformat(), "count": len(entries),
              "pages": sum(counts), "retention": m.archival_code.retention.title, "date": on.isoformat()}
    texts = {f"matter.{k}": str(v) for k, v in volume.items() if isinstance(v, str)}
    texts.update({f"entries[{i}].{k}": str(e[k]) for i, e in enumerate(entries) for k in ("responsible", "doc_number", "title")})
    texts.update({f"matter.items[{i}]": n for i, (_, n) in enumerate(m.items)})
    fonts.check(texts)
    fonts.check({"matter.organ": m.organ}, title=True)
    fonts_spec = {"body": list(fonts.body), "title": list(fonts.title)}

    workdir = Path(tempfile.mkdtemp(prefix="yiyin-volume-"))
    try:
        shutil.copyfile(LAYOUT, workdir / "volume.typ")
        for a in attachments:
            target = workdir / a.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(a.data)
        front, anchors = _compile(workdir, {"mode": "front", "fonts": fonts_spec, "volume": volume, "entries": entries,
                                            "attachments": [{"path": a.path, "media_type": a.media_type,
                                                             "relationship": a.relationship, "description": a.description}
                                                            for a in attachments]}, fonts, pdfa=True)
        readers = [PdfReader(io.BytesIO(e.pdf), strict=False) for e in dossier.entries]
        sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for r in readers for p in r.pages]
        numbers, _ = _compile(workdir, {"mode": "numbers", "fonts": fonts_spec,
                                        "pages": [{"number": n + 1, "width": w, "height": h} for n, (w, h) in enumerate(sizes)]},
                              fonts, pdfa=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(front)))
    front_pages = len(writer.pages)
    overlay = PdfReader(io.BytesIO(numbers)).pages
    n = 0
    for reader in readers:
        for source in reader.pages:
            page = writer.add_page(source)
            _flatten_widgets(page, writer)
            box = page.mediabox
            page.merge_transformed_page(overlay[n], Transformation().translate(float(box.left), float(box.bottom)))
            n += 1
    writer.metadata = None  # keep the XMP of the PDF/A front matter as the only document metadata
    out = io.BytesIO()
    writer.write(out)

    anchor = anchors[0]
    placement = SealPlacement(page=int(anchor["page"]) - 1, x=float(anchor["cx"]),
                              y=float(anchor["page_height"]) - float(anchor["cy"]))
    sealed = sealer.seal(out.getvalue(), placement, SealRequest(
        reason=f"归档 {m.archival_code.code}（{m.case_id}）", location=location, signer_name=signer_name,
        field_name=SEAL_FIELD, level=PadesLevel.B_T, final=True))
    sealed_sha256 = hashlib.sha256(sealed).hexdigest()
    return BuiltVolume(pdf=sealer.extend(sealed, PadesLevel.B_LTA, revocation), front_pages=front_pages,
                       sealed_sha256=sealed_sha256)
