from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.agreement_common import ORGAN_ID, ORGAN_NAME
from yiyin.templates.fields import DocumentData, LongText, Text, no_repeats

# The five signatories of a transfer, in signing order (the bureau receives; the others attest).
Role = Literal["划出部门", "划入部门", "机构编制部门", "司法行政部门", "营商环境部门"]
ROLES: tuple[str, ...] = ("划出部门", "划入部门", "机构编制部门", "司法行政部门", "营商环境部门")


class Party(DocumentData):
    role: Role = Field(title="角色")
    organ_id: Text = ORGAN_ID
    organ_name: Text = ORGAN_NAME


class TransferredItem(DocumentData):
    code: Text = Field(title="事项编码")
    name: Text = Field(title="事项名称")
    category: Text = Field(title="事项类别")
    legal_basis: Text = Field(title="设定依据")


class TransferAgreement(DocumentData):
    parties: list[Party] = Field(title="协议各方", min_length=5, max_length=5)
    legal_basis: list[Text] = Field(title="协议依据", min_length=1, max_length=10)
    items: list[TransferredItem] = Field(title="划转事项", min_length=1, max_length=300)
    posts: int = Field(title="随事项划转编制数", ge=0, le=500)
    staff: list[Text] = Field(title="随事项划转人员", default_factory=list, max_length=500)
    effective_date: date = Field(title="划转生效日期")
    duties: list[LongText] = Field(title="各方职责", min_length=1, max_length=20)
    archives: LongText = Field(title="档案移交")

    @model_validator(mode="after")
    def _parties(self) -> "TransferAgreement":
        roles = [p.role for p in self.parties]
        if tuple(roles) != ROLES:
            raise ValueError(f"parties（协议各方）应依次为：{'、'.join(ROLES)}；填写的是 {'、'.join(roles)}")
        no_repeats([i.code for i in self.items], "items（划转事项）")
        if len(self.staff) > self.posts:
            raise ValueError(f"staff（随事项划转人员）列出 {len(self.staff)} 人，多于随事项划转编制数 {self.posts} 名")
        return self
