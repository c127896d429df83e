"""Cases and the audit trail on PostgreSQL with concurrent clerks: unique case numbers, a
gap-free audit chain that checks out, and separation of duties enforced the same way."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.errors import SeparationOfDuties
from yiyin.service import audit, cases
from yiyin.service.app import App

from .test_cases import ACCEPTOR, INTAKE, to_decision_ready
from .test_postgres import pg_url  # noqa: F401  (a database of its own)


@pytest.fixture(scope="module")
def pg(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:  # noqa: F811
    home: Path = tmp_path_factory.mktemp("pg-staff-home")
    application = App.open(Settings.from_env({"YIYIN_HOME": str(home), "YIYIN_DATABASE_URL": pg_url}))
    yield application
    application.close()


@pytest.mark.slow
def test_concurrent_intake_and_an_intact_audit_chain_on_postgresql(pg: App) -> None:
    assert pg.db.engine.dialect.name == "postgresql"

    def open_one(i: int) -> str:
        case_id = cases.open_case(pg, INTAKE, cases.Application(applicant=f"台安县第{i}号药房有限公司", applicant_code="91210321MA10KX3P1U",
                                                                matter_id="kaiban-yaodian"))
        cases.check_completeness(pg, INTAKE, case_id)
        return cases.case_detail(pg, case_id)["ref"]

    with ThreadPoolExecutor(6) as pool:
        refs = list(pool.map(open_one, range(18)))
    assert len(set(refs)) == 18
    assert sorted(int(r.split("〕")[1][:-1]) for r in refs) == list(range(1, 19))

    case = to_decision_ready(pg, reviewer_for_reg=ACCEPTOR)
    reg = next(i for i in case["items"] if i["section"] == "企业登记科")
    with pytest.raises(SeparationOfDuties):
        cases.decide(pg, ACCEPTOR, reg["id"], "准予")
    audit.anchor(pg)
    report = audit.check(pg)
    assert report.ok, report.problems
    assert report.entries > 18 * 3 and report.unanchored == 0
    trail = audit.entries(pg, limit=5000)
    assert sorted(e["seq"] for e in trail) == list(range(len(trail)))
