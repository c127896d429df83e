from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.fields import USCC, Phone, Text, check_validity, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData

BusinessMode = Literal["零售", "零售（连锁门店）"]
DrugCategory = Literal["处方药", "甲类非处方药", "乙类非处方药"]
ScopeItem = Literal[
    "中药饮片", "中成药", "化学药", "生物制品（不含疫苗）", "体外诊断试剂（药品）", "第二类精神药品", "医疗用毒性药品",
]

# 药品经营许可证有效期为五年 (药品管理法实施条例、药品经营和使用质量监督管理办法)
MAX_VALIDITY_YEARS = 5


class DrugRetailLicence(LicenceData):
    enterprise_name: Text = Field(title="企业名称")
    uscc: USCC = Field(title="统一社会信用代码")
    legal_representative: Text = Field(title="法定代表人")
    principal: Text = Field(title="主要负责人")
    quality_manager: Text = Field(title="质量负责人")
    registered_address: Text = Field(title="注册地址")
    business_address: Text = Field(title="经营地址")
    business_mode: BusinessMode = Field(title="经营方式")
    categories: list[DrugCategory] = Field(title="经营类别", min_length=1)
    business_scope: list[ScopeItem] = Field(title="经营范围", min_length=1)
    valid_from: date = Field(title="有效期自")
    valid_until: date = Field(title="有效期至")
    supervising_authority: Text = Field(title="日常监管机构")
    complaint_phone: Phone = Field(title="投诉举报电话")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _validity(self) -> "DrugRetailLicence":
        check_validity(self.valid_from, self.valid_until, max_years=MAX_VALIDITY_YEARS)
        no_repeats(self.business_scope, "business_scope（经营范围）")
        return self
