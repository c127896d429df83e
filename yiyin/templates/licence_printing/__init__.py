"""印刷经营许可证 (印刷业管理条例): the kinds of printing it allows (第十一条), valid six years.
A county or city organ grants 包装装潢印刷品 and 其他印刷品 printing; 出版物印刷 is the province's
(第十条), so it is not offered here."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.content import Block
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import USCC, Text, check_validity, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData, certificate, validity

Scope = Literal["包装装潢印刷品印刷", "其他印刷品印刷", "专项排版、制版、装订"]
EconomicType = Literal["国有", "集体", "私营", "股份制", "外商投资", "港澳台投资", "其他"]
MAX_VALIDITY_YEARS = 6


class PrintingLicence(LicenceData):
    enterprise_name: Text = Field(title="单位名称")
    uscc: USCC = Field(title="统一社会信用代码")
    legal_representative: Text = Field(title="法定代表人")
    address: Text = Field(title="地址")
    economic_type: EconomicType = Field(title="经济性质")
    business_scope: list[Scope] = Field(title="经营范围", min_length=1)
    valid_from: date = Field(title="有效期自")
    valid_until: date = Field(title="有效期至")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _rules(self) -> "PrintingLicence":
        check_validity(self.valid_from, self.valid_until, max_years=MAX_VALIDITY_YEARS, rule="印刷经营许可证有效期 6 年")
        no_repeats(self.business_scope, "business_scope（经营范围）")
        return self


def content(d: PrintingLicence) -> list[Block]:
    return certificate("印刷经营许可证", d, [
        ("单位名称", d.enterprise_name),
        ("统一社会信用代码", d.uscc),
        ("法定代表人", d.legal_representative),
        ("地址", d.address),
        ("经济性质", d.economic_type),
        ("经营范围", "、".join(d.business_scope)),
        validity(d.valid_from, d.valid_until),
    ], number_label="许可证号")


DOCUMENT_TYPE = DocumentType(id="licence_printing", title="印刷经营许可证", kind=DocumentKind.licence,
                             schema=PrintingLicence, folder=Path(__file__).parent, content=content)
