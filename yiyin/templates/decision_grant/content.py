"""What a 准予行政许可决定书 says."""

from __future__ import annotations

from yiyin.templates.content import Block, cn_date, number, numbered, p, sign, title, to
from yiyin.templates.decision_grant.schema import DecisionGrant


def content(d: DecisionGrant) -> list[Block]:
    blocks = [
        title("准予行政许可决定书", organ=True), number(),
        to(f"{d.applicant}（统一社会信用代码：{d.applicant_code}）："),
        p(f"你单位于{cn_date(d.application_date)}提出的{d.item_name}申请（受理编号：{d.acceptance_number}），本机关已依法受理。"
          f"经审查，你单位的申请符合{'、'.join(d.legal_basis)}规定的条件和标准。"
          "根据《中华人民共和国行政许可法》第三十八条第一款的规定，本机关决定准予行政许可。"),
        p(f"准予许可的内容：{d.decision_content}"),
    ]
    if d.licence_name:
        period = f"，有效期自{cn_date(d.valid_from)}至{cn_date(d.valid_until)}" if d.valid_from and d.valid_until else ""
        blocks.append(p(f"本机关同时向你单位核发《{d.licence_name}》{period}。"))
    if d.conditions:
        blocks += [p("准予许可附加以下条件："), *numbered(d.conditions)]
    blocks += [p("请持本决定书和有效身份证明到统一发证窗口领取证照，或按你单位选择的方式邮寄送达。"), sign()]
    return blocks
