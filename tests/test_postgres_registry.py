"""Licences, versions, status acts, status lists, the stored tree and the audit on PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.registry import audit, documents, licences, log, merkle, status_list, tree
from yiyin.service.app import App
from yiyin.service.lifecycle import act
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates

from .test_document_data import SAMPLE
from .test_registry_concurrency import pg_database


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    for url in pg_database():
        home: Path = tmp_path_factory.mktemp("pg-registry-home")
        application = App.open(Settings.from_env({"YIYIN_HOME": str(home), "YIYIN_DATABASE_URL": url}))
        try:
            yield application
        finally:
            application.close()


def issue(app: App):  # type: ignore[no-untyped-def]
    entry = SAMPLE["documents"][1]
    return Issuer(app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                          entry["item"], "PG-REG"))


def test_licence_lifecycle_and_audit_on_postgres(pg_app: App) -> None:
    assert pg_app.db.engine.dialect.name == "postgresql"
    first = issue(pg_app)
    with licences.succeeding(first.number, "变更", "名称变更", "《药品经营和使用质量监督管理办法》"):
        second = issue(pg_app)
    act(pg_app, second.number, "suspend", "整改", "《药品管理法》第一百二十六条", "reviewer")
    with pg_app.db.transaction() as s:
        n = tree.integrate(s)
        entries = status_list.status_entries(s, documents.by_number(s, second.number).id, "https://x.example")
    with pg_app.db.session() as s:
        recs = [licences.by_document(s, documents.by_number(s, x.number).id) for x in (first, second)]
        assert [r.version for r in recs] == [1, 2] and recs[0].serial == recs[1].serial
        assert documents.current_status(s, documents.by_number(s, first.number)).replaced_by == second.number
        leaves = log.leaves(s)
        assert n == len(leaves) and tree.root(s) == merkle.root(leaves)
        for i in range(n):
            assert merkle.verify_inclusion(i, n, leaves[i], tree.inclusion_proof(s, i, n), tree.root(s, n))
        cred = status_list.credential(s, int(entries[1]["statusListCredential"].split("/")[-2]), "suspension",
                                      "https://x.example", "x")
        assert status_list.check(cred, entries[1])
        assert audit.check_records(s) == []


def test_two_clerks_amending_one_licence_at_once(pg_app: App) -> None:
    """Only one new version can replace a licence; the other issuance fails and its number is void."""
    from concurrent.futures import ThreadPoolExecutor

    from yiyin.errors import AuthorityError

    first = issue(pg_app)

    def amend(_: int):  # type: ignore[no-untyped-def]
        try:
            with licences.succeeding(first.number, "变更", "同时变更", "依据"):
                return issue(pg_app).number
        except AuthorityError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(amend, range(2)))
    won = [r for r in results if isinstance(r, str)]
    lost = [r for r in results if isinstance(r, AuthorityError)]
    assert len(won) == 1 and len(lost) == 1 and "已终止" in lost[0].message
    with pg_app.db.session() as s:
        assert documents.current_status(s, documents.by_number(s, first.number)).replaced_by == won[0]
        assert audit.check_records(s) == []


def test_public_lookup_on_postgres(pg_app: App) -> None:
    """The public reads run on the driver's cursor: the same answers from psycopg as from sqlite3."""
    from yiyin.registry.public_read import PublicReader
    from yiyin.service.web.lookup import check_file, lookup

    doc = issue(pg_app)
    act(pg_app, doc.number, "suspend", "整改", "《药品管理法》第一百二十六条", "reviewer")
    connect = PublicReader(pg_app.db.engine)
    found = lookup(connect, doc.number, doc.verification_code, None, "https://x.example")
    assert found.result == "found" and found.document["sha256"] == doc.sha256
    assert (found.document["status"], found.document["status_code"], found.document["in_force"]) == ("暂扣", "02", False)
    assert [h["status"] for h in found.document["history"]] == ["有效", "暂扣"]
    assert found.document["identifier"].startswith("1.2.156.3005.2.") and found.document["valid_until"]
    assert [e["statusPurpose"] for e in found.document["credential_status"]] == ["revocation", "suspension"]
    assert lookup(connect, doc.number, "0000-0000-0000-0000").result == "not_found"
    checked = check_file(pg_app, doc.path.read_bytes(), None, connect)
    assert checked.result == "checked" and checked.document["number"] == doc.number


def test_prepared_public_answers_on_postgres(pg_app: App) -> None:
    """Prepared answers are stored (upserted) and served from PostgreSQL as from SQLite, and a
    status act makes a prepared answer stale at once."""
    from yiyin.registry.public_read import PublicReader
    from yiyin.service.web.answers import prepare
    from yiyin.service.web.lookup import api_lookup, encode, lookup

    doc = issue(pg_app)
    connect, url = PublicReader(pg_app.db.engine), "https://x.example"
    first = api_lookup(connect, doc.number, doc.verification_code, None, url)
    assert first.prepare is not None
    for _ in range(2):  # the second time replaces the first
        assert prepare(pg_app, connect, [first.prepare], date.today(), url) == 1
    served = api_lookup(connect, doc.number, doc.verification_code, None, url)
    assert served.prepare is None and served.body == first.body
    act(pg_app, doc.number, "suspend", "整改", "《药品管理法》第一百二十六条", "reviewer")
    after = api_lookup(connect, doc.number, doc.verification_code, None, url)
    assert after.prepare is not None and after.body == encode(lookup(connect, doc.number, doc.verification_code, None, url))
    assert json.loads(after.body)["document"]["status"] == "暂扣"
