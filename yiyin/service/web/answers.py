"""Preparing the public lookup's answers ahead (see :func:`yiyin.service.web.lookup.api_lookup`).

A document's answer is prepared the first time it is looked up after it was issued, after a
status act, after its validity dates make it 过期 or in force, or after ``YIYIN_PUBLIC_URL``
changed: the lookup that finds it missing or stale answers afresh and names the document here;
a background task writes the answers in small batches, so that the public read path never waits
for a write. ``yiyin public-answers`` prepares every document's answer at once (after a restore,
or before opening the page to a crowd).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime

import anyio

from yiyin.registry import public_answers
from yiyin.registry.public_answers import Prepared
from yiyin.service.app import App
from yiyin.service.web.lookup import ANSWER_FORMAT, CHINA, Connect, prepare_answer

log = logging.getLogger("yiyin.web")

MAX_PENDING = 50_000  # documents waiting for their answer; more are prepared when next looked up
BATCH = 200


def prepare(app: App, connect: Connect, document_ids: list[str], on: date, public_url: str) -> int:
    """Prepare and store the answers of these documents; the number stored."""
    with connect() as reads:
        answers = [a for a in (prepare_answer(reads, d, on, public_url) for d in document_ids) if a is not None]
    with app.db.transaction() as s:
        public_answers.store(s, answers, ANSWER_FORMAT, public_url)
    return len(answers)


def prepare_all(app: App, connect: Connect, public_url: str, on: date | None = None,
                progress: Callable[[int], None] | None = None) -> int:
    """Prepare the answer of every document whose answer is missing or no longer holds."""
    on = on or datetime.now(CHINA).date()
    done, after = 0, ""
    while True:
        with app.db.session() as s:
            ids = public_answers.needing(s, ANSWER_FORMAT, public_url, on, after, BATCH)
        if not ids:
            return done
        done += prepare(app, connect, ids, on, public_url)
        after = ids[-1]
        if progress:
            progress(done)


class AnswerPreparer:
    """Collects the documents lookups found without a current answer and prepares them."""

    def __init__(self, app: App, connect: Connect, public_url: str, interval: float = 0.5) -> None:
        self.app, self.connect, self.public_url, self.interval = app, connect, public_url, interval
        self.pending: set[str] = set()

    def note(self, document_id: str) -> None:
        if len(self.pending) < MAX_PENDING:
            self.pending.add(document_id)

    def flush(self) -> int:
        done = 0
        while self.pending:
            batch = [self.pending.pop() for _ in range(min(BATCH, len(self.pending)))]
            done += prepare(self.app, self.connect, batch, datetime.now(CHINA).date(), self.public_url)
        return done

    async def run(self) -> None:
        """Flush every ``interval`` seconds until cancelled; a failed batch is logged and
        dropped (its documents are answered afresh, and noted again, when next looked up)."""
        while True:
            await asyncio.sleep(self.interval)
            if self.pending:
                try:
                    await anyio.to_thread.run_sync(self.flush)
                except Exception:
                    log.exception("preparing public answers failed")
