"""旅行社业务经营许可证 (旅行社设立许可). No expiry: the licence stands while the agency keeps its
quality deposit (质量保证金) and passes supervision; the deposit follows the scope (旅行社条例 第十三条)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.content import Block
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import USCC, Text, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData, certificate

DOMESTIC, INBOUND, OUTBOUND = "国内旅游业务", "入境旅游业务", "出境旅游业务"
# 万元: 20 for domestic and inbound tourism; 120 more for outbound (旅行社条例 第十三条)
DEPOSIT_BASE, DEPOSIT_OUTBOUND = 20, 120


class TravelAgencyLicence(LicenceData):
    enterprise_name: Text = Field(title="旅行社名称")
    uscc: USCC = Field(title="统一社会信用代码")
    legal_representative: Text = Field(title="法定代表人")
    business_address: Text = Field(title="经营场所")
    business_scope: list[Literal["国内旅游业务", "入境旅游业务", "出境旅游业务"]] = Field(title="经营范围", min_length=1, max_length=3)
    deposit: int = Field(title="质量保证金（万元）", ge=0)
    deposit_bank: Text = Field(title="质量保证金存缴银行")
    decision_number: Text = Field(title="许可文号")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _scope_and_deposit(self) -> "TravelAgencyLicence":
        no_repeats(self.business_scope, "business_scope（经营范围）")
        if DOMESTIC not in self.business_scope or INBOUND not in self.business_scope:
            raise ValueError(f"business_scope（经营范围）应包括{DOMESTIC}和{INBOUND}（旅行社条例 第六条）")
        required = DEPOSIT_BASE + (DEPOSIT_OUTBOUND if OUTBOUND in self.business_scope else 0)
        if self.deposit != required:
            raise ValueError(f"deposit（质量保证金）对此经营范围应为 {required} 万元（旅行社条例 第十三条），填写的是 {self.deposit} 万元")
        return self


def content(d: TravelAgencyLicence) -> list[Block]:
    return certificate("旅行社业务经营许可证", d, [
        ("旅行社名称", d.enterprise_name),
        ("统一社会信用代码", d.uscc),
        ("法定代表人", d.legal_representative),
        ("经营场所", d.business_address),
        ("经营范围", "、".join(d.business_scope)),
        ("质量保证金", f"{d.deposit}万元（存缴银行：{d.deposit_bank}）"),
        ("许可文号", d.decision_number),
        ("有效期", "长期"),
    ])


DOCUMENT_TYPE = DocumentType(id="licence_travel_agency", title="旅行社业务经营许可证", kind=DocumentKind.licence,
                             schema=TravelAgencyLicence, folder=Path(__file__).parent, content=content)
