"""`yiyin user …`, `yiyin audit …` and `yiyin catalog …`: the administrator's and the auditor's
commands. Whoever runs them has the data directory in hand; they act as ``cli:<login name>``."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from yiyin.service.cli import app
from yiyin.service.cli_common import open_for_audit, open_app, reported_errors

user_app = typer.Typer(help="工作人员 staff accounts: add, list, API tokens, passwords.", no_args_is_help=True)
audit_app = typer.Typer(help="审计 the audit trail: list, export for inspection, check.", no_args_is_help=True)
catalog_app = typer.Typer(help="事项目录 approval items and combined matters: list, import.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_app, name="catalog")


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("YIYIN_NEW_PASSWORD")
    if env:
        return env
    first = getpass.getpass("密码 password (10+ characters): ")
    if getpass.getpass("再输入一次 again: ") != first:
        typer.echo("错误 error: 两次输入的密码不一致 the two passwords differ", err=True)
        raise typer.Exit(2)
    return first


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name, e.g. wang.li")],
    role: Annotated[list[str], typer.Option("--role", help="intake, reviewer, lead, inspector, custodian, window, archivist, auditor, admin (repeat for several)")],
    section: Annotated[list[str], typer.Option("--section", help="审批业务科 of a reviewer or lead, e.g. 医药器械审批科 (repeatable)")] = [],  # noqa: B006
    name: Annotated[str, typer.Option(help="display name, e.g. 王丽")] = "",
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
    no_password: Annotated[bool, typer.Option(help="API token only, no page login")] = False,
) -> None:
    """Create a staff account. The password is asked for (or read from stdin / $YIYIN_NEW_PASSWORD)."""
    from yiyin.errors import InvalidData
    from yiyin.service.staff import add_user, check_user

    with reported_errors():
        problems = check_user(username, role, section)
        if problems:
            raise InvalidData(problems, "工作人员账号")
        application = open_app()
        password = None if no_password else _read_password(password_stdin)
        view = add_user(application, username, name, role, section, password, cli_actor())
    typer.echo(f"{view.username}  {view.display_name}  角色 roles {', '.join(view.roles)}"
               f"{'  科室 sections ' + ', '.join(view.sections) if view.sections else ''}")


@user_app.command("list")
def user_list() -> None:
    """Every staff account with its roles and sections."""
    from yiyin.service.staff import ROLES, list_users

    with reported_errors():
        users = list_users(open_app())
    if not users:
        typer.echo("还没有工作人员账号 no staff accounts yet；请先创建管理员 create the first administrator with:\n"
                   "  yiyin user add admin --role admin --name 管理员")
    for u in users:
        roles = "、".join(ROLES[r] for r in u.roles)
        typer.echo(f"{u.username:16s} {u.display_name:8s} {roles}  {'、'.join(u.sections)}"
                   f"  令牌 tokens {u.tokens}{'' if u.active else '  （已停用 disabled）'}")


@user_app.command("token")
def user_token(
    username: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
) -> None:
    """Create an API token for USERNAME; it is printed once and stored only as a digest."""
    from yiyin.service.staff import new_token

    with reported_errors():
        token = new_token(open_app(), username, label, cli_actor())
    typer.echo(token)


@user_app.command("password")
def user_password(username: Annotated[str, typer.Argument()],
                  password_stdin: Annotated[bool, typer.Option(help="read it from standard input")] = False) -> None:
    """Set a new password (ends the user's page sessions)."""
    from yiyin.service.staff import set_password

    with reported_errors():
        application = open_app()
        set_password(application, username, _read_password(password_stdin), cli_actor())
    typer.echo(f"已更改 {username} 的密码 password of {username} changed")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account: its sessions end and its tokens are revoked."""
    from yiyin.service.staff import set_active

    with reported_errors():
        set_active(open_app(), username, False, cli_actor())
    typer.echo(f"{username} 已停用 disabled")


@audit_app.command("list")
def audit_list(limit: Annotated[int, typer.Option(help="newest N entries")] = 30,
               actor: Annotated[str, typer.Option(help="only this actor")] = "") -> None:
    """The newest entries of the audit trail."""
    from yiyin.service.audit import entries

    with reported_errors():
        rows = entries(open_for_audit(), limit, actor or None)
    for r in reversed(rows):
        typer.echo(f"#{r['seq']:<6} {r['at'][:19]}  {r['actor']:14s} {r['outcome']:8s} {r['action']:22s} {r['target']}"
                   f"{'  ' + r['detail'].get('message', '') if r['outcome'] == 'refused' else ''}")


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Anchor the trail's newest entry in the transparency log (a running server does this every few minutes)."""
    from yiyin.service.audit import anchor

    with reported_errors():
        index = anchor(open_app())
    typer.echo("没有需要锚定的新记录 nothing to anchor" if index is None
               else f"已锚定为透明日志条目 {index} anchored as log entry {index}")


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option(help="file to write (JSON Lines)")]) -> None:
    """Export the whole trail for an inspector, with a signed checkpoint and the proof that its
    head is in the transparency log."""
    from yiyin.service.audit import export

    with reported_errors():
        text = export(open_for_audit())
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{out}：共 {text.count(chr(10)) - 1} 条 entries")


