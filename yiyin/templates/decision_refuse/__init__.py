"""不予行政许可决定书: the decision that refuses an administrative licence, with its reasons, its
legal basis and the applicant's remedies (行政许可法 第三十八条第二款)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from yiyin.templates.case_common import REMEDY_BODY, REMEDY_COURT, Application, addressee, applied
from yiyin.templates.content import Block, number, numbered, p, remedies, sign, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import Court, LongText, ReconsiderationBody, Text


class DecisionRefuse(Application):
    acceptance_number: Text = Field(title="受理编号")
    reasons: list[LongText] = Field(title="不予许可的理由", min_length=1, max_length=20)
    legal_basis: list[Text] = Field(title="法律依据", min_length=1, max_length=10)
    reconsideration_body: ReconsiderationBody = REMEDY_BODY
    court: Court = REMEDY_COURT


def content(d: DecisionRefuse) -> list[Block]:
    return [
        title("不予行政许可决定书", organ=True), number(), addressee(d),
        p(f"{applied(d)}（受理编号：{d.acceptance_number}），本机关已依法受理。经审查，你（单位）的申请不符合法定条件、标准，理由如下："),
        *numbered(d.reasons),
        p(f"根据{'、'.join(d.legal_basis)}和《中华人民共和国行政许可法》第三十八条第二款的规定，本机关决定不予行政许可。"),
        p(remedies(d.reconsideration_body, d.court)),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="decision_refuse", title="不予行政许可决定书", kind=DocumentKind.decision,
                             schema=DecisionRefuse, folder=Path(__file__).parent, content=content)
