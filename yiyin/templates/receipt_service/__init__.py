"""送达回证: the proof that a document reached the party it is addressed to; printed with the
document, signed by hand on delivery, and kept in the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from yiyin.templates.content import Block, field, fields, number, p, sign, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import DocumentData, Text

Method = Literal["直接送达", "留置送达", "邮寄送达", "委托送达", "电子送达", "公告送达"]


class ServiceReceipt(DocumentData):
    document_title: Text = Field(title="送达文书名称")
    document_number: Text = Field(title="送达文书文号")
    recipient: Text = Field(title="受送达人")
    address: Text = Field(title="送达地点")
    method: Method = Field(title="送达方式")
    servers: list[Text] = Field(title="送达人", min_length=1, max_length=3)
    remarks: Text | None = Field(default=None, title="备注")


def content(d: ServiceReceipt) -> list[Block]:
    return [
        title("送达回证", organ=True), number(),
        fields([
            field("送达文书名称及文号", f"《{d.document_title}》（{d.document_number}）"),
            field("受送达人", d.recipient),
            field("送达地点", d.address),
            field("送达方式", d.method),
            field("送达人（签名）", "、".join(d.servers), room_mm=6),
            field("受送达人签名或盖章", "", room_mm=10),
            field("签收时间", "　　　　年　　月　　日　　时　　分"),
            field("代收人及代收理由", "", room_mm=6),
            field("见证人（留置送达时）", "", room_mm=6),
            field("备注", d.remarks or ""),
        ], label_width="44mm", size=12),
        p("注：受送达人拒绝签收的，送达人应当在本回证上记明拒收事由和日期，由送达人、见证人签名，把文书留在受送达人的住所，即视为送达。",
          indent=False, size=10.5),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="receipt_service", title="送达回证", kind=DocumentKind.notice,
                             schema=ServiceReceipt, folder=Path(__file__).parent, content=content)
