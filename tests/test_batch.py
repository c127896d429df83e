"""Batch issuance on huey: a re-issue after a change of rules, in process; a worker process
killed with SIGKILL mid-batch and the batch resumed, every licence issued exactly once; and
several worker processes on PostgreSQL and Redis."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from yiyin.config import Settings
from yiyin.errors import InvalidData
from yiyin.registry import licences
from yiyin.registry.batches import BatchTask
from yiyin.registry.models import Document, IssuedNumber, NumberOutcome
from yiyin.service import batch, transparency
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf

from .conftest import run_cli
from .test_postgres import pg_url  # noqa: F401  (a database of its own)
from .test_document_data import SAMPLE


def licence_tasks(n: int, tag: str) -> list[batch.NewTask]:
    out = []
    for i in range(n):
        data = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
        data["enterprise_name"] = f"台安县康宁大药房第{i + 1}分店有限公司"
        out.append(batch.NewTask("licence_drug_retail", "210321-XK-0412", f"{tag}-{i}", data))
    return out


def numbers_of(app: App, job_id: int) -> list[str]:
    with app.db.session() as s:
        return list(s.execute(select(Document.number).join(BatchTask, BatchTask.document_id == Document.id)
                              .where(BatchTask.job_id == job_id)).scalars())


def run_in_process(app: App, job_id: int, threads: int = 1) -> batch.Progress:
    batch.enqueue(app, job_id, fanout=threads * 2)
    consumer = batch.start_consumer(app, threads)
    try:
        return batch.wait(app, job_id, timeout=600, every=0.2)
    finally:
        consumer.stop(graceful=True)


def assert_each_reissued_once(app: App, job_id: int) -> None:
    with app.db.session() as s:
        tasks = s.execute(select(BatchTask).where(BatchTask.job_id == job_id)).scalars().all()
        assert tasks and all(t.status == "done" and t.document_id for t in tasks)
        assert len({t.document_id for t in tasks}) == len(tasks)
        for t in tasks:
            old = s.execute(select(Document).where(Document.number == t.predecessor)).scalar_one()
            successor = licences.successor(s, old.id)
            assert successor is not None and successor.document_id == t.document_id
            # nobody else replaced it: exactly one licence record points back at the old version
            assert s.execute(select(func.count()).select_from(licences.LicenceRecord).where(
                licences.LicenceRecord.predecessor_id == old.id)).scalar_one() == 1
        # every number ever allocated ended as issued or void: none left half-issued
        dangling = s.execute(select(func.count()).select_from(IssuedNumber).where(
            IssuedNumber.number.not_in(select(NumberOutcome.number)))).scalar_one()
        assert dangling == 0


def test_reissue_after_a_change_of_rules_in_process(app: App) -> None:
    seed = batch.create_job(app, "test", "issue", "seed", licence_tasks(3, "BATCH-A"))
    assert run_in_process(app, seed).done == 3
    # only these three: the session's other licences (the demo's) stay as they are
    job = batch.reissue_job(app, "test", "licence_drug_retail", {"supervising_authority": "台安县市场监督管理局（机构改革后）"},
                            "日常监管机构名称变更", "《台安县机构改革方案》", item_code="210321-XK-0412", numbers=numbers_of(app, seed))
    p = run_in_process(app, job, threads=2)
    assert (p.status, p.failed, p.pending, p.done) == ("finished", 0, 0, 3)
    assert_each_reissued_once(app, job)
    with app.db.session() as s:
        doc = s.execute(select(Document).join(BatchTask, BatchTask.document_id == Document.id)
                        .where(BatchTask.job_id == job)).scalars().first()
        assert doc.public_data["supervising_authority"] == "台安县市场监督管理局（机构改革后）"
        path = app.store.path_of(doc.storage_key)
    assert verify_pdf(app, path.read_bytes()).valid
    with pytest.raises(InvalidData, match="no_such_field"):
        batch.reissue_job(app, "test", "licence_drug_retail", {"no_such_field": 1}, "理由", "依据", numbers=["none"])


def _worker(home: Path, env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    exe = str(Path(sys.executable).parent / "yiyin")
    env = {**os.environ, "YIYIN_HOME": str(home), **(env_extra or {})}
    return subprocess.Popen([exe, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_then_resumed_issues_every_licence_exactly_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    try:
        n = 16
        assert run_in_process(app, batch.create_job(app, "test", "issue", "seed", licence_tasks(n, "CRASH"))).done == n
        job = batch.reissue_job(app, "test", "licence_drug_retail", {"complaint_phone": "0412-12345"},
                                "投诉举报电话变更", "《关于统一投诉举报电话的通知》")
        batch.enqueue(app, job, fanout=2)
        worker = _worker(home)
        deadline = time.monotonic() + 300
        while batch.progress(app, job).done < 4:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch, most likely mid-document
        worker.wait(timeout=30)
        p = batch.progress(app, job)
        assert 4 <= p.done < n and p.pending > 0

        out = run_cli("batch", "resume", str(job), home=home)
        assert out.returncode == 0, out.stderr
        p = batch.progress(app, job)
        assert (p.status, p.done, p.failed) == ("finished", n, 0)
        assert_each_reissued_once(app, job)
        with app.db.session() as s:
            void = s.execute(select(NumberOutcome).where(NumberOutcome.outcome == "void")).scalars().all()
        # a document the killed worker was sealing kept its number, closed as void with the reason
        assert all("中途停止" in v.reason for v in void) and len(void) <= 1
        transparency.sign_checkpoint(app)
        assert transparency.audit(app).ok
    finally:
        app.close()


@pytest.mark.slow
def test_two_worker_processes_on_postgresql_and_redis_share_a_batch(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "pg-home"
    env = {"YIYIN_DATABASE_URL": pg_url, "YIYIN_QUEUE_URL": "redis://127.0.0.1:6379/0"}
    os.environ.update(env)
    try:
        app = App.open(Settings.from_env({"YIYIN_HOME": str(home), **env}))
        job = batch.create_job(app, "test", "issue", "pg", licence_tasks(12, "PG"))
        batch.enqueue(app, job, fanout=4)
        workers = [_worker(home, env) for _ in range(2)]
        try:
            p = batch.wait(app, job, timeout=300, every=0.2)
        finally:
            for w in workers:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(timeout=30)
        assert (p.status, p.done, p.failed) == ("finished", 12, 0)
        with app.db.session() as s:
            tasks = s.execute(select(BatchTask).where(BatchTask.job_id == job)).scalars().all()
            numbers = s.execute(select(Document.number).where(Document.id.in_([t.document_id for t in tasks]))).scalars().all()
        assert len(set(numbers)) == 12
        assert len({t.claimed_by.split(":")[1] for t in tasks}) == 2  # both processes issued some
        app.close()
    finally:
        for k in env:
            os.environ.pop(k, None)
