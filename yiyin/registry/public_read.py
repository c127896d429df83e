"""Reading one document as the public sees it, in as few statements as the answer needs.

The public lookup is the registry's busiest read: a document by its number (in the number's
bracket forms at once), with its organ, seal, licence identifier and place in the status lists,
in one indexed statement, the same one whether or not the number exists, so that a wrong code and
an unknown number cost the same; then its status acts in a second, and the replacing version's
number in a third only for a replaced version. The JSON API reads the document's prepared answer
instead, found by number in the answers' own index; only a document without a current one is
read as above.

These statements run on the driver's own cursor (a pooled connection of the given engine), not
through SQLAlchemy's execution layer: at a few thousand lookups a second per core, building
statement contexts and result objects cost more than SQLite's reads themselves. The SQL is plain
and portable; values come back as each driver gives them (SQLite: ISO text and JSON text,
PostgreSQL: dates and parsed JSON) and are read either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine

_DOCUMENT = """SELECT d.id, d.code_digest, d.number, d.doc_type, d.title, d.holder, d.issue_date, d.valid_from,
 d.valid_until, d.sha256, d.public_data, o.name, s.purpose, l.identifier, p.list_id, p.idx
 FROM documents d JOIN organs o ON o.id = d.organ_id JOIN seals s ON s.id = d.seal_id
 LEFT JOIN licence_records l ON l.document_id = d.id LEFT JOIN status_list_entries p ON p.document_id = d.id
 WHERE d.{column} = :key"""
NUMBER_FORMS = 3  # a number is looked up in as many written forms at once (its brackets)
_STATEMENTS = {
    "by_number": _DOCUMENT.format(column="number").replace("= :key", "IN (:n0, :n1, :n2)"),
    "by_id": _DOCUMENT.format(column="id"),
    "acts": "SELECT status, reason, basis, at FROM status_events WHERE document_id = :id ORDER BY id",
    "successor": "SELECT licence_number FROM licence_records WHERE predecessor_id = :id",
    "last_event": "SELECT max(id) FROM status_events WHERE document_id = :id",
    # The prepared answer with what decides whether it still holds: the newest status act is read
    # in the same statement, so that an act recorded after the answer was prepared is seen. First
    # in the answers' own index by number (two b-tree searches on SQLite), then, for a document
    # without one, through the documents (four).
    "prepared_by_number": """SELECT a.document_id, a.code_digest, a.body, a.format, a.base_url, a.last_event_id,
 a.good_from, a.good_until, (SELECT max(e.id) FROM status_events e WHERE e.document_id = a.document_id)
 FROM public_answers a WHERE a.number IN (:n0, :n1, :n2)""",
    "answers_by_number": """SELECT d.id, d.code_digest, a.body, a.format, a.base_url, a.last_event_id, a.good_from,
 a.good_until, (SELECT max(e.id) FROM status_events e WHERE e.document_id = d.id)
 FROM documents d LEFT JOIN public_answers a ON a.document_id = d.id WHERE d.number IN (:n0, :n1, :n2)""",
}
# A number without brackets has one form: one index probe instead of SQLite's building a list to
# search. Which statement runs depends on what was typed, never on what the registry holds.
_STATEMENTS |= {f"{name}_one": sql.replace("IN (:n0, :n1, :n2)", "= :n0")
                for name, sql in _STATEMENTS.items() if "IN (:n0, :n1, :n2)" in sql}


@dataclass(frozen=True)
class PublicDocument:
    id: str
    code_digest: str
    number: str
    doc_type: str
    title: str
    holder: str
    issue_date: date
    valid_from: date | None
    valid_until: date | None
    sha256: str
    public_data: dict[str, Any]
    organ: str
    seal_purpose: str
    identifier: str | None  # GB/T 36904, for a licence
    status_list: tuple[int, int] | None  # its place (list, index) in the W3C Bitstring Status Lists


@dataclass(frozen=True)
class Act:
    status: str
    reason: str
    basis: str
    at: datetime


def _date(value: Any) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def _datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, (str, bytes)) else (value or {})


@dataclass(frozen=True)
class Found:
    row: tuple[Any, ...]

    @property
    def code_digest(self) -> str:
        return self.row[1]

    def document(self) -> PublicDocument:
        (id_, digest, number, doc_type, title, holder, issued, valid_from, valid_until, sha256, data, organ, seal,
         identifier, list_id, idx) = self.row
        return PublicDocument(id_, digest, number, doc_type, title, holder, _date(issued), _date(valid_from),  # type: ignore[arg-type]
                              _date(valid_until), sha256, _json(data), organ, seal, identifier,
                              (list_id, idx) if list_id is not None else None)


class PreparedRow(NamedTuple):
    """A document found by number, with its prepared public answer when there is one (a named
    tuple: made once per lookup, where a frozen dataclass's making showed in the profile)."""

    id: str
    code_digest: str
    body: bytes | None
    format: int | None
    base_url: str | None
    last_event_id: int | None
    good_from: Any  # ISO text on SQLite, a date on PostgreSQL; None for open-ended
    good_until: Any
    newest_event: int | None

    def holds(self, answer_format: int, base_url: str, on: date) -> bool:
        """Whether the prepared answer is still the answer on ``on``."""
        if self.body is None or self.format != answer_format or self.base_url != base_url \
                or self.last_event_id != (self.newest_event or 0):
            return False
        return (self.good_from is None or _date(self.good_from) <= on) and \
            (self.good_until is None or on <= _date(self.good_until))  # type: ignore[operator]


class PublicReads:
    """The statements of a lookup on one driver cursor."""

    def __init__(self, cursor: Any, statements: dict[str, str]) -> None:
        self.cursor, self.statements = cursor, statements

    def _row(self, statement: str, key: str) -> tuple[Any, ...] | None:
        self.cursor.execute(self.statements[statement], {"key": key})
        return self.cursor.fetchone()

    def _by_number(self, statement: str, forms: list[str]) -> list[tuple[Any, ...]]:
        """The rows of ``statement`` for these forms of one number: its one-form variant when the
        forms are one."""
        forms = list(dict.fromkeys(forms))
        if not 1 <= len(forms) <= NUMBER_FORMS:
            raise ValueError(f"between 1 and {NUMBER_FORMS} forms of a number")
        if len(forms) == 1:
            self.cursor.execute(self.statements[f"{statement}_one"], {"n0": forms[0]})
        else:
            padded = [*forms, *[forms[0]] * (NUMBER_FORMS - len(forms))]
            self.cursor.execute(self.statements[statement], {f"n{i}": f for i, f in enumerate(padded)})
        return self.cursor.fetchall()

    def by_number(self, forms: list[str]) -> list[Found]:
        """The rows of documents numbered as any of these forms of one number (at most
        :data:`NUMBER_FORMS`), not yet decoded: the caller compares the verification code first,
        so that a wrong code costs no more than an unknown number. The statement depends on the
        forms only, never on whether any exists."""
        return [Found(row) for row in self._by_number("by_number", forms)]

    def prepared_by_number(self, forms: list[str]) -> list[PreparedRow]:
        """The prepared answers of documents numbered as any of these forms: only documents that
        have one (see :meth:`answers_by_number` for all), in one index and one row each."""
        return [PreparedRow(*row) for row in self._by_number("prepared_by_number", forms)]

    def answers_by_number(self, forms: list[str]) -> list[PreparedRow]:
        """Like :meth:`by_number`, the rows for these forms of a number, but with each document's
        prepared answer (if any) and its newest status act instead of the document itself."""
        return [PreparedRow(*row) for row in self._by_number("answers_by_number", forms)]

    def last_event(self, document_id: str) -> int:
        self.cursor.execute(self.statements["last_event"], {"id": document_id})
        row = self.cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def by_id(self, document_id: str) -> PublicDocument | None:
        row = self._row("by_id", document_id)
        return Found(row).document() if row is not None else None

    def acts(self, document_id: str) -> list[Act]:
        """The document's status acts, oldest first (the first is its issuance)."""
        self.cursor.execute(self.statements["acts"], {"id": document_id})
        return [Act(status, reason, basis, _datetime(at)) for status, reason, basis, at in self.cursor.fetchall()]

    def successor_number(self, document_id: str) -> str:
        self.cursor.execute(self.statements["successor"], {"id": document_id})
        row = self.cursor.fetchone()
        return row[0] if row else ""


class PublicReader:
    """Opens :class:`PublicReads` on pooled connections of ``engine``.

    ``hold=True`` keeps one connection and cursor for the reader's life instead, for a single
    thread that reads in autocommit mode (the server's event loop on SQLite, where every
    statement sees the latest committed data): checking a connection out of the pool and rolling
    it back cost more than the lookup's one statement."""

    def __init__(self, engine: Engine, hold: bool = False) -> None:
        self.engine = engine
        self.held: PublicReads | None = None
        style = engine.dialect.paramstyle
        if engine.dialect.name == "sqlite" or style == "named":  # sqlite3 takes :name as well as ?
            self.statements = dict(_STATEMENTS)
        elif style == "pyformat":
            self.statements = {k: re.sub(r":(\w+)", r"%(\1)s", v) for k, v in _STATEMENTS.items()}
        else:
            raise ValueError(f"the public reads need a driver with named or pyformat parameters, not {style}")
        if hold:
            self._connection = engine.raw_connection()  # checked out for good
            self.held = PublicReads(self._connection.cursor(), self.statements)

    def __call__(self) -> AbstractContextManager[PublicReads]:
        return nullcontext(self.held) if self.held is not None else self._pooled()

    @contextmanager
    def _pooled(self) -> Iterator[PublicReads]:
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                yield PublicReads(cursor, self.statements)
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, its transaction rolled back