@audit_app.command("check")
def audit_check(
    file: Annotated[Path | None, typer.Argument(help="an exported trail to check offline; without it the live trail is checked")] = None,
    key: Annotated[str, typer.Option(help="the log's published verifier key (offline check)")] = "",
) -> None:
    """Find any change: entries changed, deleted, added or reordered. Exit 0 when none."""
    from yiyin.service.audit import check, check_export

    with reported_errors():
        report = check_export(file.read_text("utf-8"), key or None) if file else check(open_for_audit())
    for p in report.problems:
        typer.echo(f"问题 PROBLEM {p}")
    if file and not key and report.entries:
        typer.echo("注意 note：未给出 --key，只用了文件自带的验证公钥，只能说明文件自身一致 only self-consistent；"
                   "请用本局公布的验证公钥（yiyin log checkpoint 打印）再核验 check again with the published key")
    typer.echo(f"共 {report.entries} 条 entries：{'完好 intact' if report.ok else f'{len(report.problems)} 个问题 problem(s)'}"
               f"{f'；最新的 {report.unanchored} 条尚未锚定到透明日志 not yet anchored in the log（yiyin audit anchor）' if report.unanchored else ''}")
    raise typer.Exit(0 if report.ok else 1)


@catalog_app.command("list")
def catalog_list(as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False) -> None:
    """Approval items and combined matters."""
    from yiyin.service import catalogue

    with reported_errors():
        application = open_app()
        with application.db.session() as s:
            items, matters = catalogue.items(s), catalogue.matters(s)
    if as_json:
        typer.echo(json.dumps({"items": [i.to_json() for i in items], "matters": [m.to_json() for m in matters]},
                              ensure_ascii=False, indent=2))
        return
    for i in items:
        typer.echo(f"{i.code}  {i.name}  {i.section}  {i.kind} {i.time_limit_days}个工作日  {i.mode}"
                   f"{'（' + i.agreement + '）' if i.agreement else ''}{'  → ' + i.licence_type if i.licence_type else ''}")
    for m in matters:
        typer.echo(f"\n{m.kind} {m.name}  牵头科室 {m.lead_section}")
        for code, name, stage in m.items:
            typer.echo(f"    {code}  {name}{'  [' + stage + ']' if stage else ''}")


@catalog_app.command("import")
def catalog_import(file: Annotated[Path, typer.Argument(help="catalogue file: JSON {items, matters} or CSV of items")]) -> None:
    """Add or replace items and matters from FILE. Every row is checked first; a file with any bad
    row changes nothing, and every bad row is named."""
    from yiyin.service import audit, catalogue

    with reported_errors():
        application = open_app()
        with audit.attempt(application, cli_actor(), "catalog.import", file.name), application.db.transaction() as s:
            data = catalogue.read_file(file)
            result = catalogue.apply(s, data, replace=True)
            audit.record(s, cli_actor(), "catalog.import", file.name, result.__dict__)
    typer.echo(f"已导入 imported：事项 {result.items} 个 item(s)，已有事项的办理信息 {result.profiles} 条 item profile(s)，"
               f"一件事/一个项目 {result.matters} 个 matter(s)")
