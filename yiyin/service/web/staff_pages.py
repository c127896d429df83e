"""The staff pages under /staff, server-rendered in Chinese: login, the case list with deadlines,
a case with its items, materials, documents and history, intake, the draft form generated from a
document type's schema with a draft preview, issuance, the seal custodian's seal list, and (in
staff_oversight.py) the auditor's trail and the batch jobs.

Login makes a server-side session (cookie HttpOnly, SameSite=Strict); every form carries the
session's CSRF token, checked on every POST; every page checks the role, as the API does."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from yiyin.errors import FieldProblem, InvalidData, PermissionDenied, Unauthenticated, YiyinError
from yiyin.service import audit, case_papers, cases, catalogue, staff
from yiyin.service.app import App
from yiyin.service.ratelimit import TokenBucket, client_key
from yiyin.service.staff import ROLES, Principal
from yiyin.service.web.schema_form import form_fields, read_form
from yiyin.service.web.staff_api import document_bytes, draft_pdf
from yiyin.service.web.staff_oversight import beijing, oversight_routes, plain

COOKIE = "yiyin_staff"
LOGIN_COOKIE = "yiyin_login"
STEP_LABELS = cases.STEP_TITLES
STATUSES = ("收件", "补正", "待受理", "审批中", "待发证", "待送达", "已送达", "已归档", "不予受理")

pages = Jinja2Templates(directory=str(Path(__file__).parent / "templates" / "staff"))
pages.env.globals.update(ROLES=ROLES, STEP_LABELS=STEP_LABELS, STATUSES=STATUSES)
pages.env.filters.update(beijing=beijing, plain=plain)


class _Login(Exception):
    """No valid session: send the browser to the login page."""


def staff_pages(app: App) -> APIRouter:
    router = APIRouter(prefix="/staff", include_in_schema=False)
    attempts = TokenBucket(staff.AUTH_ATTEMPTS, staff.AUTH_WINDOW)  # per client address: guessing passwords is slow

    def who_of(request: Request) -> Principal:
        sid = request.cookies.get(COOKIE, "")
        if not sid:
            raise _Login()
        try:
            return staff.by_session(app, sid)
        except Unauthenticated:
            raise _Login() from None

    def render(request: Request, template: str, who: Principal | None, http_status: int = 200, **context: Any) -> Response:
        response = pages.TemplateResponse(request, template, {"who": who, **context}, status_code=http_status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def to_login(request: Request) -> Response:
        return RedirectResponse(f"/staff/login?next={quote(request.url.path)}", status_code=303)

    async def form_of(request: Request, who: Principal) -> dict[str, Any]:
        form = await request.form(max_files=4, max_fields=200, max_part_size=cases.MAX_MATERIAL + 1024)
        token = str(form.get("csrf", ""))
        if not who.csrf or not hmac.compare_digest(token, who.csrf):
            error = PermissionDenied("表单已失效（CSRF 校验失败），请刷新页面后重试")
            audit.refused(app, who.username, "page.csrf", request.url.path, error)
            raise error
        return dict(form)

    def guarded(handler):  # type: ignore[no-untyped-def]
        """Pages need a session; a refused act shows the error on the page it came from."""
        async def page(request: Request) -> Response:
            try:
                who = who_of(request)
            except _Login:
                return to_login(request)
            try:
                return await handler(request, who)
            except YiyinError as exc:
                code, status, title = exc.code, exc.http_status, exc.title
                problems = exc.problems if isinstance(exc, InvalidData) else []
                back = request.headers.get("referer", "/staff")
                return render(request, "error.html", who, http_status=status, title=title, message=exc.message,
                              problems=problems, code=code, back=back if back.startswith(str(request.base_url)) else "/staff")
        page.__name__ = handler.__name__
        return page

    # -- login ---------------------------------------------------------------------------------

    @router.get("/login")
    def login_page(request: Request, next: str = "/staff") -> Response:
        token = secrets.token_urlsafe(16)
        response = render(request, "login.html", None, next=next if next.startswith("/staff") else "/staff",
                          login_csrf=token, first_run=staff.user_count(app) == 0)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/staff",
                            secure=request.url.scheme == "https")
        return response

    @router.post("/login")
    async def login_post(request: Request) -> Response:
        form = await request.form(max_fields=10)
        target = str(form.get("next", "/staff"))
        target = target if target.startswith("/staff") else "/staff"
        if not hmac.compare_digest(str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "") or "-"):
            return render(request, "login.html", None, http_status=403, next=target, login_csrf="", error="登录表单已失效，请刷新页面",
                          first_run=False)
        client = request.client.host if request.client else ""
        if not attempts.allow(client_key(client)):
            error = Unauthenticated("登录尝试过于频繁，请稍后再试")
            audit.refused(app, str(form.get("username", ""))[:64] or "?", "login", client, error)
            return render(request, "login.html", None, http_status=429, next=target, login_csrf="", error=error.message,
                          first_run=False)
        try:
            sid, _ = staff.login(app, str(form.get("username", "")).strip(), str(form.get("password", "")), client)
        except Unauthenticated as exc:
            token = secrets.token_urlsafe(16)
            response = render(request, "login.html", None, http_status=401, next=target, login_csrf=token, error=exc.message,
                              first_run=False)
            response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/staff")
            return response
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/staff", secure=request.url.scheme == "https",
                            max_age=staff.SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path="/staff")
        return response

    async def logout(request: Request, who: Principal) -> Response:
        await form_of(request, who)
        staff.logout(app, request.cookies.get(COOKIE, ""), who.username)
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    router.add_api_route("/logout", guarded(logout), methods=["POST"])

    # -- cases ---------------------------------------------------------------------------------

    async def case_list(request: Request, who: Principal) -> Response:
        q = request.query_params
        rows = cases.case_rows(app, q.get("status", ""), q.get("section", ""), q.get("flagged") == "1")
        return render(request, "cases.html", who, rows=rows, status=q.get("status", ""), flagged=q.get("flagged") == "1")

    router.add_api_route("", guarded(case_list), methods=["GET"])
    router.add_api_route("/cases", guarded(case_list), methods=["GET"])

    async def new_case(request: Request, who: Principal) -> Response:
        who.require("intake")
        with app.db.session() as s:
            matters, items = catalogue.matters(s), catalogue.items(s)
        return render(request, "case_new.html", who, matters=matters, items=items, values={}, problems=[])

    async def create_case(request: Request, who: Principal) -> Response:
        form = await form_of(request, who)
        choice = str(form.get("choice", ""))
        kind, _, value = choice.partition(":")
        stage = ""
        if kind == "matter" and "|" in value:
            value, stage = value.split("|", 1)
        application = cases.Application(
            applicant=str(form.get("applicant", "")), applicant_code=str(form.get("applicant_code", "")),
            matter_id=value if kind == "matter" else "", item_code=value if kind == "item" else "", stage=stage,
            contact=str(form.get("contact", "")), phone=str(form.get("phone", "")),
            delivery=str(form.get("delivery", "window")), post_address=str(form.get("post_address", "")))
        try:
            case_id = await anyio.to_thread.run_sync(cases.open_case, app, who, application)
        except InvalidData as exc:
            with app.db.session() as s:
                matters, items = catalogue.matters(s), catalogue.items(s)
            return render(request, "case_new.html", who, http_status=422, matters=matters, items=items, values=form, problems=exc.problems)
        return RedirectResponse(f"/staff/cases/{case_id}", status_code=303)

    router.add_api_route("/cases/new", guarded(new_case), methods=["GET"])
    router.add_api_route("/cases/new", guarded(create_case), methods=["POST"])

    async def case_page(request: Request, who: Principal) -> Response:
        case_id = int(request.path_params["case_id"])
        with audit.attempt(app, who.username, "case.read", str(case_id)):
            who.require(*ROLES)
            case = cases.case_detail(app, case_id)
        return render(request, "case.html", who, case=case, done=request.query_params.get("done", ""))

    router.add_api_route("/cases/{case_id:int}", guarded(case_page), methods=["GET"])

    async def case_act(request: Request, who: Principal) -> Response:
        case_id, action = int(request.path_params["case_id"]), request.path_params["action"]
        form = await form_of(request, who)
        upload = form.get("file")
        data = await upload.read() if isinstance(upload, UploadFile) and upload.filename else b""

        def act() -> None:  # in a worker thread: sealing runs its own event loop, and the database blocks
            if action == "material":
                if not isinstance(upload, UploadFile) or not upload.filename:
                    raise InvalidData([FieldProblem("file", "required", "请选择要上传的文件")], "申请材料")
                cases.add_material(app, who, case_id, str(form.get("name", "")), upload.filename, data, upload.content_type or "")
            elif action == "check":
                cases.check_completeness(app, who, case_id)
            elif action == "accept":
                cases.accept(app, who, case_id)
            elif action == "refuse":
                cases.refuse_acceptance(app, who, case_id, case_papers.Refusal(
                    grounds=str(form.get("grounds", "")), reasons=str(form.get("reasons", "")),
                    competent_body=str(form.get("competent_body", "")), one_year_bar=form.get("one_year_bar") == "on"))
            elif action == "issue":
                cases.issue(app, who, case_id)
            elif action == "deliver":
                cases.deliver(app, who, case_id, str(form.get("method", "")), str(form.get("recipient", "")), str(form.get("tracking", "")))
            elif action == "archive":
                cases.archive(app, who, case_id)
            elif action == "retry-paper":
                step = str(form.get("step", ""))
                if not step.isdigit():
                    raise InvalidData([FieldProblem("step", "required", "请选择要补出具的文书")], "补出具")
                case_papers.retry(app, who, case_id, int(step))
            else:
                raise InvalidData([FieldProblem("action", "known", f"没有“{action}”这项操作")], "办件操作")

        await anyio.to_thread.run_sync(act)
        return RedirectResponse(f"/staff/cases/{case_id}?done={'paper' if action == 'retry-paper' else action}", status_code=303)

    router.add_api_route("/cases/{case_id:int}/{action}", guarded(case_act), methods=["POST"])

    async def item_act(request: Request, who: Principal) -> Response:
        item_id, action = int(request.path_params["item_id"]), request.path_params["action"]
        form = await form_of(request, who)

        def act() -> None:
            if action == "claim":
                cases.claim(app, who, item_id)
            elif action == "inspection-request":
                cases.request_inspection(app, who, item_id, str(form.get("note", "")))
            elif action == "inspection":
                cases.record_inspection(app, who, item_id, str(form.get("conclusion", "")), form.get("passed") == "on")
            elif action == "decide":
                cases.decide(app, who, item_id, str(form.get("decision", "")), str(form.get("reason", "")))
            else:
                raise InvalidData([FieldProblem("action", "known", f"没有“{action}”这项操作")], "事项办理")

        await anyio.to_thread.run_sync(act)
        return RedirectResponse(f"/staff/cases/{int(form.get('case_id', 0))}?done={action}", status_code=303)

    router.add_api_route("/items/{item_id:int}/{action}", guarded(item_act), methods=["POST"])

    # -- drafts --------------------------------------------------------------------------------

    def draft_context(item_id: int, doc_type: str) -> dict[str, Any]:
        from yiyin.templates.catalog import document_type

        dt = document_type(doc_type)
        with app.db.session() as s:
            from yiyin.registry.cases import CaseItem

            ci = s.get(CaseItem, item_id)
            if ci is None:
                raise InvalidData([FieldProblem("item", "known", f"没有事项办理记录 {item_id}")], "事项办理")
            case_id = ci.case_id
        return {"doc_type": dt, "item_id": item_id, "case": cases.case_detail(app, case_id)}

    async def draft_page(request: Request, who: Principal) -> Response:
        item_id, doc_type = int(request.path_params["item_id"]), request.path_params["doc_type"]
        ctx = draft_context(item_id, doc_type)
        values = cases.prefill(app, item_id, doc_type)
        return render(request, "draft.html", who, fields=form_fields(ctx["doc_type"].schema, values), problems=[], **ctx)

    async def draft_post(request: Request, who: Principal) -> Response:
        item_id, doc_type = int(request.path_params["item_id"]), request.path_params["doc_type"]
        form = await form_of(request, who)
        ctx = draft_context(item_id, doc_type)
        schema = ctx["doc_type"].schema
        try:
            data = read_form(schema, {k: str(v) for k, v in form.items()})
            if form.get("preview"):
                with audit.attempt(app, who.username, "draft.preview", doc_type):
                    who.require("reviewer", "lead")
                    pdf = await anyio.to_thread.run_sync(draft_pdf, app, doc_type, data)
                return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": 'inline; filename="draft.pdf"'})
            await anyio.to_thread.run_sync(cases.save_draft, app, who, item_id, doc_type, data)
        except InvalidData as exc:
            values = {k: v for k, v in form.items() if k != "csrf"}
            return render(request, "draft.html", who, http_status=422, fields=form_fields(schema, _as_values(schema, values), exc.problems),
                          problems=exc.problems, **ctx)
        return RedirectResponse(f"/staff/cases/{ctx['case']['id']}?done=draft", status_code=303)

    router.add_api_route("/items/{item_id:int}/drafts/{doc_type}", guarded(draft_page), methods=["GET"])
    router.add_api_route("/items/{item_id:int}/drafts/{doc_type}", guarded(draft_post), methods=["POST"])

    # -- files ---------------------------------------------------------------------------------

    async def document_file(request: Request, who: Principal) -> Response:
        document_id = request.path_params["document_id"]
        with audit.attempt(app, who.username, "document.read", document_id):
            who.require("lead", "reviewer", "window", "archivist", "auditor")
            data = document_bytes(app, document_id)
        return Response(data, media_type="application/pdf")

    router.add_api_route("/documents/{document_id}.pdf", guarded(document_file), methods=["GET"])

    async def material_file(request: Request, who: Principal) -> Response:
        from yiyin.registry.cases import CaseMaterial

        material_id = int(request.path_params["material_id"])
        with audit.attempt(app, who.username, "material.read", str(material_id)):
            who.require(*ROLES)
            with app.db.session() as s:
                m = s.get(CaseMaterial, material_id)
                if m is None:
                    raise InvalidData([FieldProblem("material", "known", f"没有材料 {material_id}")], "申请材料")
                key, content_type = m.storage_key, m.content_type
        return Response(app.store.path_of(key).read_bytes(), media_type=content_type)

    router.add_api_route("/materials/{material_id:int}", guarded(material_file), methods=["GET"])

    async def seal_list(request: Request, who: Principal) -> Response:
        from yiyin.service.seals import list_seals

        with audit.attempt(app, who.username, "seal.list"):
            who.require("custodian", "auditor")
            seals = list_seals(app)
        return render(request, "seals.html", who, seals=seals)

    router.add_api_route("/seals", guarded(seal_list), methods=["GET"])

    # -- archives ------------------------------------------------------------------------------

    async def archive_list(request: Request, who: Principal) -> Response:
        from yiyin.service import archiving

        with audit.attempt(app, who.username, "archive.list"):
            who.require("archivist", "auditor")
            rows = await anyio.to_thread.run_sync(archiving.ready_cases, app)
        return render(request, "archives.html", who, rows=rows, done=request.query_params.get("done", ""))

    router.add_api_route("/archives", guarded(archive_list), methods=["GET"])

    async def archive_build(request: Request, who: Principal) -> Response:
        from yiyin.service import archiving

        case_id = int(request.path_params["case_id"])
        await form_of(request, who)
        row = await anyio.to_thread.run_sync(archiving.build_for_case, app, who, case_id)
        return RedirectResponse(f"/staff/archives?done={quote(row.archival_code)}", status_code=303)

    router.add_api_route("/archives/cases/{case_id:int}/build", guarded(archive_build), methods=["POST"])

    async def archive_check(request: Request, who: Principal) -> Response:
        from yiyin.service import archiving

        package_id = int(request.path_params["package_id"])
        row, report = await anyio.to_thread.run_sync(archiving.check_recorded, app, who, package_id)
        groups = [(cn, en, [i for i in report.items if i.group == en]) for cn, en in archiving.CHECK_GROUPS]
        return render(request, "archive_check.html", who, row=row, report=report, groups=groups)

    router.add_api_route("/archives/packages/{package_id:int}/check", guarded(archive_check), methods=["GET"])

    async def archive_zip(request: Request, who: Principal) -> Response:
        from starlette.background import BackgroundTask
        from starlette.responses import FileResponse

        from yiyin.service import archiving

        package_id = int(request.path_params["package_id"])
        name, path = await anyio.to_thread.run_sync(archiving.zipped, app, who, package_id)
        return FileResponse(path, media_type="application/zip", filename=name,
                            background=BackgroundTask(path.unlink, missing_ok=True))

    router.add_api_route("/archives/packages/{package_id:int}.zip", guarded(archive_zip), methods=["GET"])
    oversight_routes(router, app, guarded, render, form_of)
    return router


def _as_values(schema: Any, form: dict[str, Any]) -> dict[str, Any]:
    """Re-show what was typed, as typed."""
    out: dict[str, Any] = {}
    for name in schema.model_fields:
        if name in form:
            value = form[name]
            out[name] = value.splitlines() if isinstance(value, str) and "\n" in value else value
    return out
