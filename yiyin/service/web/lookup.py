"""The answers the public page and the JSON API give, by number and code or for an uploaded PDF.

Each question is answered on its own, as yes, no, not checked, or could not check:

    intact     文件完整          (only an uploaded file can be checked)
    issued     确系本机关签发
    in_force   现行有效          (with the reason, and the replacing licence, when it is not)
    issuer     签发机关

A failure to reach the registry is "could not check" (``unavailable``), never "not genuine". A
wrong code and an unknown number get the same answer after the same work: one indexed read of
the number's row and one constant-time comparison of the code's digest (against a dummy digest
when the number does not exist); the row is decoded only once the code matches.
"""

from __future__ import annotations

import hmac
import logging
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import orjson

from yiyin.errors import UnreadableDocument
from yiyin.registry import catalog, documents, status_list, vcodes
from yiyin.registry.public_answers import Prepared
from yiyin.registry.public_read import PublicDocument, PublicReader, PublicReads
from yiyin.service.app import App
from yiyin.service.verify import VerificationReport, verify_pdf
from yiyin.service.web.privacy import mask, mask_holder, mask_ids_in, public_fields
from yiyin.templates.catalog import document_type

log = logging.getLogger("yiyin.web")

CHINA = documents.BUREAU_TIME  # times are shown as the bureau and the public read them
MAX_NUMBER = 100
_DUMMY_DIGEST = "0" * 64
_BRACKETS = str.maketrans({"(": "〔", ")": "〕", "（": "〔", "）": "〕", "[": "〔", "]": "〕",
                           "【": "〔", "】": "〕", "［": "〔", "］": "〕"})
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)} | {c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)} \
    | {c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)}

_FOLD_NUMBER = str.maketrans({**{chr(k): chr(v) for k, v in _FULLWIDTH.items()}, **_BRACKETS})

YES, NO, NOT_CHECKED, UNKNOWN = "yes", "no", "not_checked", "unknown"

HTTP_STATUS = {"found": 200, "checked": 200, "not_found": 404, "invalid_request": 400, "invalid_code": 400,
               "invalid_number": 400, "no_file": 400, "unreadable": 422, "too_large": 413, "rate_limited": 429,
               "unavailable": 503, "busy": 503}

MESSAGES = {
    "not_found": "未找到与该编号和验证码相符的文书。请核对编号和验证码：验证码共16位，不区分大小写，可省略短横线。",
    "invalid_request": "请填写文书编号和验证码。",
    "invalid_code": "验证码应为16位字母和数字（如 7K3M-Q9TB-2XWD-H4PA），请核对后重新输入。",
    "invalid_number": "文书编号过长，请核对后重新输入。",
    "unavailable": "暂时无法查验，请稍后再试。这不表示文书是伪造的。",
    "unreadable": "无法读取该文件，请确认上传的是 PDF 格式的电子证照或文书。",
    "too_large": "文件超过 20 MB，无法核验。",
    "no_file": "请选择要上传的 PDF 文件。",
    "rate_limited": "查询过于频繁，请稍后再试。",
    "busy": "正在核验的文件较多，请稍后再试。这不表示文书是伪造的。",
}


@dataclass
class Answer:
    id: str
    title: str
    result: str  # yes | no | not_checked | unknown
    summary: str  # one sentence in Chinese
    detail: str = ""  # the technical reason, where there is one

    @property
    def ok(self) -> bool | None:
        return {YES: True, NO: False}.get(self.result)


@dataclass
class Outcome:
    """What one check found. ``error`` is a stable code when there is no answer to give."""

    result: str  # found | checked | or an error code (not_found, invalid_code, unavailable, …)
    answers: list[Answer] = field(default_factory=list)
    document: dict[str, Any] | None = None
    report: dict[str, Any] | None = None  # the full validation report of an uploaded file

    @property
    def error(self) -> str | None:
        return None if self.result in ("found", "checked") else self.result

    @property
    def message(self) -> str:
        return MESSAGES.get(self.result, "")

    @property
    def headline(self) -> tuple[str, str]:
        """(tone, text) for the top of the page: ok, bad, or unknown."""
        if self.error:
            return ("unknown" if self.result in ("unavailable", "busy") else "bad", self.message)
        by_id = {a.id: a for a in self.answers}
        results = {a.result for a in self.answers}
        if UNKNOWN in results:
            return "unknown", "部分项目暂时无法查验，请稍后再试；无法查验不表示文书是伪造的。"
        if by_id.get("intact") and by_id["intact"].result == NO:
            return "bad", "文件在盖章后被改动或印章无效，不能作为本机关签发的文书使用。"
        if by_id["issued"].result == NO:
            return "bad", "未能确认该文件由本机关签发。"
        if by_id["in_force"].result == YES:
            return "ok", "该文书由本机关签发，现行有效。"
        return "bad", "该文书由本机关签发，但目前不在有效状态。"

    def to_json(self) -> dict[str, Any]:
        if self.error:
            return {"error": {"code": self.result, "message": self.message, "fields": []}}
        out: dict[str, Any] = {"result": self.result,
                               "answers": [{"id": a.id, "title": a.title, "result": a.result, "summary": a.summary,
                                            "detail": a.detail, "ok": a.ok} for a in self.answers],
                               "document": self.document}
        if self.report is not None:
            out["valid"] = self.report["valid"]
            out["report"] = self.report
        return out


