"""Batch re-issue after a change of rules, documents per second end to end, next to the naive way.

Each row re-issues N licences (变更: render, seal PAdES B-LTA, record, log, the old version closed)
of a fresh data directory's seed:

- naive: a plain loop over the pipeline in one process (no queue, no task bookkeeping);
- batch, in process: the job on huey's SQLite queue, one worker thread in this process
  (what `yiyin batch reissue` does by default);
- batch, K worker processes: the job worked by K `yiyin worker` processes (SQLite registry and
  queue, or with --pg a PostgreSQL registry and a Redis queue).

    .venv/bin/python bench/bench_batch.py [--n 40] [--workers 2] [--pg]
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, select, text

from yiyin.config import Settings
from yiyin.registry import documents, licences
from yiyin.registry.models import Document
from yiyin.service import batch
from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import load_json, resolve_dates, samples_dir

PG_ADMIN = os.environ.get("YIYIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHANGE = {"supervising_authority": "台安县市场监督管理局（机构改革后）"}
REASON, BASIS = "日常监管机构名称变更", "《台安县机构改革方案》"


def seed(app: App, n: int) -> None:
    entry = load_json(samples_dir() / "applications" / "kaiban_yaodian.json")["documents"][1]
    tasks = []
    for i in range(n):
        data = resolve_dates(copy.deepcopy(entry["data"]), date.today())
        data["enterprise_name"] = f"台安县康宁大药房第{i + 1}分店有限公司"
        tasks.append(batch.NewTask(entry["type"], entry["item"], f"SEED-{i}", data))
    job = batch.create_job(app, "bench", "issue", "seed", tasks)
    batch.enqueue(app, job, 2)
    consumer = batch.start_consumer(app, 2)
    try:
        batch.wait(app, job, every=0.2)
    finally:
        consumer.stop(graceful=True)


def naive(app: App, n: int) -> float:
    with app.db.session() as s:
        olds = [d for d in s.execute(select(Document).where(Document.doc_type == "licence_drug_retail")
                                     .order_by(Document.issued_at)).scalars()
                if documents.current_status(s, d).in_force and licences.successor(s, d.id) is None][:n]
        work = [(d.number, d.item_code, d.case_ref, {**d.public_data, **CHANGE}) for d in olds]
    issuer = Issuer(app)
    start = time.perf_counter()
    for number, item, case, data in work:
        with licences.succeeding(number, "变更", REASON, BASIS):
            issuer.issue(IssueRequest("licence_drug_retail", data, item, case, actor="bench"))
    return time.perf_counter() - start


def in_process(app: App, n: int) -> float:
    job = batch.reissue_job(app, "bench", "licence_drug_retail", CHANGE, REASON, BASIS, limit=n)
    start = time.perf_counter()
    batch.enqueue(app, job, 2)
    consumer = batch.start_consumer(app, 1)
    try:
        p = batch.wait(app, job, every=0.25)
    finally:
        consumer.stop(graceful=True)
    assert p.done == n and p.failed == 0, p
    return time.perf_counter() - start


def processes(app: App, n: int, k: int, home: Path, env: dict[str, str]) -> float:
    job = batch.reissue_job(app, "bench", "licence_drug_retail", CHANGE, REASON, BASIS, limit=n)
    exe = str(Path(sys.executable).parent / "yiyin")
    full_env = {**os.environ, "YIYIN_HOME": str(home), **env}
    workers = [subprocess.Popen([exe, "worker"], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for _ in range(k)]
    time.sleep(3)  # let them open the data directory (keys, fonts) before the clock starts
    start = time.perf_counter()
    batch.enqueue(app, job, 2 * k)
    try:
        p = batch.wait(app, job, every=0.25)
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
            w.wait(timeout=60)
    assert p.done == n and p.failed == 0, p
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="licences re-issued per row")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the last row")
    parser.add_argument("--pg", action="store_true", help="registry on PostgreSQL, queue on Redis")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="yiyin-bench-batch-"))
    env: dict[str, str] = {}
    admin = None
    if args.pg:
        name = f"yiyin_bench_{secrets.token_hex(4)}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        env = {"YIYIN_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", "YIYIN_QUEUE_URL": "redis://127.0.0.1:6379/0"}
        os.environ.update(env)
    app = App.open(Settings.from_env({"YIYIN_HOME": str(home), **env}))
    try:
        print(f"seeding {3 * args.n} licences …", flush=True)
        seed(app, 3 * args.n)
        rows = [("naive: pipeline in a loop, one process", naive(app, args.n)),
                ("batch, in process (huey, 1 worker thread)", in_process(app, args.n)),
                (f"batch, {args.workers} `yiyin worker` processes", processes(app, args.n, args.workers, home, env))]
    finally:
        app.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{env["YIYIN_DATABASE_URL"].rsplit("/", 1)[1]}" WITH (FORCE)'))
    where = "PostgreSQL registry, Redis queue" if args.pg else "SQLite registry, SQLite queue"
    print(f"\nre-issue (变更) of {args.n} licences each, PAdES B-LTA, {where}, {os.cpu_count()} cores\n")
    print("| how | seconds | documents/s | vs naive |\n| --- | ---: | ---: | ---: |")
    base = args.n / rows[0][1]
    for label, seconds in rows:
        rate = args.n / seconds
        print(f"| {label} | {seconds:.1f} | {rate:.2f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
