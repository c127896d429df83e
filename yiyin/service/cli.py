"""Command line: `yiyin demo`, `issue`, `render`, `verify`, `templates`, and the `seal`, `log`, `licence` groups; `serve` is in cli_web."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from yiyin.config import BUREAU_TIME, Settings
from yiyin.errors import FieldProblem, InvalidData, YiyinError
from yiyin.service.cli_archive import archive_app
from yiyin.service.cli_common import Commands, fail, open_app, quiet_validation_logs
from yiyin.service.cli_log import STATUS_ACTS, _act_command, log_app, status_command
from yiyin.service.cli_registry import licence_app, numbering_app
from yiyin.service.cli_seal import seal_app

app = typer.Typer(cls=Commands, rich_markup_mode=None, help="一印 yiyin：签发、 盖章和查验审批局的文书。 Issue, seal and verify the approval bureau's documents.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(seal_app, name="seal")
app.add_typer(log_app, name="log")
app.add_typer(licence_app, name="licence")
app.add_typer(archive_app, name="archive")
app.add_typer(numbering_app, name="numbering")
app.command("status")(status_command)
for _verb, _title in STATUS_ACTS.items():
    app.command(_verb)(_act_command(_verb, _title))


def _self_command() -> str:
    """How the user invoked yiyin (e.g. .venv/bin/yiyin), so that printed hints can be pasted."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "yiyin"
    return argv0 if argv0.endswith("yiyin") else "yiyin"


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidData([FieldProblem(what, "exists", f"文件 {path} 不存在")], "数据文件") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidData([FieldProblem(what, "json", f"{path} 不是有效的 UTF-8 编码 JSON：{exc}")], "数据文件") from None


@app.command()
def demo(out: Annotated[Path, typer.Option(help="存放盖章 PDF 的文件夹。\n\nFolder for the sealed PDFs")] = Path("demo-out")) -> None:
    """演示：把示例事项“开办药店”从接件办到送达， 把它的决定书、 许可证和划转协议写入 OUT， 逐一查验， 并打印归档该办件的命令。

    Carry the sample 开办药店 matter from intake to delivery, write its decision, licence and
    agreement into OUT, verify them, and print how to archive the case."""
    import shlex

    from yiyin.service.demo import run_demo
    from yiyin.service.verify import verify_pdf

    try:
        application = open_app()
        result = run_demo(application, out)
        for r in result.documents:
            report = verify_pdf(application, r.path.read_bytes())
            typer.echo(f"{r.issued.title}\n  编号 number:            {r.issued.number}\n"
                       f"  验证码 verification code: {r.issued.verification_code}\n"
                       f"  文件 file:              {r.path}\n"
                       f"  查验 verify:            {'有效 genuine and in force' if report.valid else '无效 NOT VALID'}  ({r.issued.verify_url})")
        me = _self_command()
        typer.echo(f"\n自行查验 check any of them yourself:  {me} verify {result.documents[0].path}")
        typer.echo(f"\n办件 case {result.case_ref} (case id {result.case_id}): 开办药店，从接件到送达 intake to delivery，"
                   f"盖章文书 {len(result.papers)} 份 sealed papers:")
        for title, number in result.papers:
            typer.echo(f"  {title}  {number}")
        typer.echo("归档并检查档案包 Archive the case (one set of archives), then check the package:\n"
                   f"  {me} archive build {shlex.quote(result.case_ref)} --out {shlex.quote(str(result.archive_out))}\n"
                   f"  {me} archive check {shlex.quote(str(result.archive_out))}")
    except YiyinError as exc:
        fail(exc)


@app.command()
def issue(
    doc_type: Annotated[str, typer.Argument(help="文书类型 id， 见 `yiyin templates`。\n\nDocument type id, see `yiyin templates`")],
    data: Annotated[Path, typer.Argument(help="文书数据的 JSON 文件。\n\nJSON file with the document's data")],
    item: Annotated[str, typer.Option(help="审批事项编码。\n\nApproval item code")],
    case: Annotated[str, typer.Option(help="办件编号。\n\nCase reference (办件编号)")],
    out: Annotated[Path, typer.Option(help="盖章 PDF 复制到哪里（文件夹或文件名）。\n\nWhere to copy the sealed PDF")] = Path("."),
    issue_date: Annotated[str | None, typer.Option(help="签发日期 YYYY-MM-DD， 默认今天。\n\nYYYY-MM-DD, default today")] = None,
) -> None:
    """经完整流程签发一份盖章文书。
    Issue one sealed document through the full pipeline."""
    from yiyin.service.pipeline import Issuer, IssueRequest

    try:
        payload = _read_json(data, "data")
        when = date.fromisoformat(issue_date) if issue_date else None
        application = open_app()
        issued = Issuer(application).issue(IssueRequest(doc_type=doc_type, data=payload, item_code=item, case_ref=case,
                                                        actor="cli", issue_date=when))
        target = out / f"{issued.number}.pdf" if out.is_dir() else out
        target.write_bytes(issued.path.read_bytes())
        typer.echo(f"{issued.title} {issued.number}\n验证码 {issued.verification_code}\n{target}")
    except ValueError as exc:
        fail(InvalidData([FieldProblem("issue_date", "date", f"须为日期，写成 年-月-日（如 2026-11-20）：{exc}")], "命令行参数"))
    except YiyinError as exc:
        fail(exc)


