"""Reading one document as the public sees it, in as few statements as the answer needs.

The public lookup is the registry's busiest read: a document by its number (in the number's
bracket forms at once), with its organ, seal, licence identifier and place in the status lists,
in one indexed statement, the same one whether or not the number exists, so that a wrong code and
an unknown number cost the same; then its status acts in a second, and the replacing version's
number in a third only for a replaced version.

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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
}


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


class PublicReads:
    """The statements of a lookup on one driver cursor."""

    def __init__(self, cursor: Any, statements: dict[str, str]) -> None:
        self.cursor, self.statements = cursor, statements

    def _row(self, statement: str, key: str) -> tuple[Any, ...] | None:
        self.cursor.execute(self.statements[statement], {"key": key})
        return self.cursor.fetchone()

    def by_number(self, forms: list[str]) -> list[Found]:
        """The rows of documents numbered as any of these forms of one number (at most
        :data:`NUMBER_FORMS`), not yet decoded: the caller compares the verification code first,
        so that a wrong code costs no more than an unknown number. The statement is the same
        whatever the forms, and whether or not any exists."""
        if not 1 <= len(forms) <= NUMBER_FORMS:
            raise ValueError(f"between 1 and {NUMBER_FORMS} forms of a number")
        padded = [*forms, *[forms[0]] * (NUMBER_FORMS - len(forms))]
        self.cursor.execute(self.statements["by_number"], {f"n{i}": f for i, f in enumerate(padded)})
        return [Found(row) for row in self.cursor.fetchall()]

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
    """Opens :class:`PublicReads` on pooled connections of ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        style = engine.dialect.paramstyle
        if engine.dialect.name == "sqlite" or style == "named":  # sqlite3 takes :name as well as ?
            self.statements = dict(_STATEMENTS)
        elif style == "pyformat":
            self.statements = {k: re.sub(r":(\w+)", r"%(\1)s", v) for k, v in _STATEMENTS.items()}
        else:
            raise ValueError(f"the public reads need a driver with named or pyformat parameters, not {style}")

    @contextmanager
    def __call__(self) -> Iterator[PublicReads]:
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                yield PublicReads(cursor, self.statements)
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, its transaction rolled back
