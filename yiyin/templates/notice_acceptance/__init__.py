"""受理通知书: the application is complete and in the statutory form, and is accepted
(行政许可法 第三十二条第一款第（五）项); the papers received are listed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.case_common import HANDLER, PHONE, Application, addressee, applied, contact_line
from yiyin.templates.content import Block, number, p, sign, table, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import DocumentData, Phone, Text


class Material(DocumentData):
    name: Text = Field(title="材料名称")
    copies: int = Field(title="份数", ge=1, le=99)
    form: Literal["原件", "复印件", "原件及复印件", "电子材料"] = Field(title="材料形式")


class AcceptanceNotice(Application):
    materials: list[Material] = Field(title="收到的申请材料", min_length=1, max_length=200)
    statutory_days: int = Field(title="法定办理时限（工作日）", ge=1, le=120)
    promised_days: int = Field(title="承诺办理时限（工作日）", ge=1, le=120)
    handler: Text = HANDLER
    phone: Phone = PHONE

    @model_validator(mode="after")
    def _days(self) -> "AcceptanceNotice":
        if self.promised_days > self.statutory_days:
            raise ValueError(f"promised_days（承诺办理时限）{self.promised_days} 个工作日不得超过 statutory_days（法定办理时限）{self.statutory_days} 个工作日")
        return self


def content(d: AcceptanceNotice) -> list[Block]:
    return [
        title("受理通知书", organ=True), number(), addressee(d),
        p(f"{applied(d)}，申请材料齐全、符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，本机关决定予以受理。"),
        p(f"本机关将自受理之日起{d.promised_days}个工作日内作出行政许可决定（法定办理时限为{d.statutory_days}个工作日）。"
          "依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在上述期限内。"),
        p("本机关收到的申请材料如下："),
        table(["12mm", "1fr", "16mm", "30mm"], ["序号", "材料名称", "份数", "形式"],
              [[str(i), m.name, str(m.copies), m.form] for i, m in enumerate(d.materials, start=1)]),
        contact_line(d),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="notice_acceptance", title="受理通知书", kind=DocumentKind.notice,
                             schema=AcceptanceNotice, folder=Path(__file__).parent, content=content)
