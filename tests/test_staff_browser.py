"""The staff pages in headless chromium against `yiyin serve`: log in, the case list with its
deadlines, a case, the draft form generated from the licence's schema (with its errors), intake,
and the seal custodian's list. Set YIYIN_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import copy
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from yiyin.service import cases, staff
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates

from .cdp import Chromium
from .test_cases import DRUG, PDF, REG, person, to_decision_ready
from .test_document_data import SAMPLE
from .test_web_browser import _chromium, server  # noqa: F401  (the `yiyin serve` fixture)

PASSWORD = "correct horse battery"
USERS = {"web.intake": (["intake"], []), "web.accept": (["reviewer"], ["企业登记科"]),
         "web.drug": (["reviewer"], ["医药器械审批科"]), "web.custodian": (["custodian"], []),
         "web.lead": (["lead"], ["企业登记科"])}
NAMES = {"web.intake": "张敏", "web.accept": "李强", "web.drug": "王芳", "web.custodian": "赵刚", "web.lead": "周磊"}


def _keep(path: Path) -> None:
    if os.environ.get("YIYIN_SCREENSHOTS"):
        keep = Path(os.environ["YIYIN_SCREENSHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep / path.name)


def _case_under_review(app: App) -> int:
    intake, acceptor, drug = person("web.intake", "intake"), person("web.accept", "reviewer", sections=("企业登记科",)), \
        person("web.drug", "reviewer", sections=("医药器械审批科",))
    case_id = cases.open_case(app, intake, cases.Application(
        applicant="台安县仁和堂大药房有限公司", applicant_code="91210321MA10KX3P1U", matter_id="kaiban-yaodian",
        contact="刘建华", phone="13904120000"))
    for m in cases.case_detail(app, case_id)["required_materials"]:
        cases.add_material(app, intake, case_id, m["name"], f"{m['name']}.pdf", PDF)
    cases.check_completeness(app, intake, case_id)
    cases.accept(app, acceptor, case_id)
    for item in cases.case_detail(app, case_id)["items"]:
        if item["section"] == "医药器械审批科":
            cases.claim(app, drug, item["id"])
    # a second case, still missing materials
    other = cases.open_case(app, intake, cases.Application(applicant="鞍山市顺达旅行社有限公司", applicant_code="91210321MA10KX3P1U",
                                                           matter_id="kaiban-lvxingshe"))
    cases.check_completeness(app, intake, other)
    return case_id


@pytest.mark.slow
def test_staff_pages_in_headless_chromium(app: App, server: str, tmp_path: Path) -> None:  # noqa: F811
    for name, (roles, sections) in USERS.items():
        staff.add_user(app, name, NAMES[name], roles, sections, PASSWORD, "test")
    case_id = _case_under_review(app)
    browser = Chromium(_chromium(), tmp_path / "profile")
    shot = lambda name, full=True: _keep(browser.screenshot(tmp_path / f"staff-{name}.png", full))  # noqa: E731
    try:
        url = browser.open(f"{server}/staff/cases")
        assert url.startswith(f"{server}/staff/login")
        shot("login", full=False)
        url = browser.submit("form[action='/staff/login']", {"username": "web.drug", "password": "wrong password!"})
        assert "用户名或密码不正确" in browser.text()
        url = browser.submit("form[action='/staff/login']", {"username": "web.drug", "password": PASSWORD})
        assert url.endswith("/staff/cases")
        text = browser.text()
        case = cases.case_detail(app, case_id)
        assert case["ref"] in text and "开办药店" in text and case["deadline"]["due_date"] in text and "补正" in text
        shot("case-list")

        browser.open(f"{server}/staff/cases/{case_id}")
        text = browser.text()
        for expected in ("药品零售企业许可", "医药器械审批科", "审查中", "办理过程", "受理", "✔ 药品经营许可证申请表",
                         "起草药品经营许可证", "剩 10 个工作日"):
            assert expected in text, expected
        shot("case")

        drug_item = next(i for i in case["items"] if i["code"] == "210321-XK-0412")
        browser.open(f"{server}/staff/items/{drug_item['id']}/drafts/licence_drug_retail")
        html = browser.html()
        assert "药品经营许可证（草稿）" in browser.text() and 'name="business_scope"' in html and 'type="date"' in html
        shot("draft-form")
        licence = resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date.today())
        fields = {k: ("\n".join(v) if isinstance(v, list) else v) for k, v in licence.items()}
        browser.submit("form.grid", {**fields, "uscc": "91210321MA10KX3P1X"}, "button:not([name])")
        assert "uscc（统一社会信用代码）" in browser.text() and "GB 32100" in browser.text()
        shot("draft-errors")
        url = browser.submit("form.grid", fields, "button:not([name])")
        assert url.endswith(f"/staff/cases/{case_id}?done=draft") and "已完成：起草文书" in browser.text()
        assert "修改药品经营许可证" in browser.text()

        browser.submit("form[action='/staff/logout']", {})
        browser.open(f"{server}/staff/login")
        browser.submit("form[action='/staff/login']", {"username": "web.intake", "password": PASSWORD})
        browser.open(f"{server}/staff/cases/new")
        shot("intake-form", full=False)
        url = browser.submit("form[action='/staff/cases/new']", {
            "choice": "matter:fangdichan-kaifa|工程建设许可阶段", "applicant": "台安县恒基房地产开发有限公司",
            "applicant_code": "91210321MA10KX3P1U", "contact": "孙立", "phone": "13804121111"})
        text = browser.text()
        assert "/staff/cases/" in url and "房地产开发项目（工程建设许可阶段）" in text and "规划审批科" in text
        assert "应建防空地下室的民用建筑项目报建审批" in text and "收件" in text
        shot("intake-new-case")

        # the lead section issues every document of a decided case in one act
        decided = to_decision_ready(app)
        for ci in decided["items"]:
            cases.decide(app, REG if ci["section"] == "企业登记科" else DRUG, ci["id"], "准予")
        browser.submit("form[action='/staff/logout']", {})
        browser.open(f"{server}/staff/login")
        browser.submit("form[action='/staff/login']", {"username": "web.lead", "password": PASSWORD})
        browser.open(f"{server}/staff/cases/{decided['id']}")
        assert "待发证" in browser.text() and "签发全部文书" in browser.text()
        url = browser.submit(f"form[action='/staff/cases/{decided['id']}/issue']", {})
        assert url.endswith("?done=issue") and "待送达" in browser.text()
        issued = cases.case_detail(app, decided["id"])["documents"]
        assert len([d for d in issued if d["doc_type"] in ("decision_grant", "licence_drug_retail")]) == 5
        assert all(d["number"] in browser.text() for d in issued) and "受理通知书" in browser.text()
        shot("case-issued")

        browser.submit("form[action='/staff/logout']", {})
        browser.open(f"{server}/staff/login")
        browser.submit("form[action='/staff/login']", {"username": "web.custodian", "password": PASSWORD})
        browser.open(f"{server}/staff/seals")
        assert "台安县行政审批局" in browser.text() and "行政审批专用章" in browser.text() and "在用" in browser.text()
        shot("seals", full=False)
    finally:
        browser.close()
