"""The public verification page (GET /v, the URL in every QR code; POST /v/pdf) and its JSON API
(GET /api/v1/verify, POST /api/v1/verify/pdf)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.types import Scope, Send

from yiyin.registry import catalog
from yiyin.registry.public_read import PublicReader
from yiyin.service.app import App
from yiyin.service.ratelimit import TokenBucket, client_key
from yiyin.service.web.answers import AnswerPreparer
from yiyin.service.web.headers import ALWAYS
from yiyin.service.web.api_errors import ErrorBody
from yiyin.service.web.lookup import CHINA, HTTP_STATUS, MESSAGES, Outcome, Reply, api_lookup, check_file, encode, lookup
from yiyin.service.web.readdb import read_engine

MAX_UPLOAD = 20 * 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_COST = 5  # tokens: validating a file costs far more than a lookup
MAX_WAITING = 8  # uploads queued for a verification slot before the answer is "busy"


#: status, body and headers of an answer of the JSON lookup
ApiAnswer = tuple[int, bytes, list[tuple[bytes, bytes]]]


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store")]


def public_codes_table() -> str:
    rows = [f"| `{code}` | {HTTP_STATUS[code]} | {MESSAGES[code]} |" for code in MESSAGES]
    return "\n".join(["| code | HTTP | message |", "| --- | --- | --- |", *rows])


pages = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _beijing(value: str) -> str:
    """An ISO time from a report as the public reads it: 2026-11-24 02:21:26 北京时间."""
    try:
        return f"{catalog.aware(datetime.fromisoformat(value)).astimezone(CHINA):%Y-%m-%d %H:%M:%S} 北京时间"
    except (TypeError, ValueError):
        return value


pages.env.filters["beijing"] = _beijing


class PublicChecks:
    """The shared state of the public routes: the registry, the rate limiter, the upload slots."""

    def __init__(self, app: App, limiter: TokenBucket, max_upload: int, verify_slots: int) -> None:
        self.app, self.limiter, self.max_upload = app, limiter, max_upload
        self.read_engine = read_engine(app)
        self.connect = PublicReader(self.read_engine)
        # A lookup on SQLite reads a WAL snapshot from the page cache in well under a millisecond
        # and never waits for a lock: it runs on the event loop, which costs less than the hop to
        # a worker thread. A read over the network (PostgreSQL) goes to a thread.
        self.inline_reads = self.read_engine.dialect.name == "sqlite"
        # the event loop's own connection, held: used only on the loop, never from a thread
        self.loop_reads = PublicReader(self.read_engine, hold=True) if self.inline_reads else self.connect
        self.slots = anyio.CapacityLimiter(verify_slots)
        self.bureau_name = _bureau_name(app)
        self.preparer = AnswerPreparer(app, self.connect, app.settings.public_url)

    def allowed(self, request: Request, cost: float = 1.0) -> bool:
        return self.limiter.allow(client_key(request.client.host if request.client else None), cost)

    def retry_after(self, request: Request, cost: float = 1.0) -> str:
        return str(self.limiter.retry_after(client_key(request.client.host if request.client else None), cost))

    async def read_pdf(self, request: Request) -> bytes | str:
        """The uploaded file's bytes (multipart field ``file``, or a raw application/pdf body),
        or an error code. Never reads more than the limit."""
        limit = self.max_upload + _MULTIPART_OVERHEAD
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return "too_large"
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return "too_large"
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            try:
                form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
            except Exception:
                return "invalid_request"
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return "no_file"
            data = await upload.read()
            await form.close()
        else:
            data = bytes(body)
        if not data:
            return "no_file"
        if len(data) > self.max_upload:
            return "too_large"
        return data

    async def lookup(self, n: str, c: str) -> Outcome:
        url = self.app.settings.public_url
        if self.inline_reads:
            return lookup(self.loop_reads, n, c, None, url)
        return await anyio.to_thread.run_sync(lookup, self.connect, n, c, None, url)

    async def api_lookup(self, host: str | None, n: str, c: str) -> ApiAnswer:
        """The JSON API's answer to a lookup, rate limit included: status, body, headers."""
        if self.inline_reads:
            return self.api_lookup_inline(host, n, c)
        key = client_key(host)
        if not self.limiter.allow(key):
            return self._refused(key)
        reply = await anyio.to_thread.run_sync(api_lookup, self.connect, n, c, None, self.app.settings.public_url)
        return self._answer(reply)

    def api_lookup_inline(self, host: str | None, n: str, c: str) -> ApiAnswer:
        """:meth:`api_lookup` on the event loop's own connection, without awaiting: only where
        ``inline_reads`` holds (SQLite)."""
        key = client_key(host)
        if not self.limiter.allow(key):
            return self._refused(key)
        return self._answer(api_lookup(self.loop_reads, n, c, None, self.app.settings.public_url))

    def _refused(self, key: str) -> ApiAnswer:
        body = encode(Outcome("rate_limited"))
        return 429, body, [*_json_headers(body), (b"retry-after", str(self.limiter.retry_after(key)).encode())]

    def _answer(self, reply: Reply) -> ApiAnswer:
        if reply.prepare:
            self.preparer.note(reply.prepare)
        return reply.status, reply.body, _json_headers(reply.body)

    async def check(self, data: bytes) -> Outcome:
        if self.slots.statistics().tasks_waiting >= MAX_WAITING:
            return Outcome("busy")
        # pyHanko's synchronous validation runs its own event loop: keep it off the server's loop
        return await anyio.to_thread.run_sync(check_file, self.app, data, None, self.connect, limiter=self.slots)


