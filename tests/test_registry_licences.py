"""Licence records: GB/T 36904 identifier and national metadata, versions (变更, 延续), status lists."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from sqlalchemy import select

from yiyin.errors import AuthorityError, InvalidData
from yiyin.registry import documents, licences, status_list
from yiyin.registry.licence_id import parse
from yiyin.registry.models import Document, LogEntry, NumberOutcome
from yiyin.service.app import App
from yiyin.service.lifecycle import act
from yiyin.service.pipeline import Issued, Issuer, IssueRequest
from yiyin.service.samples import resolve_dates

from .test_document_data import SAMPLE


def issue(app: App, doc_index: int = 1) -> Issued:
    entry = SAMPLE["documents"][doc_index]
    return Issuer(app).issue(IssueRequest(entry["type"], resolve_dates(copy.deepcopy(entry["data"]), date.today()),
                                          entry["item"], "LIC"))


def test_a_licence_gets_an_identifier_and_national_metadata(app: App) -> None:
    issued = issue(app)
    with app.db.session() as s:
        doc = documents.by_number(s, issued.number)
        rec = licences.by_document(s, doc.id)
        lid = parse(rec.identifier)
        assert (lid.type_code, lid.organ_code, lid.version) == ("YPJYXKZ", doc.organ.uscc, 1)
        meta = licences.national_metadata(s, doc)
        assert meta["证照编号"] == issued.number and meta["证照状态代码"] == "01"
        assert meta["持证主体代码类型"] == "统一社会信用代码" and meta["持证主体代码"] == doc.public_data["uscc"]
        assert meta["关联事项编码"] == doc.item_code and meta["颁发机构代码"] == doc.organ.uscc
        assert meta["有效期截止日期"] == doc.valid_until.isoformat()
        leaf = json.loads(s.execute(select(LogEntry.payload).where(LogEntry.document_id == doc.id)).scalar_one())
        assert leaf["licence_id"] == rec.identifier
        assert licences.by_identifier(s, rec.identifier.lower()).document_id == doc.id


def test_a_decision_is_not_a_licence(app: App) -> None:
    issued = issue(app, 0)
    with app.db.session() as s:
        doc = documents.by_number(s, issued.number)
        assert licences.by_document(s, doc.id) is None and licences.national_metadata(s, doc) is None


def test_amend_then_renew_link_versions_and_end_the_old_ones(app: App) -> None:
    first = issue(app)
    with licences.succeeding(first.number, "变更", "经营地址变更", "《药品经营和使用质量监督管理办法》第二十五条"):
        second = issue(app)
    with licences.succeeding(second.number, "延续", "有效期届满延续", "《中华人民共和国行政许可法》第五十条"):
        third = issue(app)
    with app.db.session() as s:
        docs = [documents.by_number(s, x.number) for x in (first, second, third)]
        recs = [licences.by_document(s, d.id) for d in docs]
        assert [r.version for r in recs] == [1, 2, 3] and len({r.serial for r in recs}) == 1
        assert [r.predecessor_id for r in recs] == [None, docs[0].id, docs[1].id]
        assert [r.succession for r in recs] == ["", "变更", "延续"]
        assert [v.document_id for v in licences.versions(s, docs[0].id)] == [d.id for d in docs]
        st = documents.current_status(s, docs[0])
        assert (st.status, st.code, st.in_force, st.replaced_by) == ("变更", "05", False, second.number)
        assert documents.current_status(s, docs[1]).replaced_by == third.number
        assert documents.current_status(s, docs[2]).in_force
        meta = licences.national_metadata(s, docs[1])
        assert meta["前一版本"]["证照编号"] == first.number and meta["后一版本"]["证照编号"] == third.number
        kinds = [json.loads(p) for p in s.execute(select(LogEntry.payload).where(LogEntry.document_id == docs[0].id)
                                                   .order_by(LogEntry.index)).scalars()]
        assert [k["kind"] for k in kinds] == ["issue", "status"] and kinds[1]["replaced_by_number"] == second.number
    # a replaced version cannot be replaced again: the new number is void with the reason
    with pytest.raises(AuthorityError, match="已终止"):
        with licences.succeeding(first.number, "变更", "again", "basis"):
            issue(app)
    with app.db.session() as s:
        void = s.execute(select(NumberOutcome).where(NumberOutcome.outcome == "void")
                         .order_by(NumberOutcome.at.desc())).scalars().first()
        assert "已终止" in void.reason


def test_succession_needs_act_reason_and_basis() -> None:
    with pytest.raises(InvalidData) as err:
        with licences.succeeding("X", "吊销", "", ""):
            pass
    assert {p.field for p in err.value.problems} == {"act", "reason", "basis"}


def test_bitstring_status_lists_follow_the_acts(app: App) -> None:
    a, b = issue(app), issue(app)
    act(app, a.number, "revoke", "以欺骗手段取得", "《中华人民共和国行政许可法》第六十九条", "reviewer")
    act(app, b.number, "suspend", "整改", "《药品管理法》第一百二十六条", "reviewer")
    base = "https://yiyin.example/api"
    with app.db.transaction() as s:
        ea = status_list.status_entries(s, documents.by_number(s, a.number).id, base)
        eb = status_list.status_entries(s, documents.by_number(s, b.number).id, base)
    assert ea[0]["statusPurpose"] == "revocation" and ea[1]["statusPurpose"] == "suspension"
    with app.db.session() as s:
        creds = {p: status_list.credential(s, int(ea[0]["statusListCredential"].split("/")[-2]), p, base, "did:web:yiyin.example")
                 for p in status_list.PURPOSES}
    rev, sus = creds["revocation"], creds["suspension"]
    assert rev["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert rev["credentialSubject"]["encodedList"].startswith("u")
    assert len(status_list.decode(rev["credentialSubject"]["encodedList"])) == 16384
    assert status_list.check(rev, ea[0]) and not status_list.check(sus, ea[1])
    assert not status_list.check(rev, eb[0]) and status_list.check(sus, eb[1])
    act(app, b.number, "resume", "整改完成", "", "reviewer")
    with app.db.session() as s:
        sus = status_list.credential(s, int(eb[1]["statusListCredential"].split("/")[-2]), "suspension", base, "x")
    assert not status_list.check(sus, eb[1])
    with pytest.raises(ValueError):
        status_list.check(sus, ea[0])


def test_bitstring_encoding_matches_the_specification() -> None:
    bits = bytearray(status_list.LIST_BITS // 8)
    bits[0] = 0x80  # index 0 is the left-most bit
    bits[-1] = 0x01  # the last index
    encoded = status_list.encode(bits)
    decoded = status_list.decode(encoded)
    assert status_list.bit(decoded, 0) and status_list.bit(decoded, status_list.LIST_BITS - 1)
    assert not status_list.bit(decoded, 1)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    import base64
    import gzip
    assert gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))) == bytes(bits)


def test_status_list_places_are_unique(app: App) -> None:
    with app.db.session() as s:
        places = s.execute(select(status_list.StatusListEntry.list_id, status_list.StatusListEntry.idx)).all()
        assert len(places) == len(set(places)) == s.execute(select(Document.id)).scalars().all().__len__()


def test_every_licence_type_has_its_own_type_code() -> None:
    from yiyin.registry.licence_id import LicenceId
    from yiyin.templates.catalog import DOCUMENT_TYPES
    from yiyin.templates.doctype import DocumentKind

    kinds = {k for k, v in DOCUMENT_TYPES.items() if v.kind == DocumentKind.licence}
    assert kinds <= set(licences.LICENCE_TYPE_CODES), kinds - set(licences.LICENCE_TYPE_CODES)
    codes = [licences.type_code(k) for k in kinds]
    assert len(set(codes)) == len(codes)
    for code in codes:  # each makes a well-formed identifier
        LicenceId(code, "11210321MB15990271", 1, 1)
