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
        raise CheckpointError("验证公钥格式不正确：应为 <日志名称>+<8 位十六进制密钥编号>+<base64 公钥>") from None
    if raw[:1] != ED25519 or len(raw) != 33 or len(kid) != 4 or kid != key_id(name, raw[1:]):
        raise CheckpointError(f"验证公钥格式不正确：不是名称为 {name}、密钥编号为 {hex_id} 的 Ed25519 公钥")
    return name, kid, Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_note(note: str, verifier: str) -> str:
    """The text of a signed note, once a signature by the verifier key is found and checks out."""
    name, kid, public = _parse_verifier(verifier)
    text, sep, signatures = note.rpartition("\n\n")  # signature lines hold no blank line
    if not sep or not signatures.endswith("\n"):
        raise CheckpointError("不是 C2SP 签名注记（signed note）：应为正文、一个空行、签名行")
    text += "\n"
    prefix = f"{_DASH} {name} "
    for line in signatures.splitlines():
        if not line.startswith(prefix):
            continue  # another signer's line (a witness's cosignature, say)
        try:
            blob = base64.b64decode(line[len(prefix):], validate=True)
        except ValueError:
            raise CheckpointError(f"签名注记中 {name} 的签名行不是 base64") from None
        if blob[:4] != kid:
            continue
        try:
            public.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise CheckpointError(f"签名注记上 {name} 的签名与正文不符：检查点在签名后被改动，或签名是伪造的") from None
        return text
    raise CheckpointError(f"签名注记上没有 {name}（密钥编号 {kid.hex()}）的签名：检查点不是用该验证公钥签名的，或签名行被改动")


def open_note(note: str, verifier: str) -> Checkpoint:
    """Verify a signed checkpoint against a verifier key and return what it states."""
    lines = verify_note(note, verifier).split("\n")
    try:
        root = base64.b64decode(lines[2], validate=True) if len(lines) >= 4 else b""
    except ValueError:
        root = b""
    if len(lines) < 4 or not lines[0] or not lines[1].isdigit() or str(int(lines[1])) != lines[1] or len(root) != 32:
        raise CheckpointError("检查点正文不符合 C2SP tlog-checkpoint 格式：应为日志名称（origin）、树大小、base64 根哈希三行")
    return Checkpoint(origin=lines[0], size=int(lines[1]), root=root)
