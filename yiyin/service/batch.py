"""Batch issuance: e.g. re-issuing every licence of a kind after a change of rules, as a job with
progress that survives a crash, on huey (a maintained task queue).

The queue: huey with its SQLite storage in the data directory by default (``queue.db``), worked
in process by ``yiyin batch …`` or by a running ``yiyin serve``; with ``YIYIN_QUEUE_URL=redis://…``
the queue is in Redis and any number of ``yiyin worker`` processes, on any machine that reaches the
registry (PostgreSQL), share the work.

Exactly once: the queue only says "work on job J"; the tasks and their state are rows in the
registry (registry/batches.py). A worker claims one task at a time (a lease, FOR UPDATE SKIP
LOCKED on PostgreSQL); the number it allocates is noted against the task in the allocation's own
transaction; the document is recorded and the task marked done in one transaction, and only if
the task is still this worker's and not done. So after a crash (even SIGKILL) every task is
either done with exactly one document or not done with none; the number a killed worker had
allocated is closed as void when the task is taken up again; a re-run or a second worker never
issues a task twice. Resuming (``yiyin batch resume``, or a worker starting up) releases the
claims of workers that are gone and queues the job again.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yiyin.errors import ConfigurationError, FieldProblem, InvalidData, NotFound, YiyinError
from yiyin.registry import documents, licences, numbering
from yiyin.registry.batches import BatchJob, BatchTask
from yiyin.registry.licences import LicenceRecord
from yiyin.registry.models import Document
from yiyin.service import audit
from yiyin.service.app import App

LEASE = timedelta(seconds=120)  # a claim not finished by then may be taken over
MAX_ATTEMPTS = 3                # unexpected errors (not a refusal) before a task is given up


# -- the queue -----------------------------------------------------------------------------------

_queues: dict[str, tuple[Huey, Any]] = {}
_apps: dict[int, App] = {}
_lock = threading.Lock()


def queue_url(app: App) -> str:
    return os.environ.get("YIYIN_QUEUE_URL", "").strip() or f"sqlite:///{app.settings.home / 'queue.db'}"


def queue(app: App) -> Huey:
    """The huey instance for this installation, with the batch task registered on it."""
    return _queue(app)[0]


def _queue(app: App) -> tuple[Huey, Any]:
    url = queue_url(app)
    with _lock:
        if url not in _queues:
            if url.startswith(("redis://", "rediss://", "unix://")):
                # one Redis may serve several installations: each registry has a queue of its own
                name = "yiyin-batch-" + hashlib.sha256(app.db.url.encode()).hexdigest()[:12]
                huey: Huey = RedisHuey(name, url=url)
            elif url.startswith("sqlite:///"):
                huey = SqliteHuey("yiyin-batch", filename=url.removeprefix("sqlite:///"))
            else:
                raise ConfigurationError(f"环境变量 YIYIN_QUEUE_URL 须为 redis://…（不设置则使用数据目录中的 SQLite 队列），现为 {url!r}")

            @huey.task(name="work_on_job")
            def work_on_job(job_id: int) -> int:
                return work(_worker_app(), job_id)

            _queues[url] = (huey, work_on_job)
        return _queues[url]


def use_app(app: App) -> None:
    """Tasks run in this process use this App (a server or a command that already has one)."""
    _apps[os.getpid()] = app


def _worker_app() -> App:
    pid = os.getpid()
    with _lock:
        if pid not in _apps:
            _apps[pid] = App.open()  # a forked or separate worker process opens its own
        return _apps[pid]


class InProcessConsumer(Consumer):
    """huey's consumer in threads of this process (no signal handlers: the host process owns them)."""

    def _set_signal_handlers(self) -> None:
        pass


def start_consumer(app: App, threads: int = 1) -> InProcessConsumer:
    use_app(app)
    consumer = InProcessConsumer(queue(app), workers=threads, worker_type="thread", periodic=False,
                                 initial_delay=0.05, max_delay=1.0, check_worker_health=False)
    consumer.start()
    return consumer


