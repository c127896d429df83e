"""`yiyin archive build|check`: one set of archives per matter, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yiyin.errors import FieldProblem, InvalidData
from yiyin.service.cli_common import fail, open_app, reported_errors

archive_app = typer.Typer(help="档案 archives: build and check one set of archives (一套档案) per matter.", no_args_is_help=True)


@archive_app.command()
def build(
    case: Annotated[str, typer.Argument(help="case reference (办件编号), e.g. 台审批受〔2026〕0815号")],
    out: Annotated[Path, typer.Option(help="new folder for the package (BagIt)")],
    volume: Annotated[int | None, typer.Option(help="案卷号; default: the number of the case reference")] = None,
    retention: Annotated[str | None, typer.Option(help="保管期限: Y (永久), D30 or D10; default from organs.json")] = None,
) -> None:
    """Assemble the matter's dossier, seal the volume with the archive seal and write the package."""
    from yiyin.archive.dossier import Retention
    from yiyin.service.archiving import ArchiveOptions, build as build_archive

    with reported_errors():
        if retention is not None and retention not in Retention._value2member_map_:
            fail(InvalidData([FieldProblem("retention", "value_range", f"{retention!r} must be Y, D30 or D10")]))
        app = open_app()
        built = build_archive(app, case, out, ArchiveOptions(volume=volume, retention=Retention(retention) if retention else None))
    typer.echo(f"档号 {built.archival_code}: {built.documents} 件 {built.pages} 页, {built.files} files, {built.bytes} bytes\n"
               f"package: {built.path}\nvolume:  {built.path / 'data' / 'volume.pdf'}\n"
               f"check it: yiyin archive check {built.path}")


@archive_app.command()
def check(
    package: Annotated[Path, typer.Argument(help="a package folder made by `yiyin archive build`")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """The four checks of DA/T 70-2018, one line per check item. Exit 0: all passed; 1: a check failed; 2: not a package."""
    from yiyin.service.archiving import check as run_check, report_json

    with reported_errors():
        report = run_check(open_app(), package)
    typer.echo(report_json(report) if as_json else report.render())
    raise typer.Exit(0 if report.ok else 1)
