"""What a document type is: an id, a Chinese title, a data schema, what it says and its layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from yiyin.templates.fields import DocumentData

COMMON = Path(__file__).parent / "common"


class DocumentKind(str, Enum):
    decision = "decision"    # 决定书
    licence = "licence"      # 许可证
    notice = "notice"        # 通知书、回证
    agreement = "agreement"  # 协议


#: the fields that name the party a document is issued to, in order of preference
HOLDER_FIELDS = ("enterprise_name", "institution_name", "applicant", "recipient", "holder")


@dataclass(frozen=True)
class DocumentType:
    id: str
    title: str
    kind: DocumentKind
    schema: type[DocumentData]
    folder: Path
    #: what the document says, as blocks (yiyin.templates.content) both the PDF and the DOCX set
    content: Callable[[Any], list[dict[str, Any]]] | None = None

    @property
    def layout(self) -> Path:
        """The type's own layout.typ if it has one; otherwise the shared one for its kind: the
        licence certificate for licences, the GB/T 9704 paper for everything else."""
        own = self.folder / "layout.typ"
        if own.exists():
            return own
        return COMMON / ("licence.typ" if self.kind == DocumentKind.licence else "paper.typ")

    def blocks(self, data: DocumentData) -> list[dict[str, Any]]:
        return self.content(data) if self.content else []

    def holder(self, data: DocumentData) -> str:
        """The party the document is issued to, for the registry and the verify report."""
        for name in HOLDER_FIELDS:
            if hasattr(data, name):
                return str(getattr(data, name))
        return ""