def enqueue(app: App, job_id: int, fanout: int = 8) -> None:
    """Queue the job: ``fanout`` messages, so that that many workers can share it."""
    with app.db.session() as s:
        pending = s.execute(select(func.count()).select_from(BatchTask).where(
            BatchTask.job_id == job_id, BatchTask.status == "pending")).scalar_one()
    work_on_job = _queue(app)[1]
    for _ in range(max(1, min(fanout, pending))):
        work_on_job(job_id)  # calling a huey task enqueues it


# -- jobs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    doc_type: str
    item_code: str
    case_ref: str
    data: dict[str, Any]
    predecessor: str = ""


def create_job(app: App, actor: str, kind: str, title: str, tasks: list[NewTask], params: dict[str, Any] | None = None) -> int:
    if not tasks:
        raise InvalidData([FieldProblem("tasks", "not_empty", "批量任务为空：没有符合条件的文书")], "批量签发")
    with audit.attempt(app, actor, "batch.create", title), app.db.transaction() as s:
        job = BatchJob(kind=kind, title=title, created_by=actor, created_at=datetime.now(timezone.utc), status="queued",
                       params=params or {})
        s.add(job)
        s.flush()
        s.add_all(BatchTask(job_id=job.id, position=i, doc_type=t.doc_type, item_code=t.item_code, case_ref=t.case_ref,
                            data=t.data, predecessor=t.predecessor, status="pending", claimed_by="", pending_number="",
                            attempts=0, error="") for i, t in enumerate(tasks))
        audit.record(s, actor, "batch.create", f"batch {job.id}", {"kind": kind, "title": title, "tasks": len(tasks), **(params or {})})
        return job.id


def reissue_job(app: App, actor: str, doc_type: str, changes: dict[str, Any], reason: str, basis: str,
                act: str = "变更", item_code: str = "", limit: int | None = None, numbers: list[str] | None = None) -> int:
    """A job that issues the next version (变更 or 延续) of every licence of ``doc_type`` in force
    (of one item, or only those ``numbers``), with ``changes`` applied to its data."""
    from yiyin.templates.catalog import document_type

    licences.check_succession(act, reason, basis)
    schema = document_type(doc_type).schema
    unknown = [k for k in changes if k not in schema.model_fields]
    if unknown:
        raise InvalidData([FieldProblem(k, "known_field", f"{doc_type} 没有字段 {k}；字段：{', '.join(schema.model_fields)}") for k in unknown], "批量签发")
    tasks = []
    with app.db.session() as s:
        q = (select(Document).join(LicenceRecord, LicenceRecord.document_id == Document.id)
             .where(Document.doc_type == doc_type).order_by(Document.issued_at))
        if item_code:
            q = q.where(Document.item_code == item_code)
        if numbers:
            q = q.where(Document.number.in_(numbers))
        for doc in s.execute(q).scalars():
            if not documents.current_status(s, doc).in_force or licences.successor(s, doc.id) is not None:
                continue
            tasks.append(NewTask(doc_type, doc.item_code, doc.case_ref, {**doc.public_data, **changes}, doc.number))
            if limit and len(tasks) >= limit:
                break
    return create_job(app, actor, "reissue", f"{act} {len(tasks)} 份 {document_type(doc_type).title}：{reason}", tasks,
                      {"act": act, "reason": reason, "basis": basis, "changes": changes})


@dataclass(frozen=True)
class Progress:
    job_id: int
    title: str
    status: str
    total: int
    done: int
    failed: int
    pending: int
    claimed: int
    started: datetime
    finished: datetime | None
    errors: list[tuple[int, str]]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.job_id, "title": self.title, "status": self.status, "total": self.total, "done": self.done,
                "failed": self.failed, "pending": self.pending, "in_progress": self.claimed,
                "created_at": self.started.isoformat(), "finished_at": self.finished.isoformat() if self.finished else None,
                "errors": [{"position": p, "error": e} for p, e in self.errors]}


