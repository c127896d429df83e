"""The development CA's public services over HTTP: CA certificate, CRL, OCSP and RFC 3161 TSA.

The URLs match those written into seal certificates (CRL distribution point, OCSP in the
authority information access), so that any validator can check a seal without yiyin's code.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from yiyin.registry.models import Seal
from yiyin.service.app import App
from yiyin.signing.revocation import ocsp_response

MAX_REQUEST = 64 * 1024


def pki_router(app: App) -> APIRouter:
    router = APIRouter(tags=["pki"])

    @router.get("/pki/ca.crt", summary="development root CA certificate (DER)")
    def ca_certificate() -> Response:
        der = app.pki.ca.cert.public_bytes(serialization.Encoding.DER)
        return Response(der, media_type="application/pkix-cert")

    @router.get("/pki/crl", summary="current CRL of the development CA (DER)")
    def crl() -> Response:
        return Response(app.current_crls()[0], media_type="application/pkix-crl")

    @router.post("/pki/ocsp", summary="OCSP responder (RFC 6960, POST)")
    async def ocsp(request: Request) -> Response:
        body = (await request.body())[:MAX_REQUEST]
        with app.db.session() as s:
            pems = s.execute(select(Seal.cert_pem)).scalars().all()
        known = {c.serial_number: c for c in (x509.load_pem_x509_certificate(p.encode()) for p in pems)}
        answer = ocsp_response(body, issuer=app.pki.ca.cert, responder_key=app.pki.ocsp_key,
                               responder_cert=app.pki.ocsp_cert, known=known, revoked=dict(app.revoked_serials()))
        return Response(answer, media_type="application/ocsp-response")

    @router.post("/tsa", summary="RFC 3161 time-stamping authority (application/timestamp-query)")
    async def tsa(request: Request) -> Response:
        body = (await request.body())[:MAX_REQUEST]
        return Response(await app.builtin_tsa.async_respond(body), media_type="application/timestamp-reply")

    return router