def normalise_number(number: str) -> str:
    """As typed on a phone: surrounding and inner spaces, full-width letters and digits, and
    other brackets for the 〔〕 of official document numbers are folded."""
    return "".join(number.split()).translate(_FOLD_NUMBER)


_OTHER_BRACKETS = (str.maketrans({"〔": "（", "〕": "）"}), str.maketrans({"〔": "(", "〕": ")"}))


def number_variants(folded: str) -> list[str]:
    """A number as :func:`normalise_number` folds it (as :func:`_asked` returns it) and its forms
    with the other brackets numbers are printed with: 〔〕 in document numbers
    (台审批许准〔2026〕1号), （） and () in some licences' ((辽)印证字…号)."""
    if "〔" not in folded and "〕" not in folded:
        return [folded]
    return [folded, *(folded.translate(t) for t in _OTHER_BRACKETS)]


# -- by number and code ----------------------------------------------------------------------------


Connect = Callable[[], AbstractContextManager[PublicReads]]


def _asked(number: str, code: str) -> tuple[str, str, Outcome | None]:
    """The folded number and the code in canonical form, or the outcome of a question that
    cannot be looked up."""
    number = normalise_number(number or "")
    if not number or not (code or "").strip():
        return number, "", Outcome("invalid_request")
    if len(number) > MAX_NUMBER:
        return number, "", Outcome("invalid_number")
    canonical = vcodes.normalise(code)
    if not canonical:
        return number, "", Outcome("invalid_code")  # says nothing about the number: it was not looked at
    return number, canonical, None


class _HasDigest(Protocol):
    @property
    def code_digest(self) -> str: ...


R = TypeVar("R", bound=_HasDigest)


def _genuine(rows: list[R], code: str) -> R | None:
    """The row whose verification code this is: one constant-time comparison per row found, and
    one against a dummy when none is, so that an unknown number costs what a wrong code costs."""
    asked = vcodes.canonical_digest(code)  # ``code`` is canonical: see _asked
    genuine = [r for r in rows or [None]
               if hmac.compare_digest(asked, r.code_digest if r is not None else _DUMMY_DIGEST) and r is not None]
    return genuine[0] if genuine else None


def _found(reads: PublicReads, doc: PublicDocument, on: date | None, public_url: str) -> Outcome:
    view = document_view(reads, doc, on, public_url)
    intact = Answer("intact", "文件完整", NOT_CHECKED, "按编号查询不核验文件本身；如需核验手中的电子文件是否被改动，请在下方上传。")
    return Outcome("found", [intact, *_registry_answers(view)], view)


def lookup(connect: Connect, number: str, code: str, on: date | None = None, public_url: str = "") -> Outcome:
    """``connect`` opens the public reads on the registry, e.g. ``PublicReader(app.db.engine)``;
    ``public_url`` is the base of the status lists' URLs."""
    number, code, refused = _asked(number, code)
    if refused is not None:
        return refused
    try:
        with connect() as reads:
            found = _genuine(reads.by_number(number_variants(number)), code)  # folded by _asked
            return _found(reads, found.document(), on, public_url) if found else Outcome("not_found")
    except Exception:  # the registry could not answer: say so, never "not genuine"
        log.exception("lookup failed")
        return Outcome("unavailable")


# -- the JSON API's answer, prepared ahead -------------------------------------------------------------

#: Bump whenever what an answer shows, or how it masks, changes: answers prepared in another
#: format are then never served, and are prepared again.
ANSWER_FORMAT = 1


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    prepare: str | None = None  # a document whose prepared answer was missing or no longer held


def encode(outcome: Outcome) -> bytes:
    return orjson.dumps(outcome.to_json())  # UTF-8, compact: what JSONResponse writes, 30 times faster


def _reply(outcome: Outcome, prepare: str | None = None) -> Reply:
    return Reply(HTTP_STATUS.get(outcome.result, 200), encode(outcome), prepare)


