"""The audit trail: every act and every refused attempt, who, when, on what, chained and anchored
in the transparency log; export for an inspector, and the checks that find any change.

    record(session, …)   an act, in the same transaction as the act itself
    refused(app, …)      a refused attempt, in a transaction of its own (the act rolled back)
    anchor(app)          the chain's head into the transparency log
    export(app)          JSON Lines: a header with the chain's head (anchored now), its log entry,
                         an inclusion proof and a signed checkpoint; then every entry
    check_export(text)   offline: the chain recomputed, the head proven in the signed log
    check(app)           online: the chain recomputed, every anchor in the log matched, the log
                         against every signed checkpoint
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiyin.errors import YiyinError
from yiyin.registry import log, merkle
from yiyin.registry.checkpoint import CheckpointError, open_note
from yiyin.registry.models import LogEntry
from yiyin.registry.staff import GENESIS, AuditEntry, append_audit, at_text, entry_body, entry_hash
from yiyin.registry.staff import anchor as anchor_head
from yiyin.service.app import App

FORMAT = "yiyin.audit/1"


def record(session: Session, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None,
           outcome: str = "done") -> AuditEntry:
    return append_audit(session, actor, action, outcome, target, detail)


def refused(app: App, actor: str, action: str, target: str, error: BaseException) -> None:
    """A refused attempt, kept even though the act itself was rolled back."""
    message = error.message if isinstance(error, YiyinError) else f"{type(error).__name__}: {error}"
    with app.db.transaction() as s:
        append_audit(s, actor, action, "refused", target, {"error": type(error).__name__, "message": message[:2000]})


@contextmanager
def attempt(app: App, actor: str, action: str, target: str = "") -> Iterator[None]:
    """Run an act; if it is refused (any YiyinError), the refusal is audited and re-raised."""
    try:
        yield
    except YiyinError as exc:
        refused(app, actor, action, target, exc)
        raise


def anchor(app: App) -> int | None:
    """Anchor the chain's head in the transparency log; the log index of the anchor."""
    with app.db.transaction() as s:
        leaf = anchor_head(s)
        return leaf.index if leaf else None


def _entry_json(e: AuditEntry) -> dict[str, Any]:
    return {**entry_body(e.seq, at_text(e.at), e.actor, e.action, e.outcome, e.target, e.detail),
            "prev_hash": e.prev_hash, "hash": e.hash}


def entries(app: App, limit: int | None = None, actor: str | None = None, outcome: str | None = None) -> list[dict[str, Any]]:
    with app.db.session() as s:
        q = select(AuditEntry).order_by(AuditEntry.seq.desc())
        if actor:
            q = q.where(AuditEntry.actor == actor)
        if outcome:
            q = q.where(AuditEntry.outcome == outcome)
        if limit:
            q = q.limit(limit)
        return [_entry_json(e) for e in s.execute(q).scalars()]


def _leaf_body(index: int, seq: int, digest: str) -> str:
    return log.canonical({"index": index, "kind": "audit", "seq": seq, "hash": digest})


# -- export and offline check ----------------------------------------------------------------------


