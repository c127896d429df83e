"""The staff REST API under /api/v1/staff: catalogue, cases and their acts, drafts, seals, audit,
users and batch jobs. Every request carries ``Authorization: Bearer <token>`` (``yiyin user
token``); every endpoint checks the caller's role; every refusal is audited. An address whose
tokens failed ``staff.AUTH_ATTEMPTS`` times within ``staff.AUTH_WINDOW`` is refused (429) before
its token is checked, until the window lets it try again."""


import os
from typing import Annotated, Any, Literal

import anyio
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from yiyin.errors import NotFound, RateLimited, Unauthenticated
from yiyin.service import audit, case_papers, cases, catalogue, staff
from yiyin.service.app import App
from yiyin.service.ratelimit import TokenBucket, client_key
from yiyin.service.staff import Principal
from yiyin.service.web.api_errors import responses

ANY_STAFF = tuple(staff.ROLES)


class CaseIn(BaseModel):
    applicant: str = Field(title="申请人")
    applicant_code: str = Field(title="统一社会信用代码或身份证号码")
    matter_id: str = Field(default="", title="一件事编号（与 item_code 二选一）")
    item_code: str = Field(default="", title="审批事项编码")
    stage: str = Field(default="", title="一个项目的阶段")
    contact: str = Field(default="", title="联系人")
    phone: str = Field(default="", title="联系电话")
    delivery: Literal["window", "post"] = Field(default="window", title="送达方式")
    post_address: str = Field(default="", title="邮寄地址")


class Created(BaseModel):
    id: int
    ref: str


class RefusalIn(BaseModel):
    grounds: Literal["依法不需要取得行政许可", "不属于本机关职权范围", "隐瞒有关情况或者提供虚假材料"] = Field(
        title="不予受理的情形", description="行政许可法 第三十二条第一款第（一）、（二）项，第七十八条")
    reasons: str = Field(title="审查意见", description="告知申请人的具体理由")
    competent_body: str = Field(default="", title="应当向其申请的行政机关", description="不属于本机关职权范围时必填")
    one_year_bar: bool = Field(default=False, title="一年内不得再次申请",
                               description="隐瞒有关情况或者提供虚假材料，且事项直接关系公共安全、人身健康、生命财产安全时")
    reconsideration_body: str = Field(default="", title="行政复议机关", description="默认为本局配置的行政复议机关")
    court: str = Field(default="", title="管辖人民法院", description="默认为本局配置的管辖人民法院")


class RefusedOut(BaseModel):
    ok: bool = True
    notice: str | None = Field(title="不予受理通知书编号", description="未能出具时为 null，原因记入办理过程")


class NoteIn(BaseModel):
    note: str = Field(default="", title="勘验事项")


class InspectionIn(BaseModel):
    conclusion: str = Field(title="勘验结论和意见")
    passed: bool = Field(title="是否符合要求")


class DraftIn(BaseModel):
    data: dict[str, Any] = Field(title="文书数据（按文书类型的结构）")


class DecisionIn(BaseModel):
    decision: Literal["准予", "不予"]
    reason: str = ""


class PreviewIn(BaseModel):
    doc_type: str
    data: dict[str, Any]


class DeliveryIn(BaseModel):
    method: Literal["window", "post"]
    recipient: str = ""
    tracking: str = ""


class UserIn(BaseModel):
    username: str
    display_name: str = ""
    roles: list[str]
    sections: list[str] = []
    password: str | None = None


class TokenIn(BaseModel):
    label: str = ""


class Done(BaseModel):
    ok: bool = True


class ReissueIn(BaseModel):
    doc_type: str = Field(title="证照类型")
    changes: dict[str, Any] = Field(title="统一变更的字段及新值")
    reason: str = Field(title="理由")
    basis: str = Field(title="法律依据")
    act: Literal["变更", "延续"] = "变更"
    item_code: str = ""
    limit: int | None = None
    numbers: list[str] = Field(default=[], title="只换发这些证照（证照编号）")


