"""What agreements between organs share: the parties, their seal blocks, and how the seals are applied."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from yiyin.templates.content import Block, cn_numeral, p, parties, to

PARTY_LABELS = ("甲方", "乙方", "丙方", "丁方", "戊方")


# Declared on each agreement's party after its role (pydantic puts inherited fields first):
#   organ_id: Text = ORGAN_ID; organ_name: Text = ORGAN_NAME
ORGAN_ID = Field(title="机关代码（系统内）")
ORGAN_NAME = Field(title="机关名称")


def party_lines(roles_and_names: Sequence[tuple[str, str]]) -> list[Block]:
    """甲方（划出部门）：台安县市场监督管理局, … at the head of the agreement."""
    return [to(f"{PARTY_LABELS[i]}（{role}）：{name}") for i, (role, name) in enumerate(roles_and_names)]


def signing_clause(count: int) -> Block:
    return p(f"本协议一式{cn_numeral(count)}份，各方各执一份，自各方盖章之日起生效。各方印章以电子印章形式加盖，"
             "后盖章一方的印章不影响先盖章各方印章的效力；最后一方盖章后，本协议不得再作修改。")


def seal_blocks(names: Sequence[str]) -> Block:
    return parties([(PARTY_LABELS[i], name) for i, name in enumerate(names)])