def export(app: App) -> str:
    """The whole trail as JSON Lines, with what an inspector needs to check it without yiyin's
    database: the head's log leaf, its inclusion proof and a checkpoint signed now."""
    from yiyin.service import transparency

    anchored_at = anchor(app)
    with app.db.session() as s:
        rows = list(s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        hashes = log.leaves(s)
    note = transparency.sign_checkpoint(app)
    cp = open_note(note, transparency.verifier(app))
    header: dict[str, Any] = {"format": FORMAT, "count": len(rows), "origin": cp.origin,
                              "verifier": transparency.verifier(app), "checkpoint": note}
    if rows and anchored_at is not None:
        head = rows[-1]
        proof = merkle.inclusion_proof(anchored_at, hashes[: cp.size])
        header.update(head=head.hash, head_seq=head.seq, head_log_index=anchored_at,
                      proof=[base64.b64encode(p).decode() for p in proof])
    lines = [json.dumps(header, ensure_ascii=False, sort_keys=True)]
    lines += [json.dumps(_entry_json(e), ensure_ascii=False, sort_keys=True) for e in rows]
    return "\n".join(lines) + "\n"


@dataclass
class AuditCheck:
    entries: int = 0
    unanchored: int = 0   # newest entries not yet anchored in the log (protected by the chain alone)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _chain(rows: list[dict[str, Any]], report: AuditCheck) -> str:
    """Follow the hash chain through ``rows``, naming every gap, displaced entry and changed
    entry (not only the first); the hash the chain ends on."""
    prev, expected = GENESIS, 0
    for row in rows:
        seq = row.get("seq")
        if not isinstance(seq, int) or seq < expected:
            report.problems.append(f"审计记录 #{seq} 出现在 #{expected - 1} 之后：记录被调换了顺序或重复")
            continue
        if seq > expected:
            gap = f"#{expected}" if seq == expected + 1 else f"#{expected} 至 #{seq - 1}"
            report.problems.append(f"审计记录 {gap} 缺失（该位置上是 #{seq}）：有记录被删除或调换了顺序")
            prev = row.get("prev_hash", "")  # the chain cannot be followed across the gap: go on from this entry
        body = entry_body(seq, row.get("at", ""), row.get("actor", ""), row.get("action", ""), row.get("outcome", ""),
                          row.get("target", ""), row.get("detail", {}))
        if row.get("prev_hash") != prev:
            report.problems.append(f"审计记录 #{seq} 所记的前一条摘要（prev_hash）与 #{seq - 1} 的摘要不符：哈希链断开")
        digest = entry_hash(prev, body)
        if digest != row.get("hash"):
            report.problems.append(f"审计记录 #{seq}（现记为 {row.get('actor')} 的 {row.get('action')}）写入后被改动："
                                   f"重新计算的摘要与所记摘要不符")
        prev, expected = row.get("hash") or digest, seq + 1
    return prev


def check_export(text: str, verifier: str | None = None) -> AuditCheck:
    """Check an exported trail offline. ``verifier`` is the log's published key; without it the
    key in the file is used, which only shows the file is consistent with itself."""
    lines = [line for line in text.splitlines() if line.strip()]
    report = AuditCheck()
    if not lines:
        report.problems.append(f"不是审计记录导出文件（{FORMAT}）：文件是空的")
        return report
    parsed: list[Any] = []
    for number, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            report.problems.append(f"不是审计记录导出文件（{FORMAT}）：第 {number} 个非空行不是 JSON")
            return report
    header, rows = parsed[0], parsed[1:]
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        report.problems.append(f"不是格式为 {FORMAT} 的审计记录导出文件（首行的 format 为 {found!r}）")
        return report
    odd = [number for number, row in enumerate(rows, 2) if not isinstance(row, dict)]
    if odd:
        report.problems.append(f"第 {odd[0]} 个非空行不是一条审计记录（应为 JSON 对象）")
        return report
    report.entries = len(rows)
    if header.get("count") != len(rows):
        report.problems.append(f"文件头记载共 {header.get('count')} 条审计记录，文件中实有 {len(rows)} 条：有记录被增删")
    head = _chain(rows, report)
    if not rows:
        return report
    if head != header.get("head") or rows[-1].get("seq") != header.get("head_seq"):
        report.problems.append(f"最后一条审计记录（#{rows[-1].get('seq')}）不是导出时的链头（#{header.get('head_seq')}，"
                               f"摘要 {header.get('head')}）：有记录被增删或改动")
    key = verifier or header.get("verifier", "")
    try:
        cp = open_note(header.get("checkpoint", ""), key)
    except (CheckpointError, ValueError) as exc:
        report.problems.append(f"文件中的签名检查点未通过验证：{exc}")
        return report
    leaf = _leaf_body(header.get("head_log_index", -1), header.get("head_seq", -1), header.get("head", ""))
    try:
        proof = [base64.b64decode(p) for p in header.get("proof", [])]
        ok = merkle.verify_inclusion(header["head_log_index"], cp.size, merkle.leaf_hash(leaf.encode()), proof, cp.root)
    except (KeyError, ValueError):
        ok = False
    if not ok:
        report.problems.append(f"未能证明审计记录的链头（#{header.get('head_seq')}）在已签名的透明日志中："
                               f"日志条目 {header.get('head_log_index')} 的包含证明推不出签名检查点（树大小 {cp.size}）的根哈希")
    return report


# -- online check ----------------------------------------------------------------------------------


def check(app: App) -> AuditCheck:
    """The chain recomputed; every anchor of it in the log matched against the entry it names;
    the log itself against every signed checkpoint (transparency.audit)."""
    from yiyin.service import transparency

    with app.db.session() as s:
        rows = [_entry_json(e) for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
        anchors = []
        for i, payload in s.execute(select(LogEntry.index, LogEntry.payload).where(LogEntry.kind == "audit")
                                    .order_by(LogEntry.index)):
            try:
                anchors.append((i, json.loads(payload)))
            except ValueError:
                continue  # named by transparency.audit (an entry that is not JSON any more)
    report = AuditCheck(entries=len(rows))
    _chain(rows, report)
    by_seq = {r["seq"]: r for r in rows}
    for index, leaf in anchors:
        row = by_seq.get(leaf.get("seq"))
        if row is None:
            report.problems.append(f"日志条目 {index} 锚定了审计记录 #{leaf.get('seq')}，但审计记录中已没有这一条（被删除）")
        elif row["hash"] != leaf.get("hash"):
            report.problems.append(f"审计记录 #{leaf.get('seq')} 的摘要与日志条目 {index} 锚定的不符："
                                   f"#{leaf.get('seq')} 或它之前的记录被改写")
    last = anchors[-1][1].get("seq", -1) if anchors else -1
    report.unanchored = max(0, len(rows) - 1 - last)
    report.problems.extend(transparency.audit(app).problems)
    return report
