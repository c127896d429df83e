"""The public web service as a citizen with a phone, an agency's system and an auditor use it."""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from yiyin.registry import licences, merkle, public_read, status_list
from yiyin.registry.checkpoint import open_note
from yiyin.service import transparency
from yiyin.service.app import App
from yiyin.service.lifecycle import act
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.ratelimit import TokenBucket, client_key
from yiyin.service.samples import resolve_dates
from yiyin.service.web import create_app
from yiyin.service.web.lookup import normalise_number
from yiyin.service.web.privacy import mask, mask_holder, mask_ids_in, mask_name

from .test_document_data import SAMPLE

PEOPLE = ("王淑芬", "李建国")


def qr_query(url: str) -> tuple[str, str]:
    q = parse_qs(urlparse(url).query)
    return q["n"][0], q["c"][0]


@pytest.fixture
def client(app: App) -> TestClient:
    return TestClient(create_app(app, rate_limit=(0, 1)))


def issue(app: App, case: str = "WEB"):  # type: ignore[no-untyped-def]
    entry = SAMPLE["documents"][1]
    return Issuer(app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                          entry["item"], case))


def answers(body: dict) -> dict[str, str]:
    return {a["id"]: a["result"] for a in body["answers"]}


# -- by number and code ----------------------------------------------------------------------------


def test_the_qr_code_url_opens_the_answers(client: TestClient, demo) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    page = client.get("/v", params={"n": n, "c": c})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for title in ("文件完整", "确系本机关签发", "现行有效", "签发机关", "状态记录", "证照信息", "签发机关与印章"):
        assert title in html
    assert 'data-answer="issued" data-result="yes"' in html and 'data-answer="in_force" data-result="yes"' in html
    assert 'data-answer="intact" data-result="not_checked"' in html  # a lookup cannot check a file
    assert "台安县行政审批局行政审批专用章" in html and demo.licence.issued.sha256 in html
    assert "王*芬" in html and "李*国" in html and not any(p in html for p in PEOPLE)
    assert "<script" not in html.lower()


def test_json_lookup_forgives_typing(client: TestClient, demo) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    typed_code = c.lower().replace("-", " ").replace("0", "o")
    typed_number = " " + n.replace("0", "０", 1) + " "  # a full-width digit from a phone keyboard
    r = client.get("/api/v1/verify", params={"n": typed_number, "c": typed_code})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-content-type-options"] == "nosniff"
    body = r.json()
    assert body["result"] == "found" and answers(body) == {"intact": "not_checked", "issued": "yes", "in_force": "yes", "issuer": "yes"}
    doc = body["document"]
    assert doc["number"] == n and doc["sha256"] == demo.licence.issued.sha256 and doc["in_force"] is True
    assert doc["organ"] == "台安县行政审批局" and doc["seal"] == "台安县行政审批局行政审批专用章"
    assert doc["identifier"].startswith("1.2.156.3005.2.")
    fields = {f["label"]: f["value"] for f in doc["fields"]}
    assert fields["法定代表人"] == "王*芬" and fields["质量负责人"] == "李*国" and fields["统一社会信用代码"] == "91210321MA10KX3P1U"
    assert [h["status"] for h in doc["history"]] == ["有效"]
    assert not any(p in r.text for p in PEOPLE)
    assert normalise_number("台审批许准(2026)１号") == "台审批许准〔2026〕1号"


