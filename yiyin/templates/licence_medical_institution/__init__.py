"""医疗机构执业许可证 (医疗机构执业登记, 医疗机构管理条例及其实施细则): validity 5 years, 15 for an
institution of 100 beds or more; the 登记号 starts with the institution's organisation code and
the division it is registered in."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.content import Block
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import USCC, Text, check_validity, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData, certificate, validity

Category = Literal["综合医院", "中医医院", "中西医结合医院", "专科医院", "乡镇卫生院", "社区卫生服务中心",
                   "门诊部", "诊所", "中医诊所", "村卫生室"]
Ownership = Literal["全民", "集体", "私人", "股份", "中外合资（合作）", "其他"]
LARGE_BEDS = 100
# 组织机构代码 (9) + 行政区划代码 (6) + 7 letters or digits (经营性质, 类别, 顺序号)
_REGISTRATION = re.compile(r"^[0-9A-Z]{9}\d{6}[0-9A-Z]{7}$")


class MedicalInstitutionLicence(LicenceData):
    institution_name: Text = Field(title="机构名称")
    uscc: USCC = Field(title="统一社会信用代码")
    registration_number: Text = Field(title="登记号")
    address: Text = Field(title="地址")
    legal_representative: Text = Field(title="法定代表人")
    principal: Text = Field(title="主要负责人")
    category: Category = Field(title="医疗机构类别")
    nature: Literal["非营利性", "营利性"] = Field(title="经营性质")
    ownership: Ownership = Field(title="所有制形式")
    departments: list[Text] = Field(title="诊疗科目", min_length=1, max_length=80)
    beds: int = Field(title="床位（张）", ge=0, le=10000)
    dental_chairs: int = Field(default=0, title="牙椅（台）", ge=0, le=500)
    valid_from: date = Field(title="有效期自")
    valid_until: date = Field(title="有效期至")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _rules(self) -> "MedicalInstitutionLicence":
        no_repeats(self.departments, "departments（诊疗科目）")
        if self.beds >= LARGE_BEDS:
            check_validity(self.valid_from, self.valid_until, max_years=15, rule="床位100张以上的医疗机构 15 年")
        else:
            check_validity(self.valid_from, self.valid_until, max_years=5, rule="床位不满100张的医疗机构 5 年")
        reg = self.registration_number.upper()
        if not _REGISTRATION.match(reg):
            raise ValueError("registration_number（登记号）应为 22 位：组织机构代码（9 位）、行政区划码（6 位）、7 位字母或数字")
        if reg[:9] != self.uscc[8:17]:
            raise ValueError(f"registration_number（登记号）应以统一社会信用代码中的组织机构代码 {self.uscc[8:17]} 开头")
        return self


def content(d: MedicalInstitutionLicence) -> list[Block]:
    return certificate("医疗机构执业许可证", d, [
        ("机构名称", d.institution_name),
        ("统一社会信用代码", d.uscc),
        ("登记号", d.registration_number),
        ("地址", d.address),
        ("法定代表人", d.legal_representative),
        ("主要负责人", d.principal),
        ("医疗机构类别", d.category),
        ("经营性质", d.nature),
        ("所有制形式", d.ownership),
        ("诊疗科目", "、".join(d.departments)),
        ("床位", f"{d.beds}张" + (f"　牙椅：{d.dental_chairs}台" if d.dental_chairs else "")),
        validity(d.valid_from, d.valid_until),
    ], copy_rows=[
        ("机构名称", d.institution_name),
        ("登记号", d.registration_number),
        ("诊疗科目", "、".join(d.departments)),
        validity(d.valid_from, d.valid_until),
        ("校验记录", ""),
        ("变更记录", ""),
    ], number_label="证书编号")


DOCUMENT_TYPE = DocumentType(id="licence_medical_institution", title="医疗机构执业许可证", kind=DocumentKind.licence,
                             schema=MedicalInstitutionLicence, folder=Path(__file__).parent, content=content)
