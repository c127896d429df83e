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


def check_records(session: Session) -> list[str]:
    """Problems found; an empty list when every row agrees with the log."""
    problems: list[str] = []
    issue_leaves: dict[str, tuple[int, dict[str, Any]]] = {}
    status_leaves: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, payload in session.execute(select(LogEntry.index, LogEntry.payload).order_by(LogEntry.index)):
        try:
            leaf = json.loads(payload)
        except ValueError:
            problems.append(f"log entry {index} is not JSON any more")
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
            problems.append(f"document {doc.number} has no issuance entry in the log (inserted into the registry)")
            continue
        index, leaf = found
        if (leaf.get("number"), leaf.get("sha256"), leaf.get("type"), leaf.get("organ")) != (doc.number, doc.sha256, doc.doc_type, doc.organ_id):
            problems.append(f"document {doc.number} no longer matches its issuance entry {index} (number, hash, type or organ changed)")
        elif "record" in leaf and leaf["record"] != record_digest(session, doc):
            problems.append(f"document {doc.number}: its record (holder, dates, data, licence metadata …) was changed after issuance (entry {index})")
        events = list(session.execute(select(StatusEvent).where(StatusEvent.document_id == doc.id)
                                      .order_by(StatusEvent.id)).scalars())
        first, acts = (events[0], events[1:]) if events else (None, [])
        if first is None or first.status != "有效" or leaf.get("status") != "01":
            problems.append(f"document {doc.number}: its first status is not the issuance recorded in entry {index}")
        logged = status_leaves.get(doc.id, [])
        for k in range(max(len(acts), len(logged))):
            ev = acts[k] if k < len(acts) else None
            lf = logged[k] if k < len(logged) else None
            if ev is None:
                problems.append(f"document {doc.number}: status act of entry {lf[0]} ({lf[1].get('status_name', lf[1].get('status'))}) is missing from the registry (deleted)")
            elif lf is None:
                problems.append(f"document {doc.number}: status act {ev.status} of {_aware(ev.at).isoformat()} is not in the log (inserted)")
            elif not _event_matches(ev, lf[1]):
                problems.append(f"document {doc.number}: status act {k + 1} ({ev.status}) differs from log entry {lf[0]} (changed or reordered)")
    for doc_id, (index, leaf) in issue_leaves.items():
        if doc_id not in seen:
            problems.append(f"log entry {index} records the issuance of {leaf.get('number')}, which is no longer in the registry (deleted)")
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
            problems.append(f"seal {seal.id} ({seal.purpose}) has no registration in the log (inserted into the registry)")
            continue
        index, leaf = logged["add"]
        if (leaf.get("certificate_sha256"), leaf.get("organ"), leaf.get("purpose")) != (seal.cert_fingerprint, seal.organ_id, seal.purpose):
            problems.append(f"seal {seal.id}: its certificate, organ or purpose differs from its registration in entry {index} (changed)")
        if "revoke" in logged and seal.revoked_at is None:
            problems.append(f"seal {seal.id} was revoked in entry {logged['revoke'][0]} but the registry shows it unrevoked")
        elif "revoke" not in logged and seal.revoked_at is not None:
            problems.append(f"seal {seal.id} is marked revoked in the registry, but no revocation is in the log")
        if "retire" in logged:
            retired = datetime.fromisoformat(logged["retire"][1]["at"])
            if _aware(seal.valid_until) > retired:
                problems.append(f"seal {seal.id} was retired in entry {logged['retire'][0]} at {retired.isoformat()}, "
                                f"but the registry lets it seal until {_aware(seal.valid_until).isoformat()} (extended)")
    for seal_id, logged in acts.items():
        index = min(i for i, _ in logged.values())
        problems.append(f"seal {seal_id} registered in log entry {index} is no longer in the registry (deleted)")
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
        return [f"the stored tree covers {n} entries but only {len(leaves)} are in the log"]
    level, current = 0, leaves
    while current:
        stored = [bytes(h) for h in session.execute(select(TreeNode.hash).where(TreeNode.level == level)
                                                       .order_by(TreeNode.idx)).scalars()]
        if len(stored) != len(current):
            return [f"the stored tree has {len(stored)} nodes at level {level}, {len(current)} expected (tree tampered with)"]
        bad = [i for i in range(len(current)) if stored[i] != current[i]]
        if bad:
            where = f"{bad[0]}{f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''}"
            if level == 0:
                return [f"log entry {where} no longer matches the stored tree (changed after integration)"]
            return [f"the stored tree's inner nodes do not match its leaves at level {level}, node {where} (tree tampered with)"]
        current = [merkle.node_hash(current[i], current[i + 1]) for i in range(0, len(current) - 1, 2)]
        level += 1
    return []