def query_values(query_string: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """The named parameters of a query string, as ``parse_qsl`` reads them (``+`` a space,
    percent-escapes in UTF-8, the last of repeated names), without its cost per parameter: on
    the public lookup that parsing cost as much as the read."""
    found: dict[str, str] = {}
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        key = unquote_plus(name.decode("utf-8", "replace")) if b"%" in name or b"+" in name else name.decode("latin-1")
        if key in names:
            text = value.decode("utf-8", "replace")
            found[key] = unquote_plus(text) if b"%" in value or b"+" in value else text
    return found


class FastLookup:
    """``GET /api/v1/verify`` answered ahead of everything else (FastAPI's routing, dependency
    and response machinery and Starlette's middleware, which cost more than the lookup itself),
    with the security headers every response gets; any other request passes on."""

    def __init__(self, checks: PublicChecks) -> None:
        self.checks = checks

    @staticmethod
    def wants(scope: Scope) -> bool:
        return scope["type"] == "http" and scope["path"] == "/api/v1/verify" and scope["method"] == "GET"

    async def answer(self, scope: Scope, send: Send) -> None:
        query = query_values(scope["query_string"], ("n", "c"))
        client = scope.get("client")
        status, body, headers = await self.checks.api_lookup(client[0] if client else None,
                                                             query.get("n", ""), query.get("c", ""))
        await send({"type": "http.response.start", "status": status, "headers": [*headers, *ALWAYS]})
        await send({"type": "http.response.body", "body": body})


def _bureau_name(app: App) -> str:
    try:
        with app.db.session() as s:
            return catalog.get_organ(s, app.bureau_id).name
    except Exception:
        return "行政审批局"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def public_routes(checks: PublicChecks) -> APIRouter:
    router = APIRouter()

    def page(request: Request, outcome: Outcome | None, n: str = "", c: str = "", mode: str = "lookup",
             headers: dict[str, str] | None = None) -> Response:
        status = HTTP_STATUS.get(outcome.result, 200) if outcome else 200
        response = pages.TemplateResponse(request, "verify.html", {
            "bureau": checks.bureau_name, "n": n, "c": c, "outcome": outcome, "mode": mode,
            "max_upload_mb": checks.max_upload // (1024 * 1024)}, status_code=status, headers=headers)
        return _no_store(response)

    def api(outcome: Outcome, headers: dict[str, str] | None = None) -> Response:
        return _no_store(JSONResponse(outcome.to_json(), status_code=HTTP_STATUS.get(outcome.result, 200), headers=headers))

    @router.get("/v", response_class=HTMLResponse, summary="公众查验页面（二维码指向此处）",
                responses={422: {"model": ErrorBody, "description": "invalid_request"}})
    async def verify_page(request: Request, n: str = "", c: str = "") -> Response:
        if not (n.strip() and c.strip()):
            # an empty form, or half filled in: nothing is looked up, nothing is counted
            outcome = Outcome("invalid_request") if (n.strip() or c.strip()) else None
            return page(request, outcome, n, c)
        if not checks.allowed(request):
            return page(request, Outcome("rate_limited"), n, c, headers={"Retry-After": checks.retry_after(request)})
        return page(request, await checks.lookup(n, c), n, c)

    @router.post("/v/pdf", response_class=HTMLResponse, summary="上传 PDF 文件核验")
    async def verify_upload_page(request: Request) -> Response:
        if not checks.allowed(request, UPLOAD_COST):
            return page(request, Outcome("rate_limited"), mode="file",
                        headers={"Retry-After": checks.retry_after(request, UPLOAD_COST)})
        data = await checks.read_pdf(request)
        outcome = Outcome(data) if isinstance(data, str) else await checks.check(data)
        return page(request, outcome, mode="file")

    public_errors = {status: {"model": ErrorBody, "description": "、".join(c for c, st in HTTP_STATUS.items() if st == status)}
                     for status in sorted({st for c, st in HTTP_STATUS.items() if st >= 400})}

    @router.get("/api/v1/verify", summary="look up a document by number (n) and verification code (c)", responses=public_errors)
    async def verify_api(request: Request, n: str = "", c: str = "") -> Response:
        # (GET requests are answered by FastLookup before they reach the router, with the same function)
        status, body, headers = await checks.api_lookup(request.client.host if request.client else None, n, c)
        response = Response(body, status)
        response.raw_headers = headers
        return response

    @router.post("/api/v1/verify/pdf", summary="full validation report of a PDF and its match against the registry",
                 responses=public_errors)
    async def verify_pdf_api(request: Request) -> Response:
        if not checks.allowed(request, UPLOAD_COST):
            return api(Outcome("rate_limited"), {"Retry-After": checks.retry_after(request, UPLOAD_COST)})
        data = await checks.read_pdf(request)
        return api(Outcome(data) if isinstance(data, str) else await checks.check(data))

    return router
