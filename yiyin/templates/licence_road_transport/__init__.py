"""道路运输经营许可证 (道路旅客运输经营许可, 危险货物运输经营许可, 道路货物运输经营许可).

Validity: passenger transport 4 to 8 years (道路旅客运输及客运站管理规定); goods, dangerous goods
included, 4 years. Dangerous goods need at least five dedicated vehicles (道路危险货物运输管理规定)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.content import Block
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import USCC, Text, check_validity, no_repeats
from yiyin.templates.licence_common import COPIES, LicenceData, certificate, validity

Scope = Literal[
    "县内班车客运", "县际班车客运", "市际班车客运", "县内包车客运", "县际包车客运", "市际包车客运", "旅游客运",
    "道路普通货物运输", "货物专用运输（集装箱）", "货物专用运输（冷藏保鲜设备）", "货物专用运输（罐式容器）", "大型物件运输",
    "经营性道路危险货物运输（2类1项）", "经营性道路危险货物运输（3类）", "经营性道路危险货物运输（8类）",
]
EconomicType = Literal["国有", "集体", "私营", "个体", "股份制", "联营", "外商投资", "港澳台投资", "其他"]
MIN_DANGEROUS_GOODS_VEHICLES = 5


class RoadTransportLicence(LicenceData):
    enterprise_name: Text = Field(title="业户名称")
    uscc: USCC = Field(title="统一社会信用代码")
    legal_representative: Text = Field(title="法定代表人")
    address: Text = Field(title="地址")
    economic_type: EconomicType = Field(title="经济类型")
    business_scope: list[Scope] = Field(title="经营范围", min_length=1)
    vehicles: int = Field(title="营运车辆（辆）", ge=1, le=5000)
    valid_from: date = Field(title="有效期自")
    valid_until: date = Field(title="有效期至")
    copies: int | None = COPIES

    @model_validator(mode="after")
    def _rules(self) -> "RoadTransportLicence":
        no_repeats(self.business_scope, "business_scope（经营范围）")
        if any("客运" in s for s in self.business_scope):
            check_validity(self.valid_from, self.valid_until, min_years=4, max_years=8, rule="客运经营许可 4 至 8 年")
        else:
            check_validity(self.valid_from, self.valid_until, max_years=4, rule="货运经营许可 4 年")
        if any("危险货物" in s for s in self.business_scope) and self.vehicles < MIN_DANGEROUS_GOODS_VEHICLES:
            raise ValueError(f"vehicles（营运车辆）：危险货物运输应有专用车辆至少 {MIN_DANGEROUS_GOODS_VEHICLES} 辆，填写的是 {self.vehicles} 辆")
        return self


def content(d: RoadTransportLicence) -> list[Block]:
    return certificate("道路运输经营许可证", d, [
        ("业户名称", d.enterprise_name),
        ("统一社会信用代码", d.uscc),
        ("法定代表人", d.legal_representative),
        ("地址", d.address),
        ("经济类型", d.economic_type),
        ("经营范围", "、".join(d.business_scope)),
        validity(d.valid_from, d.valid_until),
    ], copy_rows=[
        ("业户名称", d.enterprise_name),
        ("经营范围", "、".join(d.business_scope)),
        ("营运车辆", f"{d.vehicles}辆"),
        validity(d.valid_from, d.valid_until),
        ("年度审验记录", ""),
        ("变更记录", ""),
    ], number_label="许可证号")


DOCUMENT_TYPE = DocumentType(id="licence_road_transport", title="道路运输经营许可证", kind=DocumentKind.licence,
                             schema=RoadTransportLicence, folder=Path(__file__).parent, content=content)
