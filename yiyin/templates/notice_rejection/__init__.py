"""不予受理通知书: the matter needs no licence, or is not this organ's to decide
(行政许可法 第三十二条第一款第（一）、（二）项); says where to apply instead, and the remedies."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.case_common import REMEDY_BODY, REMEDY_COURT, Application, addressee, applied
from yiyin.templates.content import Block, number, p, remedies, sign, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import Court, LongText, ReconsiderationBody, Text

NOT_NEEDED = "依法不需要取得行政许可"
NOT_OURS = "不属于本机关职权范围"


class RejectionNotice(Application):
    grounds: Literal["依法不需要取得行政许可", "不属于本机关职权范围"] = Field(title="不予受理的情形")
    reasons: LongText = Field(title="审查意见")
    competent_body: Text | None = Field(default=None, title="应当向其申请的行政机关")
    reconsideration_body: ReconsiderationBody = REMEDY_BODY
    court: Court = REMEDY_COURT

    @model_validator(mode="after")
    def _competent(self) -> "RejectionNotice":
        if self.grounds == NOT_OURS and not self.competent_body:
            raise ValueError("competent_body（应当向其申请的行政机关） must be named when the matter is 不属于本机关职权范围 (行政许可法 第三十二条第一款第（二）项)")
        if self.grounds == NOT_NEEDED and self.competent_body:
            raise ValueError("competent_body（应当向其申请的行政机关） is only for 不属于本机关职权范围")
        return self


def content(d: RejectionNotice) -> list[Block]:
    if d.grounds == NOT_NEEDED:
        decision = "该申请事项依法不需要取得行政许可。根据《中华人民共和国行政许可法》第三十二条第一款第（一）项的规定，本机关决定不予受理。"
    else:
        decision = (f"该申请事项依法不属于本机关职权范围。根据《中华人民共和国行政许可法》第三十二条第一款第（二）项的规定，"
                    f"本机关决定不予受理，请你（单位）向{d.competent_body}申请。")
    return [
        title("不予受理通知书", organ=True), number(), addressee(d),
        p(f"{applied(d)}，经审查：{d.reasons}"),
        p(decision),
        p(remedies(d.reconsideration_body, d.court, paper="通知书")),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="notice_rejection", title="不予受理通知书", kind=DocumentKind.notice,
                             schema=RejectionNotice, folder=Path(__file__).parent, content=content)
