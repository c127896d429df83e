"""Staff pages for oversight: the auditor's trail (newest first, filtered, with the check that
recomputes the chain and matches its anchors in the transparency log, and the export for an
inspector) and the batch jobs with their progress (resumable after an interruption)."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from yiyin.service import audit, batch
from yiyin.service.app import App
from yiyin.service.staff import ROLES, Principal
from yiyin.service.workdays import bureau_time

Page = Callable[[Request, Principal], Awaitable[Response]]
PAGE_SIZE = 200


def beijing(value: str) -> str:
    """An ISO time of the trail (UTC) as staff read it: 2026-12-04 04:16:35."""
    try:
        return f"{bureau_time(datetime.fromisoformat(value)):%Y-%m-%d %H:%M:%S}"
    except (TypeError, ValueError):
        return value


def plain(value: Any) -> str:
    """A detail of an audit entry as a clerk reads it: lists joined, Chinese left as it is."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "、".join(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def oversight_routes(router: APIRouter, app: App, guarded: Callable[[Page], Any], render: Callable[..., Response],
                     form_of: Callable[[Request, Principal], Awaitable[dict[str, Any]]]) -> None:

    async def audit_page(request: Request, who: Principal) -> Response:
        q = request.query_params
        actor, refused_only, run_check = q.get("actor", "").strip(), q.get("outcome") == "refused", q.get("check") == "1"
        with audit.attempt(app, who.username, "audit.read"):
            who.require("auditor", "admin")
            report = None
            if run_check:
                who.require("auditor")
                report = audit.check(app)
            rows = audit.entries(app, PAGE_SIZE, actor or None, "refused" if refused_only else None)
        return render(request, "audit.html", who, rows=rows, report=report, actor=actor, refused_only=refused_only,
                      page_size=PAGE_SIZE)

    async def audit_export(request: Request, who: Principal) -> Response:
        with audit.attempt(app, who.username, "audit.export"):
            who.require("auditor")
            with app.db.transaction() as s:
                audit.record(s, who.username, "audit.export", "page")
            text = audit.export(app)
        return PlainTextResponse(text, media_type="application/jsonl",
                                 headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})

    router.add_api_route("/audit", guarded(audit_page), methods=["GET"])
    router.add_api_route("/audit/export", guarded(audit_export), methods=["GET"])

    async def batch_list(request: Request, who: Principal) -> Response:
        with audit.attempt(app, who.username, "batch.read"):
            who.require(*ROLES)
            jobs = [batch.progress(app, job_id) for job_id in batch.jobs(app)]
        return render(request, "batches.html", who, jobs=jobs)

    async def batch_page(request: Request, who: Principal) -> Response:
        job_id = int(request.path_params["job_id"])
        with audit.attempt(app, who.username, "batch.read", str(job_id)):
            who.require(*ROLES)
            job = batch.progress(app, job_id)
        return render(request, "batch.html", who, job=job, done=request.query_params.get("done", ""))

    async def batch_resume(request: Request, who: Principal) -> Response:
        job_id = int(request.path_params["job_id"])
        await form_of(request, who)
        with audit.attempt(app, who.username, "batch.resume", str(job_id)):
            who.require("lead", "admin")
            batch.resume(app, job_id, who.username)  # queues the job again
        if not os.environ.get("YIYIN_QUEUE_URL") and not consumer:
            consumer.append(batch.start_consumer(app, 1))  # the default queue: this server does the work
        return RedirectResponse(f"/staff/batches/{job_id}?done=resume", status_code=303)

    consumer: list[Any] = []
    router.add_api_route("/batches", guarded(batch_list), methods=["GET"])
    router.add_api_route("/batches/{job_id:int}", guarded(batch_page), methods=["GET"])
    router.add_api_route("/batches/{job_id:int}/resume", guarded(batch_resume), methods=["POST"])
