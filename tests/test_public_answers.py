"""The public JSON lookup answers from prepared answers: they must say exactly what a fresh
lookup says, on any date, after any status act, under any public URL."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from yiyin.registry.models import PublicAnswer
from yiyin.registry.public_read import PublicReader
from yiyin.service.app import App
from yiyin.service.lifecycle import act
from yiyin.service.web import create_app
from yiyin.service.web.answers import prepare, prepare_all
from yiyin.service.web.lookup import api_lookup, encode, lookup
from yiyin.service.web.readdb import read_engine

from .conftest import run_cli
from .test_web import issue

URL = "https://zwfw.example.gov.cn"


def test_a_prepared_answer_is_the_fresh_answer_byte_for_byte(app: App) -> None:
    doc = issue(app, "ANSWER-SAME")
    connect = PublicReader(read_engine(app))
    first = api_lookup(connect, doc.number, doc.verification_code, None, URL)
    assert first.status == 200 and first.prepare is not None  # nothing prepared yet: answered afresh
    assert prepare(app, connect, [first.prepare], date.today(), URL) == 1
    served = api_lookup(connect, doc.number, doc.verification_code, None, URL)
    assert served.prepare is None  # from the prepared answer
    assert served.body == first.body == encode(lookup(connect, doc.number, doc.verification_code, None, URL))
    # typed as on a phone, still the same answer; a wrong code still learns nothing
    typed = api_lookup(connect, f" {doc.number} ", doc.verification_code.lower().replace("-", ""), None, URL)
    assert typed.body == served.body
    wrong = api_lookup(connect, doc.number, "0000-0000-0000-0000", None, URL)
    unknown = api_lookup(connect, doc.number + "9", doc.verification_code, None, URL)
    assert wrong.status == unknown.status == 404 and wrong.body == unknown.body


def test_a_status_act_is_answered_at_once_though_an_answer_was_prepared(app: App) -> None:
    doc = issue(app, "ANSWER-ACT")
    connect = PublicReader(read_engine(app))
    prepare(app, connect, [api_lookup(connect, doc.number, doc.verification_code, None, URL).prepare], date.today(), URL)
    act(app, doc.number, "revoke", "以欺骗手段取得许可", "《中华人民共和国行政许可法》第六十九条", "reviewer")
    after = api_lookup(connect, doc.number, doc.verification_code, None, URL)
    body = json.loads(after.body)
    assert body["document"]["status"] == "撤销" and after.prepare == doc.document_id
    prepare(app, connect, [after.prepare], date.today(), URL)
    again = api_lookup(connect, doc.number, doc.verification_code, None, URL)
    assert again.prepare is None and again.body == after.body


def test_validity_dates_and_the_public_url_decide_whether_an_answer_holds(app: App) -> None:
    doc = issue(app, "ANSWER-DATES")
    connect = PublicReader(read_engine(app))
    prepare(app, connect, [api_lookup(connect, doc.number, doc.verification_code, None, URL).prepare], date.today(), URL)
    today = json.loads(api_lookup(connect, doc.number, doc.verification_code, None, URL).body)
    until = date.fromisoformat(today["document"]["valid_until"])
    assert today["document"]["in_force"] is True
    later = api_lookup(connect, doc.number, doc.verification_code, until + timedelta(days=1), URL)
    assert later.prepare is not None and json.loads(later.body)["document"]["status"] == "过期"
    assert later.body == encode(lookup(connect, doc.number, doc.verification_code, until + timedelta(days=1), URL))
    assert api_lookup(connect, doc.number, doc.verification_code, until, URL).prepare is None  # the last day: still in force
    moved = api_lookup(connect, doc.number, doc.verification_code, None, "https://new.example")
    assert moved.prepare is not None and b"https://new.example/" in moved.body and URL.encode() not in moved.body


def test_the_server_prepares_what_it_answered_afresh(app: App) -> None:
    doc = issue(app, "ANSWER-SERVER")
    with TestClient(create_app(app, rate_limit=(0, 1))) as client:  # runs the server's lifespan
        first = client.get("/api/v1/verify", params={"n": doc.number, "c": doc.verification_code})
        assert first.status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with app.db.session() as s:
                row = s.scalar(select(PublicAnswer).where(PublicAnswer.document_id == doc.document_id))
            if row is not None:
                break
            time.sleep(0.1)
        assert row is not None and row.body == first.content and row.base_url == app.settings.public_url
        again = client.get("/api/v1/verify", params={"n": doc.number, "c": doc.verification_code})
        assert again.content == first.content and again.headers["cache-control"] == "no-store"


def test_yiyin_public_answers_prepares_every_document(app: App, home) -> None:  # type: ignore[no-untyped-def]
    issue(app, "ANSWER-CLI")
    done = run_cli("public-answers", home=home)
    assert done.returncode == 0, done.stderr
    assert "answers prepared" in done.stdout
    connect = PublicReader(read_engine(app))
    assert prepare_all(app, connect, app.settings.public_url) == 0  # nothing left to prepare


def test_answers_prepared_before_they_carried_their_number_are_found_by_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0008 gives the answers already prepared their document's number and code digest,
    and the lookup then serves them from the answers' own index."""
    import sqlalchemy as sa
    from alembic import command

    from yiyin.config import Settings
    from yiyin.registry.db import alembic_config

    app = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path)}))
    try:
        doc = issue(app, "ANSWER-MIGRATE")
        connect = PublicReader(read_engine(app))
        fresh = api_lookup(connect, doc.number, doc.verification_code, None, URL)
        prepare(app, connect, [fresh.prepare], date.today(), URL)
        cfg = alembic_config(app.db.url)
        with app.db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007_archive_packages")
            assert "number" not in {c["name"] for c in sa.inspect(conn).get_columns("public_answers")}
        with app.db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
        with app.db.session() as s:
            row = s.scalars(select(PublicAnswer).where(PublicAnswer.document_id == doc.document_id)).one()
            digest = s.execute(sa.text("SELECT code_digest FROM documents WHERE id = :id"), {"id": doc.document_id}).scalar_one()
        assert (row.number, row.code_digest) == (doc.number, digest)
        connect = PublicReader(read_engine(app))
        with connect() as reads:
            assert [r.id for r in reads.prepared_by_number([doc.number])] == [doc.document_id]
        served = api_lookup(connect, doc.number, doc.verification_code, None, URL)
        assert served.prepare is None and served.body == fresh.body
    finally:
        app.close()
