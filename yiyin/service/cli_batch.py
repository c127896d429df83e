"""`yiyin batch …` and `yiyin worker`: batch issuance jobs and the processes that work on them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from yiyin.service.cli import app
from yiyin.service.cli_common import Commands, open_app, reported_errors
from yiyin.service.cli_staff import cli_actor

batch_app = typer.Typer(cls=Commands, rich_markup_mode=None, help="批量签发 batch issuance: re-issue after a change of rules, progress, resume.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


_STATUS = {"queued": "排队中", "running": "进行中", "finished": "已完成"}
_THREADS_HELP = "不用 --detach 时， 本进程中的工作线程数。\n\nWorker threads in this process when not detached"


def _show(p) -> None:  # type: ignore[no-untyped-def]
    typer.echo(f"批量任务 batch {p.job_id}  {_STATUS.get(p.status, '')} {p.status}  "
               f"已签发 {p.done}/{p.total} issued，失败 {p.failed} failed，待办 {p.pending} pending"
               f"{f'（处理中 {p.claimed} in progress）' if p.claimed else ''}  — {p.title}")
    for position, error in p.errors:
        typer.echo(f"    任务 task {position}: {error}")


def _follow(application, job_id: int, detach: bool, threads: int) -> None:  # type: ignore[no-untyped-def]
    from yiyin.service import batch

    batch.enqueue(application, job_id, fanout=max(threads, 1) * 2)
    if detach:
        typer.echo(f"批量任务 batch {job_id} 已排队 queued：由工作进程（`yiyin worker`）签发；"
                   f"`yiyin batch status {job_id}` 查看进度 shows progress")
        return
    consumer = batch.start_consumer(application, threads)
    last = [-1]

    def report(p) -> None:  # type: ignore[no-untyped-def]
        if p.done + p.failed != last[0]:
            last[0] = p.done + p.failed
            typer.echo(f"\r  {p.done + p.failed}/{p.total}", nl=False)

    try:
        p = batch.wait(application, job_id, report=report)
    finally:
        consumer.stop(graceful=True)
    typer.echo("")
    _show(p)
    if p.failed:
        raise typer.Exit(1)


@batch_app.command("reissue")
def reissue(
    doc_type: Annotated[str, typer.Option("--type", help="证照类型， 如 licence_drug_retail。\n\nLicence type, e.g. licence_drug_retail")],
    set_: Annotated[list[str], typer.Option("--set", help="字段=值 FIELD=VALUE， 用于每份证照（可重复给出； 值可为 JSON）。\n\n"
                                                          "FIELD=VALUE applied to every licence (repeatable; VALUE may be JSON)")],
    reason: Annotated[str, typer.Option(help="理由。\n\nWhy")],
    basis: Annotated[str, typer.Option(help="法律依据。\n\nLegal basis")],
    act: Annotated[str, typer.Option(help="变更 或 延续。\n\n变更 (amend) or 延续 (renew)")] = "变更",
    item: Annotated[str, typer.Option(help="只换发该事项的证照。\n\nOnly licences of this item")] = "",
    limit: Annotated[int, typer.Option(help="最多换发几份（0：全部）。\n\nAt most this many (0: all)")] = 0,
    number: Annotated[list[str], typer.Option("--number", help="只换发这份证照（可重复给出）。\n\nOnly this licence (repeatable)")] = [],  # noqa: B006
    detach: Annotated[bool, typer.Option("--detach", help="只排队， 由 `yiyin worker` 工作进程签发。\n\n"
                                              "Only queue it; `yiyin worker` processes issue it")] = False,
    threads: Annotated[int, typer.Option(help=_THREADS_HELP)] = 1,
) -> None:
    """为某类型每份现行有效的证照签发改动了字段的新版本。
    Issue the next version of every licence of a type in force, with fields changed."""
    from yiyin.errors import FieldProblem, InvalidData
    from yiyin.service import batch

    with reported_errors():
        changes = {}
        for pair in set_:
            key, sep, value = pair.partition("=")
            if not sep:
                raise InvalidData([FieldProblem("--set", "format", f"{pair!r} 格式不对，须写成 字段=值（FIELD=VALUE）")], "批量签发")
            try:
                changes[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                changes[key.strip()] = value
        application = open_app()
        job_id = batch.reissue_job(application, cli_actor(), doc_type, changes, reason, basis, act, item, limit or None, number or None)
        typer.echo(f"批量任务 batch {job_id}：待换发证照 {batch.progress(application, job_id).total} 份 licence(s) to re-issue")
        _follow(application, job_id, detach, threads)


@batch_app.command("issue")
def issue(
    file: Annotated[Path, typer.Argument(help="JSON Lines 文件： 每行一份文书 {\"type\", \"item\", \"case\", \"data\"}。\n\n"
                                              "JSON Lines: one {\"type\", \"item\", \"case\", \"data\"} per document")],
    detach: Annotated[bool, typer.Option("--detach", help="只排队。\n\nOnly queue it")] = False,
    threads: Annotated[int, typer.Option(help=_THREADS_HELP)] = 1,
) -> None:
    """从一个文件签发多份文书， 作为一个批量任务。
    Issue many documents from a file, as one job."""
    from yiyin.errors import FieldProblem, InvalidData
    from yiyin.service import batch

    with reported_errors():
        tasks, problems = [], []
        for n, line in enumerate(file.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                tasks.append(batch.NewTask(row["type"], row["item"], row["case"], row["data"], row.get("predecessor", "")))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(FieldProblem(f"第 {n} 行", "row", f"须含 type（文书类型）、item（事项编码）、case（办件编号）和 data（文书数据）：{exc}"))
        if problems:
            raise InvalidData(problems, str(file))
        application = open_app()
        job_id = batch.create_job(application, cli_actor(), "issue", f"{file.name}：{len(tasks)} 份", tasks)
        typer.echo(f"批量任务 batch {job_id}：待签发文书 {len(tasks)} 份 document(s) to issue")
        _follow(application, job_id, detach, threads)


@batch_app.command("status")
def status(job_id: Annotated[int, typer.Argument(help="批量任务号； 省略则显示最新的几个。\n\nBatch number; omit for the newest ones")] = 0) -> None:
    """批量任务（或最新几个任务）的进度。
    Progress of a batch (or of the newest ones)."""
    from yiyin.service import batch

    with reported_errors():
        application = open_app()
        for j in ([job_id] if job_id else batch.jobs(application)[:10]):
            _show(batch.progress(application, j))


@batch_app.command("resume")
def resume(
    job_id: Annotated[int, typer.Argument(help="批量任务号。\n\nBatch number")],
    detach: Annotated[bool, typer.Option("--detach", help="只重新排队。\n\nOnly queue it again")] = False,
    threads: Annotated[int, typer.Option(help=_THREADS_HELP)] = 1,
) -> None:
    """崩溃之后： 释放已不在的工作进程占着的任务， 继续签发。
    After a crash: release the claims of workers that are gone and carry on."""
    from yiyin.service import batch

    with reported_errors():
        application = open_app()
        p = batch.resume(application, job_id, cli_actor(), fanout=max(threads, 1) * 2)
        _show(p)
        if p.pending:
            _follow(application, job_id, detach, threads)


@app.command("worker")
def worker(workers: Annotated[int, typer.Option(help="工作进程数（1：在本进程中用一个线程）。\n\n"
                                                    "Worker processes (1: one thread in this process)")] = 1) -> None:
    """处理排队的批量任务， 直到被停止（Ctrl-C 会先做完手头的文书）。 设置 YIYIN_QUEUE_URL=redis://… 后， 可在多台机器上运行任意多个。

    Work on queued batch jobs until stopped (Ctrl-C finishes the current documents first).
    With YIYIN_QUEUE_URL=redis://… run as many as you like, on several machines."""
    import logging

    from huey.consumer import Consumer

    from yiyin.service import batch

    with reported_errors():
        application = open_app()
        # jobs a crashed worker left behind are taken up again
        for job_id in batch.unfinished_jobs(application):
            batch.release_dead_claims(application, job_id)
            batch.enqueue(application, job_id, fanout=workers * 2)
        huey = batch.queue(application)
        if workers <= 1:
            batch.use_app(application)
        else:
            application.close()  # forked worker processes open their own
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    typer.echo(f"yiyin worker：工作进程 {workers} 个 worker(s)，队列 queue {batch.queue_url(application)}", err=True)
    Consumer(huey, workers=workers, worker_type="thread" if workers <= 1 else "process", periodic=False,
             initial_delay=0.05, max_delay=1.0).run()
