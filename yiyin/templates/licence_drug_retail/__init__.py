"""药品经营许可证 (零售): the drug retail licence of a pharmacy."""

from pathlib import Path

from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.licence_drug_retail.content import content
from yiyin.templates.licence_drug_retail.schema import DrugRetailLicence

DOCUMENT_TYPE = DocumentType(
    id="licence_drug_retail",
    title="药品经营许可证",
    kind=DocumentKind.licence,
    schema=DrugRetailLicence,
    folder=Path(__file__).parent,
    content=content,
)
