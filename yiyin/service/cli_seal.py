"""`yiyin seal add|list|rotate|revoke`: the seal custodian's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from yiyin.service.cli_common import Commands, open_app, reported_errors

seal_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="印章备案 seal registry: register, list, rotate and revoke seals.", no_args_is_help=True)
_SEAL_ID_HELP = "印章号， 见 `yiyin seal list`。\n\nSeal number from `yiyin seal list`"
_ACTOR_HELP = "经办人（印章管理人）。\n\nWho does it (the seal custodian)"


def _print(v) -> None:  # type: ignore[no-untyped-def]
    revoked = f"  吊销于 revoked {v.revoked_at:%Y-%m-%d %H:%M}" if v.revoked_at else ""
    typer.echo(f"#{v.id:<3} {v.organ}{v.purpose}  {v.status}  {v.valid_from:%Y-%m-%d} – {v.valid_until:%Y-%m-%d}{revoked}\n"
               f"     证书 certificate sha256 {v.fingerprint}  序列号 serial {v.serial:x}\n     密钥 key {v.key_location}")


@seal_app.command("list")
def list_() -> None:
    """全部已备案的印章及其状态。
    Every registered seal with its status."""
    from yiyin.service.seals import list_seals

    with reported_errors():
        for v in list_seals(open_app()):
            _print(v)


@seal_app.command()
def add(
    organ: Annotated[str, typer.Option(help="机关 id， 如 taian-xzspj。\n\nOrgan id, e.g. taian-xzspj")],
    purpose: Annotated[str, typer.Option(help="印章名称， 如 行政审批专用章、 公章、 档案专用章。\n\n"
                                              "Seal name, e.g. 行政审批专用章, 公章, 档案专用章")],
    diameter: Annotated[int | None, typer.Option(help="直径（毫米）； 默认按机关级别的标准（县级部门 42， 县级政府 45）。\n\n"
                                                      "mm; default: the standard for the organ's level (county departments 42, county governments 45)")] = None,
    actor: Annotated[str, typer.Option(help="备案人。\n\nWho registers it")] = "seal-custodian",
    pkcs11: Annotated[str, typer.Option(help="在 HSM 中生成密钥： pkcs11:module=…;token=…;key=…;pin-env=VAR\n\n"
                                             "Generate the key in an HSM: pkcs11:module=…;token=…;key=…;pin-env=VAR")] = "",
) -> None:
    """备案新印章： 密钥在 HSM 中（--pkcs11）或在开发用的 PKCS#12 文件中。
    Register a new seal: key in an HSM (--pkcs11) or a development PKCS#12 file."""
    from yiyin.service.seals import add_seal

    with reported_errors():
        _print(add_seal(open_app(), organ, purpose, actor, diameter, pkcs11))


@seal_app.command()
def rotate(
    seal_id: Annotated[int, typer.Argument(help=_SEAL_ID_HELP)],
    reason: Annotated[str, typer.Option(help="理由。\n\nWhy")],
    actor: Annotated[str, typer.Option(help=_ACTOR_HELP)] = "seal-custodian",
) -> None:
    """更换印章的密钥； 它已盖的文书仍然有效。
    Replace a seal's key; what it sealed stays valid."""
    from yiyin.service.seals import rotate_seal

    with reported_errors():
        _print(rotate_seal(open_app(), seal_id, actor, reason))


@seal_app.command()
def revoke(
    seal_id: Annotated[int, typer.Argument(help=_SEAL_ID_HELP)],
    reason: Annotated[str, typer.Option(help="理由， 如密钥遗失。\n\nWhy, e.g. key lost")],
    actor: Annotated[str, typer.Option(help=_ACTOR_HELP)] = "seal-custodian",
) -> None:
    """吊销印章： 它不再盖章； 能证明在此之前所盖的文书仍然有效。
    Revoke a seal: it never seals again; documents proven sealed before stay valid."""
    from yiyin.service.seals import revoke_seal

    with reported_errors():
        _print(revoke_seal(open_app(), seal_id, actor, reason))
