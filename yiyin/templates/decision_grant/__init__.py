"""准予行政许可决定书: the decision that grants an administrative licence."""

from pathlib import Path

from yiyin.templates.decision_grant.content import content
from yiyin.templates.decision_grant.schema import DecisionGrant
from yiyin.templates.doctype import DocumentKind, DocumentType

DOCUMENT_TYPE = DocumentType(
    id="decision_grant",
    title="准予行政许可决定书",
    kind=DocumentKind.decision,
    schema=DecisionGrant,
    folder=Path(__file__).parent,
    content=content,
)
