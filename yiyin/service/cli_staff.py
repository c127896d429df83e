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
from yiyin.service.cli_common import Commands, open_app, open_for_audit, reported_errors

user_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="工作人员 staff accounts: add, list, API tokens, passwords.", no_args_is_help=True)
audit_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="审计 the audit trail: list, export for inspection, check.", no_args_is_help=True)
catalog_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="事项目录 approval items and combined matters: list, import.", no_args_is_help=True)
_USERNAME_HELP = "登录名。\n\nLogin name"
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
    username: Annotated[str, typer.Argument(help="登录名， 如 wang.li。\n\nLogin name, e.g. wang.li")],
    role: Annotated[list[str], typer.Option("--role", help="角色， 有几个角色就给几次， 角色名见下行。\n\n"
                                                          "intake, reviewer, lead, inspector, custodian, window, archivist, auditor, admin (repeat for several)")],
    section: Annotated[list[str], typer.Option("--section", help="审查人员或牵头人员的审批业务科， 如 医药器械审批科， 可重复给出。\n\n"
                                                                "审批业务科 of a reviewer or lead, e.g. 医药器械审批科 (repeatable)")] = [],  # noqa: B006
    name: Annotated[str, typer.Option(help="显示的姓名， 如 王丽。\n\nDisplay name, e.g. 王丽")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码。\n\nRead the password from standard input")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="只用 API 令牌， 不能登录页面。\n\nAPI token only, no page login")] = False,
) -> None:
    """创建工作人员账号。 密码会提示输入（或从标准输入、 $YIYIN_NEW_PASSWORD 读取）。
    Create a staff account. The password is asked for (or read from stdin / $YIYIN_NEW_PASSWORD)."""
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
    """全部工作人员账号及其角色和科室。
    Every staff account with its roles and sections."""
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
    username: Annotated[str, typer.Argument(help=_USERNAME_HELP)],
    label: Annotated[str, typer.Option(help="令牌的用途。\n\nWhat the token is for")] = "",
) -> None:
    """为 USERNAME 创建 API 令牌； 令牌只打印这一次， 只保存其摘要。
    Create an API token for USERNAME; it is printed once and stored only as a digest."""
    from yiyin.service.staff import new_token

    with reported_errors():
        token = new_token(open_app(), username, label, cli_actor())
    typer.echo(token)


@user_app.command("password")
def user_password(username: Annotated[str, typer.Argument(help=_USERNAME_HELP)],
                  password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取新密码。\n\nRead it from standard input")] = False) -> None:
    """设置新密码（该用户的页面会话随即结束）。
    Set a new password (ends the user's page sessions)."""
    from yiyin.service.staff import set_password

    with reported_errors():
        application = open_app()
        set_password(application, username, _read_password(password_stdin), cli_actor())
    typer.echo(f"已更改 {username} 的密码 password of {username} changed")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help=_USERNAME_HELP)]) -> None:
    """停用账号： 其会话结束， 其令牌作废。
    Disable an account: its sessions end and its tokens are revoked."""
    from yiyin.service.staff import set_active

    with reported_errors():
        set_active(open_app(), username, False, cli_actor())
    typer.echo(f"{username} 已停用 disabled")


@audit_app.command("list")
def audit_list(limit: Annotated[int, typer.Option(help="最新的 N 条。\n\nNewest N entries")] = 30,
               actor: Annotated[str, typer.Option(help="只看该操作者的。\n\nOnly this actor")] = "") -> None:
    """审计记录中最新的若干条。
    The newest entries of the audit trail."""
    from yiyin.service.audit import entries

    with reported_errors():
        rows = entries(open_for_audit(), limit, actor or None)
    for r in reversed(rows):
        typer.echo(f"#{r['seq']:<6} {r['at'][:19]}  {r['actor']:14s} {r['outcome']:8s} {r['action']:22s} {r['target']}"
                   f"{'  ' + r['detail'].get('message', '') if r['outcome'] == 'refused' else ''}")


@audit_app.command("anchor")
def audit_anchor() -> None:
    """把审计记录的最新一条锚定到透明日志； 运行中的服务器每隔几分钟自动锚定。
    Anchor the trail's newest entry in the transparency log (a running server does this every few minutes)."""
    from yiyin.service.audit import anchor

    with reported_errors():
        index = anchor(open_app())
    typer.echo("没有需要锚定的新记录 nothing to anchor" if index is None
               else f"已锚定为透明日志条目 {index} anchored as log entry {index}")


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option(help="要写出的文件（JSON Lines）。\n\nFile to write (JSON Lines)")]) -> None:
    """导出全部审计记录供检查人员核查， 附已签名的检查点， 以及记录的最新一条已在透明日志中的证明。

    Export the whole trail for an inspector, with a signed checkpoint and the proof that its
    head is in the transparency log."""
    from yiyin.service.audit import export

    with reported_errors():
        text = export(open_for_audit())
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{out}：共 {text.count(chr(10)) - 1} 条 entries")


@audit_app.command("check")
def audit_check(
    file: Annotated[Path | None, typer.Argument(help="要离线核验的导出记录文件； 省略则核验当前的审计记录。\n\n"
                                                     "An exported trail to check offline; without it the live trail is checked")] = None,
    key: Annotated[str, typer.Option(help="日志公布的验证公钥（离线核验用）。\n\nThe log's published verifier key (offline check)")] = "",
) -> None:
    """查出任何改动： 记录被改、 被删、 被添或顺序被调换。 没有改动时退出码为 0。
    Find any change: entries changed, deleted, added or reordered. Exit 0 when none."""
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
def catalog_list(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。\n\nAs JSON")] = False) -> None:
    """审批事项和一件事（组合事项）。
    Approval items and combined matters."""
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
def catalog_import(file: Annotated[Path, typer.Argument(help="事项目录文件： JSON {items, matters}， 或事项的 CSV。\n\n"
                                                               "Catalogue file: JSON {items, matters} or CSV of items")]) -> None:
    """从 FILE 添加或替换事项和一件事。 先逐行检查； 只要有一行不对， 就什么也不改， 并指出每个不对的行。

    Add or replace items and matters from FILE. Every row is checked first; a file with any bad
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
