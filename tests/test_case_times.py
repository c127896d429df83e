"""Case times are instants, stored in UTC on SQLite as on PostgreSQL; the bureau's dates (acceptance,
deadlines, dates on papers, overdue flags) are Beijing dates, whatever the hour is in UTC.

The bureau's clock is set to the hours where the two disagree: from 16:00 UTC on, Beijing is
already on the next day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from yiyin.config import BUREAU_TIME, Settings
from yiyin.registry import catalog
from yiyin.registry.db import alembic_config, make_engine
from yiyin.service import cases
from yiyin.service.app import App
from yiyin.service.workdays import WorkCalendar

from .test_cases import ACCEPTOR, INTAKE, PDF


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    application = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path_factory.mktemp("clocked-home"))}))
    yield application
    application.close()


def next_monday_utc(at: time) -> datetime:
    today = datetime.now(timezone.utc).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, at, tzinfo=timezone.utc)


def test_acceptance_late_in_the_utc_day_counts_from_the_beijing_date(clocked: App) -> None:
    app = clocked
    received = next_monday_utc(time(17, 10))   # Tuesday 01:10 in Beijing
    accepted = received + timedelta(minutes=20)
    app.clock = lambda: received
    case_id = cases.open_case(app, INTAKE, cases.Application(applicant="台安县康宁大药房有限公司", applicant_code="91210321MA10KX3P1U",
                                                             item_code="210321-XK-0101"))
    for m in cases.case_detail(app, case_id)["required_materials"]:
        cases.add_material(app, INTAKE, case_id, m["name"], "m.pdf", PDF)
    assert cases.check_completeness(app, INTAKE, case_id) == []
    app.clock = lambda: accepted
    cases.accept(app, ACCEPTOR, case_id)

    detail = cases.case_detail(app, case_id)
    # the stored instants are the instants of the acts, shown in Beijing time
    assert datetime.fromisoformat(detail["received_at"]) == received
    assert datetime.fromisoformat(detail["accepted_at"]) == accepted
    assert detail["accepted_at"].endswith("+08:00")
    assert {datetime.fromisoformat(st["at"]) for st in detail["steps"] if st["action"] == "accept"} == {accepted}
    # the time limit runs from the Beijing date of acceptance (Tuesday), not the UTC date (Monday)
    calendar = WorkCalendar.load(app.settings.home)
    beijing_day = accepted.astimezone(BUREAU_TIME).date()
    assert beijing_day == accepted.date() + timedelta(days=1)
    with app.db.session() as s:
        days = catalog.get_item(s, "210321-XK-0101").time_limit_days
    due = calendar.add(beijing_day, days)
    assert detail["deadline"]["due_date"] == due.isoformat()
    # the 受理通知书 is dated and states the application on the Beijing date
    notice = next(d for d in detail["documents"] if d["title"] == "受理通知书")
    assert notice["issue_date"] == beijing_day.isoformat()
    assert cases.prefill(app, detail["items"][0]["id"], "decision_grant")["application_date"] == beijing_day.isoformat()

    def state_at(moment: datetime) -> str:
        app.clock = lambda: moment
        return next(r for r in cases.case_rows(app) if r.id == case_id).deadline.state

    late_on_due_day = datetime.combine(due, time(23, 30), tzinfo=BUREAU_TIME)
    assert state_at(late_on_due_day) == "临期"        # 15:30 UTC: the last day, still in time
    assert state_at(late_on_due_day + timedelta(hours=1)) == "超期"  # 16:30 UTC, the next day in Beijing
    assert cases.case_rows(app, flagged=True)


def test_case_times_written_as_beijing_wall_time_are_moved_to_utc(tmp_path: Path) -> None:
    """Databases written before case times were stored in UTC hold Beijing wall times on SQLite."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_service_cases")
        conn.execute(sa.text(
            "INSERT INTO cases (id, ref, title, stage, lead_section, applicant, applicant_code, contact, phone, delivery,"
            " post_address, status, received_at, received_by, accepted_at) VALUES (1, 'R1', 't', '', '企业登记科', 'a', 'c', '', '',"
            " 'window', '', '审批中', '2026-11-24 08:30:00.000000', 'x', '2026-11-24 01:15:00.000000')"))
        conn.execute(sa.text("INSERT INTO case_steps (case_id, action, actor, at, detail) VALUES"
                             " (1, 'accept', 'x', '2026-11-24 01:15:00.000000', '{}')"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        row = conn.execute(sa.text("SELECT received_at, accepted_at, closed_at FROM cases")).one()
        step_at = conn.execute(sa.text("SELECT at FROM case_steps")).scalar_one()
    engine.dispose()
    assert row == ("2026-11-24 00:30:00.000000", "2026-11-23 17:15:00.000000", None)
    assert step_at == "2026-11-23 17:15:00.000000"
    assert date.fromisoformat(row[1][:10]) != date(2026, 11, 24)  # the UTC date of a Beijing-morning act is the day before
