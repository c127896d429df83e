"""Which PAdES level each document is sealed at.

A licence is relied on for years, long after certificates expire and algorithms age, so it is
sealed B-LTA: validation data and an archive timestamp travel with it. So is a decision, which the
archive keeps as long. Notices are proven in time (B-T).
"""

from __future__ import annotations

from yiyin.signing.pades import PadesLevel
from yiyin.templates.doctype import DocumentKind, DocumentType

BY_KIND: dict[DocumentKind, PadesLevel] = {
    DocumentKind.licence: PadesLevel.B_LTA,
    DocumentKind.decision: PadesLevel.B_LTA,
    DocumentKind.notice: PadesLevel.B_T,
    DocumentKind.agreement: PadesLevel.B_LTA,
}


def level_for(doc_type: DocumentType) -> PadesLevel:
    return BY_KIND.get(doc_type.kind, PadesLevel.B_T)
