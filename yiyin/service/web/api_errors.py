"""One error model for every HTTP API: a stable code, a Chinese message, the offending fields.

    {"error": {"code": "invalid_data",
               "message": "数据不符合要求：字段 applicant_code（申请人统一社会信用代码或公民身份号码）：统一社会信用代码校验位…",
               "fields": [{"field": "applicant_code（…）", "rule": "value_error", "message": "统一社会信用代码校验位…"}]}}

The code, the status and the heading of the message come from the class in ``yiyin/errors.py``
(the most specific class wins); the handlers here are installed once on the application, so a
route only raises. Request validation (FastAPI/pydantic) and HTTP-level errors (no such endpoint,
method not allowed) are turned into the same model, in Chinese, naming the field by its title.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from yiyin import errors
from yiyin.templates.fields import label_of


class FieldError(BaseModel):
    field: str = Field(description="字段路径及其中文名，如 applicant_code（统一社会信用代码或身份证号码）")
    rule: str = Field(description="违反的规则（稳定的机器代码，如 missing、string_too_long、value_error）")
    message: str = Field(description="中文说明")


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误代码，见接口说明中的错误代码表")
    message: str = Field(description="中文说明，可直接展示给工作人员")
    fields: list[FieldError] = Field(default=[], description="逐项列出不符合要求的字段")


class ErrorBody(BaseModel):
    """Every error of the HTTP APIs."""

    error: ErrorDetail


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a router, each with the error model and its codes."""
    by_status: dict[int, list[type[errors.YiyinError]]] = {}
    for cls in errors.error_classes():
        by_status.setdefault(cls.http_status, []).append(cls)
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        known = "；".join(f"{c.code}（{c.title}）" for c in by_status.get(status, []))
        out[status] = {"model": ErrorBody, "description": known or "错误"}
    return out


def codes_table() -> str:
    """The error codes as a Markdown table, for the API description."""
    rows = [f"| `{c.code}` | {c.http_status} | {c.title} |" for c in errors.error_classes()]
    return "\n".join(["| code | HTTP | 含义 |", "| --- | --- | --- |", *rows])


def error_response(exc: errors.YiyinError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(exc.to_json(), status_code=exc.http_status, headers=headers)


_PLACE = {"query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}


def request_problems(request: Request, exc: RequestValidationError) -> errors.InvalidRequest:
    """FastAPI's request validation errors as an InvalidRequest naming each field by its title."""
    route = request.scope.get("route")
    body_model = getattr(getattr(getattr(route, "body_field", None), "field_info", None), "annotation", None)
    problems = []
    for e in exc.errors():
        where, *path = e.get("loc", ("body",))
        if e.get("type") == "json_invalid":
            at = f"第 {path[0]} 个字符附近" if path and isinstance(path[0], int) else ""
            problems.append(errors.FieldProblem("（请求体）", "json_invalid", f"不是有效的 JSON{('：' + at + '有误') if at else ''}"))
            continue
        if where == "body" and isinstance(body_model, type) and issubclass(body_model, BaseModel) and path:
            name = label_of(body_model, tuple(path))
        elif where == "body":
            name = ".".join(str(p) for p in path) or "（请求体）"
        else:
            name = f"{'.'.join(str(p) for p in path)}（{_PLACE.get(str(where), str(where))}）"
        problems.append(errors.FieldProblem(name, str(e.get("type", "")), errors.pydantic_message(e)))
    return errors.InvalidRequest(problems, "请求")


def http_error(request: Request, exc: StarletteHTTPException) -> errors.YiyinError:
    if exc.status_code == 404:
        return errors.UnknownEndpoint(f"{request.method} {request.url.path}；接口列表见 /docs")
    if exc.status_code == 405:
        return errors.MethodNotAllowed(f"{request.method} {request.url.path}")
    error = errors.YiyinError(str(exc.detail))
    error.code, error.http_status = f"http_{exc.status_code}", exc.status_code
    return error


def install(api: FastAPI) -> None:
    """Answer every error of every route with the one model."""

    @api.exception_handler(errors.YiyinError)
    async def yiyin_error(request: Request, exc: errors.YiyinError) -> Response:
        return error_response(exc)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request_problems(request, exc))

    @api.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_response(http_error(request, exc))
        for k, v in (getattr(exc, "headers", None) or {}).items():
            response.headers[k] = v
        return response
