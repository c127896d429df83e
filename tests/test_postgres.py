"""The registry on a real PostgreSQL server: migrations, issuance, concurrency, audit.

CI runs these against the server on 127.0.0.1:5432; each run uses a database of its own."""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from yiyin.config import Settings
from yiyin.registry.models import IssuedNumber, LogEntry, NumberOutcome
from yiyin.service import transparency
from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates

from .test_document_data import SAMPLE

ADMIN_URL = os.environ.get("YIYIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    name = f"yiyin_test_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # CI has the server; say clearly what is missing elsewhere
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is not reachable ({exc}); set YIYIN_TEST_PG_ADMIN")
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg_app(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    home: Path = tmp_path_factory.mktemp("pg-home")
    application = App.open(Settings.from_env({"YIYIN_HOME": str(home), "YIYIN_DATABASE_URL": pg_url}))
    yield application
    application.close()


def request() -> IssueRequest:
    entry = SAMPLE["documents"][1]
    return IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()), entry["item"], "PG")


def test_concurrent_issuers_get_unique_gap_free_numbers_and_log(pg_app: App) -> None:
    assert pg_app.db.engine.dialect.name == "postgresql"
    with ThreadPoolExecutor(4) as pool:
        issued = list(pool.map(lambda _: Issuer(pg_app).issue(request()), range(12)))
    numbers = [d.number for d in issued]
    assert len(set(numbers)) == 12
    assert sorted(int(n[-5:]) for n in numbers) == list(range(1, 13))
    with pg_app.db.session() as s:
        assert [o.outcome for o in s.execute(select(NumberOutcome)).scalars()] == ["issued"] * 12
        entries = list(s.execute(select(LogEntry).order_by(LogEntry.index)).scalars())
        assert [e.index for e in entries] == list(range(len(entries)))  # no gap, no duplicate
        assert sum(e.kind == "issue" for e in entries) == 12  # after the seals registered on bootstrap
        assert len(s.execute(select(IssuedNumber)).scalars().all()) == 12
    transparency.sign_checkpoint(pg_app)
    assert transparency.audit(pg_app).ok


def test_verify_against_postgres(pg_app: App) -> None:
    from yiyin.service.verify import verify_pdf

    doc = Issuer(pg_app).issue(request())
    assert verify_pdf(pg_app, doc.path.read_bytes()).valid