def progress(app: App, job_id: int) -> Progress:
    with app.db.session() as s:
        job = s.get(BatchJob, job_id)
        if job is None:
            raise NotFound(f"没有批量任务 {job_id}")
        counts = dict(s.execute(select(BatchTask.status, func.count()).where(BatchTask.job_id == job_id)
                                .group_by(BatchTask.status)).all())
        claimed = s.execute(select(func.count()).select_from(BatchTask).where(
            BatchTask.job_id == job_id, BatchTask.status == "pending", BatchTask.claimed_by != "")).scalar_one()
        errors = [(p, e) for p, e in s.execute(select(BatchTask.position, BatchTask.error).where(
            BatchTask.job_id == job_id, BatchTask.status == "failed").order_by(BatchTask.position).limit(20))]
        return Progress(job.id, job.title, job.status, sum(counts.values()), counts.get("done", 0), counts.get("failed", 0),
                        counts.get("pending", 0), claimed, job.created_at, job.finished_at, errors)


def jobs(app: App) -> list[int]:
    with app.db.session() as s:
        return list(s.execute(select(BatchJob.id).order_by(BatchJob.id.desc()).limit(50)).scalars())


# -- working -------------------------------------------------------------------------------------


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _alive(claimed_by: str) -> bool:
    host, _, rest = claimed_by.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's worker: only its lease tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_claims(app: App, job_id: int | None = None) -> int:
    """Free the tasks claimed by worker processes of this machine that no longer exist."""
    with app.db.transaction() as s:
        q = select(BatchTask).where(BatchTask.status == "pending", BatchTask.claimed_by != "")
        if job_id is not None:
            q = q.where(BatchTask.job_id == job_id)
        freed = 0
        for task in s.execute(q.with_for_update()).scalars():
            if not _alive(task.claimed_by):
                task.claimed_by, task.lease_until = "", None
                freed += 1
        return freed


def resume(app: App, job_id: int, actor: str, fanout: int = 8) -> Progress:
    """After a crash: release the dead workers' claims and queue the job again."""
    with audit.attempt(app, actor, "batch.resume", f"batch {job_id}"):
        p = progress(app, job_id)
        freed = release_dead_claims(app, job_id)
        with app.db.transaction() as s:
            audit.record(s, actor, "batch.resume", f"batch {job_id}", {"released_claims": freed, "pending": p.pending})
        if p.pending:
            enqueue(app, job_id, fanout)
        return progress(app, job_id)


def unfinished_jobs(app: App) -> list[int]:
    with app.db.session() as s:
        return list(s.execute(select(BatchJob.id).where(BatchJob.status != "finished").order_by(BatchJob.id)).scalars())


