"""危险化学品经营许可证 (危险化学品经营许可证管理办法): valid three years; a business that stores
chemicals (带储存, or a filling station) names its storage site."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.content import Block
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import USCC, Text, check_validity, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData, certificate, validity

Mode = Literal["批发（带储存）", "批发（不带储存）", "零售（带储存）", "零售（不带储存）", "零售（加油站）"]
MAX_VALIDITY_YEARS = 3


class HazchemLicence(LicenceData):
    enterprise_name: Text = Field(title="企业名称")
    uscc: USCC = Field(title="统一社会信用代码")
    legal_representative: Text = Field(title="法定代表人")
    principal: Text = Field(title="主要负责人")
    registered_address: Text = Field(title="注册地址")
    business_mode: Mode = Field(title="经营方式")
    storage_address: Text | None = Field(default=None, title="储存设施地址")
    scope: list[Text] = Field(title="许可范围", min_length=1, max_length=100)
    valid_from: date = Field(title="有效期自")
    valid_until: date = Field(title="有效期至")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _rules(self) -> "HazchemLicence":
        check_validity(self.valid_from, self.valid_until, max_years=MAX_VALIDITY_YEARS, rule="危险化学品经营许可证有效期 3 年")
        no_repeats(self.scope, "scope（许可范围）")
        stores = "不带储存" not in self.business_mode
        if stores and not self.storage_address:
            raise ValueError(f"storage_address（储存设施地址）：经营方式为{self.business_mode}的，应填写储存设施地址")
        if not stores and self.storage_address:
            raise ValueError(f"storage_address（储存设施地址）：经营方式为{self.business_mode}的，证上不载储存设施地址，请不要填写")
        return self


def content(d: HazchemLicence) -> list[Block]:
    rows = [
        ("企业名称", d.enterprise_name),
        ("统一社会信用代码", d.uscc),
        ("法定代表人", d.legal_representative),
        ("主要负责人", d.principal),
        ("注册地址", d.registered_address),
        ("经营方式", d.business_mode),
    ]
    if d.storage_address:
        rows.append(("储存设施地址", d.storage_address))
    rows += [("许可范围", "、".join(d.scope)), validity(d.valid_from, d.valid_until)]
    return certificate("危险化学品经营许可证", d, rows, number_label="编号")


DOCUMENT_TYPE = DocumentType(id="licence_hazchem", title="危险化学品经营许可证", kind=DocumentKind.licence,
                             schema=HazchemLicence, folder=Path(__file__).parent, content=content)
