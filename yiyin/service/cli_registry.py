"""`yiyin licence show|amend|renew|status-list`: licences as the national databases know them;
`yiyin numbering list|set`: how each organ numbers its documents.

    show NUMBER            the GB/T 36904 identifier, the national metadata and every version
    amend OLD TYPE DATA    变更: issue the next version of licence OLD (same serial, next version,
                           linked back); OLD ends as 变更 (national 05) naming its successor
    renew OLD TYPE DATA    延续: the same for a renewal
    status-list N PURPOSE  the W3C Bitstring Status List credential (revocation | suspension)
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yiyin.errors import FieldProblem, InvalidData, NotFound
from yiyin.service.cli_common import Commands, open_app, reported_errors

licence_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="证照 licences: national identifier and metadata, new versions (变更/延续), status lists.",
                          no_args_is_help=True)


@licence_app.command()
def show(number: Annotated[str, typer.Argument(help="证照编号， 如 辽EA032100001。\n\nLicence number, e.g. 辽EA032100001")]) -> None:
    """证照的国家元数据（JSON）及其各个版本。
    The licence's national metadata (JSON) and its versions."""
    from yiyin.registry import documents, licences

    with reported_errors():
        app = open_app()
        with app.db.session() as s:
            doc = documents.by_number(s, number)
            if doc is None:
                raise NotFound(f"没有编号为 {number} 的文书")
            meta = licences.national_metadata(s, doc)
            if meta is None:
                raise NotFound(f"{number}（{doc.title}）不是证照")
            meta["版本"] = [{"版本号": v.version, "证照编号": v.licence_number, "证照标识": v.identifier,
                            "变更类型": v.succession or "首次颁发"} for v in licences.versions(s, doc.id)]
    typer.echo(json.dumps(meta, ensure_ascii=False, indent=2))


def _successor(act: str):  # type: ignore[no-untyped-def]
    def command(
        old: Annotated[str, typer.Argument(help="被替代的证照版本的编号。\n\nNumber of the licence version being replaced")],
        doc_type: Annotated[str, typer.Argument(help="新版本的文书类型 id。\n\nDocument type id of the new version")],
        data: Annotated[Path, typer.Argument(help="新版本数据的 JSON 文件。\n\nJSON file with the new version's data")],
        item: Annotated[str, typer.Option(help="审批事项编码。\n\nApproval item code")],
        case: Annotated[str, typer.Option(help="办件编号。\n\nCase reference (办件编号)")],
        reason: Annotated[str, typer.Option(help="理由。\n\nWhy")],
        basis: Annotated[str, typer.Option(help="法律依据。\n\nLegal basis")],
        actor: Annotated[str, typer.Option(help="决定人。\n\nWho decides")] = "reviewer",
        out: Annotated[Path, typer.Option(help="盖章 PDF 复制到哪里（文件夹或文件名）。\n\nWhere to copy the sealed PDF")] = Path("."),
        issue_date: Annotated[str | None, typer.Option(help="签发日期 YYYY-MM-DD， 默认今天。\n\nYYYY-MM-DD, default today")] = None,
    ) -> None:
        from yiyin.registry import documents, licences
        from yiyin.service.pipeline import Issuer, IssueRequest

        with reported_errors():
            try:
                payload = json.loads(data.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidData([FieldProblem("data", "json", f"{data} 无法读取或不是有效的 JSON：{exc}")], "数据文件") from None
            try:
                when = date.fromisoformat(issue_date) if issue_date else None
            except ValueError as exc:
                raise InvalidData([FieldProblem("issue_date", "date", f"须为日期，写成 年-月-日（如 2026-11-20）：{exc}")], "命令行参数") from None
            licences.check_succession(act, reason, basis)
            app = open_app()
            with app.db.session() as s:  # refuse before a number is taken, where that can be known
                doc = documents.by_number(s, old)
                if doc is None:
                    raise NotFound(f"没有编号为 {old} 的文书")
                licences.successor_allowed(s, doc)
            with licences.succeeding(old, act, reason, basis):
                issued = Issuer(app).issue(IssueRequest(doc_type=doc_type, data=payload, item_code=item, case_ref=case,
                                                        actor=actor, issue_date=when))
            with app.db.session() as s:
                rec = licences.by_document(s, issued.document_id)
            target = out / f"{issued.number}.pdf" if out.is_dir() else out
            target.write_bytes(issued.path.read_bytes())
        typer.echo(f"{issued.title} {issued.number}（{act}，第{rec.version}版，替代 {old}）\n证照标识 {rec.identifier}\n"
                   f"验证码 {issued.verification_code}\n{target}")

    command.__doc__ = {"变更": "变更 amend: issue the next version of licence OLD; OLD is replaced.",
                       "延续": "延续 renew: issue the renewed version of licence OLD; OLD is replaced."}[act]
    return command


licence_app.command("amend")(_successor("变更"))
licence_app.command("renew")(_successor("延续"))


@licence_app.command("status-list")
def status_list_command(
    list_id: Annotated[int, typer.Argument(help="状态列表号（见文书的 credentialStatus）。\n\n"
                                                "Status list number (from a document's credentialStatus)")] = 1,
    purpose: Annotated[str, typer.Argument(help="revocation（撤销类）或 suspension（暂扣类）。\n\nrevocation or suspension")] = "revocation",
) -> None:
    """打印一个状态列表的 W3C BitstringStatusListCredential（未签名的 JSON）。
    Print the W3C BitstringStatusListCredential of one list (unsigned JSON)."""
    from yiyin.registry import status_list

    with reported_errors():
        app = open_app()
        with app.db.session() as s:
            cred = status_list.credential(s, list_id, purpose, app.settings.public_url, app.settings.public_url)
    typer.echo(json.dumps(cred, ensure_ascii=False, indent=2))


numbering_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="编号规则 numbering: the pattern of each organ's numbers, per document type and year.",
                            no_args_is_help=True)


