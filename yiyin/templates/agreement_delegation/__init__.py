"""行政许可委托协议: a department delegates approval items to the bureau, which then decides them in
the department's name, with its seal, within the agreed scope and period (行政许可法 第二十四条).
Signed by the delegating organ and the bureau, and by any organ that attests to it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from yiyin.templates.agreement_common import ORGAN_ID, ORGAN_NAME, party_lines, seal_blocks, signing_clause
from yiyin.templates.content import Block, cn_date, number, numbered, p, sections, table, title
from yiyin.templates.doctype import DocumentKind, DocumentType
from yiyin.templates.fields import DocumentData, LongText, Text, check_period, no_repeats

DELEGATOR, AGENT = "委托机关", "受委托机关"
WITNESSES = ("机构编制部门", "司法行政部门", "营商环境部门")


class Party(DocumentData):
    role: Literal["委托机关", "受委托机关", "机构编制部门", "司法行政部门", "营商环境部门"] = Field(title="角色")
    organ_id: Text = ORGAN_ID
    organ_name: Text = ORGAN_NAME


class DelegatedItem(DocumentData):
    code: Text = Field(title="事项编码")
    name: Text = Field(title="事项名称")
    legal_basis: Text = Field(title="设定依据")
    powers: Text = Field(title="委托权限")


class DelegationAgreement(DocumentData):
    parties: list[Party] = Field(title="协议各方", min_length=2, max_length=5)
    legal_basis: list[Text] = Field(title="协议依据", min_length=1, max_length=10)
    items: list[DelegatedItem] = Field(title="委托事项", min_length=1, max_length=300)
    valid_from: date = Field(title="委托期限自")
    valid_until: date = Field(title="委托期限至")
    delegator_duties: list[LongText] = Field(title="委托机关职责", min_length=1, max_length=20)
    agent_duties: list[LongText] = Field(title="受委托机关职责", min_length=1, max_length=20)
    seal_use: LongText = Field(title="印章使用")

    @model_validator(mode="after")
    def _rules(self) -> "DelegationAgreement":
        roles = [x.role for x in self.parties]
        if roles[:2] != [DELEGATOR, AGENT] or any(r not in WITNESSES for r in roles[2:]) or len(set(roles)) != len(roles):
            raise ValueError(f"parties（协议各方）应依次为{DELEGATOR}、{AGENT}，其后可有{'、'.join(WITNESSES)}，各一次；填写的是 {'、'.join(roles)}")
        check_period(self.valid_from, self.valid_until, "valid_from（委托期限自）", "valid_until（委托期限至）")
        no_repeats([i.code for i in self.items], "items（委托事项）")
        return self


def content(d: DelegationAgreement) -> list[Block]:
    delegator, agent = d.parties[0].organ_name, d.parties[1].organ_name
    return [
        title("行政许可委托协议"), number(),
        *party_lines([(x.role, x.organ_name) for x in d.parties]),
        p(f"为推进相对集中行政许可权改革，实行“一枚印章管审批”，根据{'、'.join(d.legal_basis)}，{delegator}（以下简称甲方）"
          f"将下列行政许可事项委托{agent}（以下简称乙方）实施。经各方协商一致，订立本协议。"),
        *sections([
            ("委托事项", [
                p(f"甲方委托乙方在委托权限内，以甲方名义实施下列{len(d.items)}项行政许可事项："),
                table(["11mm", "34mm", "1fr", "1fr", "26mm"], ["序号", "事项编码", "事项名称", "设定依据", "委托权限"],
                      [[str(i), it.code, it.name, it.legal_basis, it.powers] for i, it in enumerate(d.items, start=1)]),
            ]),
            ("委托期限", [p(f"委托期限自{cn_date(d.valid_from)}起至{cn_date(d.valid_until)}止。期限届满需要继续委托的，"
                            "甲乙双方应当在期限届满三十日前重新签订委托协议；期限内任何一方要求终止委托的，应当提前三十日书面通知对方。")]),
            ("甲方职责", numbered([*d.delegator_duties, "将受委托的乙方和受委托实施行政许可的内容予以公告。"])),
            ("乙方职责", numbered([*d.agent_duties, "不得再委托其他组织或者个人实施上述行政许可。"])),
            ("印章使用", [p(d.seal_use)]),
            ("法律责任", [p("甲方对乙方在委托范围内实施上述行政许可的行为负责监督，并对该行为的后果承担法律责任。"
                            "乙方超越委托权限或者违反法定程序实施行政许可的，甲方有权责令改正并终止委托。")]),
            ("其他", [signing_clause(len(d.parties))]),
        ]),
        seal_blocks([x.organ_name for x in d.parties]),
    ]


DOCUMENT_TYPE = DocumentType(id="agreement_delegation", title="行政许可委托协议", kind=DocumentKind.agreement,
                             schema=DelegationAgreement, folder=Path(__file__).parent, content=content)
