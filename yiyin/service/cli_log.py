"""`yiyin log checkpoint|verify|audit`: the transparency log from the command line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from yiyin.errors import FieldProblem, InvalidData, UnreadableDocument
from yiyin.service.cli_common import Commands, fail, open_app, open_for_audit, reported_errors

log_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="透明日志 transparency log: signed checkpoints, inclusion proofs, audit.", no_args_is_help=True)


@log_app.command()
def checkpoint() -> None:
    """签署当前树头（C2SP 检查点）， 并与验证公钥一同打印。
    Sign the current tree head (C2SP checkpoint) and print it with the verifier key."""
    from yiyin.service.transparency import sign_checkpoint, verifier

    with reported_errors():
        app = open_app()
        typer.echo(sign_checkpoint(app))
        typer.echo(f"验证公钥 verifier key: {verifier(app)}")


@log_app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="盖了章的 PDF。\n\nA sealed PDF")],
    bundle_file: Annotated[Path | None, typer.Option("--bundle", help=(
        "证明包（GET /api/v1/log/bundle?sha256=… 或 --json 输出的 JSON）： 离线核验， 不用登记簿。\n\n"
        "Proof bundle (JSON from GET /api/v1/log/bundle?sha256=… or from --json): check offline, "
        "without the registry"))] = None,
    key: Annotated[str | None, typer.Option("--key", help=(
        "日志的验证公钥（<name>+<id>+<key>， 由本局公布）； 与 --bundle 一同给出。\n\n"
        "The log's verifier key (<name>+<id>+<key>, published by the bureau); needed with --bundle"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出证明包。\n\nPrint the proof bundle as JSON")] = False,
) -> None:
    """核验 FILE 的签发是否记入日志、 在已签名的树头之下： 是则退出码 0， 否则 1。 不给 --bundle 时， 证明取自本机的登记簿， 以其最新的检查点为准； 给出 --bundle 和 --key 时， 只用文件、 证明包和公钥。

    Check that FILE's issuance is in the log under a signed tree head (exit 0), or not (1).

    Without --bundle the proof comes from this machine's registry, under its latest checkpoint.
    With --bundle and --key nothing but the file, the bundle and the key is used."""
    from yiyin.service.transparency import InclusionBundle, inclusion_bundle, sealed_hash, verifier, verify_bundle

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(UnreadableDocument(f"无法读取 {file}：{exc.strerror}"))
    with reported_errors():
        if (bundle_file is None) != (key is None):
            raise InvalidData([FieldProblem("--key" if key is None else "--bundle", "together",
                                            "离线核验须同时给出 --bundle（证明包）和 --key（日志的验证公钥）")], "命令行参数")
        digest = sealed_hash(data)
        if bundle_file is not None and key is not None:
            try:
                bundle = InclusionBundle.from_json(json.loads(bundle_file.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise InvalidData([FieldProblem("--bundle", "json", f"证明包 {bundle_file} 无法读取或不是有效的 JSON：{exc}")], "证明包") from None
            key_text = key
        else:
            app = open_app()
            bundle = inclusion_bundle(app, digest)
            key_text = verifier(app)
        ok, detail = verify_bundle(bundle, key_text, digest)
    if as_json:
        typer.echo(json.dumps({"in_log": ok, "detail": detail, "verifier": key_text, **bundle.to_json()},
                              ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{'在日志中 IN THE LOG' if ok else '未能证明在日志中 NOT PROVEN'}: {detail}")
    raise typer.Exit(0 if ok else 1)


@log_app.command()
def audit() -> None:
    """由数据库重算日志树， 与每个已签名的检查点和每份文书比对。
    Recompute the tree from the database; compare with every signed checkpoint and every document."""
    from yiyin.service.transparency import audit as run_audit

    with reported_errors():
        report = run_audit(open_for_audit())
    if report.ok:
        typer.echo(f"日志完好 log intact: 共 {report.size} 条 entries，与每个已签名的检查点一致 consistent with every signed checkpoint")
        raise typer.Exit(0)
    typer.echo(f"日志异常 LOG TAMPERED: {len(report.problems)} 个问题 problem(s)")
    for p in report.problems:
        typer.echo(f"  ✗ {p}")
    raise typer.Exit(1)


def status_command(number: Annotated[str, typer.Argument(help="文书编号， 如 辽EA032100001。\n\nDocument number, e.g. 辽EA032100001")]) -> None:
    """文书的现状及其记录。
    A document's current status and its history."""
    from yiyin.registry.documents import BUREAU_TIME
    from yiyin.service.lifecycle import status

    with reported_errors():
        v = status(open_app(), number)
    typer.echo(f"{v.title} {v.number} · {v.holder}")
    typer.echo(f"现状 status: {v.status}（{v.code}）" + ("  现行有效 in force" if v.in_force else
               f"  不在有效状态 not in force{'：' + v.reason if v.reason else ''}"))
    if v.replaced_by:
        typer.echo(f"由 {v.replaced_by} 替代 replaced by {v.replaced_by}")
    typer.echo("记录 history (北京时间):")
    for at, st, reason, basis, actor in v.history:
        typer.echo(f"  {at.astimezone(BUREAU_TIME):%Y-%m-%d %H:%M} {st}  {reason}{'  依据 ' + basis if basis else ''}  ({actor})")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _act_command(verb: str, title: str):  # type: ignore[no-untyped-def]
    def command(
        number: Annotated[str, typer.Argument(help="文书编号。\n\nDocument number")],
        reason: Annotated[str, typer.Option(help="理由。\n\nWhy")],
        basis: Annotated[str, typer.Option(help="法律依据， 如 《中华人民共和国行政许可法》第六十九条。\n\n"
                                                "Legal basis, e.g. 《中华人民共和国行政许可法》第六十九条")] = "",
        actor: Annotated[str | None, typer.Option(help="决定人（记入记录和日志）， 默认为当前登录名。\n\n"
                                                       "Who decides (recorded in the history and the log); "
                                                       "default: your login name")] = None,
    ) -> None:
        from yiyin.registry.documents import BUREAU_TIME
        from yiyin.service.lifecycle import act

        with reported_errors():
            v = act(open_app(), number, verb, reason, basis, actor or _login_name())
        at, _, _, _, by = v.history[-1]
        typer.echo(f"{v.number}: {v.status}（{v.code}）  经办 by {by}，{at.astimezone(BUREAU_TIME):%Y-%m-%d %H:%M} 北京时间")

    command.__doc__ = title
    return command


STATUS_ACTS = {
    "suspend": "暂扣 suspend a licence (reversible with resume).",
    "resume": "恢复 end a suspension.",
    "revoke": "撤销 revoke: the decision was unlawful.",
    "cancel": "注销 cancel: the licence ends.",
    "withdraw": "吊销 withdraw as a penalty.",
}