def _claim(app: App, job_id: int, me: str) -> int | None:
    now = datetime.now(timezone.utc)
    with app.db.transaction() as s:
        task = s.execute(select(BatchTask).where(
            BatchTask.job_id == job_id, BatchTask.status == "pending",
            (BatchTask.claimed_by == "") | (BatchTask.lease_until < now) | (BatchTask.claimed_by == me))
            .order_by(BatchTask.position).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
        if task is None:
            return None
        if task.pending_number:
            # a worker stopped between numbering and recording: that number was never issued
            if numbering.outcome_of(s, task.pending_number) is None:
                numbering.close(s, task.pending_number, "void", "批量签发的工作进程在签发中途停止；该任务已重新签发")
            task.pending_number = ""
        task.claimed_by, task.lease_until, task.attempts = me, now + LEASE, task.attempts + 1
        job = s.get(BatchJob, job_id)
        if job is not None and job.status == "queued":
            job.status = "running"
        return task.id


class _LostClaim(Exception):
    """Another worker finished this task first."""


def _run(app: App, task_id: int, me: str) -> None:
    from yiyin.service.pipeline import Issuer, IssueRequest

    with app.db.session() as s:
        task = s.get(BatchTask, task_id)
        job = s.get(BatchJob, task.job_id)
        spec = (task.doc_type, dict(task.data), task.item_code, task.case_ref, task.predecessor, dict(job.params), job.created_by)
    doc_type, data, item_code, case_ref, predecessor, params, owner = spec

    def noted(session: Session, number: str) -> None:
        session.execute(update(BatchTask).where(BatchTask.id == task_id, BatchTask.claimed_by == me).values(pending_number=number))

    def recorded(session: Session, doc: Document) -> None:
        n = session.execute(update(BatchTask).where(
            BatchTask.id == task_id, BatchTask.status == "pending", BatchTask.claimed_by == me).values(
            status="done", document_id=doc.id, pending_number="", finished_at=datetime.now(timezone.utc))).rowcount
        if n != 1:
            raise _LostClaim()

    req = IssueRequest(doc_type=doc_type, data=data, item_code=item_code, case_ref=case_ref, actor=f"batch:{owner}",
                       on_allocated=noted, on_record=recorded)
    issuer = Issuer(app)
    if predecessor:
        with licences.succeeding(predecessor, params.get("act", "变更"), params.get("reason", ""), params.get("basis", "")):
            issuer.issue(req)
    else:
        issuer.issue(req)


def work(app: App, job_id: int) -> int:
    """Claim and issue this job's tasks one by one until none is left; the number issued."""
    me = worker_id()
    issued = 0
    while True:
        task_id = _claim(app, job_id, me)
        if task_id is None:
            break
        try:
            _run(app, task_id, me)
            issued += 1
        except _LostClaim:
            pass
        except YiyinError as exc:  # refused (bad data, no authority, licence ended): not retried
            _finish(app, task_id, me, "failed", exc.message)
        except Exception as exc:  # anything else: released for another attempt, up to MAX_ATTEMPTS
            _finish(app, task_id, me, "retry", f"{type(exc).__name__}: {exc}")
    _close_job(app, job_id)
    return issued


def _finish(app: App, task_id: int, me: str, outcome: str, error: str) -> None:
    with app.db.transaction() as s:
        task = s.execute(select(BatchTask).where(BatchTask.id == task_id).with_for_update()).scalar_one()
        if task.status != "pending" or task.claimed_by != me:
            return
        task.error = error[:2000]
        task.pending_number = "" if task.pending_number and numbering.outcome_of(s, task.pending_number) else task.pending_number
        if outcome == "failed" or task.attempts >= MAX_ATTEMPTS:
            task.status, task.finished_at = "failed", datetime.now(timezone.utc)
        else:
            task.claimed_by, task.lease_until = "", None


def _close_job(app: App, job_id: int) -> None:
    with app.db.transaction() as s:
        pending = s.execute(select(func.count()).select_from(BatchTask).where(
            BatchTask.job_id == job_id, BatchTask.status == "pending")).scalar_one()
        job = s.get(BatchJob, job_id)
        if job is not None and pending == 0 and job.status != "finished":
            job.status, job.finished_at = "finished", datetime.now(timezone.utc)
            p = s.execute(select(BatchTask.status, func.count()).where(BatchTask.job_id == job_id).group_by(BatchTask.status)).all()
            audit.record(s, f"batch:{job.created_by}", "batch.finish", f"batch {job_id}", dict(p))


def wait(app: App, job_id: int, timeout: float | None = None, every: float = 0.5, report=None) -> Progress:  # type: ignore[no-untyped-def]
    """Poll until the job is finished (or the timeout passes)."""
    start = time.monotonic()
    while True:
        p = progress(app, job_id)
        if report:
            report(p)
        if p.status == "finished" or (timeout is not None and time.monotonic() - start > timeout):
            return p
        time.sleep(every)