def api_lookup(connect: Connect, number: str, code: str, on: date | None = None, public_url: str = "") -> Reply:
    """The JSON API's answer: the same as :func:`lookup`'s, but served from the prepared answer
    when it still holds, in one indexed read; otherwise built afresh, and the document is named
    in ``prepare`` so that its answer is prepared again."""
    number, code, refused = _asked(number, code)
    if refused is not None:
        return _reply(refused)
    on = on or datetime.now(CHINA).date()
    forms = number_variants(number)  # folded by _asked
    try:
        with connect() as reads:
            # The prepared answer, when there is one and it holds; else the documents are read,
            # as for a wrong code or an unknown number (which cost each other's cost: both reads).
            row = _genuine(reads.prepared_by_number(forms), code)
            if row is not None and row.holds(ANSWER_FORMAT, public_url, on):
                return Reply(200, bytes(row.body))  # type: ignore[arg-type]
            # an answer prepared before migration 0008 (by an older server) carries no number yet
            row = _genuine(reads.answers_by_number(forms), code)
            if row is None:
                return _reply(Outcome("not_found"))
            if row.holds(ANSWER_FORMAT, public_url, on):
                return Reply(200, bytes(row.body))  # type: ignore[arg-type]
            doc = reads.by_id(row.id)
            outcome = _found(reads, doc, on, public_url) if doc is not None else Outcome("not_found")
    except Exception:
        log.exception("lookup failed")
        return _reply(Outcome("unavailable"))
    return _reply(outcome, row.id)


def prepare_answer(reads: PublicReads, document_id: str, on: date, public_url: str) -> Prepared | None:
    """The answer for a document as of ``on``, with the span of dates over which it holds."""
    last_event = reads.last_event(document_id)  # read first: an act recorded meanwhile makes it stale, never wrong
    doc = reads.by_id(document_id)
    if doc is None:
        return None
    outcome = _found(reads, doc, on, public_url)
    view = outcome.document or {}
    day = timedelta(days=1)
    if view.get("status") == "过期":
        span = (doc.valid_until + day if doc.valid_until else None, None)
    elif view.get("status") == documents.IN_FORCE and not view.get("in_force"):  # not yet in force
        span = (None, doc.valid_from - day if doc.valid_from else None)
    elif view.get("status") == documents.IN_FORCE:
        span = (doc.valid_from, doc.valid_until)
    else:  # suspended, revoked, replaced…: the same answer until the next act
        span = (None, None)
    return Prepared(doc.id, doc.number, doc.code_digest, encode(outcome), last_event, *span)


def _registry_answers(view: dict[str, Any]) -> list[Answer]:
    issued = Answer("issued", "确系本机关签发", YES,
                    f"{view['organ']}于{view['issue_date']}签发，编号{view['number']}。")
    issuer = Answer("issuer", "签发机关", YES, view["organ"], f"加盖印章：{view['seal']}")
    return [issued, in_force_answer(view), issuer]


def in_force_answer(view: dict[str, Any]) -> Answer:
    if view["in_force"]:
        until = f"，有效期至{view['valid_until']}" if view["valid_until"] else ""
        return Answer("in_force", "现行有效", YES, f"现行有效{until}。", f"状态：{view['status']}（代码{view['status_code']}）")
    status, reason = view["status"], view["status_reason"]
    if status == "有效":  # in force from a later date
        text = f"尚未生效：{reason}。"
    elif status == "过期":
        text = f"已过期：{reason.split('，')[0]}。"
    elif status in ("变更", "延续"):
        text = f"已{status}，不再有效" + (f"，由新证照 {view['replaced_by']} 替代" if view["replaced_by"] else "") + "。"
        if reason:
            text += f"理由：{reason}。"
    else:
        text = f"已{status}" + (f"：{reason}" if reason else "") + "。"
    basis = view.get("status_basis") or ""
    detail = f"状态：{status}（代码{view['status_code']}）" + (f"；依据：{basis}" if basis else "")
    return Answer("in_force", "现行有效", NO, text, detail)


