"""The FastAPI application factory for ``yiyin serve``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from yiyin import __version__
from yiyin.config import Settings
from yiyin.service.app import App
from yiyin.service.http_pki import pki_router
from yiyin.service.ratelimit import TokenBucket
from yiyin.service.web.headers import SecurityHeaders
from yiyin.service.web.log_routes import log_routes
from yiyin.service.web.routes import MAX_UPLOAD, FastLookup, PublicChecks, public_routes
from yiyin.service.web.staff import staff_routes

STATIC = Path(__file__).parent / "static"
_HTTP_CODES = {404: "unknown_endpoint", 405: "method_not_allowed"}


def create_app(app: App | None = None, *, rate_limit: tuple[int, float] | None = None,
               max_upload: int = MAX_UPLOAD, verify_slots: int = 2) -> FastAPI:
    """The whole HTTP service over one App. ``rate_limit`` (count, seconds) overrides the
    settings' ``YIYIN_RATE_LIMIT``; a count of 0 disables it."""
    application = app or App.open(Settings.from_env())
    count, seconds = rate_limit or application.settings.rate_limit
    checks = PublicChecks(application, TokenBucket(count, seconds), max_upload, verify_slots)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        preparing = asyncio.create_task(checks.preparer.run())
        try:
            yield
        finally:
            preparing.cancel()

    api = FastAPI(title="一印 yiyin", version=__version__, lifespan=lifespan,
                  description="公众查验：电子证照和文书的真伪与效力；透明日志；状态列表。"
                              " Public verification of the bureau's documents, transparency log, status lists.")
    api.state.yiyin = application
    api.state.checks = checks
    api.include_router(public_routes(checks), tags=["public verification"])
    api.include_router(log_routes(application))
    api.include_router(pki_router(application))
    api.include_router(staff_routes(application))  # staff API under /api/v1/staff and pages under /staff
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/v", status_code=303)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": {"code": "invalid_request", "message": problems}}, status_code=400)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    api.add_middleware(FastLookup, checks=checks)
    api.add_middleware(SecurityHeaders)  # added last: the outermost, so the fast lookup gets the headers too

    return api
