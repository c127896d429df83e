"""不予受理: an application the bureau may not accept is refused through the staff API with a sealed
不予受理通知书 that gives the grounds, the reasons and the applicant's remedies, recorded on the case."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from yiyin.service import staff
from yiyin.service.app import App
from yiyin.service.web import create_app

from .test_web_browser import server  # noqa: F401  (the `yiyin serve` fixture)

BASE = "/api/v1/staff"
NOT_OURS = {"grounds": "不属于本机关职权范围",
            "reasons": "你申请的药品批发企业许可由省级药品监督管理部门实施，不属于本机关的职权范围。",
            "competent_body": "辽宁省药品监督管理局"}


@pytest.fixture(scope="module")
def api(app: App) -> tuple[TestClient, dict[str, dict[str, str]]]:
    headers = {}
    for name, roles, sections in (("ref.intake", ["intake"], []), ("ref.drug", ["reviewer"], ["医药器械审批科"]),
                                  ("ref.archive", ["archivist"], [])):
        staff.add_user(app, name, name, roles, sections, None, "test")
        headers[name] = {"Authorization": f"Bearer {staff.new_token(app, name, 'test', 'test')}"}
    return TestClient(create_app(app, rate_limit=(0, 1))), headers


def open_case(client: TestClient, h: dict[str, dict[str, str]]) -> int:
    r = client.post(f"{BASE}/cases", headers=h["ref.intake"], json={
        "applicant": "王建华", "applicant_code": "210321198503140624", "item_code": "210321-XK-0412"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\n", "").replace(" ", "")


def test_an_application_outside_the_bureaus_remit_gets_a_sealed_rejection_notice(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    case_id = open_case(client, h)

    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.drug"], json=NOT_OURS)
    assert r.status_code == 200, r.text
    number = r.json()["notice"]
    assert number.startswith("台审批不受〔")

    case = client.get(f"{BASE}/cases/{case_id}", headers=h["ref.archive"]).json()
    assert case["status"] == "不予受理" and {i["status"] for i in case["items"]} == {"不予受理"}
    refusal = next(st for st in case["steps"] if st["action"] == "refuse")
    assert refusal["actor"] == "ref.drug" and refusal["detail"]["grounds"] == "不属于本机关职权范围"
    assert refusal["detail"]["competent_body"] == "辽宁省药品监督管理局"
    paper = next(st for st in case["steps"] if st["action"] == "paper")
    assert paper["detail"]["number"] == number and paper["detail"]["title"] == "不予受理通知书"
    notice = next(d for d in case["documents"] if d["number"] == number)

    pdf = client.get(f"{BASE}/documents/{notice['id']}/pdf", headers=h["ref.archive"]).content
    text = pdf_text(pdf)
    for expected in ("不予受理通知书", number, "王建华", "不属于本机关的职权范围", "第三十二条第一款第（二）项",
                     "请你（单位）向辽宁省药品监督管理局申请", "六十日内向台安县人民政府申请行政复议",
                     "六个月内直接向鞍山市铁东区人民法院提起行政诉讼"):
        assert expected in text, expected
    # whoever receives it can check it: sealed by the bureau, unchanged, in the registry
    checked = client.post("/api/v1/verify/pdf", files={"file": ("notice.pdf", pdf, "application/pdf")}).json()
    assert checked["result"] == "checked" and checked["valid"] is True, checked

    # a refused case is closed: it can be archived, not accepted
    r = client.post(f"{BASE}/cases/{case_id}/accept", headers=h["ref.drug"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "workflow_conflict"
    assert client.post(f"{BASE}/cases/{case_id}/archive", headers=h["ref.archive"]).status_code == 200


def test_a_refusal_needs_its_grounds_reasons_and_the_right_person(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    case_id = open_case(client, h)

    # the window clerk does not decide on acceptance
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.intake"], json=NOT_OURS)
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    # not ours, but not saying where to apply instead (行政许可法 第三十二条第一款第（二）项)
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.drug"], json={**NOT_OURS, "competent_body": ""})
    body = r.json()["error"]
    assert r.status_code == 422 and body["code"] == "invalid_data"
    assert body["fields"][0]["field"] == "competent_body（应当向其申请的行政机关）" and "请填写该机关" in body["message"]
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.drug"], json={**NOT_OURS, "reasons": " "})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reasons"
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.drug"], json={**NOT_OURS, "grounds": "材料不齐"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "grounds（不予受理的情形）"
    # nothing of this changed the case
    case = client.get(f"{BASE}/cases/{case_id}", headers=h["ref.drug"]).json()
    assert case["status"] == "收件" and not any(st["action"] in ("refuse", "paper") for st in case["steps"])

    # false materials for a matter of public health: refused, and barred for a year (第七十八条)
    r = client.post(f"{BASE}/cases/{case_id}/refuse", headers=h["ref.drug"], json={
        "grounds": "隐瞒有关情况或者提供虚假材料", "reasons": "你提交的执业药师注册证经核查系伪造。", "one_year_bar": True})
    assert r.status_code == 200, r.text
    case = client.get(f"{BASE}/cases/{case_id}", headers=h["ref.drug"]).json()
    notice = next(d for d in case["documents"] if d["number"] == r.json()["notice"])
    text = pdf_text(client.get(f"{BASE}/documents/{notice['id']}/pdf", headers=h["ref.drug"]).content)
    assert "第七十八条" in text and "一年内不得再次申请该行政许可" in text and "系伪造" in text


@pytest.mark.slow
def test_refusing_from_the_case_page_in_headless_chromium(app: App, server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from .cdp import Chromium
    from .test_staff_browser import _keep
    from .test_web_browser import _chromium

    password = "correct horse battery"
    staff.add_user(app, "ref.page", "陈审批", ["reviewer"], ["医药器械审批科"], password, "test")
    intake = staff.Principal("ref.intake2", "ref.intake2", frozenset({"intake"}), frozenset())
    from yiyin.service import cases

    case_id = cases.open_case(app, intake, cases.Application(applicant="王建华", applicant_code="210321198503140624",
                                                             item_code="210321-XK-0412"))
    browser = Chromium(_chromium(), tmp_path / "profile")
    try:
        browser.open(f"{server}/staff/login")
        browser.submit("form[action='/staff/login']", {"username": "ref.page", "password": password})
        browser.open(f"{server}/staff/cases/{case_id}")
        browser.js("document.querySelector('details.refuse').open = true")
        _keep(browser.screenshot(tmp_path / "staff-refuse-form.png", True))
        form = f"form[action='/staff/cases/{case_id}/refuse']"
        browser.submit(form, {"grounds": "不属于本机关职权范围", "reasons": NOT_OURS["reasons"]})
        assert "competent_body（应当向其申请的行政机关）" in browser.text() and "请填写该机关" in browser.text()
        browser.open(f"{server}/staff/cases/{case_id}")
        url = browser.submit(form, {"grounds": "不属于本机关职权范围", "reasons": NOT_OURS["reasons"],
                                    "competent_body": NOT_OURS["competent_body"]})
        text = browser.text()
        assert url.endswith("?done=refuse") and "不予受理" in text and "辽宁省药品监督管理局" in text
        assert "不予受理通知书 台审批不受〔" in text
        _keep(browser.screenshot(tmp_path / "staff-refused-case.png", True))
    finally:
        browser.close()
