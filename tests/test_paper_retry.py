"""补出具: a case paper that could not be sealed when its step was taken (the seal's key was
unreachable) is recorded as not issued, with the data it was to carry; once the fault is
cleared, staff issue it from the case page or the API, once, by the role that takes that step."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from yiyin.config import Settings
from yiyin.registry.models import Seal
from yiyin.service import audit, staff
from yiyin.service.app import App
from yiyin.service.web import create_app

BASE = "/api/v1/staff"
NOT_OURS = {"grounds": "不属于本机关职权范围",
            "reasons": "你申请的药品批发企业许可由省级药品监督管理部门实施，不属于本机关的职权范围。",
            "competent_body": "辽宁省药品监督管理局"}


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[tuple[App, TestClient, dict[str, dict[str, str]], Path]]:
    """A data directory of its own whose bureau seal's key file is moved away before anything is sealed."""
    app = App.open(Settings.from_env({"YIYIN_HOME": str(tmp_path / "home")}))
    headers = {}
    for name, roles, sections in (("r.intake", ["intake"], []), ("r.drug", ["reviewer"], ["医药器械审批科"]),
                                  ("r.other", ["reviewer"], ["社会事务审批科"])):
        staff.add_user(app, name, name, roles, sections, "password of " + name, "test")
        headers[name] = {"Authorization": f"Bearer {staff.new_token(app, name, 'test', 'test')}"}
    with app.db.session() as s:
        location = s.execute(select(Seal.key_location).where(Seal.organ_id == app.bureau_id, Seal.purpose == "行政审批专用章",
                                                              Seal.revoked_at.is_(None))).scalar_one()
    key = app.settings.home / location.removeprefix("pkcs12:")
    aside = tmp_path / "aside"
    aside.mkdir()
    shutil.move(key, aside / key.name)
    try:
        yield app, TestClient(create_app(app, rate_limit=(0, 1))), headers, key
    finally:
        app.close()


def restore(key: Path) -> None:
    shutil.move(key.parents[2].parent / "aside" / key.name, key)


def test_a_notice_that_could_not_be_sealed_is_issued_later_once(fresh) -> None:  # type: ignore[no-untyped-def]
    app, client, h, key = fresh
    r = client.post(f"{BASE}/cases", headers=h["r.intake"], json={
        "applicant": "王建华", "applicant_code": "210321198503140624", "item_code": "210321-XK-0412"})
    case_id = r.json()["id"]

    # the refusal stands; its notice could not be sealed, and the case says so
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["r.drug"], json=NOT_OURS)
    assert r.status_code == 200 and r.json()["notice"] is None
    case = client.get(f"{BASE}/cases/{case_id}", headers=h["r.drug"]).json()
    assert case["status"] == "不予受理" and not case["documents"]
    [failed] = case["failed_papers"]
    assert failed["title"] == "不予受理通知书" and key.name in failed["error"]
    assert "data" not in next(st for st in case["steps"] if st["action"] == "paper_failed")["detail"]
    url = f"{BASE}/cases/{case_id}/papers/{failed['step_id']}/retry"

    # still broken: refused and audited, and the paper stays to be issued
    r = client.post(url, headers=h["r.drug"])
    assert r.status_code >= 400 and key.name in r.json()["error"]["message"]
    assert audit.entries(app, limit=1)[0]["action"] == "case.paper_retry"
    assert audit.entries(app, limit=1)[0]["outcome"] == "refused"
    assert len(client.get(f"{BASE}/cases/{case_id}", headers=h["r.drug"]).json()["failed_papers"]) == 1

    restore(key)
    # the intake clerk does not refuse applications, nor does a reviewer of another section
    for who in ("r.intake", "r.other"):
        r = client.post(url, headers=h[who])
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied", r.text

    r = client.post(url, headers=h["r.drug"])
    assert r.status_code == 200, r.text
    number = r.json()["number"]
    assert number.startswith("台审批不受〔")
    case = client.get(f"{BASE}/cases/{case_id}", headers=h["r.drug"]).json()
    assert case["failed_papers"] == [] and [d["number"] for d in case["documents"]] == [number]
    paper = next(st for st in case["steps"] if st["action"] == "paper")
    assert paper["detail"]["retry_of"] == failed["step_id"] and paper["actor"] == "r.drug"

    # the notice carries what the refusal said, and whoever receives it can check it
    pdf = client.get(f"{BASE}/documents/{case['documents'][0]['id']}/pdf", headers=h["r.drug"]).content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "").replace(" ", "")
    assert "王建华" in text and "不属于本机关的职权范围" in text and number in text
    checked = client.post("/api/v1/verify/pdf", files={"file": ("notice.pdf", pdf, "application/pdf")}).json()
    assert checked["valid"] is True

    # once only
    r = client.post(url, headers=h["r.drug"])
    assert r.status_code == 409 and "已补出具" in r.json()["error"]["message"]


def test_the_case_page_offers_the_paper_and_issues_it(fresh) -> None:  # type: ignore[no-untyped-def]
    app, client, h, key = fresh
    case_id = client.post(f"{BASE}/cases", headers=h["r.intake"], json={
        "applicant": "王建华", "applicant_code": "210321198503140624", "item_code": "210321-XK-0412"}).json()["id"]
    client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["r.drug"], json=NOT_OURS)
    restore(key)

    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/staff/login", data={"csrf": token, "username": "r.drug", "password": "password of r.drug"})
    page = client.get(f"/staff/cases/{case_id}")
    assert "不予受理通知书未能出具" in page.text and "补出具不予受理通知书" in page.text
    form = re.search(r'action="/staff/cases/\d+/retry-paper".*?name="csrf" value="([^"]+)".*?name="step" value="(\d+)"',
                     page.text, re.S)
    assert form is not None
    r = client.post(f"/staff/cases/{case_id}/retry-paper", data={"csrf": form.group(1), "step": form.group(2)})
    assert r.status_code == 200 and "已完成：出具文书" in r.text  # followed the redirect back to the case
    assert "补出具不予受理通知书" not in r.text and "台审批不受〔" in r.text
