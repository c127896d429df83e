"""Document numbers: a pattern per organ and document type, one counter per period, gap-free.

Each allocation is its own committed transaction, so a number, once handed out, exists in the
registry whatever happens next; it ends as issued or as void with a reason, never reused.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiyin.errors import FieldProblem, InvalidData, NotFound, RegistryError
from yiyin.registry.models import IssuedNumber, NumberCounter, NumberingRule, NumberOutcome

_FIELDS = {"year", "seq"}


def check_pattern(pattern: str) -> None:
    """A pattern must contain ``{seq}`` (optionally formatted, e.g. ``{seq:06d}``) and may contain ``{year}``."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError as exc:
        raise InvalidData([FieldProblem("pattern", "format", f"编号规则 {pattern!r} 格式不正确：{exc}")]) from None
    problems = []
    if "seq" not in names:
        problems.append(FieldProblem("pattern", "needs_seq", f"编号规则 {pattern!r} 中没有序号占位符 {{seq}}"))
    if names - _FIELDS:
        problems.append(FieldProblem("pattern", "known_placeholders", f"编号规则 {pattern!r} 中有无法识别的占位符 {sorted(names - _FIELDS)}；只能用 {{year}}（年度）和 {{seq}}（序号）"))
    if problems:
        raise InvalidData(problems, "编号规则")
    pattern.format(year=2026, seq=1)


def period_of(pattern: str, when: date) -> str:
    """Numbers restart each year only when the year is part of the number."""
    return str(when.year) if "{year" in pattern else "all"


@dataclass(frozen=True)
class Allocation:
    number: str
    seq: int
    period: str


def allocate(session: Session, organ_id: str, doc_type: str, when: date) -> Allocation:
    """Take the next number; the caller's transaction must commit it before issuing."""
    rule = session.get(NumberingRule, (organ_id, doc_type))
    if rule is None:
        raise NotFound(f"机关 {organ_id} 没有文书类型 {doc_type} 的编号规则；请在该机关的 numbering 中添加")
    period = period_of(rule.pattern, when)
    key = (NumberCounter.organ_id == organ_id, NumberCounter.doc_type == doc_type, NumberCounter.period == period)
    seq = session.execute(
        update(NumberCounter).where(*key).values(last_seq=NumberCounter.last_seq + 1).returning(NumberCounter.last_seq)
    ).scalar()
    if seq is None:
        try:
            with session.begin_nested():
                session.execute(insert(NumberCounter).values(organ_id=organ_id, doc_type=doc_type, period=period, last_seq=1))
            seq = 1
        except IntegrityError:  # another issuer created the counter first
            seq = session.execute(
                update(NumberCounter).where(*key).values(last_seq=NumberCounter.last_seq + 1).returning(NumberCounter.last_seq)
            ).scalar_one()
    number = rule.pattern.format(year=when.year, seq=seq)
    session.add(IssuedNumber(number=number, organ_id=organ_id, doc_type=doc_type, period=period, seq=seq,
                             allocated_at=datetime.now(timezone.utc)))
    session.flush()
    return Allocation(number=number, seq=seq, period=period)


def close(session: Session, number: str, outcome: str, reason: str = "") -> None:
    if outcome not in ("issued", "void"):
        raise ValueError(outcome)
    if session.get(IssuedNumber, number) is None:
        raise NotFound(f"编号 {number} 从未分配过")
    if session.get(NumberOutcome, number) is not None:
        raise RegistryError(f"编号 {number} 已有结果（已签发或已作废），不能再更改")
    session.add(NumberOutcome(number=number, outcome=outcome, reason=reason, at=datetime.now(timezone.utc)))
    session.flush()


def outcome_of(session: Session, number: str) -> NumberOutcome | None:
    return session.execute(select(NumberOutcome).where(NumberOutcome.number == number)).scalar_one_or_none()


@dataclass(frozen=True)
class RuleView:
    organ_id: str
    doc_type: str
    pattern: str
    period: str
    last_seq: int
    next_number: str


def rules(session: Session, on: date) -> list[RuleView]:
    """Every numbering rule, with the counter of the period ``on`` falls in and the number it gives next."""
    out = []
    for rule in session.execute(select(NumberingRule).order_by(NumberingRule.organ_id, NumberingRule.doc_type)).scalars():
        period = period_of(rule.pattern, on)
        last = session.get(NumberCounter, (rule.organ_id, rule.doc_type, period))
        seq = last.last_seq if last is not None else 0
        out.append(RuleView(rule.organ_id, rule.doc_type, rule.pattern, period, seq, rule.pattern.format(year=on.year, seq=seq + 1)))
    return out


def set_rule(session: Session, organ_id: str, doc_type: str, pattern: str, on: date) -> RuleView:
    """Set (or change) how an organ numbers a document type. The counters stay: a pattern with the
    same period goes on from the last number given. Refused if the next number it would give has
    been given already (a changed pattern that would repeat an old number)."""
    check_pattern(pattern)
    period = period_of(pattern, on)
    counter = session.get(NumberCounter, (organ_id, doc_type, period))
    seq = (counter.last_seq if counter is not None else 0) + 1
    upcoming = pattern.format(year=on.year, seq=seq)
    if session.get(IssuedNumber, upcoming) is not None:
        raise InvalidData([FieldProblem("pattern", "unused_numbers",
                                        f"编号规则 {pattern!r} 下一个将编出 {upcoming}，而这个编号已经用过；"
                                        f"编号不得重复使用")], "编号规则")
    rule = session.get(NumberingRule, (organ_id, doc_type)) or NumberingRule(organ_id=organ_id, doc_type=doc_type)
    rule.pattern = pattern
    session.add(rule)
    session.flush()
    return RuleView(organ_id, doc_type, pattern, period, seq - 1, upcoming)
