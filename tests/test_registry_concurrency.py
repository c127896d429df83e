"""Many concurrent issuers, threads and processes, against SQLite and a real PostgreSQL server:
numbers are unique and gap-free, a failed issuance leaves its number void with the reason (never
reused), and the log's indices are unique and gap-free with a tree that matches its entries."""

from __future__ import annotations

import multiprocessing
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from yiyin.registry import catalog, log, merkle, numbering, tree
from yiyin.registry.db import Database
from yiyin.registry.models import IssuedNumber, LogEntry, NumberOutcome

ADMIN_URL = os.environ.get("YIYIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ORGAN = {"id": "o1", "name": "测试局", "uscc": "11210321MB15990271", "division_code": "210321", "province": "辽宁省",
         "city": "鞍山市", "county": "台安县", "short_name": "测", "numbering": {"t": "测〔{year}〕{seq}号"}}


def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; a clear failure without a server."""
    name = f"yiyin_test_{secrets.token_hex(5)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is not reachable ({type(exc).__name__}: {exc}); these tests need the "
                    f"server CI provides (set YIYIN_TEST_PG_ADMIN to another admin URL)")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        yield from pg_database()


def prepare(url: str) -> Database:
    db = Database(url)
    db.migrate()
    with db.transaction() as s:
        catalog.upsert_organ(s, ORGAN)
    return db


def issuer(url: str, worker: int, n: int) -> list[tuple[str, str]]:
    """Allocate n numbers; every third issuance fails after numbering and is closed void."""
    db = Database(url)
    out = []
    try:
        for i in range(n):
            with db.transaction() as s:
                number = numbering.allocate(s, "o1", "t", date(2026, 5, 1)).number
            if (worker + i) % 3 == 0:
                with db.transaction() as s:
                    numbering.close(s, number, "void", f"sealing failed in worker {worker}, attempt {i}")
                out.append((number, "void"))
                continue
            with db.transaction() as s:
                numbering.close(s, number, "issued")
                log.append(s, "issue", {"number": number, "worker": worker})
            if i % 4 == 0:
                with db.transaction() as s:
                    tree.integrate(s)
            out.append((number, "issued"))
    finally:
        db.dispose()
    return out


def check(db: Database, results: list[tuple[str, str]]) -> None:
    numbers = [n for n, _ in results]
    assert len(numbers) == len(set(numbers)), "a number was handed out twice"
    seqs = sorted(int(n.split("〕")[1].rstrip("号")) for n in numbers)
    assert seqs == list(range(1, len(numbers) + 1)), "the numbers have a gap"
    with db.session() as s:
        assert len(s.execute(select(IssuedNumber)).scalars().all()) == len(numbers)
        outcomes = {o.number: o for o in s.execute(select(NumberOutcome)).scalars()}
        assert {n: outcomes[n].outcome for n in numbers} == dict(results)
        assert all(o.reason.startswith("sealing failed") for o in outcomes.values() if o.outcome == "void")
        indices = s.execute(select(LogEntry.index).order_by(LogEntry.index)).scalars().all()
        issued = sum(1 for _, o in results if o == "issued")
        assert indices == list(range(issued)), "log indices are not unique and gap-free"
    with db.transaction() as s:
        assert tree.integrate(s) == issued
    with db.session() as s:
        assert tree.root(s) == merkle.root(log.leaves(s))


def test_threads(url: str) -> None:
    db = prepare(url)
    with ThreadPoolExecutor(8) as pool:
        chunks = list(pool.map(lambda w: issuer(url, w, 12), range(8)))
    check(db, [r for c in chunks for r in c])
    db.dispose()


@pytest.mark.slow
def test_processes(url: str) -> None:
    db = prepare(url)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        chunks = pool.starmap(issuer, [(url, w, 12) for w in range(4)])
    check(db, [r for c in chunks for r in c])
    # and a void number is never reused: the next allocation continues after all of them
    with db.transaction() as s:
        assert numbering.allocate(s, "o1", "t", date(2026, 5, 1)).number == "测〔2026〕49号"
    db.dispose()
