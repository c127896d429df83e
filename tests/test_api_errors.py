"""Every error of the HTTP APIs has a stable code and a Chinese message a clerk can act on, naming
the field and the rule where there is one; the API description documents the model and the codes."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from yiyin import errors
from yiyin.service import staff
from yiyin.service.app import App
from yiyin.service.web import create_app
from yiyin.templates.codes import make_uscc

HAN = re.compile(r"[\u4e00-\u9fff]")
# what pydantic, FastAPI and Starlette say when nobody translated them
UNTRANSLATED = ("Field required", "Input should", "Not Found", "Method Not Allowed", "value is not", "must be", "Extra inputs")


def clerk_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error body, after checking what a clerk and a client rely on."""
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code, body
    assert HAN.search(body["message"]), body["message"]
    assert not any(phrase in body["message"] for phrase in UNTRANSLATED), body["message"]
    for f in body["fields"]:
        assert f["field"] and f["rule"] and HAN.search(f["message"]), f
    return body


@pytest.fixture(scope="module")
def client(app: App) -> tuple[TestClient, dict[str, dict[str, str]]]:
    tokens = {}
    for name, roles, sections in (("err.intake", ["intake"], []), ("err.accept", ["reviewer"], ["企业登记科"])):
        staff.add_user(app, name, name, roles, sections, None, "test")
        tokens[name] = {"Authorization": f"Bearer {staff.new_token(app, name, 'test', 'test')}"}
    return TestClient(create_app(app, rate_limit=(0, 1))), tokens


def test_authentication_roles_and_missing_things(client) -> None:  # type: ignore[no-untyped-def]
    c, h = client
    body = clerk_error(c.get("/api/v1/staff/me"), 401, "unauthenticated")
    assert "Authorization: Bearer" in body["message"]
    r = c.get("/api/v1/staff/me", headers={"Authorization": "Bearer yy_not_a_token"})
    clerk_error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    clerk_error(c.get("/api/v1/staff/users", headers=h["err.intake"]), 403, "permission_denied")
    body = clerk_error(c.get("/api/v1/staff/cases/987654", headers=h["err.intake"]), 404, "not_found")
    assert "987654" in body["message"]
    body = clerk_error(c.get("/api/v1/staff/casez", headers=h["err.intake"]), 404, "unknown_endpoint")
    assert "/api/v1/staff/casez" in body["message"]
    clerk_error(c.delete("/api/v1/staff/cases", headers=h["err.intake"]), 405, "method_not_allowed")


def test_request_shape_errors_name_the_field_by_its_title(client) -> None:  # type: ignore[no-untyped-def]
    c, h = client
    r = c.post("/api/v1/staff/cases", headers=h["err.intake"], json={"applicant": "某公司", "delivery": "传真"})
    body = clerk_error(r, 422, "invalid_request")
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["applicant_code（统一社会信用代码或身份证号码）"]["rule"] == "missing"
    assert fields["delivery（送达方式）"]["message"] == "须为以下之一：“window”、“post”"
    assert "字段 applicant_code（统一社会信用代码或身份证号码）：必须填写" in body["message"]

    r = c.get("/api/v1/staff/audit", headers=h["err.intake"], params={"limit": "很多"})
    body = clerk_error(r, 422, "invalid_request")
    assert body["fields"] == [{"field": "limit（查询参数）", "rule": "int_parsing", "message": "须为整数"}]

    r = c.post("/api/v1/staff/cases", headers={**h["err.intake"], "content-type": "application/json"}, content=b'{"applicant": ')
    assert clerk_error(r, 422, "invalid_request")["fields"][0]["rule"] == "json_invalid"


def test_data_errors_say_which_rule_in_chinese(client) -> None:  # type: ignore[no-untyped-def]
    c, h = client
    # a wrong check character in the credit code is caught at intake, before any paper carries it
    r = c.post("/api/v1/staff/cases", headers=h["err.intake"],
               json={"applicant": "某公司", "applicant_code": "91210321MA10KX3P1X", "item_code": "210321-XK-0101"})
    body = clerk_error(r, 422, "invalid_data")
    assert body["fields"][0]["field"] == "applicant_code" and body["fields"][0]["rule"] == "check_code"
    assert "统一社会信用代码校验码错误" in body["message"] and "应为“U”" in body["message"]

    # an item that is not in the catalogue
    r = c.post("/api/v1/staff/cases", headers=h["err.intake"],
               json={"applicant": "某公司", "applicant_code": "91210321MA10KX3P1U", "item_code": "210321-XK-9999"})
    assert "210321-XK-9999" in clerk_error(r, 404, "not_found")["message"]

    # a document's data against its type's schema: every field by its Chinese title
    r = c.put("/api/v1/staff/case-items/1/drafts/licence_drug_retail", headers=h["err.accept"],
              json={"data": {"uscc": "91210321MA10KX3P1X", "business_mode": "批发", "colour": "红"}})
    body = clerk_error(r, 422, "invalid_data")
    by_field = {f["field"].split("（")[0]: f for f in body["fields"]}
    assert by_field["uscc"]["field"] == "uscc（统一社会信用代码）" and "校验码错误" in by_field["uscc"]["message"]
    assert by_field["business_mode"]["rule"] == "literal_error" and by_field["business_mode"]["message"].startswith("须为以下之一：")
    assert by_field["colour"]["message"].startswith("不是此处可填写的字段")
    assert by_field["quality_manager"]["message"] == "必须填写"

    r = c.get("/api/v1/staff/document-types/licence_unknown/schema", headers=h["err.accept"])
    assert "没有文书类型“licence_unknown”" in clerk_error(r, 422, "invalid_data")["message"]


