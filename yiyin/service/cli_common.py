"""What every command shares: opening the data directory and reporting errors to a clerk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from yiyin.config import Settings
from yiyin.errors import YiyinError


HELP_OPTION_TEXT = "显示本帮助并退出。\n\nShow this message and exit."


def _bilingual(option: Any) -> Any:
    if option is not None:
        option.help = HELP_OPTION_TEXT
    return option


class Commands(TyperGroup):
    """A command group whose ``--help`` option, and its commands', is described as every other
    option is: Chinese, then English. Every group is also made with ``rich_markup_mode=None``:
    rich's boxed help cut Chinese option texts short with "…" on an 80-column terminal, where
    click's plain help wraps them whole."""

    def get_help_option(self, ctx: typer.Context) -> Any:
        return _bilingual(super().get_help_option(ctx))

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, Commands):
            _bilingual(command.get_help_option(ctx))
        return command


def fail(exc: YiyinError) -> NoReturn:
    typer.echo(f"错误 error: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Any YiyinError inside becomes its message on stderr and its exit status."""
    try:
        yield
    except YiyinError as exc:
        fail(exc)


def quiet_validation_logs() -> None:
    """pyHanko logs, in English and on stderr, each certificate it cannot validate (with a
    traceback) and each changed timestamp imprint; the commands that check files report every such
    problem in their own findings, so its log would only repeat them in another language."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)


def open_for_audit():  # type: ignore[no-untyped-def]
    """Open the data directory to check it: nothing is created, migrated or appended."""
    from yiyin.service.app import App

    return App.open(set_up=False)


def open_app():  # type: ignore[no-untyped-def]
    """Open the data directory, saying so when this run created it."""
    from yiyin.service.app import App

    # the development PKI is made on first run, whichever database holds the registry
    first_run = not Settings.from_env().pki_dir.exists()
    application = App.open()
    if first_run:
        typer.echo(f"数据目录 data directory {application.settings.home}：已创建登记簿和仅供开发测试的 PKI，"
                   f"其根证书和印章密钥不具法律效力 (created registry and DEVELOPMENT-ONLY PKI: root CA and seal keys "
                   f"are for testing and have no legal effect)")
    return application
