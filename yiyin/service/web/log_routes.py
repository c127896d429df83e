"""The transparency log and the status lists over HTTP, for witnesses, auditors and offline verifiers.

Under the log's prefix (``<public URL>/log/<bureau>``, the origin line of its checkpoints), as
C2SP tlog-tiles:

    GET  /log/<bureau>/checkpoint            the latest signed checkpoint (signed note; signed anew,
                                             at most every few seconds, when the log has grown)
    GET  /log/<bureau>/tile/<L>/<N>[.p/<W>]  hash tiles; tile/entries/… are entry bundles

and as JSON (base64 hashes, RFC 9162 proofs from the stored tree):

    GET  /api/v1/log                             origin, verifier key, latest checkpoint
    GET  /api/v1/log/inclusion?index=&size=      inclusion proof of entry ``index`` in the tree of ``size``
    GET  /api/v1/log/consistency?old=&new=       consistency proof between two tree sizes
    GET  /api/v1/log/bundle?sha256=              a document's issuance entry, its proof and the
                                                 checkpoint it leads to (what ``yiyin log verify`` checks)
    GET  /status/<list>/<revocation|suspension>  W3C BitstringStatusListCredential (JSON; with
                                                 Accept: application/vc+jwt, secured as a JWS
                                                 signed with the log's key)
"""

from __future__ import annotations

import base64
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from yiyin.errors import FieldProblem, InvalidRequest, NotFound
from yiyin.registry import status_list, tree
from yiyin.registry.checkpoint import open_note
from yiyin.service import transparency
from yiyin.service.app import App
from yiyin.service.web.api_errors import responses

log = logging.getLogger("yiyin.web")
MAX_SIZE = 1 << 40


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "fields": []}}, status_code=status)


def _bad(name: str, rule: str, message: str) -> InvalidRequest:
    return InvalidRequest([FieldProblem(f"{name}（查询参数）", rule, message)], "请求")


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def log_routes(app: App) -> APIRouter:
    router = APIRouter(tags=["transparency log"], responses=responses(404, 422))
    prefix = f"/log/{app.bureau_id}"

    def synced_to(size: int) -> None:
        """Integrate new entries into the stored tree when a request needs them."""
        with app.db.session() as s:
            have = tree.size(s)
        if have < size:
            tree.sync(app.db)

    @router.get(f"{prefix}/checkpoint", response_class=PlainTextResponse, summary="latest signed checkpoint")
    def checkpoint() -> Response:
        # signed anew when entries were appended since, at most every few seconds; the stored
        # tree is integrated up to it, so its tiles can be served
        note = transparency.current_checkpoint(app)
        return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})

    @router.get(prefix + "/tile/{path:path}", summary="C2SP tlog-tiles: hash tiles and entry bundles")
    def tile(path: str) -> Response:
        try:
            ref = tree.parse_tile_path(f"tile/{path}")
            with app.db.session() as s:
                try:
                    data = tree.read_tile_path(s, f"tile/{path}")
                except NotFound:
                    data = None
            if data is None:  # maybe appended but not yet integrated
                tree.sync(app.db)
                with app.db.session() as s:
                    data = tree.read_tile_path(s, f"tile/{path}")
        except NotFound as exc:
            return PlainTextResponse(f"{exc.message}\n", status_code=404)
        full = ref.width == tree.TILE_WIDTH
        return Response(data, media_type="application/octet-stream", headers={
            "Cache-Control": "public, max-age=31536000, immutable" if full else "no-cache"})

    @router.get("/api/v1/log", summary="the log's origin, verifier key and latest checkpoint")
    def about() -> Response:
        note = transparency.current_checkpoint(app)
        return JSONResponse({"origin": transparency.origin(app), "verifier_key": transparency.verifier(app),
                             "checkpoint": note, "tiles": f"{app.settings.public_url}{prefix}/"})

    @router.get("/api/v1/log/inclusion", summary="RFC 9162 inclusion proof")
    def inclusion(index: int, size: int) -> Response:
        if not (0 <= index < size <= MAX_SIZE):
            raise _bad("index", "range", "须满足 0 ≤ index < size（树的大小）")
        try:
            synced_to(size)
            with app.db.session() as s:
                proof = tree.inclusion_proof(s, index, size)
        except NotFound as exc:
            raise NotFound(f"日志中没有该包含证明（{exc.message}）") from None
        return JSONResponse({"index": index, "size": size, "proof": _b64(proof)})

    @router.get("/api/v1/log/consistency", summary="RFC 9162 consistency proof")
    def consistency(old: int, new: int) -> Response:
        if not (0 < old <= new <= MAX_SIZE):
            raise _bad("old", "range", "须满足 0 < old ≤ new")
        try:
            synced_to(new)
            with app.db.session() as s:
                proof = tree.consistency_proof(s, old, new)
        except NotFound as exc:
            raise NotFound(f"日志中没有该一致性证明（{exc.message}）") from None
        return JSONResponse({"old": old, "new": new, "proof": _b64(proof)})

    @router.get("/api/v1/log/bundle", summary="a document's issuance entry with its proof to the latest checkpoint")
    def bundle(sha256: str) -> Response:
        sha256 = sha256.strip().lower()
        if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
            raise _bad("sha256", "format", "须为 64 位十六进制数字（文书 PDF 的 SHA-256 摘要）")
        note = transparency.current_checkpoint(app)
        with app.db.session() as s:
            entry = transparency.issuance_entry(s, sha256)
        if entry is None:
            raise NotFound("日志中没有摘要为此值的已签发文书")
        if entry[0] >= open_note(note, transparency.verifier(app)).size:
            return _error(404, "not_yet_checkpointed", "该文书已记入日志，但晚于最新的签名检查点；请几秒钟后再查询")
        return JSONResponse(transparency.inclusion_bundle(app, sha256, note).to_json())

    @router.get("/status/{list_id}/{purpose}", summary="W3C Bitstring Status List credential")
    def status_credential(list_id: int, purpose: str, request: Request) -> Response:
        if not 0 <= list_id < 1_000_000:
            raise NotFound(f"没有编号为 {list_id} 的状态列表")
        with app.db.session() as s:
            cred = status_list.credential(s, list_id, purpose, app.settings.public_url, app.settings.public_url)
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept"}
        if status_list.JWT_MEDIA_TYPE in request.headers.get("accept", ""):
            token = status_list.sign_jwt(cred, transparency.signing_key(app), transparency.verifier(app))
            return Response(token, media_type=status_list.JWT_MEDIA_TYPE, headers=headers)
        return JSONResponse(cred, headers=headers)

    return router
