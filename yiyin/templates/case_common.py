"""What decisions and case papers addressed to an applicant share: who applied, for what, when."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from yiyin.templates.content import Block, cn_date, p, to
from typing import Protocol

from yiyin.templates.fields import DocumentData, HolderCode, Text, holder_code_label


class Application(DocumentData):
    applicant: Text = Field(title="申请人")
    applicant_code: HolderCode = Field(title="申请人统一社会信用代码或公民身份号码")
    application_date: date = Field(title="申请日期")
    item_name: Text = Field(title="申请事项")


# Declared on each type, after its own fields (pydantic orders inherited fields first):
#   reconsideration_body: ReconsiderationBody = REMEDY_BODY; court: Court = REMEDY_COURT
#   handler: Text = HANDLER; phone: Phone = PHONE
REMEDY_BODY = Field(title="行政复议机关")
REMEDY_COURT = Field(title="管辖人民法院")
HANDLER = Field(title="承办人")
PHONE = Field(title="联系电话")


class HasContact(Protocol):
    handler: str
    phone: str


def addressee(a: Application) -> Block:
    return to(f"{a.applicant}（{holder_code_label(a.applicant_code)}：{a.applicant_code}）：")


def applied(a: Application) -> str:
    """你（单位）于2026年11月15日提出的药品零售企业许可申请"""
    return f"你（单位）于{cn_date(a.application_date)}提出的{a.item_name}申请"


def contact_line(c: "HasContact") -> Block:
    return p(f"承办人：{c.handler}　　联系电话：{c.phone}")
