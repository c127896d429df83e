"""Do the registry's rows still say what the log recorded? Checks for someone with write access.

The log's leaves are the reference (their own integrity is checked against signed checkpoints
kept outside the database). Against them this module checks:

- every issued document matches its issuance leaf: number, type, organ, sealed hash, and the
  digest of its whole record (holder, dates, public data, seal, verification-code digest and, for a
  licence, its national record), so that no field can be changed quietly;
- a document's status history matches its status leaves one for one, in order: no act changed,
  deleted, inserted or reordered (deleting a 吊销 to revive a licence is caught);
- no issuance leaf names a document that is no longer in the registry;
- the stored tree (node hashes used for proofs and tiles) matches the tree recomputed from the
  payloads.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.registry import merkle, tree
from yiyin.registry.models import Document, LogEntry, Seal, StatusEvent


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_digest(session: Session, doc: Document) -> str:
    """SHA-256 over the canonical JSON of the document's stored record and its licence record.

    The verification code is covered by its digest (never the code), which also keeps the
    digest unguessable from the public fields alone."""
    from yiyin.registry.licences import LicenceRecord

    fields = {c.name: _plain(getattr(doc, c.key)) for c in Document.__table__.columns}
    lic = session.get(LicenceRecord, doc.id)
    if lic is not None:
        fields["licence"] = {c.name: _plain(getattr(lic, c.key)) for c in LicenceRecord.__table__.columns
                             if c.name != "recorded_at"}
    body = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _event_matches(event: StatusEvent, leaf: dict[str, Any]) -> bool:
    from yiyin.registry.documents import STATUS_CODES

    try:
        at = datetime.fromisoformat(leaf["at"])
    except (KeyError, TypeError, ValueError):
        return False
    return (leaf.get("status") == STATUS_CODES.get(event.status)
            and leaf.get("status_name", event.status) == event.status
            and (leaf.get("reason"), leaf.get("basis"), leaf.get("actor")) == (event.reason, event.basis, event.actor)
            and _aware(at) == _aware(event.at))


def _differences(leaf: dict[str, Any], now: dict[str, tuple[str, Any]]) -> str:
    """The fields (key in the leaf: title, value in the registry) whose value in the registry is not
    the one the log recorded, each with both values; empty when they all agree."""
    return "；".join(f"{title}日志中为 {leaf.get(k)}，登记簿中为 {v}" for k, (title, v) in now.items() if leaf.get(k) != v)


def check_records(session: Session) -> list[str]:
    """Problems found; an empty list when every row agrees with the log."""
    problems: list[str] = []
    issue_leaves: dict[str, tuple[int, dict[str, Any]]] = {}
    status_leaves: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, payload in session.execute(select(LogEntry.index, LogEntry.payload).order_by(LogEntry.index)):
        try:
            leaf = json.loads(payload)
        except ValueError:
            problems.append(f"日志条目 {index} 的内容已不是 JSON（条目被改动）")
            continue
        doc_id = leaf.get("document_id")
        if leaf.get("kind") == "issue" and doc_id:
            issue_leaves[doc_id] = (index, leaf)
        elif leaf.get("kind") == "status" and doc_id:
            status_leaves.setdefault(doc_id, []).append((index, leaf))

    seen: set[str] = set()
    for doc in session.execute(select(Document).order_by(Document.issued_at)).scalars():
        seen.add(doc.id)
        found = issue_leaves.get(doc.id)
        if found is None:
            problems.append(f"文书 {doc.number} 在日志中没有签发条目：它未经签发写入了登记簿（被插入），或它的签发条目被删除")
            continue
        index, leaf = found
        changed = _differences(leaf, {"number": ("编号", doc.number), "sha256": ("文书摘要（SHA-256）", doc.sha256),
                                     "type": ("文书类型", doc.doc_type), "organ": ("签发机关", doc.organ_id)})
        if changed:
            problems.append(f"文书 {doc.number} 与记录其签发的日志条目 {index} 不符，签发后被改动：{changed}")
        elif "record" in leaf and leaf["record"] != record_digest(session, doc):
            problems.append(f"文书 {doc.number} 的登记内容（持证人、日期、公开数据、印章、验证码、许可证元数据等）在签发后被改动："
                            f"与日志条目 {index} 记载的登记内容摘要不符")
        events = list(session.execute(select(StatusEvent).where(StatusEvent.document_id == doc.id)
                                      .order_by(StatusEvent.id)).scalars())
        first, acts = (events[0], events[1:]) if events else (None, [])
        if first is None or first.status != "有效" or leaf.get("status") != "01":
            problems.append(f"文书 {doc.number} 的第一条状态记录与日志条目 {index} 所记的签发（有效）不符：状态记录或该条目被改动")
        logged = status_leaves.get(doc.id, [])
        for k in range(max(len(acts), len(logged))):
            ev = acts[k] if k < len(acts) else None
            lf = logged[k] if k < len(logged) else None
            if ev is None:
                problems.append(f"文书 {doc.number}：日志条目 {lf[0]} 记载的状态行为“{lf[1].get('status_name', lf[1].get('status'))}”"
                                f"在登记簿中已不存在（被删除）")
            elif lf is None:
                problems.append(f"文书 {doc.number}：登记簿中时间为 {_aware(ev.at).isoformat()} 的状态行为“{ev.status}”"
                                f"不在日志中（被插入，或记录它的日志条目被删除）")
            elif not _event_matches(ev, lf[1]):
                problems.append(f"文书 {doc.number}：签发后的第 {k + 1} 个状态行为（登记簿中为“{ev.status}”）"
                                f"与日志条目 {lf[0]} 的记载不符（被改动或调换了顺序）")
    for doc_id, (index, leaf) in issue_leaves.items():
        if doc_id not in seen:
            problems.append(f"日志条目 {index} 记载了 {leaf.get('number')} 的签发，但登记簿中已没有这份文书（被删除）")
    problems.extend(check_seals(session))
    problems.extend(check_tree(session))
    return problems


def check_seals(session: Session) -> list[str]:
    """Every registered seal against the seal acts in the log: registered with the certificate
    it has now, revoked exactly when the log says so, not valid after a logged retirement. A
    seal inserted, swapped, deleted, un-revoked or extended in the database is named."""
    problems: list[str] = []
    acts: dict[int, dict[str, tuple[int, dict[str, Any]]]] = {}
    for index, payload in session.execute(select(LogEntry.index, LogEntry.payload).where(LogEntry.kind == "seal")
                                          .order_by(LogEntry.index)):
        try:
            leaf = json.loads(payload)
        except ValueError:
            continue  # reported by check_records
        acts.setdefault(int(leaf.get("seal_id", -1)), {})[str(leaf.get("act"))] = (index, leaf)
    for seal in session.execute(select(Seal).order_by(Seal.id)).scalars():
        logged = acts.pop(seal.id, {})
        if "add" not in logged:
            problems.append(f"印章 #{seal.id}（{seal.purpose}）在日志中没有备案条目：它未经备案写入了登记簿（被插入），或它的备案条目被删除")
            continue
        index, leaf = logged["add"]
        changed = _differences(leaf, {"certificate_sha256": ("证书指纹（SHA-256）", seal.cert_fingerprint),
                                     "organ": ("所属机关", seal.organ_id), "purpose": ("用途", seal.purpose)})
        if changed:
            problems.append(f"印章 #{seal.id} 与日志条目 {index} 中的备案不符，备案后被改动：{changed}")
        if "revoke" in logged and seal.revoked_at is None:
            problems.append(f"印章 #{seal.id} 已在日志条目 {logged['revoke'][0]} 中吊销，但登记簿显示它未被吊销（吊销记录被抹去）")
        elif "revoke" not in logged and seal.revoked_at is not None:
            problems.append(f"登记簿显示印章 #{seal.id} 已吊销，但日志中没有它的吊销记录（未经登记的吊销）")
        if "retire" in logged:
            retired = datetime.fromisoformat(logged["retire"][1]["at"])
            if _aware(seal.valid_until) > retired:
                problems.append(f"印章 #{seal.id} 已在日志条目 {logged['retire'][0]} 中于 {retired.isoformat()} 停用，"
                                f"但登记簿允许它用印至 {_aware(seal.valid_until).isoformat()}（有效期被延长）")
    for seal_id, logged in acts.items():
        index = min(i for i, _ in logged.values())
        problems.append(f"日志条目 {index} 备案的印章 #{seal_id} 已不在登记簿中（被删除）")
    return problems


def check_tree(session: Session) -> list[str]:
    """The stored node hashes agree with the tree recomputed from the payloads."""
    from yiyin.registry.tree import TreeNode

    n = tree.size(session)
    if n == 0:
        return []
    leaves = [merkle.leaf_hash(p.encode("utf-8")) for p in
              session.execute(select(LogEntry.payload).where(LogEntry.index < n).order_by(LogEntry.index)).scalars()]
    if len(leaves) != n:
        return [f"存储的默克尔树覆盖 {n} 个日志条目，但日志中只有 {len(leaves)} 条（条目被删除）"]
    level, current = 0, leaves
    while current:
        stored = [bytes(h) for h in session.execute(select(TreeNode.hash).where(TreeNode.level == level)
                                                       .order_by(TreeNode.idx)).scalars()]
        if len(stored) != len(current):
            return [f"存储的默克尔树第 {level} 层有 {len(stored)} 个节点，应为 {len(current)} 个（树被篡改）"]
        bad = [i for i in range(len(current)) if stored[i] != current[i]]
        if bad:
            more = f"（另有 {len(bad) - 1} {'条' if level == 0 else '个'}同样不符）" if len(bad) > 1 else ""
            if level == 0:
                return [f"日志条目 {bad[0]} 与存储的默克尔树不符{more}：纳入树之后被改动"]
            return [f"存储的默克尔树第 {level} 层的节点 {bad[0]} 与其下层节点不符{more}：树被篡改"]
        current = [merkle.node_hash(current[i], current[i + 1]) for i in range(0, len(current) - 1, 2)]
        level += 1
    return []
