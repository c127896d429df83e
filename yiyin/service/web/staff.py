"""Everything staff use over HTTP, as one router for ``create_app``: the REST API under
/api/v1/staff, the pages under /staff, and the background work of a running server (anchoring the
audit trail in the transparency log every few minutes)."""

from __future__ import annotations

import logging
import os
import threading

from fastapi import APIRouter

from yiyin.service import audit, staff
from yiyin.service.app import App
from yiyin.service.web.staff_api import staff_api
from yiyin.service.web.staff_pages import staff_pages

log = logging.getLogger("yiyin.staff")


def staff_routes(app: App) -> APIRouter:
    router = APIRouter()
    router.include_router(staff_api(app))
    router.include_router(staff_pages(app))
    if staff.user_count(app) == 0:
        print("一印 staff pages at /staff: no staff account yet. Create the first administrator with\n"
              "    yiyin user add admin --role admin --name 管理员\n"
              "(there is no default password), then the other staff with their roles.", flush=True)
    _start_anchoring(app)
    _resume_batches(app)
    return router


def _resume_batches(app: App) -> None:
    """With the default queue (SQLite in the data directory) the server works on batch jobs itself:
    jobs left unfinished by a stopped server are taken up again when it starts."""
    from yiyin.service import batch

    if os.environ.get("YIYIN_QUEUE_URL"):
        return  # `yiyin worker` processes do the work
    unfinished = batch.unfinished_jobs(app)
    for job_id in unfinished:
        batch.release_dead_claims(app, job_id)
        batch.enqueue(app, job_id)
    if unfinished:
        batch.start_consumer(app, 1)


def _start_anchoring(app: App) -> None:
    """Anchor the audit trail's head in the log every YIYIN_AUDIT_ANCHOR_SECONDS (default 300; 0: never)."""
    seconds = float(os.environ.get("YIYIN_AUDIT_ANCHOR_SECONDS", "300") or 0)
    if seconds <= 0:
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                audit.anchor(app)
            except Exception:  # a busy or unreachable database: try again next time
                log.exception("anchoring the audit trail failed")

    threading.Thread(target=loop, name="yiyin-audit-anchor", daemon=True).start()
