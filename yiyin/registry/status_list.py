"""W3C Bitstring Status List v1.0: revocation and suspension of documents as cached lists.

Each document gets a place (list, index) in the status lists when it is issued; the index is
drawn at random within the list (as the specification advises, so that neighbouring indices say
nothing about neighbouring documents), and each list is kept at most half full. The same place
is used in the two lists of a list number: ``revocation`` (the document ended: 撤销, 注销, 吊销,
or it was replaced by a new version, 变更/延续) and ``suspension`` (暂扣, cleared on resumption).

A list is 131,072 bits (16 KiB, the specification's minimum, so that a list hides which
document a verifier looks up), bit 0 the most significant bit of the first byte, GZIP-compressed
and base64url-encoded without padding with the multibase prefix ``u``. It is served as plain JSON
and, secured for verifiers that keep it, as ``application/vc+jwt`` (VC-JOSE-COSE: a compact JWS,
EdDSA, signed with the key that signs the log's checkpoints).
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import ForeignKey, Integer, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiyin.errors import NotFound
from yiyin.registry.models import Base, StatusEvent

LIST_BITS = 131_072
PURPOSES = ("revocation", "suspension")
REVOKED = {"撤销", "注销", "吊销", "变更", "延续"}
SUSPENDED = {"暂扣"}
CONTEXT = "https://www.w3.org/ns/credentials/v2"


class StatusListEntry(Base):
    """A document's place in the status lists of one list number."""

    __tablename__ = "status_list_entries"
    __table_args__ = (UniqueConstraint("list_id", "idx"),)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(Integer)


def place_of(session: Session, document_id: str) -> StatusListEntry:
    """The document's place, drawn now if it has none yet (in the caller's transaction)."""
    entry = session.get(StatusListEntry, document_id)
    if entry is not None:
        return entry
    taken = session.execute(select(func.count()).select_from(StatusListEntry)).scalar_one()
    list_id = 1 + taken // (LIST_BITS // 2)
    while True:
        candidate = StatusListEntry(document_id=document_id, list_id=list_id, idx=secrets.randbelow(LIST_BITS))
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
            return candidate
        except IntegrityError:  # the index is taken (draw again), or the document was placed meanwhile
            placed = session.get(StatusListEntry, document_id)
            if placed is not None:
                return placed


def _bits(session: Session, list_id: int, purpose: str) -> bytearray:
    if purpose not in PURPOSES:
        raise NotFound(f"没有用途为“{purpose}”的状态列表；用途为 revocation（撤销）或 suspension（暂扣）")
    flagged = REVOKED if purpose == "revocation" else SUSPENDED
    latest: dict[int, str] = {}
    rows = session.execute(select(StatusListEntry.idx, StatusEvent.status)
                           .join(StatusEvent, StatusEvent.document_id == StatusListEntry.document_id)
                           .where(StatusListEntry.list_id == list_id).order_by(StatusEvent.id))
    for idx, status in rows:
        latest[idx] = status
    bits = bytearray(LIST_BITS // 8)
    for idx, status in latest.items():
        if status in flagged:
            bits[idx // 8] |= 0x80 >> (idx % 8)
    return bits


def encode(bits: bytes) -> str:
    """Multibase base64url (no padding) of the GZIP-compressed bitstring."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (prefix 'u')")
    raw = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def list_url(base_url: str, list_id: int, purpose: str) -> str:
    return f"{base_url.rstrip('/')}/status/{list_id}/{purpose}"


def credential(session: Session, list_id: int, purpose: str, base_url: str, issuer: str,
               now: datetime | None = None) -> dict[str, Any]:
    """The BitstringStatusListCredential of one list (unsigned), as JSON to serve."""
    now = now or datetime.now(timezone.utc)
    url = list_url(base_url, list_id, purpose)
    return {
        "@context": [CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode(_bits(session, list_id, purpose)),
        },
    }


def status_entries(session: Session, document_id: str, base_url: str) -> list[dict[str, Any]]:
    """The document's BitstringStatusListEntry objects (its ``credentialStatus``), assigning it a
    place if it has none yet (so call it in a write transaction for a document issued before
    status lists existed)."""
    place = place_of(session, document_id)
    return entries_at(base_url, place.list_id, place.idx)


def entries_at(base_url: str, list_id: int, idx: int) -> list[dict[str, Any]]:
    """The BitstringStatusListEntry objects of the place (list_id, idx), one per purpose."""
    out = []
    for purpose in PURPOSES:
        url = list_url(base_url, list_id, purpose)
        out.append({"id": f"{url}#{idx}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
                    "statusListIndex": str(idx), "statusListCredential": url})
    return out


# -- secured form: VC-JOSE-COSE (a JWS whose payload is the credential) --------------------------

JWT_MEDIA_TYPE = "application/vc+jwt"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(credential_json: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> str:
    """The credential secured as ``application/vc+jwt`` (compact JWS, EdDSA), so that a verifier
    who cached it can still tell later that the bureau published it."""
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": kid}
    signing_input = ".".join(_b64url(json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode())
                             for part in (header, credential_json))
    return f"{signing_input}.{_b64url(key.sign(signing_input.encode()))}"


def open_jwt(token: str, public: Ed25519PublicKey) -> dict[str, Any]:
    """The credential inside a secured status list, once its signature checks out; ValueError if not."""
    try:
        head, body, signature = token.strip().split(".")
        header = json.loads(_unb64url(head))
        if header.get("alg") != "EdDSA" or header.get("typ") != "vc+jwt":
            raise ValueError("not an EdDSA vc+jwt")
        public.verify(_unb64url(signature), f"{head}.{body}".encode())
        credential_json = json.loads(_unb64url(body))
    except InvalidSignature:
        raise ValueError("the status list's signature does not verify") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a secured status list: {exc}") from None
    if "BitstringStatusListCredential" not in credential_json.get("type", []):
        raise ValueError("not a BitstringStatusListCredential")
    return credential_json


def check(credential_json: dict[str, Any], entry: dict[str, Any]) -> bool:
    """What an offline verifier does: is the entry's bit set in this list credential?"""
    subject = credential_json["credentialSubject"]
    if credential_json["id"] != entry["statusListCredential"] or subject["statusPurpose"] != entry["statusPurpose"]:
        raise ValueError("the status list credential is not the one the entry names")
    return bit(decode(subject["encodedList"]), int(entry["statusListIndex"]))
