"""Data -> PDF/A-3b, with the seal position read back from the layout."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import typst

from yiyin.errors import ConfigurationError
from yiyin.templates.content import cn_date, texts
from yiyin.templates.doctype import DocumentType
from yiyin.templates.fields import DocumentData, validate_data
from yiyin.templates.fonts import FontSet
from yiyin.templates.qr import qr_svg

TEMPLATES_ROOT = Path(__file__).parent
PDF_STANDARD = "a-3b"


@dataclass(frozen=True)
class IssueMeta:
    """What issuance adds to a document's own data."""

    organ: str
    date: date
    number: str
    verification_code: str | None = None
    verify_url: str | None = None
    public_url: str | None = None
    draft: bool = False
    #: for a delegated item (委托): who acted for the organ and under which agreement
    delegation_note: str = ""


@dataclass(frozen=True)
class SealAnchor:
    """Centre of the seal in PDF user space: page index from 0, points from the bottom-left corner."""

    page: int
    x: float
    y: float


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    #: where each party's seal goes, in signing order; a single-seal document has one, party None
    anchors: list[tuple[str | None, SealAnchor]]
    attachment: dict[str, Any]

    @property
    def anchor(self) -> SealAnchor:
        return self.anchors[0][1]


def _strings(value: Any, path: str = "") -> dict[str, str]:
    """Every string in a JSON-like value by its field path."""
    if isinstance(value, str):
        return {path: value}
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_strings(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.update(_strings(v, f"{path}[{i}]"))
    return out


class Renderer:
    """Keeps one warm Typst compiler per layout (types sharing a layout share it): fonts are loaded
    and layouts parsed once."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self._compilers: dict[Path, typst.Compiler] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._layouts: dict[str, Path] = {}
        self._guard = threading.Lock()
        self._config = json.dumps({"body_fonts": list(fonts.body), "title_fonts": list(fonts.title)}, ensure_ascii=False)

    def _compiler(self, doc_type: DocumentType) -> tuple[typst.Compiler, threading.Lock]:
        layout = self._layouts.get(doc_type.id) or self._layouts.setdefault(doc_type.id, doc_type.layout)
        with self._guard:
            if layout not in self._compilers:
                self._compilers[layout] = typst.Compiler(
                    str(layout),
                    root=str(TEMPLATES_ROOT),
                    font_paths=[str(d) for d in self.fonts.dirs],
                    ignore_system_fonts=True,
                )
                self._locks[layout] = threading.Lock()
            return self._compilers[layout], self._locks[layout]

    def validate(self, doc_type: DocumentType, data: dict[str, Any] | DocumentData) -> DocumentData:
        """Schema first, then fonts: every offending field is named before anything is numbered."""
        model = data if isinstance(data, DocumentData) else validate_data(doc_type.schema, data, f"{doc_type.id}（{doc_type.title}）")
        self.fonts.check(_strings(model.model_dump(mode="json")))
        self.fonts.check({"(wording)": "".join(texts(doc_type.blocks(model)))})  # what the content adds to the data
        return model

    def check_meta(self, meta: IssueMeta) -> None:
        self.fonts.check({"organ": meta.organ, "number": meta.number, "delegation_note": meta.delegation_note})
        self.fonts.check({"organ": meta.organ}, title=True)

    def _prepare(self, doc_type: DocumentType, data: dict[str, Any] | DocumentData, meta: IssueMeta) -> _Prepared:
        """Validate, then say what the document says: shared by the PDF and the DOCX."""
        model = self.validate(doc_type, data)
        self.check_meta(meta)
        return _Prepared(model=model, data=model.model_dump(mode="json"), blocks=doc_type.blocks(model))

    def render(self, doc_type: DocumentType, data: dict[str, Any] | DocumentData, meta: IssueMeta) -> RenderedDocument:
        prepared = self._prepare(doc_type, data, meta)
        data_json = prepared.data
        attachment = {
            "schema": "yiyin.document/1",
            "type": doc_type.id,
            "title": doc_type.title,
            "number": meta.number,
            "organ": meta.organ,
            "date": meta.date.isoformat(),
            "draft": meta.draft,
            "data": data_json,
        }
        meta_json: dict[str, Any] = {
            "title": doc_type.title,
            "organ": meta.organ,
            "number": meta.number,
            "date": meta.date.isoformat(),
            "date_text": cn_date(meta.date),
            "draft": meta.draft,
            "public_url": meta.public_url or "",
            "delegation_note": meta.delegation_note,
        }
        if meta.verification_code:
            meta_json["verification_code"] = meta.verification_code
        if meta.verify_url:
            meta_json["qr_svg"] = qr_svg(meta.verify_url)
        inputs = {
            "config": self._config,
            "meta": json.dumps(meta_json, ensure_ascii=False),
            "data": json.dumps(data_json, ensure_ascii=False),
            "content": json.dumps(prepared.blocks, ensure_ascii=False),
            "attachment": json.dumps(attachment, ensure_ascii=False, sort_keys=True),
        }
        stamp = datetime(meta.date.year, meta.date.month, meta.date.day, tzinfo=timezone.utc).timestamp()
        compiler, lock = self._compiler(doc_type)
        with lock:
            try:
                pdf, warnings = compiler.compile_with_warnings(sys_inputs=inputs, pdf_standards=[PDF_STANDARD], timestamp=int(stamp))
                anchors = json.loads(compiler.query("<seal-anchor>", field="value"))
            except typst.TypstError as exc:
                raise ConfigurationError(f"文书类型 {doc_type.id}（{doc_type.title}）的版式排版失败：{exc}") from exc
        if warnings:
            raise ConfigurationError(f"文书类型 {doc_type.id}（{doc_type.title}）的版式排版时出现警告，未生成文书：" + "; ".join(str(w) for w in warnings))
        if not anchors or (len(anchors) > 1 and any(a.get("party") is None for a in anchors)):
            raise ConfigurationError(f"文书类型 {doc_type.id}（{doc_type.title}）的版式须有一个盖章位置，或每个协议方各一个，实有 {len(anchors)} 个")
        placed = [(a.get("party"), SealAnchor(page=int(a["page"]) - 1, x=float(a["cx"]),
                                              y=float(a["page_height"]) - float(a["cy"]))) for a in anchors]
        return RenderedDocument(pdf=pdf, anchors=placed, attachment=attachment)

    def render_docx(self, doc_type: DocumentType, data: dict[str, Any] | DocumentData, meta: IssueMeta) -> bytes:
        """The same text as the PDF, as an editable Word document for drafting (never sealed)."""
        from yiyin.templates.docx_writer import write_docx

        prepared = self._prepare(doc_type, data, meta)
        return write_docx(prepared.blocks, doc_type.title, meta, self.fonts)


@dataclass(frozen=True)
class _Prepared:
    model: DocumentData
    data: dict[str, Any]
    blocks: list[dict[str, Any]]
