"""划转协议: the agreement by which a department transfers approval items to the bureau,
signed by five organs, each with its own seal."""

from pathlib import Path

from yiyin.templates.agreement_transfer.content import content
from yiyin.templates.agreement_transfer.schema import TransferAgreement
from yiyin.templates.doctype import DocumentKind, DocumentType

DOCUMENT_TYPE = DocumentType(
    id="agreement_transfer",
    title="行政审批事项划转协议",
    kind=DocumentKind.agreement,
    schema=TransferAgreement,
    folder=Path(__file__).parent,
    content=content,
)
