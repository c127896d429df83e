"""One error model for the staff API: a stable code, a Chinese message, the offending fields.

Codes follow the error hierarchy of ``yiyin/errors.py`` (the most specific class wins), so a
client can act on the code and show the message as it is.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from yiyin import errors

# class -> (stable code, HTTP status, Chinese title)
ERROR_CODES: dict[type[errors.YiyinError], tuple[str, int, str]] = {
    errors.Unauthenticated: ("unauthenticated", 401, "未登录或令牌无效"),
    errors.SeparationOfDuties: ("separation_of_duties", 403, "违反接件、审批、发证三分离"),
    errors.PermissionDenied: ("permission_denied", 403, "没有权限"),
    errors.WorkflowError: ("workflow_conflict", 409, "办件当前状态不允许此操作"),
    errors.MissingGlyph: ("missing_glyph", 422, "字体缺少字符"),
    errors.InvalidData: ("invalid_data", 422, "数据不符合要求"),
    errors.NotFound: ("not_found", 404, "未找到"),
    errors.AuthorityError: ("no_authority", 409, "无权以此名义签发"),
    errors.SealingError: ("sealing_failed", 503, "盖章失败，未签发任何文书"),
    errors.RegistryError: ("registry_refused", 409, "登记簿拒绝了此操作"),
    errors.UnreadableDocument: ("unreadable_document", 422, "文件无法读取"),
    errors.ConfigurationError: ("configuration_error", 500, "系统配置错误，请联系管理员"),
    errors.YiyinError: ("error", 400, "操作未完成"),
}


class FieldError(BaseModel):
    field: str
    rule: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []


class ErrorBody(BaseModel):
    """Every error of the staff API."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": title}
    for status, title in ((401, "未登录或令牌无效"), (403, "没有权限或违反三分离"), (404, "未找到"),
                          (409, "办件状态不允许或登记簿拒绝"), (422, "数据不符合要求"))
}


def classify(exc: errors.YiyinError) -> tuple[str, int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    return ERROR_CODES[errors.YiyinError]


def error_body(exc: errors.YiyinError) -> tuple[dict[str, Any], int]:
    code, status, title = classify(exc)
    message = exc.message
    fields = []
    if isinstance(exc, errors.InvalidData):
        fields = [{"field": p.field, "rule": p.rule, "message": p.message} for p in exc.problems]
        message = "；".join(f"{p.field}：{p.message}" for p in exc.problems)
    return {"error": {"code": code, "message": f"{title}：{message}", "fields": fields}}, status


def error_response(exc: errors.YiyinError) -> JSONResponse:
    body, status = error_body(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_request(exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "(body)", "rule": e["type"], "message": str(e["msg"])}
              for e in exc.errors()]
    message = "；".join(f"{f['field']}：{f['message']}" for f in fields)
    return JSONResponse({"error": {"code": "invalid_request", "message": f"请求格式不正确：{message}", "fields": fields}},
                        status_code=422)


class StaffRoute(APIRoute):
    """Routes of the staff API answer every error with the one error model."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except errors.YiyinError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                return invalid_request(exc)

        return handler