def _print_rule(r) -> None:  # type: ignore[no-untyped-def]
    typer.echo(f"{r.organ_id}  {r.doc_type}  {r.pattern}  （周期 period {r.period}：已编 {r.last_seq} 个 given，下一个 next {r.next_number}）")


@numbering_app.command("list")
def numbering_list() -> None:
    """各机关的编号规则， 及每条规则的下一个编号。
    Every organ's numbering rules, with the number each gives next."""
    from yiyin.registry import numbering

    with reported_errors():
        app = open_app()
        with app.db.session() as s:
            for r in numbering.rules(s, app.today()):
                _print_rule(r)


@numbering_app.command("set")
def numbering_set(
    organ: Annotated[str, typer.Argument(help="机关 id， 如 taian-xzspj。\n\nOrgan id, e.g. taian-xzspj")],
    doc_type: Annotated[str, typer.Argument(help="文书类型 id， 见 `yiyin templates`。\n\nDocument type id, see `yiyin templates`")],
    pattern: Annotated[str, typer.Argument(help="如 '台审批药许字〔{year}〕第{seq:06d}号'： 必须含 {seq}； 含 {year} 则每年重新编号。\n\n"
                                                 "E.g. '台审批药许字〔{year}〕第{seq:06d}号': {seq} required, {year} "
                                                 "restarts the sequence each year")],
) -> None:
    """设定 ORGAN 如何给 DOC_TYPE 编号； 已给出的编号永不重用。
    Set how ORGAN numbers DOC_TYPE; numbers already given are never reused."""
    from yiyin.registry import catalog, numbering
    from yiyin.templates.catalog import document_type

    with reported_errors():
        document_type(doc_type)  # a known document type, or a clear error
        app = open_app()
        with app.db.transaction() as s:
            catalog.get_organ(s, organ)
            r = numbering.set_rule(s, organ, doc_type, pattern, app.today())
    _print_rule(r)
