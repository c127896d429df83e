"""`yiyin seal add|list|rotate|revoke`: the seal custodian's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from yiyin.service.cli_common import open_app, reported_errors

seal_app = typer.Typer(help="印章备案 seal registry: register, list, rotate and revoke seals.", no_args_is_help=True)


def _print(v) -> None:  # type: ignore[no-untyped-def]
    revoked = f"  吊销于 revoked {v.revoked_at:%Y-%m-%d %H:%M}" if v.revoked_at else ""
    typer.echo(f"#{v.id:<3} {v.organ}{v.purpose}  {v.status}  {v.valid_from:%Y-%m-%d} – {v.valid_until:%Y-%m-%d}{revoked}\n"
               f"     证书 certificate sha256 {v.fingerprint}  序列号 serial {v.serial:x}\n     密钥 key {v.key_location}")


@seal_app.command("list")
def list_() -> None:
    """Every registered seal with its status."""
    from yiyin.service.seals import list_seals

    with reported_errors():
        for v in list_seals(open_app()):
            _print(v)


@seal_app.command()
def add(
    organ: Annotated[str, typer.Option(help="organ id, e.g. taian-xzspj")],
    purpose: Annotated[str, typer.Option(help="e.g. 行政审批专用章, 公章, 档案专用章")],
    diameter: Annotated[int | None, typer.Option(help="mm; default: the standard for the organ's level (county departments 42, county governments 45)")] = None,
    actor: Annotated[str, typer.Option(help="who registers it")] = "seal-custodian",
    pkcs11: Annotated[str, typer.Option(help="generate the key in an HSM: pkcs11:module=…;token=…;key=…;pin-env=VAR")] = "",
) -> None:
    """Register a new seal: key in an HSM (--pkcs11) or a development PKCS#12 file."""
    from yiyin.service.seals import add_seal

    with reported_errors():
        _print(add_seal(open_app(), organ, purpose, actor, diameter, pkcs11))


@seal_app.command()
def rotate(
    seal_id: Annotated[int, typer.Argument(help="seal number from `yiyin seal list`")],
    reason: Annotated[str, typer.Option(help="why")],
    actor: Annotated[str, typer.Option()] = "seal-custodian",
) -> None:
    """Replace a seal's key; what it sealed stays valid."""
    from yiyin.service.seals import rotate_seal

    with reported_errors():
        _print(rotate_seal(open_app(), seal_id, actor, reason))


@seal_app.command()
def revoke(
    seal_id: Annotated[int, typer.Argument(help="seal number from `yiyin seal list`")],
    reason: Annotated[str, typer.Option(help="why, e.g. key lost")],
    actor: Annotated[str, typer.Option()] = "seal-custodian",
) -> None:
    """Revoke a seal: it never seals again; documents proven sealed before stay valid."""
    from yiyin.service.seals import revoke_seal

    with reported_errors():
        _print(revoke_seal(open_app(), seal_id, actor, reason))
