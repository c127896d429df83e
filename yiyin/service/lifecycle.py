"""Acts on an issued document's status: who, when, why and on what legal basis, each appended to
the status history and the transparency log; nothing is updated in place.

    suspend  暂扣  (reversible: resume)
    revoke   撤销  the decision was unlawful (行政许可法 第六十九条)
    cancel   注销  the licence ends (行政许可法 第七十条: expiry without renewal, holder gone, …)
    withdraw 吊销  a penalty (行政处罚法 第九条)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yiyin.errors import AuthorityError, FieldProblem, InvalidData, NotFound
from yiyin.registry import catalog, documents, log
from yiyin.registry.models import StatusEvent
from yiyin.service import audit
from yiyin.service.app import App

ACTS: dict[str, str] = {"suspend": "暂扣", "resume": "有效", "revoke": "撤销", "cancel": "注销", "withdraw": "吊销"}
TERMINAL = {"撤销", "注销", "吊销", "变更", "延续"}  # replaced versions are final too


@dataclass(frozen=True)
class StatusView:
    number: str
    title: str
    holder: str
    status: str
    code: str
    in_force: bool
    history: list[tuple[datetime, str, str, str, str]]  # at, status, reason, basis, actor
    reason: str = ""       # why it is not in force, when it is not
    replaced_by: str = ""  # the number of the version that replaced it (变更, 延续)


def status(app: App, number: str) -> StatusView:
    with app.db.session() as s:
        doc = documents.by_number(s, number)
        if doc is None:
            raise NotFound(f"没有编号为 {number} 的文书")
        current = documents.current_status(s, doc)
        history = [(catalog.aware(e.at), e.status, e.reason, e.basis, e.actor) for e in documents.history(s, doc.id)]
        return StatusView(doc.number, doc.title, doc.holder, current.status, current.code, current.in_force, history,
                          "" if current.in_force else current.reason, current.replaced_by)


def act(app: App, number: str, verb: str, reason: str, basis: str, actor: str) -> StatusView:
    problems = []
    if verb not in ACTS:
        problems.append(FieldProblem("act", "known_act", f"没有“{verb}”这项状态操作，可用：{'、'.join(f'{k}（{v}）' for k, v in ACTS.items())}"))
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", "请填写理由"))
    if not basis.strip() and verb != "resume":
        problems.append(FieldProblem("basis", "required", "请填写法律依据（如《中华人民共和国行政许可法》第六十九条）"))
    if problems:
        raise InvalidData(problems, "状态操作")
    new_status = ACTS[verb]
    now = app.now()
    with app.db.transaction() as s:
        doc = documents.by_number_for_act(s, number)
        if doc is None:
            raise NotFound(f"没有编号为 {number} 的文书")
        history = documents.history(s, doc.id)
        current = history[-1].status if history else documents.IN_FORCE
        if current in TERMINAL:
            raise AuthorityError(f"{number} 已{current}，这一状态是终局的，不能再变更")
        if verb == "resume" and current != "暂扣":
            raise AuthorityError(f"{number} 的状态是{current}，不是暂扣；只有暂扣的证照才能恢复")
        if verb == "suspend" and current == "暂扣":
            raise AuthorityError(f"{number} 已在暂扣中")
        s.add(StatusEvent(document_id=doc.id, status=new_status, reason=reason.strip(), basis=basis.strip(), actor=actor, at=now))
        log.append(s, "status", {"document_id": doc.id, "number": number, "status": documents.STATUS_CODES[new_status],
                                 "status_name": new_status, "reason": reason.strip(), "basis": basis.strip(),
                                 "actor": actor, "at": now.isoformat()}, document_id=doc.id)
        audit.record(s, actor, f"status.{verb}", number, {"reason": reason.strip(), "basis": basis.strip()})
    return status(app, number)