def staff_api(app: App) -> APIRouter:
    router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=responses(401, 403, 404, 409, 422, 429))

    failures = TokenBucket(staff.AUTH_ATTEMPTS, staff.AUTH_WINDOW)  # failed tokens only

    def principal(request: Request) -> Principal:
        # A client whose tokens keep failing is refused before its token is looked at: tokens
        # cannot be guessed, nor the audit trail flooded with refusals, from one address.
        client = client_key(request.client.host if request.client else None)
        if not failures.available(client):
            wait = failures.retry_after(client)
            raise RateLimited(f"API 令牌验证失败次数过多：请 {wait} 秒后再试，并核对所用令牌"
                              f"（令牌由管理员用 yiyin user token 生成）", wait)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("缺少 API 令牌：请求头须为 Authorization: Bearer <令牌>（由管理员用 yiyin user token 生成）")
            return staff.by_token(app, token.strip())
        except Unauthenticated as exc:
            failures.allow(client)
            audit.refused(app, "?", "api.auth", f"{request.method} {request.url.path}", exc)
            raise

    Who = Annotated[Principal, Depends(principal)]

    def role(who: Principal, action: str, *roles: str) -> None:
        with audit.attempt(app, who.username, action):
            who.require(*roles)

    @router.get("/me", summary="当前工作人员")
    def me(who: Who) -> dict[str, Any]:
        return {"username": who.username, "display_name": who.display_name, "roles": sorted(who.roles),
                "sections": sorted(who.sections)}

    @router.get("/catalog/items", summary="审批事项目录")
    def catalog_items(who: Who) -> list[dict[str, Any]]:
        with app.db.session() as s:
            return [i.to_json() for i in catalogue.items(s)]

    @router.get("/catalog/matters", summary="一件事、一个项目")
    def catalog_matters(who: Who) -> list[dict[str, Any]]:
        with app.db.session() as s:
            return [m.to_json() for m in catalogue.matters(s)]

    @router.get("/cases", summary="办件列表（含办理时限、临期超期标记）")
    def list_cases(who: Who, status: str = "", section: str = "", flagged: bool = False) -> list[dict[str, Any]]:
        role(who, "case.list", *ANY_STAFF)
        return [r.to_json() for r in cases.case_rows(app, status, section, flagged)]

    @router.post("/cases", status_code=201, summary="接件：新建办件")
    def open_case(who: Who, body: CaseIn) -> Created:
        case_id = cases.open_case(app, who, cases.Application(**body.model_dump()))
        return Created(id=case_id, ref=cases.case_detail(app, case_id)["ref"])

    @router.get("/cases/{case_id}", summary="办件详情：事项、材料、文书、办理过程")
    def get_case(who: Who, case_id: int) -> dict[str, Any]:
        role(who, "case.read", *ANY_STAFF)
        return cases.case_detail(app, case_id)

    @router.post("/cases/{case_id}/materials", status_code=201, summary="收取申请材料（PDF 或图片）")
    async def add_material(who: Who, case_id: int, name: Annotated[str, Form()], file: Annotated[UploadFile, File()]) -> dict[str, int]:
        data = await file.read()
        return {"id": await anyio.to_thread.run_sync(cases.add_material, app, who, case_id, name, file.filename or "material",
                                                     data, file.content_type or "")}

    @router.post("/cases/{case_id}/check", summary="形式审查：缺少的材料一次性告知")
    def check(who: Who, case_id: int) -> dict[str, list[str]]:
        return {"missing": cases.check_completeness(app, who, case_id)}

    @router.post("/cases/{case_id}/accept", summary="受理")
    def accept(who: Who, case_id: int) -> Done:
        cases.accept(app, who, case_id)
        return Done()

    @router.post("/cases/{case_id}/refuse", summary="不予受理：出具盖章的不予受理通知书（理由、救济途径）")
    def refuse(who: Who, case_id: int, body: RefusalIn) -> RefusedOut:
        return RefusedOut(notice=cases.refuse_acceptance(app, who, case_id, case_papers.Refusal(**body.model_dump())))

    @router.post("/case-items/{item_id}/claim", summary="认领审批事项")
    def claim(who: Who, item_id: int) -> Done:
        cases.claim(app, who, item_id)
        return Done()

    @router.post("/case-items/{item_id}/inspection-request", summary="申请现场勘验")
    def inspection_request(who: Who, item_id: int, body: NoteIn) -> Done:
        cases.request_inspection(app, who, item_id, body.note)
        return Done()

    @router.post("/case-items/{item_id}/inspection", summary="录入现场勘验结论")
    def inspection(who: Who, item_id: int, body: InspectionIn) -> Done:
        cases.record_inspection(app, who, item_id, body.conclusion, body.passed)
        return Done()

    @router.put("/case-items/{item_id}/drafts/{doc_type}", summary="保存文书草稿")
    def save_draft(who: Who, item_id: int, doc_type: str, body: DraftIn) -> Done:
        cases.save_draft(app, who, item_id, doc_type, body.data)
        return Done()

    @router.post("/case-items/{item_id}/decision", summary="作出审批决定")
    def decision(who: Who, item_id: int, body: DecisionIn) -> Done:
        cases.decide(app, who, item_id, body.decision, body.reason)
        return Done()

    @router.post("/cases/{case_id}/issue", summary="牵头科室一次签发全部文书")
    def issue(who: Who, case_id: int) -> dict[str, list[str]]:
        outcome = cases.issue(app, who, case_id)
        return {"issued": outcome.issued, "already_issued": outcome.already}

    @router.post("/cases/{case_id}/delivery", summary="送达（窗口领取或邮寄）")
    def deliver(who: Who, case_id: int, body: DeliveryIn) -> Done:
        cases.deliver(app, who, case_id, body.method, body.recipient, body.tracking)
        return Done()

    @router.post("/cases/{case_id}/papers/{step_id}/retry", summary="补出具未能出具的文书（受理通知书、送达回证等）")
    def retry_paper(who: Who, case_id: int, step_id: int) -> dict[str, str]:
        return {"number": case_papers.retry(app, who, case_id, step_id)}

    @router.post("/cases/{case_id}/archive", summary="归档")
    def archive(who: Who, case_id: int) -> Done:
        cases.archive(app, who, case_id)
        return Done()

    @router.get("/document-types/{doc_type}/schema", summary="文书数据结构（JSON Schema）")
    def schema(who: Who, doc_type: str) -> dict[str, Any]:
        from yiyin.templates.catalog import document_type

        return document_type(doc_type).schema.model_json_schema()

    @router.post("/drafts/preview", summary="草稿预览（未盖章、不编号的 PDF）",
                 responses={200: {"content": {"application/pdf": {}}}})
    def preview(who: Who, body: PreviewIn) -> Response:
        role(who, "draft.preview", "reviewer", "lead")
        return Response(draft_pdf(app, body.doc_type, body.data), media_type="application/pdf")

    @router.get("/documents/{document_id}/pdf", summary="已签发文书", responses={200: {"content": {"application/pdf": {}}}})
    def document_pdf(who: Who, document_id: str) -> Response:
        role(who, "document.read", "lead", "reviewer", "window", "archivist", "auditor")
        return Response(document_bytes(app, document_id), media_type="application/pdf")

    @router.get("/seals", summary="印章管理员：印章列表")
    def seals(who: Who) -> list[dict[str, Any]]:
        role(who, "seal.list", "custodian", "auditor")
        from yiyin.service.seals import list_seals

        return [{"id": v.id, "organ": v.organ, "purpose": v.purpose, "status": v.status,
                 "valid_from": v.valid_from.isoformat(), "valid_until": v.valid_until.isoformat(),
                 "revoked_at": v.revoked_at.isoformat() if v.revoked_at else None, "fingerprint": v.fingerprint,
                 "key_location": v.key_location} for v in list_seals(app)]

    @router.get("/audit", summary="审计记录（最新在前）")
    def audit_entries(who: Who, limit: int = 100, actor: str = "") -> list[dict[str, Any]]:
        role(who, "audit.read", "auditor", "admin")
        return audit.entries(app, min(max(limit, 1), 1000), actor or None)

    @router.get("/audit/export", summary="导出审计记录（JSON Lines，附签名检查点与包含证明）",
                response_class=PlainTextResponse)
    def audit_export(who: Who) -> PlainTextResponse:
        role(who, "audit.export", "auditor")
        with app.db.transaction() as s:
            audit.record(s, who.username, "audit.export")
        return PlainTextResponse(audit.export(app), media_type="application/jsonl",
                                 headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})

    @router.get("/audit/check", summary="核查审计记录是否被改动")
    def audit_check(who: Who) -> dict[str, Any]:
        role(who, "audit.check", "auditor")
        report = audit.check(app)
        return {"ok": report.ok, "entries": report.entries, "unanchored": report.unanchored, "problems": report.problems}

    @router.get("/users", summary="工作人员（管理员）")
    def users(who: Who) -> list[dict[str, Any]]:
        role(who, "user.list", "admin")
        return [u.to_json() for u in staff.list_users(app)]

    @router.post("/users", status_code=201, summary="新增工作人员（管理员）")
    def add_user(who: Who, body: UserIn) -> dict[str, Any]:
        role(who, "user.add", "admin")
        return staff.add_user(app, body.username, body.display_name, body.roles, body.sections, body.password, who.username).to_json()

    @router.post("/users/{username}/tokens", status_code=201, summary="生成 API 令牌（只显示一次）")
    def add_token(who: Who, username: str, body: TokenIn) -> dict[str, str]:
        role(who, "token.create", "admin")
        return {"token": staff.new_token(app, username, body.label, who.username)}

    # -- archives (档案管理员) ---------------------------------------------------------------

    @router.get("/archives/cases", summary="待归档与已归档的办件（含已生成的档案包）")
    def archive_cases(who: Who) -> list[dict[str, Any]]:
        from yiyin.service import archiving

        role(who, "archive.list", "archivist", "auditor")
        return [c.to_json() for c in archiving.ready_cases(app)]

    @router.post("/archives/cases/{case_id}/build", status_code=201, summary="立卷：生成一套档案（BagIt 包，档案专用章签章的案卷）")
    def archive_build(who: Who, case_id: int) -> dict[str, Any]:
        from yiyin.service import archiving

        return archiving.build_for_case(app, who, case_id).to_json()

    @router.get("/archives/packages/{package_id}/check", summary="四性检测（DA/T 70-2018）报告")
    def archive_check(who: Who, package_id: int) -> dict[str, Any]:
        from yiyin.service import archiving

        _, report = archiving.check_recorded(app, who, package_id)
        return report.to_json()

    @router.get("/archives/packages/{package_id}/zip", summary="下载档案包（ZIP）", responses={200: {"content": {"application/zip": {}}}})
    def archive_zip(who: Who, package_id: int) -> Response:
        from yiyin.service import archiving

        name, path = archiving.zipped(app, who, package_id)
        try:
            data = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    consumer: list[Any] = []

    def in_process(job_id: int) -> None:
        """With the default queue (SQLite in the data directory) this server works on its jobs itself."""
        from yiyin.service import batch

        batch.enqueue(app, job_id)
        if not os.environ.get("YIYIN_QUEUE_URL") and not consumer:
            consumer.append(batch.start_consumer(app, 1))

    @router.post("/batches/reissue", status_code=202, summary="批量换发：按新规则为一类现行有效证照签发新版本")
    def batch_reissue(who: Who, body: ReissueIn) -> dict[str, Any]:
        from yiyin.service import batch

        role(who, "batch.create", "lead", "admin")
        job_id = batch.reissue_job(app, who.username, body.doc_type, body.changes, body.reason, body.basis, body.act,
                                   body.item_code, body.limit, body.numbers or None)
        in_process(job_id)
        return batch.progress(app, job_id).to_json()

    @router.get("/batches/{job_id}", summary="批量任务进度")
    def batch_progress(who: Who, job_id: int) -> dict[str, Any]:
        from yiyin.service import batch

        role(who, "batch.read", *ANY_STAFF)
        return batch.progress(app, job_id).to_json()

    @router.post("/batches/{job_id}/resume", summary="中断后继续批量任务")
    def batch_resume(who: Who, job_id: int) -> dict[str, Any]:
        from yiyin.service import batch

        role(who, "batch.resume", "lead", "admin")
        p = batch.resume(app, job_id, who.username)
        in_process(job_id)
        return p.to_json()

    return router


def draft_pdf(app: App, doc_type: str, data: dict[str, Any]) -> bytes:
    """An unsealed, unnumbered draft marked 草稿, for review."""

    from yiyin.templates.catalog import document_type
    from yiyin.templates.render import IssueMeta

    with app.db.session() as s:
        from yiyin.registry import catalog

        organ = catalog.get_organ(s, app.bureau_id).name
    return app.renderer.render(document_type(doc_type), data, IssueMeta(organ=organ, date=app.today(), number="（编号）", draft=True)).pdf


def document_bytes(app: App, document_id: str) -> bytes:
    from yiyin.registry.models import Document

    with app.db.session() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound(f"没有文书 {document_id}")
        key = doc.storage_key
    return app.store.path_of(key).read_bytes()
