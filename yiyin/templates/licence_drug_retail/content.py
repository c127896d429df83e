"""What a 药品经营许可证 prints."""

from __future__ import annotations

from yiyin.templates.content import Block
from yiyin.templates.licence_common import certificate, validity
from yiyin.templates.licence_drug_retail.schema import DrugRetailLicence


def content(d: DrugRetailLicence) -> list[Block]:
    return certificate("药品经营许可证", d, [
        ("企业名称", d.enterprise_name),
        ("统一社会信用代码", d.uscc),
        ("法定代表人", d.legal_representative),
        ("主要负责人", d.principal),
        ("质量负责人", d.quality_manager),
        ("注册地址", d.registered_address),
        ("经营地址", d.business_address),
        ("经营方式", d.business_mode),
        ("经营类别", "、".join(d.categories)),
        ("经营范围", "、".join(d.business_scope)),
        validity(d.valid_from, d.valid_until),
        ("日常监管机构", d.supervising_authority),
        ("投诉举报电话", d.complaint_phone),
    ])
