"""The transparency log as the public and auditors see it: signed checkpoints, proofs, audit.

Checkpoints are appended to a file in the data directory, outside the database, so that someone
with write access to the database alone cannot rewrite history unnoticed: ``audit`` recomputes
the tree from the rows and checks it against every checkpoint ever signed, and checks that every
issued document still matches the leaf that recorded its issuance. Signing reads the head of the
stored tree (registry.tree) and proofs come from its nodes, so neither grows with the log.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiyin.errors import FieldProblem, InvalidData, NotFound, UnreadableDocument
from yiyin.registry import merkle, tree
from yiyin.registry.audit import check_records
from yiyin.registry.checkpoint import Checkpoint, CheckpointError, open_note, verifier_key
from yiyin.registry.models import Document, LogEntry
from yiyin.service.app import App

_SEPARATOR = "\n\n\n"  # checkpoints end in a newline; one blank line more separates them in the file
CHECKPOINT_INTERVAL = 5.0  # seconds: the server signs a newer tree head at most this often


def _dir(app: App) -> Path:
    d = app.settings.home / "log"
    d.mkdir(parents=True, exist_ok=True)
    return d


def origin(app: App) -> str:
    parsed = urlparse(app.settings.public_url)
    return f"{parsed.netloc}{parsed.path}/log/{app.bureau_id}"


def signing_key(app: App) -> Ed25519PrivateKey:
    path = _dir(app) / "checkpoint.key.pem"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use that one
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def verifier(app: App) -> str:
    """The public verifier key, e.g. for a witness or an offline checker."""
    return verifier_key(origin(app), signing_key(app).public_key())


@contextmanager
def _locked(app: App) -> Iterator[None]:
    """One signer at a time across processes (several server workers, the command line)."""
    with open(_dir(app) / "checkpoints.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sign_checkpoint(app: App) -> str:
    """Integrate every appended entry into the stored tree, sign its head, and publish it: appended
    to the history of checkpoints and written as the latest one (both outside the database)."""
    with _locked(app):
        size = tree.sync(app.db)
        with app.db.session() as s:
            root = tree.root(s, size)
        note = Checkpoint(origin(app), size, root).sign(origin(app), signing_key(app))
        with open(_dir(app) / "checkpoints", "a", encoding="utf-8") as f:
            f.write(note + "\n")
            f.flush()
            os.fsync(f.fileno())
        latest = _dir(app) / "checkpoint"
        tmp = latest.with_suffix(".tmp")
        tmp.write_text(note, encoding="utf-8")
        os.replace(tmp, latest)
    return note


def checkpoints(app: App) -> list[str]:
    """Every checkpoint ever signed, oldest first."""
    path = _dir(app) / "checkpoints"
    if not path.exists():
        return []
    return [n for c in path.read_text("utf-8").split(_SEPARATOR) if c.strip() for n in split_notes(c)]


def split_notes(text: str) -> list[str]:
    """Signed notes written one after another: each is its text, a blank line, its signature
    lines; one blank line separates a note from the next."""
    chunks = [c for c in text.split("\n\n") if c.strip()]
    return [f"{body.strip(chr(10))}\n\n{sigs.strip(chr(10))}\n" for body, sigs in zip(chunks[0::2], chunks[1::2])]


def latest_checkpoint(app: App) -> str | None:
    latest = _dir(app) / "checkpoint"
    if latest.exists():
        return latest.read_text("utf-8")
    history = checkpoints(app)  # a data directory from before the latest one was kept apart
    return history[-1] if history else None


def log_size(app: App) -> int:
    with app.db.session() as s:
        return s.execute(select(func.coalesce(func.max(LogEntry.index) + 1, 0))).scalar_one()


def current_checkpoint(app: App, max_age: float = CHECKPOINT_INTERVAL) -> str:
    """The latest checkpoint, or a newly signed one when entries were appended since and the
    latest is older than ``max_age`` seconds (so that a server signs at most that often)."""
    note = latest_checkpoint(app)
    if note is not None:
        size = open_note(note, verifier(app)).size
        age = time.time() - (_dir(app) / "checkpoint").stat().st_mtime if (_dir(app) / "checkpoint").exists() else max_age
        if size >= log_size(app) or age < max_age:
            return note
    return sign_checkpoint(app)


@dataclass
class AuditReport:
    size: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(app: App) -> AuditReport:
    """Recompute the tree from the rows; check it against every checkpoint ever signed, and every
    registry row against the leaf that recorded it (see registry.audit)."""
    notes = checkpoints(app)
    key = verifier(app)
    signed = []
    problems: list[str] = []
    for k, note in enumerate(notes, 1):
        try:
            signed.append(open_note(note, key))
        except CheckpointError as exc:
            problems.append(f"保存的第 {k} 个签名检查点（共 {len(notes)} 个，见数据目录 log/checkpoints）未通过验证：{exc}")
    with app.db.session() as s:
        hashes = []
        expected = 0
        for index, payload, stored_hash in s.execute(select(LogEntry.index, LogEntry.payload, LogEntry.leaf_hash)
                                                     .order_by(LogEntry.index)):
            if index != expected:
                gap = f"{expected}" if index == expected + 1 else f"{expected}–{index - 1}"
                problems.append(f"日志条目 {gap} 缺失（其后是条目 {index}）：有条目被删除")
                expected = index
            expected += 1
            h = merkle.leaf_hash(payload.encode("utf-8"))
            hashes.append(h)
            if h.hex() != stored_hash:
                problems.append(f"日志条目 {index} 的内容与同一行记录的叶哈希（leaf_hash）不符：内容被改动")
            try:
                named = json.loads(payload).get("index")
            except ValueError:
                named = None
            if named != index:
                problems.append(f"日志条目 {index} 的内容记载的位置是 {named}，不是 {index}（条目被调换了顺序）")
        problems.extend(check_records(s))
    roots = merkle.roots_at(hashes, [cp.size for cp in signed if cp.size <= len(hashes)])
    for cp in signed:
        if cp.size > len(hashes):
            problems.append(f"已签名的检查点记载日志有 {cp.size} 个条目，但日志现在只有 {len(hashes)} 个：日志被截短，或有条目被删除")
        elif roots[cp.size] != cp.root:
            problems.append(f"前 {cp.size} 个日志条目重新计算的根哈希与树大小为 {cp.size} 的签名检查点"
                            f"（根哈希 {base64.b64encode(cp.root).decode()}）不符：历史被改写")
    return AuditReport(size=len(hashes), problems=list(dict.fromkeys(problems)))


@dataclass(frozen=True)
class InclusionBundle:
    """Everything an offline verifier needs: the leaf, its proof and a signed checkpoint."""

    leaf_index: int
    leaf: str
    proof: list[str]
    checkpoint: str

    def to_json(self) -> dict[str, object]:
        return {"leaf_index": self.leaf_index, "leaf": self.leaf, "proof": self.proof, "checkpoint": self.checkpoint}

    @classmethod
    def from_json(cls, data: object) -> "InclusionBundle":
        """From the JSON of ``GET /api/v1/log/bundle`` or ``yiyin log verify --json``."""
        try:
            assert isinstance(data, dict)
            bundle = cls(int(data["leaf_index"]), str(data["leaf"]), [str(p) for p in data["proof"]],
                         str(data["checkpoint"]))
        except (AssertionError, KeyError, TypeError, ValueError):
            raise InvalidData([FieldProblem("bundle", "shape", "须为含 leaf_index、leaf、proof 和 checkpoint 的 JSON，"
                                                               "即 GET /api/v1/log/bundle 返回的内容")], "证明包") from None
        return bundle


def issuance_entry(session: Session, sealed_sha256: str) -> tuple[int, str] | None:
    """Index and payload of the issuance leaf of the document with this sealed hash."""
    row = session.execute(select(LogEntry.index, LogEntry.payload).join(Document, Document.id == LogEntry.document_id)
                          .where(Document.sha256 == sealed_sha256, LogEntry.kind == "issue")).first()
    return (row.index, row.payload) if row is not None else None


def inclusion_bundle(app: App, sealed_sha256: str, note: str | None = None) -> InclusionBundle:
    """Proof that the issuance of the document with this sealed hash is in the log, under the
    given checkpoint, else the latest one if it covers the entry, else one signed now. The proof
    comes from the stored tree: a handful of reads, whatever the size of the log."""
    with app.db.session() as s:
        found = issuance_entry(s, sealed_sha256)
    if found is None:
        raise NotFound("本局没有签发过内容与此相同的文书")
    index, payload = found
    note = note or latest_checkpoint(app)
    if note is None or open_note(note, verifier(app)).size <= index:
        note = sign_checkpoint(app)
    size = open_note(note, verifier(app)).size
    with app.db.session() as s:
        integrated = tree.size(s)
    if integrated < size:  # a checkpoint is signed over the integrated tree; this only mends an old one
        tree.sync(app.db)
    with app.db.session() as s:
        proof = tree.inclusion_proof(s, index, size)
    return InclusionBundle(index, payload, [base64.b64encode(p).decode() for p in proof], note)


def inclusion_bundles(app: App, sealed_sha256s: list[str]) -> list[InclusionBundle]:
    """Proofs for several documents under one checkpoint signed now (an archive package carries
    one checkpoint that every proof in it leads to)."""
    note = sign_checkpoint(app)
    return [inclusion_bundle(app, digest, note) for digest in sealed_sha256s]


def verify_bundle(bundle: InclusionBundle, verifier_key_text: str, sealed_sha256: str) -> tuple[bool, str]:
    """Offline: needs only the bundle, the log's verifier key and the document's sealed hash."""
    try:
        cp = open_note(bundle.checkpoint, verifier_key_text)
    except CheckpointError as exc:
        return False, f"签名检查点未通过验证：{exc}"
    key_log = verifier_key_text.split("+", 1)[0]
    if cp.origin != key_log:
        return False, f"签名检查点属于日志 {cp.origin}，不是验证公钥所属的日志 {key_log}"
    try:
        leaf = json.loads(bundle.leaf)
        proof = [base64.b64decode(p, validate=True) for p in bundle.proof]
    except ValueError:
        return False, f"证明包中的日志条目 {bundle.leaf_index}（leaf）或包含证明（proof）格式不正确"
    if not isinstance(leaf, dict) or leaf.get("kind") != "issue":
        return False, f"证明包中的日志条目 {bundle.leaf_index} 不是文书签发条目"
    if leaf.get("sha256") != sealed_sha256:
        return False, (f"证明包中的日志条目 {bundle.leaf_index} 记载的是另一份文书（{leaf.get('number')}，"
                       f"SHA-256 {leaf.get('sha256')}）的签发，而本文件（截至最后一次盖章）的 SHA-256 是 {sealed_sha256}")
    ok = merkle.verify_inclusion(bundle.leaf_index, cp.size, merkle.leaf_hash(bundle.leaf.encode("utf-8")), proof, cp.root)
    if not ok:
        return False, (f"日志条目 {bundle.leaf_index} 的 RFC 9162 包含证明推不出签名检查点的根哈希"
                       f"（树大小 {cp.size}，根哈希 {base64.b64encode(cp.root).decode()}）：条目或证明被改动")
    return True, (f"{leaf.get('number')} 的签发是日志 {cp.origin} 的条目 {bundle.leaf_index}（树大小 {cp.size}），"
                  f"包含证明可推出已签名的根哈希 {base64.b64encode(cp.root).decode()}")


def sealed_hash(data: bytes) -> str:
    """SHA-256 of the document as sealed: up to the end of its last seal's revision. Reads the
    seals' byte ranges only, validating nothing: whether the seals are valid is ``yiyin verify``'s
    question, not the log's, and this needs no trust anchor (it runs with no registry at all)."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    from yiyin.signing.validate import ensure_pdf

    ensure_pdf(data)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        ends = [int(sig.byte_range[2]) + int(sig.byte_range[3]) for sig in reader.embedded_regular_signatures]
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise UnreadableDocument(f"PDF 文件无法读取：{exc}") from exc
    if not ends:
        raise NotFound("文件上没有印章（签名）")
    return hashlib.sha256(data[:max(ends)]).hexdigest()
