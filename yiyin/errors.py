"""One error hierarchy for the whole product.

Every message is written for the clerk or operator who reads it: it names the field or the thing,
the rule that was broken, and, where it helps, what to do next.

Each class carries what every interface needs to report it the same way: the exit status of the
command line, and for HTTP a stable machine ``code`` (published in the API description; a client
may act on it, so it never changes), the status, and a Chinese ``title`` that heads the message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class YiyinError(Exception):
    """Base of every error yiyin raises on purpose."""

    #: exit status the command line uses for this kind of error
    exit_code: int = 1
    #: stable machine code of the HTTP APIs
    code: str = "error"
    http_status: int = 400
    #: what went wrong, in Chinese, before the details
    title: str = "操作未完成"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def fields(self) -> list["FieldProblem"]:
        return []

    def to_json(self) -> dict[str, Any]:
        """The body every HTTP API answers an error with (see ``yiyin.service.web.api_errors``)."""
        return {"error": {"code": self.code, "message": f"{self.title}：{self.detail()}",
                          "fields": [p.to_json() for p in self.fields]}}

    def detail(self) -> str:
        return self.message


@dataclass(frozen=True)
class FieldProblem:
    """One offending field: where it is, which rule it broke, in words."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class InvalidData(YiyinError):
    """Input data broke one or more rules; every offending field is listed."""

    exit_code = 2
    code, http_status, title = "invalid_data", 422, "数据不符合要求"

    def __init__(self, problems: list[FieldProblem], context: str = "数据") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{context}：{len(problems)} 个字段不符合要求\n{lines}")

    @property
    def fields(self) -> list[FieldProblem]:
        return self.problems

    def detail(self) -> str:
        return "；".join(p.message if p.message.startswith(p.field) else f"字段 {p.field}：{p.message}" for p in self.problems)


class InvalidRequest(InvalidData):
    """An HTTP request's body, query or path does not have the shape the endpoint documents."""

    code, title = "invalid_request", "请求格式不正确"


class MissingGlyph(InvalidData):
    """Text contains a character that no configured font can draw."""

    code, title = "missing_glyph", "字体缺少字符"


class ConfigurationError(YiyinError):
    """The installation (data directory, fonts, keys, samples) is not usable as configured."""

    exit_code = 2
    code, http_status, title = "configuration_error", 500, "系统配置错误，请联系系统管理员"


class AuthorityError(YiyinError):
    """The bureau may not issue this document for this item on this date."""

    code, http_status, title = "no_authority", 409, "无权以此名义签发或变更"


class SealingError(YiyinError):
    """The seal could not be applied; nothing was issued."""

    code, http_status, title = "sealing_failed", 503, "盖章失败，未签发任何文书，请稍后重试或联系印章管理员"


class RegistryError(YiyinError):
    """The registry refused or could not complete an operation."""

    code, http_status, title = "registry_refused", 409, "登记簿拒绝了此操作"


class NotFound(RegistryError):
    """A record that was asked for does not exist."""

    code, http_status, title = "not_found", 404, "未找到"


class UnreadableDocument(YiyinError):
    """A file given for verification is not a readable PDF."""

    exit_code = 2
    code, http_status, title = "unreadable_document", 422, "文件无法读取"


class Unauthenticated(YiyinError):
    """No valid staff login or API token came with the request."""

    code, http_status, title = "unauthenticated", 401, "未登录或令牌无效"


class PermissionDenied(YiyinError):
    """The staff member's roles do not allow this act."""

    code, http_status, title = "permission_denied", 403, "没有权限"


class SeparationOfDuties(PermissionDenied):
    """The act would let one person hold two duties the bureau keeps apart (接件、审批、发证三分离)."""

    code, title = "separation_of_duties", "违反接件、审批、发证三分离"


class WorkflowError(YiyinError):
    """The act does not fit the case's current state (e.g. approving an item not yet accepted)."""

    code, http_status, title = "workflow_conflict", 409, "办件当前状态不允许此操作"


class RateLimited(YiyinError):
    """Too many requests from one client in a short time."""

    code, http_status, title = "rate_limited", 429, "请求过于频繁"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnknownEndpoint(YiyinError):
    """No endpoint at this path (a mistyped URL, or an API version this server does not have)."""

    code, http_status, title = "unknown_endpoint", 404, "没有这个接口"


class MethodNotAllowed(YiyinError):
    code, http_status, title = "method_not_allowed", 405, "此接口不支持该请求方法"


def error_classes(root: type[YiyinError] = YiyinError) -> Iterator[type[YiyinError]]:
    """Every error class, the root first: what the API description lists."""
    yield root
    for sub in root.__subclasses__():
        yield from error_classes(sub)


# -- pydantic's messages, in Chinese --------------------------------------------------------------

_PYDANTIC: dict[str, str] = {
    "missing": "必须填写",
    "extra_forbidden": "不是此处可填写的字段（请检查字段名是否拼写有误）",
    "string_type": "须为文字",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确（须符合 {pattern}）",
    "int_type": "须为整数", "int_parsing": "须为整数", "int_from_float": "须为整数，不能有小数",
    "float_type": "须为数字", "float_parsing": "须为数字",
    "decimal_type": "须为数字", "decimal_parsing": "须为数字",
    "bool_type": "须为 true 或 false", "bool_parsing": "须为 true 或 false",
    "date_type": "须为日期（如 2026-11-20）", "date_parsing": "须为日期，格式为 年-月-日（如 2026-11-20）",
    "date_from_datetime_parsing": "须为日期，格式为 年-月-日（如 2026-11-20）",
    "date_from_datetime_inexact": "须为日期，不带时刻",
    "datetime_type": "须为日期时间", "datetime_parsing": "须为日期时间（如 2026-11-20T09:30:00+08:00）",
    "datetime_from_date_parsing": "须为日期时间（如 2026-11-20T09:30:00+08:00）",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "greater_than": "须大于 {gt}", "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}", "less_than_equal": "须不大于 {le}",
    "multiple_of": "须为 {multiple_of} 的倍数",
    "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "list_type": "须为列表", "tuple_type": "须为列表", "set_type": "须为列表",
    "dict_type": "须为对象（JSON object）", "model_type": "须为对象（JSON object）",
    "model_attributes_type": "须为对象（JSON object）",
    "json_invalid": "不是有效的 JSON：{error}", "json_type": "须为 JSON",
    "url_parsing": "须为网址", "url_scheme": "网址须以 {expected_schemes} 开头",
    "uuid_parsing": "须为 UUID", "bytes_type": "须为文件或字节",
    "none_required": "此处不应填写", "is_instance_of": "类型不正确",
    "union_tag_invalid": "类型须为以下之一：{expected_tags}",
}


def pydantic_message(error: Mapping[str, Any]) -> str:
    """A Chinese sentence for one entry of pydantic's ``ValidationError.errors()`` (or FastAPI's
    request validation errors). Our own validators' messages (``value_error``) are kept as written."""
    kind = str(error.get("type", ""))
    msg = str(error.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _PYDANTIC.get(kind)
    if template is None:
        return f"不符合要求（{kind}：{msg}）"
    ctx = {k: _zh_ctx(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：（ ")


def _zh_ctx(value: Any) -> str:
    """pydantic writes alternatives as "'a', 'b' or 'c'"; a clerk reads 「a」「b」「c」."""
    text = str(value)
    if "'" in text:
        parts = [p for p in text.replace(" or ", ", ").split(", ") if p]
        return "、".join(f"“{p.strip(chr(39))}”" for p in parts)
    return text