def document_view(reads: PublicReads, doc: PublicDocument, on: date | None = None, public_url: str = "") -> dict[str, Any]:
    """What the public may see of an issued document, masked; with its entries in the W3C
    Bitstring Status Lists (``credential_status``), which an offline verifier checks instead."""
    events = reads.acts(doc.id)
    last = events[-1] if events else None
    status = documents.derive_status((last.status, last.reason) if last else None, doc.valid_from, doc.valid_until,
                                     on, lambda: reads.successor_number(doc.id))
    public_data = doc.public_data or {}
    return {
        "number": doc.number,
        "title": doc.title,
        "type": _type_title(doc.doc_type, doc.title),
        "identifier": doc.identifier,
        "holder": mask_holder(doc.holder, public_data),
        "organ": doc.organ,
        "seal": f"{doc.organ}{doc.seal_purpose}",
        "issue_date": doc.issue_date.isoformat(),
        "valid_from": doc.valid_from.isoformat() if doc.valid_from else None,
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
        "sha256": doc.sha256,
        "status": status.status,
        "status_code": status.code,
        "status_reason": mask_ids_in(status.reason),
        "status_basis": mask_ids_in(last.basis) if last is not None and last.status == status.status else "",
        "in_force": status.in_force,
        "replaced_by": status.replaced_by or None,
        "fields": [{"label": label, "value": value} for label, value in public_fields(doc.doc_type, public_data)],
        "history": [{"at": catalog.aware(e.at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M"), "status": e.status,
                     "status_code": documents.STATUS_CODES.get(e.status, ""),
                     "reason": mask_ids_in(e.reason or ""), "basis": mask_ids_in(e.basis or "")} for e in events],
        "credential_status": status_list.entries_at(public_url, *doc.status_list) if doc.status_list and public_url else [],
    }


@lru_cache(maxsize=64)
def _type_title(doc_type: str, fallback: str) -> str:
    try:
        return document_type(doc_type).title
    except Exception:
        return fallback


# -- an uploaded file ------------------------------------------------------------------------------


def check_file(app: App, data: bytes, on: date | None = None, connect: Connect | None = None) -> Outcome:
    """The full validation report of a PDF and its match against the registry. Synchronous
    (pyHanko runs its own event loop): call it from a worker thread in a server."""
    try:
        report = verify_pdf(app, data, on)
    except UnreadableDocument:
        return Outcome("unreadable")
    except Exception:
        log.exception("verification failed")
        return Outcome("unavailable")
    view = None
    if report.document is not None:
        try:
            with (connect or PublicReader(app.db.engine))() as reads:
                doc = reads.by_id(report.document["id"])
                view = document_view(reads, doc, on, app.settings.public_url) if doc is not None else None
        except Exception:
            log.exception("registry read after verification failed")
            return Outcome("unavailable")
    return Outcome("checked", file_answers(report, view), view, _public_report(report, view))


def file_answers(report: VerificationReport, view: dict[str, Any] | None) -> list[Answer]:
    checks = {c.id: c for c in report.checks}

    def failed(*ids: str) -> list[str]:
        return [checks[i].detail_zh for i in ids if i in checks and not checks[i].ok]

    # 文件完整: sealed, every seal valid and covering the file, validation data as issued
    if "sealed" in checks and not checks["sealed"].ok:
        intact = Answer("intact", "文件完整", NO, "文件没有电子印章（数字签名），无法证明其来源和完整性。", checks["sealed"].detail_zh)
    elif problems := failed("intact", "as_issued"):
        intact = Answer("intact", "文件完整", NO, "电子印章校验未通过：文件在盖章后被改动，或印章证书不受信任。", "核验发现：" + "；".join(problems))
    else:
        intact = Answer("intact", "文件完整", YES, "电子印章有效，文件自盖章后未被改动。")

    if "sealed" in checks and not checks["sealed"].ok:
        issued = Answer("issued", "确系本机关签发", NO, "文件没有电子印章，不能证明由本机关签发。")
    elif problems := failed("registered_seal"):
        issued = Answer("issued", "确系本机关签发", NO, "文件上的印章不是本机关备案的电子印章。", "；".join(problems))
    elif view is None:
        issued = Answer("issued", "确系本机关签发", NO, "本机关没有签发过内容与此文件一致的文书。",
                        checks["in_registry"].detail_zh if "in_registry" in checks else "")
    elif problems := failed("in_registry"):
        issued = Answer("issued", "确系本机关签发", NO, "登记的文书使用的是另一枚印章，与此文件不符。", "；".join(problems))
    else:
        issued = Answer("issued", "确系本机关签发", YES, f"{view['organ']}于{view['issue_date']}签发，编号{view['number']}，与登记记录一致。")

    if view is None:
        in_force = Answer("in_force", "现行有效", NOT_CHECKED, "文件不在登记记录中，无法判断是否有效。")
        signers = "；".join(s.get("signer_common_name") or s.get("signer_organization") or s.get("signer_subject") or ""
                           for s in report.signatures if isinstance(s, dict))
        issuer = Answer("issuer", "签发机关", NOT_CHECKED, "无法确认签发机关。", f"印章证书：{signers}" if signers else "")
    else:
        in_force = in_force_answer(view)
        issuer = Answer("issuer", "签发机关", YES, view["organ"], f"加盖印章：{view['seal']}")
    return [intact, issued, in_force, issuer]


def _public_report(report: VerificationReport, view: dict[str, Any] | None) -> dict[str, Any]:
    out = report.to_json()
    if out.get("document"):
        doc = dict(out["document"])
        doc.pop("id", None)  # the registry's internal key
        doc["holder"] = view["holder"] if view is not None else mask_ids_in(doc.get("holder") or "")
        out["document"] = mask(doc)
    return out