def test_wrong_code_and_unknown_number_look_the_same(app: App, client: TestClient, demo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    other = "0000-0000-0000-0000" if c != "0000-0000-0000-0000" else "1111-1111-1111-1111"
    statements: list[str] = []

    def trace(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.set_trace_callback(statements.append)  # every statement SQLite runs, as it runs it

    engine = client.app.state.checks.read_engine
    engine.dispose()
    event.listen(engine, "connect", trace)
    monkeypatch.setattr(client.app.state.checks, "loop_reads", public_read.PublicReader(engine, hold=True))
    try:
        wrong = client.get("/api/v1/verify", params={"n": n, "c": other})
        wrong_sql, statements[:] = list(statements), []
        unknown = client.get("/api/v1/verify", params={"n": n[:-3] + "999", "c": c})
        unknown_sql = [q.replace(n[:-3] + "999", n) for q in statements]
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content and wrong.json()["error"]["code"] == "not_found"
    # the same reads either way (the prepared answers, then the documents), taking no lock
    selects = [q for q in wrong_sql if q.lstrip().startswith("SELECT")]
    assert wrong_sql == unknown_sql and len(selects) == 2, wrong_sql
    assert "FROM public_answers a WHERE a.number" in selects[0] and "FROM documents" in selects[1]
    assert not any(q.lstrip().upper().startswith(("BEGIN IMMEDIATE", "INSERT", "UPDATE")) for q in wrong_sql)
    # a wrong code is refused before the row is decoded (no JSON parsed, no view built)
    decoded: list[str] = []
    original = public_read.Found.document
    monkeypatch.setattr(public_read.Found, "document", lambda found: decoded.append(found.row[2]) or original(found))
    assert client.get("/api/v1/verify", params={"n": n, "c": other}).status_code == 404 and decoded == []
    assert client.get("/v", params={"n": n, "c": other}).status_code == 404 and decoded == []
    assert client.get("/v", params={"n": n, "c": c}).status_code == 200 and decoded == [n]
    page_wrong = client.get("/v", params={"n": n, "c": other})
    page_unknown = client.get("/v", params={"n": "辽EA039999999", "c": other})
    assert page_wrong.status_code == page_unknown.status_code == 404
    assert page_wrong.text.replace(n, "N") == page_unknown.text.replace("辽EA039999999", "N")


def test_bad_input_gets_a_stable_error_code(client: TestClient) -> None:
    cases = [({"n": "辽EA032100001"}, 400, "invalid_request"),
             ({"n": "辽EA032100001", "c": "not-a-code"}, 400, "invalid_code"),
             ({"n": "辽" * 101, "c": "0000-0000-0000-0000"}, 400, "invalid_number")]
    for params, status, code in cases:
        r = client.get("/api/v1/verify", params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), params
        assert r.json()["error"]["message"]
    assert client.get("/api/v1/nothing").json()["error"]["code"] == "unknown_endpoint"
    assert client.get("/api/v1/log/inclusion", params={"index": "x", "size": 1}).json()["error"]["code"] == "invalid_request"
    blank = client.get("/v")
    assert blank.status_code == 200 and 'id="verdict"' not in blank.text and 'action="/v"' in blank.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/v"


def test_revoked_and_replaced_licences_say_why(app: App, client: TestClient) -> None:
    revoked = issue(app, "WEB-REVOKE")
    act(app, revoked.number, "revoke", "以欺骗手段取得许可，身份证 210321198503140026", "《中华人民共和国行政许可法》第六十九条", "reviewer")
    body = client.get("/api/v1/verify", params={"n": revoked.number, "c": revoked.verification_code}).json()
    assert answers(body) == {"intact": "not_checked", "issued": "yes", "in_force": "no", "issuer": "yes"}
    in_force = next(a for a in body["answers"] if a["id"] == "in_force")
    assert "已撤销" in in_force["summary"] and "以欺骗手段取得许可" in in_force["summary"]
    assert "2103**********0026" in in_force["summary"] and "210321198503140026" not in json.dumps(body)
    assert "第六十九条" in in_force["detail"]
    assert [h["status"] for h in body["document"]["history"]] == ["有效", "撤销"]
    # the answer names the document's places in the status lists; an offline verifier checks those
    revocation, suspension = body["document"]["credential_status"]
    listed = {e["statusPurpose"]: client.get(urlparse(e["statusListCredential"]).path).json() for e in (revocation, suspension)}
    assert status_list.check(listed["revocation"], revocation) and not status_list.check(listed["suspension"], suspension)
    html = client.get("/v", params={"n": revoked.number, "c": revoked.verification_code}).text
    assert "verdict-bad" in html and "已撤销" in html and 'data-answer="issued" data-result="yes"' in html

    first = issue(app, "WEB-AMEND")
    with licences.succeeding(first.number, "变更", "经营地址变更", "《药品经营和使用质量监督管理办法》第二十五条"):
        second = issue(app, "WEB-AMEND")
    body = client.get("/api/v1/verify", params={"n": first.number, "c": first.verification_code}).json()
    assert body["document"]["replaced_by"] == second.number and body["document"]["status"] == "变更"
    in_force = next(a for a in body["answers"] if a["id"] == "in_force")
    assert in_force["result"] == "no" and second.number in in_force["summary"]
    html = client.get("/v", params={"n": first.number, "c": first.verification_code}).text
    assert f"由新证照 {second.number} 替代" in html
    assert answers(client.get("/api/v1/verify", params={"n": second.number, "c": second.verification_code}).json())["in_force"] == "yes"


def test_a_registry_failure_is_could_not_check_never_not_genuine(app: App, client: TestClient, demo,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    pdf = demo.licence.path.read_bytes()

    def broken():  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(app.db, "session", broken)
    monkeypatch.setattr(client.app.state.checks, "connect", broken)
    monkeypatch.setattr(client.app.state.checks, "loop_reads", broken)
    r = client.get("/api/v1/verify", params={"n": n, "c": c})
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    assert "不表示文书是伪造的" in r.json()["error"]["message"]
    page = client.get("/v", params={"n": n, "c": c})
    assert page.status_code == 503 and "verdict-unknown" in page.text and "未找到" not in page.text
    assert 'data-result="no"' not in page.text
    up = client.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")})
    assert up.status_code == 503 and up.json()["error"]["code"] == "unavailable"


# -- uploads ---------------------------------------------------------------------------------------


def test_upload_gives_the_full_report_and_the_registry_match(client: TestClient, demo) -> None:
    pdf = demo.licence.path.read_bytes()
    good = client.post("/api/v1/verify/pdf", files={"file": ("licence.pdf", pdf, "application/pdf")})
    body = good.json()
    assert good.status_code == 200 and body["valid"] is True
    assert answers(body) == {"intact": "yes", "issued": "yes", "in_force": "yes", "issuer": "yes"}
    assert body["document"]["number"] == demo.licence.issued.number and body["report"]["signatures"]
    assert {c["id"] for c in body["report"]["checks"]} >= {"sealed", "intact", "registered_seal", "in_registry", "in_force"}
    assert not any(p in good.text for p in PEOPLE) and '"id":' not in json.dumps(body["report"]["document"])
    raw = client.post("/api/v1/verify/pdf", content=pdf, headers={"content-type": "application/pdf"})
    assert raw.json()["valid"] is True

    tampered = bytearray(pdf)
    tampered[len(tampered) // 3] ^= 1
    bad = client.post("/api/v1/verify/pdf", files={"file": ("l.pdf", bytes(tampered), "application/pdf")}).json()
    assert bad["valid"] is False and answers(bad)["intact"] == "no" and answers(bad)["issued"] == "no"

    page = client.post("/v/pdf", files={"file": ("licence.pdf", pdf, "application/pdf")})
    assert page.status_code == 200 and "verdict-ok" in page.text and "完整核验报告" in page.text
    assert "北京时间" in page.text  # the timestamps' times, as the public reads them
    assert 'data-answer="intact" data-result="yes"' in page.text and not any(p in page.text for p in PEOPLE)
    page = client.post("/v/pdf", files={"file": ("l.pdf", bytes(tampered), "application/pdf")})
    assert "verdict-bad" in page.text and 'data-answer="intact" data-result="no"' in page.text
    # what went wrong, in Chinese, with the ETSI verdict; not the English strings of the JSON report
    assert "文件字节与印章不符（盖章后被改动）" in page.text and "TOTAL_FAILED/HASH_FAILURE" in page.text
    assert 'data-code="DIGEST_MISMATCH"' in page.text and "changed after sealing" not in page.text


def test_upload_errors(app: App, client: TestClient) -> None:
    junk = client.post("/api/v1/verify/pdf", files={"file": ("x.pdf", b"%PDF-1.7 hello", "application/pdf")})
    assert junk.status_code == 422 and junk.json()["error"]["code"] == "unreadable"
    empty = client.post("/v/pdf", files={"file": ("", b"", "application/octet-stream")})
    assert empty.status_code == 400 and "请选择" in empty.text
    small = TestClient(create_app(app, rate_limit=(0, 1), max_upload=1000))
    big = small.post("/api/v1/verify/pdf", files={"file": ("big.pdf", b"%PDF" + b"0" * 5000, "application/pdf")})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    declared = small.post("/api/v1/verify/pdf", content=b"x", headers={"content-length": str(10 ** 9), "content-type": "application/pdf"})
    assert declared.status_code == 413


# -- rate limiting ---------------------------------------------------------------------------------


def test_lookups_are_rate_limited_per_client(app: App) -> None:
    client = TestClient(create_app(app, rate_limit=(3, 60)))
    codes = [client.get("/api/v1/verify", params={"n": f"辽EA03{i:07d}", "c": "0000-0000-0000-0000"}).status_code
             for i in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    limited = client.get("/api/v1/verify", params={"n": "X", "c": "0000-0000-0000-0000"})
    assert limited.json()["error"] == {"code": "rate_limited", "message": "查询过于频繁，请稍后再试。", "fields": []}
    assert int(limited.headers["retry-after"]) >= 1
    page = client.get("/v", params={"n": "X", "c": "0000-0000-0000-0000"})
    assert page.status_code == 429 and "查询过于频繁" in page.text
    assert client.get("/v").status_code == 200  # the empty form is never limited
    # the limit comes from YIYIN_RATE_LIMIT by default
    assert TestClient(create_app(app)).app.state.checks.limiter.capacity == app.settings.rate_limit[0]


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(2, 10.0, max_clients=3, clock=lambda: now[0])
    assert [bucket.allow("a"), bucket.allow("a"), bucket.allow("a"), bucket.allow("b")] == [True, True, False, True]
    assert bucket.retry_after("a") == 5
    now[0] = 5.0
    assert bucket.allow("a") and not bucket.allow("a")
    for client in "cdefg":
        bucket.allow(client)
    assert len(bucket) == 3  # memory is bounded
    assert TokenBucket(0, 1).allow("x")  # 0 disables
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff") == "2001:db8::/64"
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1" and client_key(None) == "unknown"


# -- privacy ---------------------------------------------------------------------------------------


def test_natural_persons_are_masked_as_on_public_notices() -> None:
    assert [mask_name(x) for x in ("王淑芬", "李四", "欧阳修远", "买买提·艾力")] == ["王*芬", "李*", "欧**远", "买**·*力"]
    assert mask_name("王淑芬、李建国") == "王*芬、李*国"
    assert mask({"legal_representative": "王淑芬", "staff": ["张三", "刘红梅"], "enterprise_name": "台安县康宁大药房有限公司",
                 "note": "身份证 210321198503140026 与 210321850314002", "id_number": "210321198503140026"}) == {
        "legal_representative": "王*芬", "staff": ["张*", "刘*梅"], "enterprise_name": "台安县康宁大药房有限公司",
        "note": "身份证 2103**********0026 与 2103*******4002", "id_number": "2103**********0026"}
    assert mask_ids_in("91210321MA10KX3P1U 912103219999999999") == "91210321MA10KX3P1U 912103219999999999"
    assert mask_holder("王淑芬", {}) == "王*芬" and mask_holder("台安县康宁大药房有限公司", {}) == "台安县康宁大药房有限公司"


def test_the_agreement_shows_only_printed_fields(client: TestClient, demo) -> None:
    n, c = qr_query(demo.agreement.issued.verify_url)
    doc = client.get("/api/v1/verify", params={"n": n, "c": c}).json()["document"]
    fields = {f["label"]: f["value"] for f in doc["fields"]}
    assert "协议各方" in fields and "taian-" not in json.dumps(doc, ensure_ascii=False)  # internal organ ids
    assert "*" in fields.get("随事项划转人员", "*")


# -- transparency log and status lists -------------------------------------------------------------


def test_log_is_served_as_tiles_proofs_and_checkpoints(app: App, client: TestClient, demo) -> None:
    note = transparency.sign_checkpoint(app)
    about = client.get("/api/v1/log").json()
    assert about["verifier_key"] == transparency.verifier(app) and about["checkpoint"] == note
    served = client.get(f"/log/{app.bureau_id}/checkpoint")
    assert served.status_code == 200 and served.text == note
    cp = open_note(served.text, about["verifier_key"])
    # an inclusion proof from the API leads to the signed root
    bundle = client.get("/api/v1/log/bundle", params={"sha256": demo.licence.issued.sha256}).json()
    ok, why = transparency.verify_bundle(transparency.InclusionBundle(**bundle), about["verifier_key"], demo.licence.issued.sha256)
    assert ok, why
    proof = client.get("/api/v1/log/inclusion", params={"index": bundle["leaf_index"], "size": cp.size}).json()["proof"]
    assert proof == bundle["proof"]
    if cp.size > 1:
        cons = client.get("/api/v1/log/consistency", params={"old": 1, "new": cp.size}).json()
        assert merkle.verify_consistency(1, cp.size, merkle.leaf_hash(_entries(client, app, 1)[0]), cp.root,
                                         [base64.b64decode(p) for p in cons["proof"]])
    # tiles: the level-0 tile and the entry bundle covering the first entries
    width = min(cp.size, 256)
    suffix = "" if width == 256 else f".p/{width}"
    hashes = client.get(f"/log/{app.bureau_id}/tile/0/000{suffix}")
    assert hashes.status_code == 200 and len(hashes.content) == 32 * width
    entries = _entries(client, app, width)
    assert [merkle.leaf_hash(e) for e in entries] == [hashes.content[i:i + 32] for i in range(0, len(hashes.content), 32)]
    assert client.get(f"/log/{app.bureau_id}/tile/0/x999/000").status_code == 404
    assert client.get(f"/log/{app.bureau_id}/tile/../../etc").status_code == 404


def _entries(client: TestClient, app: App, width: int) -> list[bytes]:
    from yiyin.registry.tree import split_bundle

    suffix = "" if width == 256 else f".p/{width}"
    return split_bundle(client.get(f"/log/{app.bureau_id}/tile/entries/000{suffix}").content)


def test_status_lists_are_served(client: TestClient, app: App) -> None:
    cred = client.get("/status/0/revocation")
    assert cred.status_code == 200 and cred.json()["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert cred.json()["id"] == f"{app.settings.public_url}/status/0/revocation"
    assert client.get("/status/0/other").status_code == 404
    # secured for verifiers that keep it: a JWS signed with the log's published key
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from yiyin.registry.checkpoint import public_key_of

    secured = client.get("/status/0/revocation", headers={"Accept": "application/vc+jwt"})
    assert secured.headers["content-type"].startswith("application/vc+jwt")
    key = public_key_of(client.get("/api/v1/log").json()["verifier_key"])
    opened = status_list.open_jwt(secured.text, key)
    assert opened["credentialSubject"] == cred.json()["credentialSubject"] and opened["id"] == cred.json()["id"]
    head, body, sig = secured.text.split(".")
    forged = status_list._b64url(status_list._unb64url(body).replace(b"revocation", b"suspension"))
    for token, public in ((f"{head}.{forged}.{sig}", key), (secured.text, Ed25519PrivateKey.generate().public_key())):
        with pytest.raises(ValueError):
            status_list.open_jwt(token, public)


def test_pages_do_not_leak_the_code(client: TestClient, demo) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    r = client.get("/v", params={"n": n, "c": c})
    assert r.headers["referrer-policy"] == "no-referrer" and "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    css = client.get("/static/web.css")
    assert css.status_code == 200 and "@media" in css.text


def test_serve_redacts_codes_in_access_logs() -> None:
    import logging

    from yiyin.service.cli_web import RedactCodes

    rec = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                            ("1.2.3.4", "GET", "/v?n=X&c=AAAA-BBBB-CCCC-DDDD", "1.1", 200), None)
    RedactCodes().filter(rec)
    assert "AAAA" not in rec.getMessage() and "n=X" in rec.getMessage()


def test_checkpoints_written_one_after_another_are_told_apart() -> None:
    from yiyin.service.transparency import split_notes

    a = "o\n1\nAAAA\n\n— o sig1\n"
    b = "o\n2\nBBBB\n\n— o sig2\n— w sig3\n"
    assert split_notes(a + "\n" + b + "\n") == [a, b]
    assert split_notes(a) == [a] and split_notes("") == []


def test_an_expired_licence_says_so(client: TestClient, demo) -> None:
    from datetime import timedelta

    from yiyin.service.web.lookup import lookup

    n, c = qr_query(demo.licence.issued.verify_url)
    until = date.fromisoformat(client.get("/api/v1/verify", params={"n": n, "c": c}).json()["document"]["valid_until"])
    outcome = lookup(client.app.state.checks.connect, n, c, on=until + timedelta(days=1))
    in_force = next(a for a in outcome.answers if a.id == "in_force")
    assert (outcome.document["status"], outcome.document["status_code"], in_force.result) == ("过期", "05", "no")
    assert in_force.summary == f"已过期：有效期至{until.isoformat()}。"
    assert outcome.headline == ("bad", "该文书由本机关签发，但目前不在有效状态。")


def test_numbers_printed_with_other_brackets_are_found_however_typed(app: App, client: TestClient) -> None:
    """A 印刷经营许可证 is numbered （辽）印证字…号: typed with (), （） or 〔〕, it is found; a wrong
    code is still refused."""
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[1] / "samples/documents/licence_printing.json").read_text("utf-8"))
    issued = Issuer(app).issue(IssueRequest("licence_printing", resolve_dates(data, date.today()), "210321-XK-0701", "WEB-BRACKETS"))
    assert "（" in issued.number and "）" in issued.number
    for typed in (issued.number, issued.number.replace("（", "(").replace("）", ")"),
                  issued.number.replace("（", "〔").replace("）", "〕")):
        body = client.get("/api/v1/verify", params={"n": typed, "c": issued.verification_code}).json()
        assert body["result"] == "found" and body["document"]["number"] == issued.number, typed
    other = "0000-0000-0000-0000" if issued.verification_code != "0000-0000-0000-0000" else "1111-1111-1111-1111"
    assert client.get("/api/v1/verify", params={"n": issued.number, "c": other}).status_code == 404


@pytest.mark.parametrize("query", [
    "n=%E8%BE%BDEA032100003&c=1QMH-QAS6-9X2V-4MZX",
    "c=1qmh+qas6+9x2v+4mzx&n=%E5%8F%B0%E5%AE%A1%E6%89%B9%E8%AE%B8%E5%87%86%EF%BC%882026%EF%BC%891%E5%8F%B7",
    "n=a&n=b&c",  # the last of repeated names; a name without a value is empty
    "x=1&n=%zz%E8&c=%2B%26%3D",  # a broken escape stays as typed, escaped separators are text
    "n=\xe5\x8f\xb0&c=",
    "", "&&", "n", "=c", "%6E=escaped+name&c=x",
])
def test_the_lookup_reads_its_query_as_parse_qsl_does(query: str) -> None:
    from urllib.parse import parse_qsl

    from yiyin.service.web.routes import query_values

    raw = query.encode("latin-1").decode("unicode_escape").encode("latin-1")  # raw UTF-8 bytes, as some clients send
    expected = {k: v for k, v in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True) if k in ("n", "c")}
    assert query_values(raw, ("n", "c")) == expected
