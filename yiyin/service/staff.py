"""Staff accounts and who may do what: roles, passwords, API tokens, page sessions.

Passwords are hashed with scrypt (RFC 7914, from the standard library; parameters stored with
each hash so they can be raised later). API tokens and session ids are 256-bit random values shown
once; only their SHA-256 digests are stored. There is no default account: the first administrator
is created on the command line (``yiyin user add NAME --role admin``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from yiyin.errors import FieldProblem, InvalidData, NotFound, PermissionDenied, Unauthenticated
from yiyin.registry.catalog import aware
from yiyin.registry.staff import ApiToken, StaffSession, StaffUser
from yiyin.service import audit
from yiyin.service.app import App

ROLES: dict[str, str] = {
    "intake": "窗口接件",
    "reviewer": "审批业务科审批人员",
    "lead": "牵头科室",
    "inspector": "现场勘验科",
    "custodian": "印章管理员",
    "window": "统一发证窗口",
    "archivist": "档案管理员",
    "auditor": "审计监督",
    "admin": "系统管理员",
}
SECTION_ROLES = {"reviewer", "lead"}  # these act for named sections (审批业务科)
SESSION_HOURS = 10
# Per client address, within the window: login attempts at the staff pages, failed API tokens.
AUTH_ATTEMPTS, AUTH_WINDOW = 10, 300.0
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_USERNAME = re.compile(r"^[a-z][a-z0-9_.\-]{1,63}$")


@dataclass(frozen=True)
class Principal:
    """The staff member behind a request."""

    username: str
    display_name: str
    roles: frozenset[str]
    sections: frozenset[str]
    csrf: str = ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            names = "、".join(ROLES[r] for r in roles)
            raise PermissionDenied(f"{self.display_name}（{self.username}）没有此项操作的权限：需要{names}角色")

    def in_section(self, section: str) -> bool:
        return section in self.sections

    def require_member(self, section: str, *roles: str) -> None:
        """One of ``roles``, held as a member of ``section``."""
        self.require(*roles)
        if not self.in_section(section):
            raise PermissionDenied(f"{self.display_name}（{self.username}）不属于{section}，不能办理该科室的事项")


def _principal(user: StaffUser, csrf: str = "") -> Principal:
    return Principal(user.username, user.display_name, frozenset(user.roles), frozenset(user.sections), csrf)


# -- passwords -----------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **_SCRYPT)
    params = f"n={_SCRYPT['n']},r={_SCRYPT['r']},p={_SCRYPT['p']}"
    return f"scrypt${params}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, params, salt, digest = stored.split("$")
        p = dict(kv.split("=") for kv in params.split(","))
        computed = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), dklen=32, maxmem=64 * 1024 * 1024,
                                  n=int(p["n"]), r=int(p["r"]), p=int(p["p"]))
    except (ValueError, KeyError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(computed, base64.b64decode(digest))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def _check_password_rule(password: str) -> None:
    if len(password) < 10:
        raise InvalidData([FieldProblem("password", "min_length", "密码至少 10 个字符")], "工作人员账号")


# -- accounts (administrator) --------------------------------------------------------------------


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    roles: list[str]
    sections: list[str]
    active: bool
    tokens: int

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def user_count(app: App) -> int:
    with app.db.session() as s:
        return s.execute(select(func.count()).select_from(StaffUser)).scalar_one()


def check_user(username: str, roles: list[str], sections: list[str]) -> list[FieldProblem]:
    problems = []
    if not _USERNAME.match(username):
        problems.append(FieldProblem("username", "format", "用户名为 2–64 个小写字母、数字或 . _ -，以字母开头"))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        problems.append(FieldProblem("roles", "known_role", f"角色须为以下之一：{', '.join(ROLES)}；未知：{', '.join(unknown) or '（未指定）'}"))
    if set(roles) & SECTION_ROLES and not sections:
        problems.append(FieldProblem("sections", "required", "审批人员和牵头科室须指明所属科室（--section）"))
    return problems


def add_user(app: App, username: str, display_name: str, roles: list[str], sections: list[str], password: str | None,
             actor: str) -> UserView:
    problems = check_user(username, roles, sections)
    if password is not None:
        try:
            _check_password_rule(password)
        except InvalidData as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidData(problems, "工作人员账号")
    with audit.attempt(app, actor, "user.add", username), app.db.transaction() as s:
        if s.execute(select(StaffUser).where(StaffUser.username == username)).first():
            raise InvalidData([FieldProblem("username", "unique", f"用户 {username} 已存在")], "工作人员账号")
        user = StaffUser(username=username, display_name=display_name or username, roles=sorted(set(roles)),
                         sections=sorted(set(sections)), password_hash=hash_password(password) if password else "",
                         active=True, created_at=datetime.now(timezone.utc))
        s.add(user)
        s.flush()
        audit.record(s, actor, "user.add", username, {"roles": user.roles, "sections": user.sections})
    return _view(app, username)


def _get(s, username: str) -> StaffUser:  # type: ignore[no-untyped-def]
    user = s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"没有用户 {username}")
    return user


def _view(app: App, username: str) -> UserView:
    with app.db.session() as s:
        user = _get(s, username)
        tokens = s.execute(select(func.count()).select_from(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalar_one()
        return UserView(user.username, user.display_name, list(user.roles), list(user.sections), user.active, tokens)


def list_users(app: App) -> list[UserView]:
    with app.db.session() as s:
        names = list(s.execute(select(StaffUser.username).order_by(StaffUser.username)).scalars())
    return [_view(app, n) for n in names]


def set_password(app: App, username: str, password: str, actor: str) -> None:
    _check_password_rule(password)
    with audit.attempt(app, actor, "user.password", username), app.db.transaction() as s:
        user = _get(s, username)
        user.password_hash = hash_password(password)
        s.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
        audit.record(s, actor, "user.password", username)


def set_active(app: App, username: str, active: bool, actor: str) -> None:
    with audit.attempt(app, actor, "user.enable" if active else "user.disable", username), app.db.transaction() as s:
        user = _get(s, username)
        user.active = active
        if not active:
            s.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
            for token in s.execute(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars():
                token.revoked_at = datetime.now(timezone.utc)
        audit.record(s, actor, "user.enable" if active else "user.disable", username)


def new_token(app: App, username: str, label: str, actor: str) -> str:
    """A new API token for the user; the token itself is returned once and never stored."""
    token = "yy_" + secrets.token_urlsafe(32)
    with audit.attempt(app, actor, "token.create", username), app.db.transaction() as s:
        user = _get(s, username)
        s.add(ApiToken(user_id=user.id, digest=_digest(token), label=label, created_at=datetime.now(timezone.utc)))
        audit.record(s, actor, "token.create", username, {"label": label})
    return token


# -- authentication ------------------------------------------------------------------------------


def by_token(app: App, token: str) -> Principal:
    with app.db.session() as s:
        row = s.execute(select(StaffUser).join(ApiToken, ApiToken.user_id == StaffUser.id).where(
            ApiToken.digest == _digest(token), ApiToken.revoked_at.is_(None))).scalar_one_or_none()
        if row is None or not row.active:
            raise Unauthenticated("API 令牌无效或已撤销")
        return _principal(row)


def login(app: App, username: str, password: str, client: str = "") -> tuple[str, Principal]:
    """A new page session (its id is returned once, for the cookie). Wrong credentials are
    refused with one message, whichever part was wrong, and audited."""
    with app.db.session() as s:
        user = s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        ok = user is not None and user.active and bool(user.password_hash) and check_password(password, user.password_hash)
    if not ok:
        error = Unauthenticated("用户名或密码不正确")
        audit.refused(app, username[:64] or "?", "login", client, error)
        raise error
    assert user is not None
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(timezone.utc)
    with app.db.transaction() as s:
        s.execute(delete(StaffSession).where(StaffSession.expires_at < now))
        s.add(StaffSession(digest=_digest(sid), user_id=user.id, csrf=csrf, created_at=now,
                           expires_at=now + timedelta(hours=SESSION_HOURS)))
        audit.record(s, user.username, "login", client)
    return sid, _principal(user, csrf)


def by_session(app: App, sid: str) -> Principal:
    now = datetime.now(timezone.utc)
    with app.db.session() as s:
        row = s.execute(select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
                        .where(StaffSession.digest == _digest(sid))).first()
        if row is None or aware(row[0].expires_at) < now or not row[1].active:
            raise Unauthenticated("登录已过期，请重新登录")
        return _principal(row[1], row[0].csrf)


def logout(app: App, sid: str, actor: str) -> None:
    with app.db.transaction() as s:
        s.execute(delete(StaffSession).where(StaffSession.digest == _digest(sid)))
        audit.record(s, actor, "logout")
