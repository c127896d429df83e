"""补正材料通知书: the application is incomplete or not in the statutory form; everything that must
be supplied is told at once (一次性告知, 行政许可法 第三十二条第一款第（四）项)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from yiyin.templates.case_common import HANDLER, PHONE, Application, addressee, applied, contact_line
from yiyin.templates.content import Block, number, p, sign, table, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import DocumentData, Phone, Text, no_repeats


class Missing(DocumentData):
    name: Text = Field(title="需补正的材料")
    requirement: Text = Field(title="补正要求")


class CorrectionNotice(Application):
    missing: list[Missing] = Field(title="需补正的全部内容", min_length=1, max_length=200)
    deadline_days: int | None = Field(default=None, title="补正期限（日）", ge=1, le=90)
    handler: Text = HANDLER
    phone: Phone = PHONE

    @model_validator(mode="after")
    def _once(self) -> "CorrectionNotice":
        no_repeats([m.name for m in self.missing], "missing（需补正的全部内容）")
        return self


def content(d: CorrectionNotice) -> list[Block]:
    when = f"自收到本通知书之日起{d.deadline_days}日内" if d.deadline_days else ""
    late = "逾期未补正的，视为放弃本次申请。" if d.deadline_days else ""
    return [
        title("补正材料通知书", organ=True), number(), addressee(d),
        p(f"{applied(d)}，经审查，申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，"
          f"现一次性告知你（单位）需要补正的全部内容（共{len(d.missing)}项）："),
        table(["12mm", "1fr", "1fr"], ["序号", "需补正的材料", "补正要求"],
              [[str(i), m.name, m.requirement] for i, m in enumerate(d.missing, start=1)]),
        p(f"请你（单位）{when}按上述要求补正全部材料后一并提交。补正的申请材料齐全、符合法定形式的，本机关将予以受理。{late}"),
        p("本通知书已一次性告知需要补正的全部内容，本机关不再要求补正本通知书所列以外的材料。"),
        contact_line(d),
        sign(),
    ]


DOCUMENT_TYPE = DocumentType(id="notice_correction", title="补正材料通知书", kind=DocumentKind.notice,
                             schema=CorrectionNotice, folder=Path(__file__).parent, content=content)
