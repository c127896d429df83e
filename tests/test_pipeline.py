"""The issuance pipeline: everything completes, or nothing is left behind but a void number."""

from __future__ import annotations

import copy
import hashlib
import io
from datetime import date

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from yiyin.errors import AuthorityError, InvalidData, SealingError
from yiyin.registry import documents, log
from yiyin.registry.models import Document, IssuedNumber, NumberOutcome
from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates
from yiyin.signing.pades import Sealer

from .test_document_data import SAMPLE


def request(index: int = 1, **changes: object) -> IssueRequest:
    entry = SAMPLE["documents"][index]
    data = resolve_dates(copy.deepcopy(entry["data"]), date.today())
    return IssueRequest(doc_type=entry["type"], data=data, item_code=entry["item"], case_ref="TEST-1", actor="test", **changes)


def test_issued_document_is_recorded_stored_and_logged(app: App, demo) -> None:
    issued = demo.licence.issued
    stored = issued.path.read_bytes()
    seal = PdfFileReader(io.BytesIO(stored)).embedded_regular_signatures[0]
    sealed_revision = stored[: seal.byte_range[2] + seal.byte_range[3]]
    assert hashlib.sha256(sealed_revision).hexdigest() == issued.sha256
    assert issued.level == "B-LTA" and len(stored) > len(sealed_revision)  # DSS and archive timestamp follow
    with app.db.session() as s:
        doc = documents.by_number(s, issued.number)
        assert doc is not None and doc.sha256 == issued.sha256
        assert doc.holder == "台安县康宁大药房有限公司"
        assert documents.current_status(s, doc).in_force
        outcome = s.get(NumberOutcome, issued.number)
        assert outcome is not None and outcome.outcome == "issued"
        size, root = log.root(s)
        assert size >= 2 and len(root) == 64


def test_numbers_follow_the_pattern_and_increase(app: App) -> None:
    issuer = Issuer(app)
    a = issuer.issue(request(0))
    b = issuer.issue(request(0))
    year = date.today().year
    assert a.number.startswith(f"台审批许准〔{year}〕") and a.number.endswith("号")
    seq = lambda n: int(n.split("〕")[1].rstrip("号"))  # noqa: E731
    assert seq(b.number) == seq(a.number) + 1


def test_bad_data_takes_no_number(app: App) -> None:
    with app.db.session() as s:
        before = s.execute(select(IssuedNumber)).scalars().all()
    bad = request()
    bad.data["uscc"] = "123"
    with pytest.raises(InvalidData, match="uscc"):
        Issuer(app).issue(bad)
    with app.db.session() as s:
        assert len(s.execute(select(IssuedNumber)).scalars().all()) == len(before)


def test_licence_for_the_wrong_item_is_refused(app: App) -> None:
    req = request()
    wrong = IssueRequest(doc_type=req.doc_type, data=req.data, item_code="210321-XK-0101", case_ref="X")
    with pytest.raises(AuthorityError, match="核发的是"):
        Issuer(app).issue(wrong)


def test_delegated_item_without_agreement_is_refused(app: App) -> None:
    from yiyin.registry import catalog

    with app.db.transaction() as s:
        catalog.upsert_item(s, {
            "code": "210321-XK-9901", "name": "测试委托事项", "category": "行政许可", "legal_basis": "测试",
            "section": "社会事务审批科", "time_limit_days": 10, "licence_type": None, "organ_id": "taian-xzspj",
            "mode": "delegated", "delegating_organ_id": "taian-scjgj",
        })
    req = request(0)
    with pytest.raises(AuthorityError, match="没有生效的委托协议"):
        Issuer(app).issue(IssueRequest(doc_type=req.doc_type, data=req.data, item_code="210321-XK-9901", case_ref="X"))


def test_failure_after_numbering_voids_the_number_and_leaves_nothing(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_seal(self, pdf, placement, req):  # the HSM went away mid-issue
        raise SealingError("sealing failed: token removed")

    monkeypatch.setattr(Sealer, "seal", broken_seal)
    with app.db.session() as s:
        docs_before = s.execute(select(Document)).scalars().all()
        log_before = log.root(s)
    with pytest.raises(SealingError):
        Issuer(app).issue(request())
    with app.db.session() as s:
        assert len(s.execute(select(Document)).scalars().all()) == len(docs_before)
        assert log.root(s) == log_before
        last = s.execute(select(IssuedNumber).order_by(IssuedNumber.allocated_at.desc())).scalars().first()
        outcome = s.get(NumberOutcome, last.number)
        assert outcome.outcome == "void" and "token removed" in outcome.reason
    monkeypatch.undo()
    # the next licence gets the following number: the void one is never reused
    nxt = Issuer(app).issue(request())
    assert nxt.number != last.number and int(nxt.number[-5:]) == int(last.number[-5:]) + 1


def test_delegated_item_is_issued_in_the_delegating_organs_name_with_its_seal(app: App) -> None:
    import subprocess

    from yiyin.service.verify import verify_pdf

    req = request(0)
    data = dict(req.data, item_name="食品经营许可", legal_basis=["《中华人民共和国食品安全法》第三十五条"])
    issued = Issuer(app).issue(IssueRequest(doc_type="decision_grant", data=data, item_code="210321-XK-0520", case_ref="D-1"))
    assert issued.number.startswith("台市监许准〔")
    report = verify_pdf(app, issued.path.read_bytes())
    assert report.valid and report.document["organ"] == "台安县市场监督管理局"
    assert report.document["seal"] == "台安县市场监督管理局行政许可专用章"
    text = subprocess.run(["pdftotext", str(issued.path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "台安县行政审批局受台安县市场监督管理局委托实施（委托协议：台市监委〔2026〕1号）" in flat
    # outside the agreement's period the bureau may not act in that organ's name
    with pytest.raises(AuthorityError, match="2029-06-01 没有生效的委托协议"):
        Issuer(app).issue(IssueRequest(doc_type="decision_grant", data=data, item_code="210321-XK-0520",
                                       case_ref="D-2", issue_date=date(2029, 6, 1)))


def test_papers_carry_the_bureaus_date_not_utcs(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 01:30 Beijing time on New Year's Day it is still 31 December in UTC: the paper, its
    number's year and the registry must all say 1 January."""
    from datetime import datetime, timezone

    from pypdf import PdfReader

    monkeypatch.setattr(app, "now", lambda: datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc))
    entry = SAMPLE["documents"][0]
    issued = Issuer(app).issue(IssueRequest(doc_type=entry["type"], data=resolve_dates(copy.deepcopy(entry["data"]), date(2027, 1, 1)),
                                            item_code=entry["item"], case_ref="TEST-NEWYEAR", actor="test"))
    assert "〔2027〕" in issued.number
    with app.db.session() as s:
        doc = documents.by_number(s, issued.number)
        assert doc is not None and doc.issue_date == date(2027, 1, 1)
    text = "".join(page.extract_text() for page in PdfReader(issued.path).pages).replace(" ", "")
    assert "2027年1月1日" in text
