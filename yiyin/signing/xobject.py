"""The seal picture as a ready-made form XObject, serialised once and renumbered per document.

The appearance PDF (one page, the seal drawn to its registered diameter) is read once. Its page
becomes a form XObject whose bounding box is the page; the XObject and every object its resources
reach (fonts, colour spaces, ICC profile) are serialised to bytes with placeholder object numbers.
Putting the seal into a document is then only writing those bytes with the document's next free
object numbers: each document receives its own complete copy, with no reference to anything else.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from yiyin.errors import ConfigurationError

# Placeholder object numbers: far above any real document's, and recognisable in the bytes.
_MARK = 900_000_000
_PLACEHOLDER = re.compile(rb"(9\d{8}) 0 R")


@dataclass(frozen=True)
class _Template:
    parts: tuple[bytes | int, ...]  # bytes, or the local number of a referenced object
    stream: bytes | None


def _template(obj: generic.PdfObject, stream: bytes | None) -> _Template:
    out = io.BytesIO()
    obj.write_to_stream(out)
    raw = out.getvalue()
    parts: list[bytes | int] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(raw):
        parts += [raw[pos:m.start()], int(m[1]) - _MARK]
        pos = m.end()
    parts.append(raw[pos:])
    return _Template(tuple(parts), stream)


class PreparedAppearance:
    """The seal picture of one appearance PDF, as objects ready to append to any document."""

    def __init__(self, appearance_pdf: Path) -> None:
        try:
            reader = PdfFileReader(io.BytesIO(appearance_pdf.read_bytes()), strict=False)
            page = reader.root["/Pages"]["/Kids"][0].get_object()
            self.size = tuple(float(v) for v in page["/MediaBox"])
        except Exception as exc:
            raise ConfigurationError(f"印章图样文件 {appearance_pdf} 无法读取：{exc}") from exc
        self._local: dict[tuple[int, int], int] = {}
        self._objects: list[_Template | None] = [None]  # local 0 is the form XObject itself
        content = page["/Contents"]
        content = content.get_object() if isinstance(content, generic.IndirectObject) else content
        if isinstance(content, generic.ArrayObject):  # several content streams: one, decoded
            data = b"\n".join(c.get_object().data for c in content)
            filters: dict[str, generic.PdfObject] = {}
        else:
            data = content.encoded_data
            filters = {k: self._copy(content[k]) for k in ("/Filter", "/DecodeParms") if k in content}
        form = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(generic.FloatObject(v) for v in self.size),
            generic.NameObject("/Resources"): self._copy(page.raw_get("/Resources")),
            generic.NameObject("/Length"): generic.NumberObject(len(data)),
            **{generic.NameObject(k): v for k, v in filters.items()},
        })
        self._objects[0] = _template(form, data)
        self.count = len(self._objects)

    def _copy(self, obj: generic.PdfObject) -> generic.PdfObject:
        """A deep copy in which every indirect reference points at a placeholder number."""
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key not in self._local:
                self._local[key] = len(self._objects)
                self._objects.append(None)
                target = obj.get_object()
                if isinstance(target, generic.StreamObject):
                    body = generic.DictionaryObject({k: self._copy(target.raw_get(k)) for k in target if k != "/Length"})
                    body[generic.NameObject("/Length")] = generic.NumberObject(len(target.encoded_data))
                    self._objects[self._local[key]] = _template(body, target.encoded_data)
                else:
                    self._objects[self._local[key]] = _template(self._copy(target), None)
            return generic.IndirectObject(_MARK + self._local[key], 0, None)
        if isinstance(obj, generic.StreamObject):
            raise ConfigurationError("印章图样文件的结构无法使用：其中有数据流直接嵌在另一个对象中（a stream used directly inside another object）")
        if isinstance(obj, generic.DictionaryObject):
            return generic.DictionaryObject({k: self._copy(obj.raw_get(k)) for k in obj})
        if isinstance(obj, generic.ArrayObject):
            return generic.ArrayObject(self._copy(v) for v in obj.iterate())
        return obj

    def objects(self, first: int) -> list[tuple[int, bytes]]:
        """(object number, serialised object body) with the XObject numbered ``first``."""
        out = []
        for local, t in enumerate(self._objects):
            assert t is not None
            body = b"".join(p if isinstance(p, bytes) else b"%d 0 R" % (first + p) for p in t.parts)
            if t.stream is not None:
                body += b"\nstream\n" + t.stream + b"\nendstream"
            out.append((first + local, body))
        return out
