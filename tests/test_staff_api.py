"""The staff REST API: tokens and roles, one error model with stable codes and Chinese messages,
OpenAPI, and one single-item case carried through by several people."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from yiyin.service import audit, staff
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.service.web import create_app

from .conftest import run_cli
from .test_cases import PDF
from .test_document_data import SAMPLE

PEOPLE = {
    "api.intake": (["intake"], []),
    "api.accept": (["reviewer"], ["企业登记科"]),
    "api.review": (["reviewer"], ["企业登记科"]),
    "api.lead": (["lead"], ["企业登记科"]),
    "api.window": (["window"], []),
    "api.archive": (["archivist"], []),
    "api.audit": (["auditor"], []),
    "api.custodian": (["custodian"], []),
}


@pytest.fixture(scope="module")
def api(app: App) -> tuple[TestClient, dict[str, dict[str, str]]]:
    headers = {}
    for name, (roles, sections) in PEOPLE.items():
        staff.add_user(app, name, name, roles, sections, None, "test")
        headers[name] = {"Authorization": f"Bearer {staff.new_token(app, name, 'test', 'test')}"}
    return TestClient(create_app(app, rate_limit=(0, 1))), headers


def test_every_call_needs_a_valid_token_and_errors_have_stable_codes(app: App, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get("/api/v1/staff/cases")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated" and "令牌" in r.json()["error"]["message"]
    r = client.get("/api/v1/staff/cases", headers={"Authorization": "Bearer yy_forged"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    last = audit.entries(app, limit=1)[0]
    assert (last["action"], last["outcome"]) == ("api.auth", "refused")

    r = client.get("/api/v1/staff/audit", headers=h["api.intake"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied" and "审计监督" in r.json()["error"]["message"]
    r = client.post("/api/v1/staff/cases", headers=h["api.intake"], json={"applicant": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert any(f["field"].startswith("applicant_code（") and f["message"] == "必须填写" for f in r.json()["error"]["fields"])
    r = client.post("/api/v1/staff/cases", headers=h["api.intake"],
                    json={"applicant": "某公司", "applicant_code": "91210321MA10KX3P1U", "delivery": "post"})
    body = r.json()["error"]
    assert r.status_code == 422 and body["code"] == "invalid_data"
    assert {f["field"] for f in body["fields"]} == {"matter_id", "post_address"}
    r = client.get("/api/v1/staff/cases/999999", headers=h["api.review"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    spec = client.get("/openapi.json").json()
    assert "/api/v1/staff/cases/{case_id}/issue" in spec["paths"]
    assert "ErrorBody" in spec["components"]["schemas"]
    assert "403" in spec["paths"]["/api/v1/staff/cases/{case_id}/accept"]["post"]["responses"]


def test_a_single_item_case_through_the_api(app: App, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    base = "/api/v1/staff"
    r = client.post(f"{base}/cases", headers=h["api.intake"], json={
        "applicant": "台安县康宁大药房有限公司", "applicant_code": "91210321ma10kx3p1u", "item_code": "210321-XK-0101"})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    assert r.json()["ref"].startswith("台审批件〔")

    check = client.post(f"{base}/cases/{case_id}/check", headers=h["api.intake"]).json()
    assert check["missing"] == ["设立登记申请书", "全体股东（发起人）主体资格证明", "法定代表人任职文件及身份证明", "住所使用证明", "公司章程"]
    for name in check["missing"]:
        r = client.post(f"{base}/cases/{case_id}/materials", headers=h["api.intake"], data={"name": name},
                        files={"file": ("m.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
    assert client.post(f"{base}/cases/{case_id}/check", headers=h["api.intake"]).json()["missing"] == []

    r = client.post(f"{base}/cases/{case_id}/accept", headers=h["api.intake"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    assert client.post(f"{base}/cases/{case_id}/accept", headers=h["api.accept"]).status_code == 200
    r = client.post(f"{base}/cases/{case_id}/accept", headers=h["api.accept"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "workflow_conflict"

    case = client.get(f"{base}/cases/{case_id}", headers=h["api.window"]).json()
    item = case["items"][0]
    assert case["status"] == "审批中" and item["deadline"]["due_date"] == case["deadline"]["due_date"]
    listed = client.get(f"{base}/cases", headers=h["api.window"], params={"status": "审批中"}).json()
    assert any(row["id"] == case_id and row["due_date"] and row["deadline_state"] in ("正常", "临期") for row in listed)

    # the acceptor claims and decides: refused by the separation of intake/acceptance and approval
    assert client.post(f"{base}/case-items/{item['id']}/claim", headers=h["api.accept"]).status_code == 200
    data = resolve_dates(copy.deepcopy(SAMPLE["documents"][0]["data"]), date.today())
    data.update(item_name="企业设立、变更、注销登记", acceptance_number=case["ref"], legal_basis=["《中华人民共和国市场主体登记管理条例》"],
                decision_content="准予设立登记。")
    for k in ("licence_name", "valid_from", "valid_until"):
        data.pop(k)
    r = client.put(f"{base}/case-items/{item['id']}/drafts/decision_grant", headers=h["api.accept"], json={"data": {**data, "applicant_code": "123"}})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"].startswith("applicant_code")
    assert client.put(f"{base}/case-items/{item['id']}/drafts/decision_grant", headers=h["api.accept"], json={"data": data}).status_code == 200
    r = client.post(f"{base}/case-items/{item['id']}/decision", headers=h["api.accept"], json={"decision": "准予"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "separation_of_duties"

    r = client.post(f"{base}/drafts/preview", headers=h["api.review"], json={"doc_type": "decision_grant", "data": data})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get(f"{base}/document-types/decision_grant/schema", headers=h["api.review"])
    assert r.json()["properties"]["applicant"]["title"] == "申请人"


def test_audit_check_command_names_the_changed_entry(app: App, home: Path, tmp_path: Path) -> None:
    from yiyin.service import transparency

    with app.db.transaction() as s:
        for _ in range(2):
            audit.record(s, "cli.audit", "test.act", "check command")
    text = audit.export(app)
    key = transparency.verifier(app)
    count = len(text.splitlines()) - 1
    exported = tmp_path / "audit.jsonl"
    exported.write_text(text, "utf-8")
    ok = run_cli("audit", "check", str(exported), "--key", key, home=home)
    assert ok.returncode == 0 and ok.stdout == f"共 {count} 条 entries：完好 intact\n", ok.stdout + ok.stderr
    own_key = run_cli("audit", "check", str(exported), home=home)
    assert own_key.returncode == 0 and "注意 note：未给出 --key" in own_key.stdout, own_key.stdout
    lines = text.splitlines()
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join([lines[0], lines[1].replace('"actor": "', '"actor": "x', 1), *lines[2:]]), "utf-8")
    bad = run_cli("audit", "check", str(changed), "--key", key, home=home)
    assert bad.returncode == 1 and bad.stdout.startswith("问题 PROBLEM 审计记录 #0（现记为 x"), bad.stdout
    assert bad.stdout.endswith(f"共 {count} 条 entries：1 个问题 problem(s)\n"), bad.stdout


def test_auditor_exports_and_checks_the_trail_and_custodian_lists_seals(app: App, api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get("/api/v1/staff/audit/export", headers=h["api.audit"])
    assert r.status_code == 200
    assert audit.check_export(r.text).ok
    lines = r.text.splitlines()
    first = lines[1]
    assert '"actor": "' in first
    tampered = "\n".join([lines[0], first.replace('"actor": "', '"actor": "x', 1), *lines[2:]])
    report = audit.check_export(tampered)
    assert not report.ok and report.problems[0].startswith("审计记录 #0（现记为 x") and "写入后被改动" in report.problems[0]
    deleted = audit.check_export("\n".join([lines[0], *lines[2:]]))  # an entry deleted
    assert not deleted.ok and "审计记录 #0 缺失（该位置上是 #1）：有记录被删除或调换了顺序" in deleted.problems, deleted.problems
    assert client.get("/api/v1/staff/audit/check", headers=h["api.audit"]).json()["ok"] is True
    seals = client.get("/api/v1/staff/seals", headers=h["api.custodian"]).json()
    assert any(s["purpose"] == "行政审批专用章" and s["organ"] == "台安县行政审批局" for s in seals)


def test_batch_reissue_through_the_api(app: App, api) -> None:  # type: ignore[no-untyped-def]
    import time

    client, h = api
    staff.add_user(app, "api.batchlead", "api.batchlead", ["lead"], ["医药器械审批科"], None, "test")
    lead = {"Authorization": f"Bearer {staff.new_token(app, 'api.batchlead', 'test', 'test')}"}
    body = {"doc_type": "licence_drug_retail", "changes": {"complaint_phone": "12345"}, "reason": "投诉电话并号",
            "basis": "《关于12315热线归并12345的通知》", "limit": 2}
    r = client.post("/api/v1/staff/batches/reissue", headers=h["api.window"], json=body)
    assert r.status_code == 403
    r = client.post("/api/v1/staff/batches/reissue", headers=lead, json={**body, "changes": {"nope": 1}})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "nope"
    from .test_batch import licence_tasks, numbers_of, run_in_process
    from yiyin.service import batch

    seed = batch.create_job(app, "test", "issue", "api seed", licence_tasks(2, "API"))
    run_in_process(app, seed)
    r = client.post("/api/v1/staff/batches/reissue", headers=lead, json={**body, "numbers": numbers_of(app, seed)})
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    for _ in range(600):
        p = client.get(f"/api/v1/staff/batches/{job}", headers=h["api.window"]).json()
        if p["status"] == "finished":
            break
        time.sleep(0.1)
    assert (p["status"], p["done"], p["failed"]) == ("finished", 2, 0)


def test_page_login_session_cookie_csrf_and_guessing(app: App) -> None:
    import re

    staff.add_user(app, "page.window", "钱窗口", ["window"], [], "window password 1", "test")
    client = TestClient(create_app(app, rate_limit=(0, 1)))
    assert client.get("/staff/cases", follow_redirects=False).headers["location"].startswith("/staff/login")

    def login(password: str, csrf: str | None = None):  # type: ignore[no-untyped-def]
        page = client.get("/staff/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return client.post("/staff/login", data={"csrf": csrf if csrf is not None else token, "username": "page.window",
                                                 "password": password, "next": "/staff/cases"}, follow_redirects=False)

    assert login("window password 1", csrf="forged").status_code == 403
    r = login("wrong password")
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    assert audit.entries(app, limit=1)[0]["action"] == "login" and audit.entries(app, limit=1)[0]["outcome"] == "refused"
    r = login("window password 1")
    assert r.status_code == 303 and r.headers["location"] == "/staff/cases"
    cookie = r.headers["set-cookie"]
    assert "yiyin_staff=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/staff/cases").status_code == 200

    # a form posted without the session's CSRF token is refused and audited
    r = client.post("/staff/cases/1/archive", data={"csrf": "guess"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert audit.entries(app, limit=1)[0]["action"] == "page.csrf"
    # the seal list is the custodian's
    assert client.get("/staff/seals").status_code == 403

    guesser = TestClient(create_app(app, rate_limit=(0, 1)))
    statuses = []
    for _ in range(12):
        page = guesser.get("/staff/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        statuses.append(guesser.post("/staff/login", data={"csrf": token, "username": "page.window", "password": "guess"},
                                     follow_redirects=False).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


def test_draft_form_from_the_schema_previews_and_saves(app: App) -> None:
    import io
    import re

    from pypdf import PdfReader

    from yiyin.service import cases

    from .test_cases import ACCEPTOR, INTAKE, PDF, person

    staff.add_user(app, "page.drug", "孙药", ["reviewer"], ["医药器械审批科"], "drug password 1", "test")
    case_id = cases.open_case(app, INTAKE, cases.Application(applicant="台安县百姓大药房有限公司", applicant_code="91210321MA10KX3P1U",
                                                             matter_id="kaiban-yaodian"))
    for m in cases.case_detail(app, case_id)["required_materials"]:
        cases.add_material(app, INTAKE, case_id, m["name"], "m.pdf", PDF)
    cases.check_completeness(app, INTAKE, case_id)
    cases.accept(app, ACCEPTOR, case_id)
    item = next(i for i in cases.case_detail(app, case_id)["items"] if i["code"] == "210321-XK-0412")
    cases.claim(app, person("page.drug", "reviewer", sections=("医药器械审批科",)), item["id"])

    client = TestClient(create_app(app, rate_limit=(0, 1)))
    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/staff/login", data={"csrf": token, "username": "page.drug", "password": "drug password 1"})
    form = client.get(f"/staff/items/{item['id']}/drafts/decision_grant")
    assert form.status_code == 200 and "准予行政许可决定书（草稿）" in form.text
    assert 'name="legal_basis"' in form.text and 'name="application_date" value="' in form.text and "台安县百姓大药房有限公司" in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    data = {"csrf": csrf, "applicant": "台安县百姓大药房有限公司", "applicant_code": "91210321MA10KX3P1U",
            "application_date": "2026-11-20", "acceptance_number": "台审批受〔2026〕0001号", "item_name": "药品零售企业许可",
            "legal_basis": "《中华人民共和国药品管理法》第五十二条\n《药品经营和使用质量监督管理办法》第二十条",
            "decision_content": "准予你单位从事药品零售经营。"}
    preview = client.post(f"/staff/items/{item['id']}/drafts/decision_grant", data={**data, "preview": "1"})
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(preview.content)).pages)
    assert "草稿" in text and "准予你单位从事药品零售经营" in text
    bad = client.post(f"/staff/items/{item['id']}/drafts/decision_grant", data={**data, "application_date": "2026-13-40"})
    assert bad.status_code == 422 and "application_date" in bad.text
    saved = client.post(f"/staff/items/{item['id']}/drafts/decision_grant", data=data, follow_redirects=False)
    assert saved.status_code == 303
    assert cases.prefill(app, item["id"], "decision_grant")["legal_basis"] == [
        "《中华人民共和国药品管理法》第五十二条", "《药品经营和使用质量监督管理办法》第二十条"]


def test_an_address_whose_tokens_keep_failing_is_refused_before_its_token_is_checked(app: App, api) -> None:  # type: ignore[no-untyped-def]
    _, h = api
    service = create_app(app, rate_limit=(0, 1))  # its own count of failures
    guesser = TestClient(service, client=("203.0.113.5", 40000))
    colleague = TestClient(service, client=("198.51.100.8", 40000))
    before = len(audit.entries(app))
    for n in range(staff.AUTH_ATTEMPTS):
        r = guesser.get("/api/v1/staff/me", headers={"Authorization": f"Bearer yy_guess{n}"})
        assert r.status_code == 401, (n, r.text)
    assert len(audit.entries(app)) == before + staff.AUTH_ATTEMPTS  # each failure audited
    for headers in ({"Authorization": "Bearer yy_guess-more"}, h["api.intake"]):  # even a good token now
        r = guesser.get("/api/v1/staff/me", headers=headers)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited", r.text
        assert int(r.headers["retry-after"]) > 0 and "秒后再试" in r.json()["error"]["message"]
    assert len(audit.entries(app)) == before + staff.AUTH_ATTEMPTS  # the refused flood writes nothing
    assert colleague.get("/api/v1/staff/me", headers=h["api.intake"]).json()["username"] == "api.intake"


def test_a_token_bucket_can_be_asked_without_spending() -> None:
    from yiyin.service.ratelimit import TokenBucket

    now = [0.0]
    bucket = TokenBucket(2, 10.0, clock=lambda: now[0])
    assert bucket.available("a") and bucket.allow("a") and bucket.allow("a")
    assert not bucket.available("a") and bucket.available("a") is bucket.allow("a") is False
    now[0] = 5.0  # one token back
    assert bucket.available("a") and bucket.available("a") and bucket.allow("a") and not bucket.available("a")