@app.command()
def render(
    doc_type: Annotated[str, typer.Argument(help="文书类型 id。\n\nDocument type id")],
    data: Annotated[Path, typer.Argument(help="文书数据的 JSON 文件。\n\nJSON file with the document's data")],
    out: Annotated[Path, typer.Option(help="输出文件：.pdf（PDF/A）或 .docx（Word， 供起草）。\n\n"
                                           "Output file: .pdf (PDF/A) or .docx (Word, for drafting)")],
) -> None:
    """生成未盖章的草稿供审阅， 按 OUT 的扩展名生成 PDF 或 DOCX； 不编号， 不登记。 写成 @issue_date[+Ny][+Nd] 的日期从今天起算。

    Render an unsealed draft (草稿) for review, as PDF or DOCX by OUT's extension; nothing is
    numbered or recorded. Dates written @issue_date[+Ny][+Nd] count from today."""
    from yiyin.service.samples import resolve_dates
    from yiyin.templates.catalog import document_type
    from yiyin.templates.fonts import FontSet
    from yiyin.templates.render import IssueMeta, Renderer

    try:
        suffix = out.suffix.lower()
        if suffix not in (".pdf", ".docx"):
            raise InvalidData([FieldProblem("--out", "extension", f"{out.name}：文件名须以 .pdf 或 .docx 结尾")], "命令行参数")
        settings = Settings.from_env()
        payload = resolve_dates(_read_json(data, "data"), datetime.now(BUREAU_TIME).date())
        fonts = FontSet.from_settings(settings.font_dirs, settings.body_fonts, settings.title_fonts)
        renderer, kind = Renderer(fonts), document_type(doc_type)
        meta = IssueMeta(organ="（发文机关）", date=datetime.now(BUREAU_TIME).date(), number="（编号）", draft=True)
        output = renderer.render(kind, payload, meta).pdf if suffix == ".pdf" else renderer.render_docx(kind, payload, meta)
        out.write_bytes(output)
        typer.echo(str(out))
    except YiyinError as exc:
        fail(exc)


@app.command()
def templates() -> None:
    """列出文书类型及其字段。
    List the document types and their fields."""
    from yiyin.templates.catalog import DOCUMENT_TYPES

    for t in DOCUMENT_TYPES.values():
        typer.echo(f"{t.id}  {t.title}")
        for name, info in t.schema.model_fields.items():
            typer.echo(f"    {name:24s} {info.title or ''}{'' if info.is_required() else '（可选）'}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="要查验的 PDF。\n\nThe PDF to check")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出报告（查验结论为中文和英文）。\n\n"
                                                        "Print the report as JSON (findings in Chinese and English)")] = False,
    lang: Annotated[str, typer.Option("--lang", help="可读报告的语言：zh、 en 或 both（中文和英文）。\n\n"
                                                     "Language of the readable report: zh, en or both")] = "zh",
) -> None:
    """FILE 是否为本局真实、 未被改动、 已登记且现行有效的文书？ 报告对每个印章和时间戳给出 ETSI EN 319 102-1 的结论及其依据。 退出码 0：真实且现行有效； 1：不真实或不在有效状态； 2：文件无法读取。

    Is FILE a genuine, unaltered document of this bureau, in the registry and in force?
    For every seal and timestamp the report gives the ETSI EN 319 102-1 indication and the
    findings behind it. Exit 0: genuine and in force. 1: not genuine or not in force. 2: the file
    cannot be read.
    """
    from yiyin.service.report_text import LANGS

    if lang not in LANGS:
        raise typer.BadParameter(f"须为 {'、'.join(LANGS)} 之一 (must be one of {', '.join(LANGS)})", param_hint="--lang")
    from yiyin.errors import UnreadableDocument
    from yiyin.service.verify import verify_pdf

    quiet_validation_logs()
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(UnreadableDocument(f"无法读取 {file}：{exc.strerror}"))
    try:
        report = verify_pdf(open_app(), data)
    except UnreadableDocument as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "readable": False, "error": exc.message}, ensure_ascii=False, indent=2))
            raise typer.Exit(exc.exit_code)
        fail(exc)
    except YiyinError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps({**report.to_json(), "readable": True}, ensure_ascii=False, indent=2))
    else:
        from yiyin.service.report_text import render as render_report

        typer.echo(render_report(report, str(file), lang))
    raise typer.Exit(0 if report.valid else 1)


import yiyin.service.cli_web  # noqa: E402,F401  registers `yiyin serve`
import yiyin.service.cli_staff  # noqa: E402,F401  registers `yiyin user`, `audit`, `catalog`
import yiyin.service.cli_batch  # noqa: E402,F401  registers `yiyin batch`, `worker`


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
