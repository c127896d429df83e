"""The FastAPI application factory for ``yiyin serve``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from yiyin import __version__
from yiyin.config import Settings
from yiyin.service.app import App
from yiyin.service.http_pki import pki_router
from yiyin.service.ratelimit import TokenBucket
from yiyin.service.web import api_errors
from yiyin.service.web.headers import SecurityHeaders
from yiyin.service.web.log_routes import log_routes
from yiyin.service.web.routes import MAX_UPLOAD, FastLookup, PublicChecks, public_codes_table, public_routes
from yiyin.service.web.staff import staff_routes

STATIC = Path(__file__).parent / "static"
DESCRIPTION = """公众查验：电子证照和文书的真伪与效力；透明日志；状态列表。工作人员接口（/api/v1/staff）：办件、审批、签发、印章、审计、批量任务。
Public verification of the bureau's documents, transparency log, status lists; the staff API.

## 错误 Errors

每个错误都以同一结构返回：`{"error": {"code": …, "message": …, "fields": [{"field", "rule", "message"}]}}`。
`code` 是稳定的机器代码，客户端据此处理；`message` 是中文说明，可直接展示给工作人员；
`fields` 逐项列出不符合要求的字段（字段路径及中文名、违反的规则、说明）。

"""


class YiyinAPI(FastAPI):
    """The FastAPI application, with the public JSON lookup (the request every QR code scan and
    every crowd makes) answered before FastAPI's and Starlette's per-request machinery."""

    fast_lookup: FastLookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if FastLookup.wants(scope):
            await self.fast_lookup.answer(scope, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(app: App | None = None, *, rate_limit: tuple[int, float] | None = None,
               max_upload: int = MAX_UPLOAD, verify_slots: int = 2) -> YiyinAPI:
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

    api = YiyinAPI(title="一印 yiyin", version=__version__, lifespan=lifespan, description=DESCRIPTION + api_errors.codes_table()
                  + "\n\n公众查验（/v、/api/v1/verify）的错误代码：\n\n" + public_codes_table())
    api_errors.install(api)
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

    api.fast_lookup = FastLookup(checks)
    api.add_middleware(SecurityHeaders)

    return api