def test_workflow_conflicts_and_separation(client, app: App) -> None:  # type: ignore[no-untyped-def]
    c, h = client
    r = c.post("/api/v1/staff/cases", headers=h["err.intake"],
               json={"applicant": "台安县顺心便利店", "applicant_code": make_uscc("92", "210321", "MA0QK7R2"), "item_code": "210321-XK-0101"})
    case_id = r.json()["id"]
    body = clerk_error(c.post(f"/api/v1/staff/cases/{case_id}/accept", headers=h["err.accept"]), 409, "workflow_conflict")
    assert "收件" in body["message"] and "待受理" in body["message"]
    body = clerk_error(c.post(f"/api/v1/staff/cases/{case_id}/check", headers=h["err.accept"]), 403, "permission_denied")
    assert "窗口接件" in body["message"]


def test_public_and_log_errors(app: App) -> None:
    c = TestClient(create_app(app, rate_limit=(2, 3600)))
    clerk_error(c.get("/api/v1/verify", params={"n": "辽EA0321", "c": "12"}), 400, "invalid_code")
    clerk_error(c.get("/api/v1/verify", params={"n": "辽EA0321", "c": "0000-0000-0000-0000"}), 404, "not_found")
    r = c.get("/api/v1/verify", params={"n": "辽EA0321", "c": "0000-0000-0000-0000"})
    clerk_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1

    body = clerk_error(c.get("/api/v1/log/inclusion", params={"index": 5, "size": 2}), 422, "invalid_request")
    assert body["fields"][0]["field"] == "index（查询参数）"
    clerk_error(c.get("/api/v1/log/inclusion", params={"index": "x", "size": 2}), 422, "invalid_request")
    clerk_error(c.get("/api/v1/log/bundle", params={"sha256": "ab" * 32}), 404, "not_found")
    beyond = clerk_error(c.get("/api/v1/log/inclusion", params={"index": 0, "size": 10**6}), 404, "not_found")
    assert re.search(r"默克尔树目前只纳入了 \d+ 个日志条目，没有大小为 1000000 的树", beyond["message"]), beyond
    beyond = clerk_error(c.get("/api/v1/log/consistency", params={"old": 1, "new": 10**6}), 404, "not_found")
    assert "没有大小为 1000000 的树" in beyond["message"], beyond
    tile = c.get(f"/log/{app.bureau_id}/tile/0/x999/000")
    assert tile.status_code == 404 and re.fullmatch(r"宽度为 256 的瓦片（tile）0/999000 超出了已纳入默克尔树的 \d+ 个条目\n", tile.text)
    tile = c.get(f"/log/{app.bureau_id}/tile/0/0001")
    assert tile.status_code == 404 and tile.text == "'tile/0/0001' 不是 C2SP tlog-tiles 路径\n", tile.text
    assert "revocation（撤销）" in clerk_error(c.get("/status/1/withdrawn"), 404, "not_found")["message"]


def test_the_api_description_documents_the_error_model_and_every_code(app: App) -> None:
    spec = TestClient(create_app(app, rate_limit=(0, 1))).get("/openapi.json").json()
    described = spec["info"]["description"]
    for cls in errors.error_classes():
        assert f"`{cls.code}` | {cls.http_status} | {cls.title}" in described
    detail = spec["components"]["schemas"]["ErrorDetail"]["properties"]
    assert set(detail) == {"code", "message", "fields"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, status in (("/api/v1/staff/cases", "post", "422"), ("/api/v1/staff/cases/{case_id}/accept", "post", "409"),
                                 ("/api/v1/staff/cases", "get", "401"), ("/api/v1/verify", "get", "429"),
                                 ("/api/v1/log/inclusion", "get", "422")):
        response = spec["paths"][path][method]["responses"][status]
        assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), (path, status)
