"""Signed tree heads in the C2SP tlog-checkpoint format, signed as a C2SP signed note (Ed25519).

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    — <key name> <base64(key id || signature)>\\n

The key id is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public key), 0x01 being
the Ed25519 signature type. Anyone holding the verifier key (``<name>+<hex id>+<base64 0x01||key>``)
checks a checkpoint without yiyin.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
_DASH = "\u2014"


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    raw = _raw(public)
    return f"{name}+{key_id(name, raw).hex()}+{base64.b64encode(ED25519 + raw).decode()}"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, name: str, key: Ed25519PrivateKey) -> str:
        return sign_note(self.body(), name, key)


class CheckpointError(ValueError):
    pass


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """A C2SP signed note: the text (ending in a newline), a blank line, one signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("a note's text ends with a newline and has no blank line")
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_id(name, _raw(key.public_key())) + signature).decode()
    return f"{text}\n{_DASH} {name} {blob}\n"


def public_key_of(verifier: str) -> Ed25519PublicKey:
    """The Ed25519 key a verifier key names (checked against its name and id)."""
    return _parse_verifier(verifier)[2]


def _parse_verifier(verifier: str) -> tuple[str, bytes, Ed25519PublicKey]:
    try:
        name, hex_id, b64 = verifier.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        kid = bytes.fromhex(hex_id)
    except ValueError:
        raise CheckpointError("malformed verifier key (expected <name>+<8 hex digits>+<base64 key>)") from None
    if raw[:1] != ED25519 or len(raw) != 33 or len(kid) != 4 or kid != key_id(name, raw[1:]):
        raise CheckpointError("malformed verifier key (not an Ed25519 key of that name and id)")
    return name, kid, Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_note(note: str, verifier: str) -> str:
    """The text of a signed note, once a signature by the verifier key is found and checks out."""
    name, kid, public = _parse_verifier(verifier)
    text, sep, signatures = note.rpartition("\n\n")  # signature lines hold no blank line
    if not sep or not signatures.endswith("\n"):
        raise CheckpointError("a signed note is its text, a blank line, and signature lines")
    text += "\n"
    prefix = f"{_DASH} {name} "
    for line in signatures.splitlines():
        if not line.startswith(prefix):
            continue  # another signer's line (a witness's cosignature, say)
        try:
            blob = base64.b64decode(line[len(prefix):], validate=True)
        except ValueError:
            raise CheckpointError("a signature line is not base64") from None
        if blob[:4] != kid:
            continue
        try:
            public.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise CheckpointError("the note's signature does not verify") from None
        return text
    raise CheckpointError(f"no signature by {name} on the note")


def open_note(note: str, verifier: str) -> Checkpoint:
    """Verify a signed checkpoint against a verifier key and return what it states."""
    lines = verify_note(note, verifier).split("\n")
    try:
        root = base64.b64decode(lines[2], validate=True) if len(lines) >= 4 else b""
    except ValueError:
        root = b""
    if len(lines) < 4 or not lines[0] or not lines[1].isdigit() or str(int(lines[1])) != lines[1] or len(root) != 32:
        raise CheckpointError("the checkpoint body is not origin, tree size, base64 root hash")
    return Checkpoint(origin=lines[0], size=int(lines[1]), root=root)
