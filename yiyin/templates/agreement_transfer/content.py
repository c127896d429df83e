"""What a 行政审批事项划转协议 says."""

from __future__ import annotations

from yiyin.templates.agreement_common import party_lines, seal_blocks, signing_clause
from yiyin.templates.agreement_transfer.schema import TransferAgreement
from yiyin.templates.content import Block, cn_date, number, numbered, p, sections, table, title


def content(d: TransferAgreement) -> list[Block]:
    parties = d.parties
    staff = f"，划转人员：{'、'.join(d.staff)}" if d.staff else ""
    return [
        title("行政审批事项划转协议"), number(),
        *party_lines([(x.role, x.organ_name) for x in parties]),
        p(f"根据{'、'.join(d.legal_basis)}，为推进相对集中行政许可权改革，实行“一枚印章管审批”，经各方协商一致，"
          f"就{parties[0].organ_name}将下列行政审批事项划转{parties[1].organ_name}实施达成如下协议。"),
        *sections([
            ("划转事项", [
                p(f"自{cn_date(d.effective_date)}起，下列{len(d.items)}项行政审批事项由乙方以自己的名义实施，"
                  "使用乙方行政审批专用章，并承担相应法律责任："),
                table(["11mm", "36mm", "1fr", "22mm", "1fr"], ["序号", "事项编码", "事项名称", "类别", "设定依据"],
                      [[str(i), it.code, it.name, it.category, it.legal_basis] for i, it in enumerate(d.items, start=1)]),
            ]),
            ("编制和人员", [p(f"随事项划转行政编制{d.posts}名{staff}。丙方负责办理编制划转手续。")]),
            ("各方职责", numbered(d.duties)),
            ("档案移交", [p(d.archives)]),
            ("其他", [signing_clause(len(parties))]),
        ]),
        seal_blocks([x.organ_name for x in parties]),
    ]
