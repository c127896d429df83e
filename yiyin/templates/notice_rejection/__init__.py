"""不予受理通知书: the matter needs no licence, or is not this organ's to decide (行政许可法 第三十二条
第一款第（一）、（二）项), or the applicant hid facts or gave false materials (第七十八条); says
where to apply instead, and the remedies."""

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
FALSE_MATERIALS = "隐瞒有关情况或者提供虚假材料"
#: each ground and the provision it rests on
GROUNDS = {NOT_NEEDED: "《中华人民共和国行政许可法》第三十二条第一款第（一）项",
           NOT_OURS: "《中华人民共和国行政许可法》第三十二条第一款第（二）项",
           FALSE_MATERIALS: "《中华人民共和国行政许可法》第七十八条"}


class RejectionNotice(Application):
    grounds: Literal["依法不需要取得行政许可", "不属于本机关职权范围", "隐瞒有关情况或者提供虚假材料"] = Field(title="不予受理的情形")
    reasons: LongText = Field(title="审查意见")
    competent_body: Text | None = Field(default=None, title="应当向其申请的行政机关")
    one_year_bar: bool = Field(default=False, title="一年内不得再次申请（直接关系公共安全、人身健康、生命财产安全的事项）")
    reconsideration_body: ReconsiderationBody = REMEDY_BODY
    court: Court = REMEDY_COURT

    @model_validator(mode="after")
    def _competent(self) -> "RejectionNotice":
        if self.grounds == NOT_OURS and not self.competent_body:
            raise ValueError("competent_body（应当向其申请的行政机关）：不属于本机关职权范围的，应当告知申请人向有关行政机关申请（行政许可法 第三十二条第一款第（二）项），请填写该机关")
        if self.grounds != NOT_OURS and self.competent_body:
            raise ValueError("competent_body（应当向其申请的行政机关）仅在“不属于本机关职权范围”时填写")
        if self.one_year_bar and self.grounds != FALSE_MATERIALS:
            raise ValueError("one_year_bar（一年内不得再次申请）仅适用于隐瞒有关情况或者提供虚假材料的情形（行政许可法 第七十八条）")
        return self


def content(d: RejectionNotice) -> list[Block]:
    basis = GROUNDS[d.grounds]
    if d.grounds == NOT_NEEDED:
        decision = f"该申请事项依法不需要取得行政许可。根据{basis}的规定，本机关决定不予受理。"
    elif d.grounds == NOT_OURS:
        decision = (f"该申请事项依法不属于本机关职权范围。根据{basis}的规定，"
                    f"本机关决定不予受理，请你（单位）向{d.competent_body}申请。")
    else:
        decision = f"你（单位）在申请中隐瞒有关情况或者提供虚假材料。根据{basis}的规定，本机关决定不予受理。"
        if d.one_year_bar:
            decision += "该事项直接关系公共安全、人身健康、生命财产安全，你（单位）在一年内不得再次申请该行政许可。"
    return [
        title("不予受理通知书", organ=True), number(), addressee(d),
        p(f"{applied(d)}，经审查：{d.reasons}"),
        p(decision),
        p(remedies(d.reconsideration_body, d.court, paper="通知书")),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="notice_rejection", title="不予受理通知书", kind=DocumentKind.notice,
                             schema=RejectionNotice, folder=Path(__file__).parent, content=content)
