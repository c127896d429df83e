"""`yiyin archive build|check`: one set of archives per matter, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yiyin.errors import FieldProblem, InvalidData
from yiyin.service.cli_common import Commands, fail, open_app, quiet_validation_logs, reported_errors

archive_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="档案：每个事项立卷归档一套档案， 并作四性检测。\n\nArchives: build and check one set of archives (一套档案) per matter.",
                          no_args_is_help=True)


@archive_app.command()
def build(
    case: Annotated[str, typer.Argument(help="办件：办件 id 或办件编号（如 台审批件〔2026〕00001号）， 或登记簿文书上的办件文号"
                                             "（如 台审批受〔2026〕0815号）。\n\nThe case: its id or 办件编号, or a case reference "
                                             "on registry documents")],
    out: Annotated[Path, typer.Option(help="存放档案包（BagIt）的新文件夹。\n\nNew folder for the package")],
    volume: Annotated[int | None, typer.Option(help="案卷号， 默认取办件编号中的序号。\n\nVolume number; default: the number of the case reference")] = None,
    retention: Annotated[str | None, typer.Option(help="保管期限：Y（永久）、 D30（30年）或 D10（10年）， 默认取 organs.json 的设置。\n\n"
                                                       "Retention; default from organs.json")] = None,
    by: Annotated[str | None, typer.Option(help="立卷人（“归档”行为的机构人员）， 默认为当前登录名。\n\nWho files it; default: your login name")] = None,
) -> None:
    """立卷归档：汇集本事项的全部文件， 加盖档案专用章， 写出档案包。

    Assemble the matter's dossier, seal the volume with the archive seal and write the package."""
    import getpass

    from yiyin.archive.dossier import Retention
    from yiyin.service.archiving import ArchiveOptions, build as build_archive

    with reported_errors():
        if retention is not None and retention not in Retention._value2member_map_:
            fail(InvalidData([FieldProblem("retention", "value_range", f"保管期限 {retention!r} 须为 Y（永久）、D30（定期 30 年）或 D10（定期 10 年）")], "命令行参数"))
        app = open_app()
        actor = (by or f"{getpass.getuser()}（命令行）").strip()
        built = build_archive(app, case, out, ArchiveOptions(volume=volume, retention=Retention(retention) if retention else None,
                                                             actor=actor))
    typer.echo(f"档号 {built.archival_code}: {built.documents} 件 {built.pages} 页，文件 {built.files} 个 files，{built.bytes} 字节 bytes\n"
               f"档案包 package: {built.path}\n案卷 volume:    {built.path / 'data' / 'volume.pdf'}\n"
               f"检查 check it:  yiyin archive check {built.path}")


@archive_app.command()
def check(
    package: Annotated[Path, typer.Argument(help="`yiyin archive build` 生成的档案包文件夹。\n\nA package folder made by `yiyin archive build`")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出检测报告。\n\nPrint the report as JSON")] = False,
    at: Annotated[str | None, typer.Option(help="YYYY-MM-DD：按该日离线检测， 只用档案包自带的材料（不查登记簿、 不用数据目录）。\n\n"
                                                "Check as of that date, offline, with only what the package carries")] = None,
) -> None:
    """四性检测（DA/T 70-2018）， 每个检测项一行。 退出码 0：全部通过； 1：有检测项不通过； 2：不是档案包。

    The four checks of DA/T 70-2018, one line per check item. Exit 0: all passed; 1: a check failed; 2: not a package."""
    from datetime import date

    from yiyin.service.archiving import check as run_check, check_offline, report_json

    quiet_validation_logs()
    with reported_errors():
        if at is None:
            report = run_check(open_app(), package)
        else:
            try:
                on = date.fromisoformat(at)
            except ValueError:
                fail(InvalidData([FieldProblem("at", "date", f"{at!r} 不是日期：请写成 YYYY-MM-DD（年-月-日），如 2046-12-31")], "命令行参数"))
            report = check_offline(package, on)
    typer.echo(report_json(report) if as_json else report.render())
    raise typer.Exit(0 if report.ok else 1)
