"""The package of one matter: a BagIt bag (RFC 8493, SHA-256 and SHA-512 manifests and tag
manifests) whose payload is the sealed volume, the metadata XML, every document as issued, the
originals, and what keeps all of it verifiable offline (trust anchors, revocation data, the log's
key, its signed checkpoint and each document's inclusion proof).

Every payload file but the volume is also attached to the volume, so the archive seal covers the
package as a whole: a file changed and its manifests recomputed still no longer matches the
sealed copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as pkg_metadata
from pathlib import Path

import bagit
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from yiyin.archive import metadata
from yiyin.archive.digests import all_digests
from yiyin.config import BUREAU_TIME
from yiyin.archive.dossier import Dossier
from yiyin.archive.volume import Attachment, build_volume, page_counts, placements
from yiyin.errors import FieldProblem, InvalidData, YiyinError
from yiyin.signing.pades import RevocationMaterial, Sealer
from yiyin.signing.validate import validate_pdf
from yiyin.templates.fonts import FontSet

VOLUME = "volume.pdf"
METADATA = "metadata.xml"
README = "README.txt"
PACKAGE_VERSION = "1"

_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif",
               "application/ofd": ".ofd", "application/xml": ".xml", "application/json": ".json", "text/plain": ".txt"}


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    archival_code: str
    documents: int
    pages: int
    files: int
    bytes: int
    volume_sha256: str


def environment() -> str:
    """软硬件环境 recorded in the metadata: what made the package."""
    versions = []
    for dist in ("yiyin", "typst", "pyhanko", "pypdf", "cryptography", "bagit"):
        try:
            versions.append(f"{dist} {pkg_metadata.version(dist)}")
        except pkg_metadata.PackageNotFoundError:
            pass
    return "; ".join([*versions, f"Python {platform.python_version()}", f"{platform.system()} {platform.machine()}"])


def _info(path: str, data: bytes, media_type: str, fmt: str) -> metadata.FileInfo:
    return metadata.FileInfo(path=path, size=len(data), media_type=media_type, format=fmt, digests=all_digests(data))


def _pdf_format(data: bytes) -> str:
    head = data[:1 << 16] + data[-(1 << 16):]
    return "PDF/A-3b" if b"pdfaid:part" in data and (b"<pdfaid:part>3<" in data or b'pdfaid:part="3"' in data) else (
        "PDF" if head.startswith(b"%PDF-") else "unknown")


def _readme(dossier: Dossier) -> bytes:
    m = dossier.matter
    return f"""{m.title}
档号 {m.archival_code.code}    办件编号 {m.case_id}    立卷单位 {m.organ}

本包是一个 BagIt 包（RFC 8493）。This package is a BagIt bag (RFC 8493).

data/volume.pdf        案卷（PDF/A-3）：卷皮、卷内文件目录、按件号排列的全部文件（带页号），
                       经档案专用章签章（PAdES B-LTA）；本包其余每个文件都作为附件嵌于其中。
data/metadata.xml      元数据（GB/T 18894-2016、DA/T 85-2019 字段；DA/T 48-2009 封装思想），含每个文件的
                       SM3、SHA-256、SHA-512 摘要。
data/documents/        每件文件的原始签章版本（各自的电子印章、时间戳、验证数据仍可验证）。
data/originals/        收到或出具时的原件。
data/evidence/         长期验证材料：anchors/ 信任锚证书，crls/ 证书撤销列表，ocsp/ OCSP 响应，
                       log/ 透明日志公钥与签名检查点，registry/ 每件登记文件的验证报告与日志包含证明。

离线验证 To verify offline, without the bureau's systems:
1. 清单：任何 BagIt 工具核对 manifest-sha256.txt / manifest-sha512.txt 与 tagmanifest-*.txt。
2. 案卷印章：任一 PAdES 验证器以 evidence/anchors/ 为信任锚验证 data/volume.pdf；其附件须与包内同名文件逐字节一致。
3. 各件文件：同样验证 data/documents/ 中每个文件的印章与时间戳。
4. 登记与日志：evidence/log/checkpoint.txt 是 C2SP 签名检查点（Ed25519，公钥见 verifier-key.txt）；
   evidence/registry/NNN-inclusion.json 是 RFC 9162 包含证明，其日志条目中的 sha256 即该文件签章时的摘要。
   信任锚指纹与日志公钥须与本局公布的一致。
5. yiyin archive check <本目录> 依 DA/T 70-2018 逐项检测真实性、完整性、可用性、安全性。
""".encode("utf-8")


#: bagit-python works in the bag's directory (os.chdir) while it bags and saves: the working
#: directory is the process's, so two packages built at once in one server would write into each
#: other's bags. One at a time; the rest of a build (the volume, the seals) runs side by side.
_BAGGING = threading.Lock()


def make_bag(directory: Path, info: dict[str, str]) -> None:
    """Turn ``directory`` into a BagIt 1.0 bag with SHA-256 and SHA-512 manifests."""
    with _BAGGING:
        bagit.make_bag(str(directory), info, checksums=["sha256", "sha512"])
        # bagit-python writes version 0.97; the layout is RFC 8493's, so declare 1.0 and re-hash the tag files
        (directory / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "utf-8")
        bagit.Bag(str(directory)).save()


def build_package(dossier: Dossier, out: Path, *, fonts: FontSet, sealer: Sealer, revocation: RevocationMaterial,
                  location: str, signer_name: str, created: datetime | None = None) -> BuiltPackage:
    """Build the package into ``out`` (which must not exist yet); all or nothing."""
    dossier.validate()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidData([FieldProblem("out", "empty", f"{out} 已存在且不是空文件夹：请另选一个新的文件夹")])
    # Dates on the papers are the bureau's (Beijing) dates, never the server's UTC date.
    created = (created or datetime.now(timezone.utc)).astimezone(BUREAU_TIME)
    anchors = [asn1_x509.Certificate.load(der) for der in dossier.evidence.trust_anchors]

    files: dict[str, bytes] = {}
    documents, originals, registry_files, signatures = [], [], [], []
    for i, entry in enumerate(dossier.entries):
        path = f"documents/{entry.seq:03d}.pdf"
        files[path] = entry.pdf
        documents.append(_info(path, entry.pdf, "application/pdf", _pdf_format(entry.pdf)))
        report = validate_pdf(entry.pdf, anchors, list(dossier.evidence.crls))
        problems = [f"签名域 {s.field_name}：{problem}" for s in report.signatures for problem in s.problems_zh]
        if problems or (entry.registry is not None and not report.seals):
            raise InvalidData([FieldProblem(f"entries[{i}].pdf", "seal_valid",
                                            f"件号 {entry.seq}（{entry.title}）" + ("的印章未通过验证：" + "；".join(problems) if problems
                                                                                 else "是登记簿文书，但没有电子印章"))],
                              f"办件 {dossier.matter.case_id} 的案卷")
        signatures.append([{"kind": "电子印章" if s.kind == "seal" else "文档时间戳", "signer": s.signer_common_name or s.signer_subject,
                            "time": (s.timestamp_time or s.claimed_time).isoformat() if (s.timestamp_time or s.claimed_time) else "",
                            "tsa": s.timestamp_authority, "fingerprint": s.signer_fingerprint} for s in report.signatures])
        kept = []
        for j, orig in enumerate(entry.originals, start=1):
            opath = f"originals/{entry.seq:03d}-{j:02d}{_EXTENSIONS.get(orig.media_type, Path(orig.name).suffix or '.bin')}"
            files[opath] = orig.data
            fmt = _pdf_format(orig.data) if orig.media_type == "application/pdf" else orig.media_type.split("/")[-1].upper()
            kept.append((_info(opath, orig.data, orig.media_type, fmt), orig.name, orig.description))
        originals.append(kept)
        if entry.registry is not None:
            rpath, ppath = f"evidence/registry/{entry.seq:03d}-verification.json", f"evidence/registry/{entry.seq:03d}-inclusion.json"
            files[rpath] = json.dumps(entry.registry.verification, ensure_ascii=False, indent=2, sort_keys=True).encode()
            files[ppath] = json.dumps(entry.registry.inclusion, ensure_ascii=False, indent=2, sort_keys=True).encode()
            registry_files.append((_info(rpath, files[rpath], "application/json", "JSON"),
                                   _info(ppath, files[ppath], "application/json", "JSON")))
        else:
            registry_files.append(None)

    evidence: list[tuple[metadata.FileInfo, str]] = []

    def add_evidence(path: str, data: bytes, media_type: str, fmt: str, kind: str) -> None:
        files[path] = data
        evidence.append((_info(path, data, media_type, fmt), kind))

    for k, der in enumerate(dossier.evidence.trust_anchors, start=1):
        pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        add_evidence(f"evidence/anchors/{k:02d}-{hashlib.sha256(der).hexdigest()[:16]}.pem", pem,
                     "application/x-pem-file", "X.509 PEM", "信任锚")
    for k, crl in enumerate(dossier.evidence.crls, start=1):
        add_evidence(f"evidence/crls/{k:02d}.crl", crl, "application/pkix-crl", "X.509 CRL DER", "证书撤销列表")
    for k, resp in enumerate(dossier.evidence.ocsp_responses, start=1):
        add_evidence(f"evidence/ocsp/{k:02d}.ocsp", resp, "application/ocsp-response", "OCSP DER", "OCSP响应")
    if dossier.evidence.log_verifier_key:
        add_evidence("evidence/log/verifier-key.txt", dossier.evidence.log_verifier_key.encode() + b"\n", "text/plain",
                     "C2SP note verifier key", "日志公钥")
        add_evidence("evidence/log/checkpoint.txt", dossier.evidence.checkpoint.encode(), "text/plain",
                     "C2SP tlog-checkpoint", "日志检查点")
    files[README] = _readme(dossier)
    readme = _info(README, files[README], "text/plain", "UTF-8 text")

    counts = page_counts(dossier)
    xml = metadata.build(dossier, created=created, environment=environment(), placements=placements(counts),
                         documents=documents, originals=originals, registry_files=registry_files,
                         signatures=signatures, evidence=evidence, readme=readme)
    files[METADATA] = xml

    def relationship(path: str) -> str:
        return "data" if path == METADATA else ("source" if path.startswith(("documents/", "originals/")) else "supplement")

    media = {p: ("application/xml" if p == METADATA else "application/pdf" if p.endswith(".pdf") else "application/octet-stream")
             for p in files}
    attachments = [Attachment(p, d, media[p], relationship(p), f"档案包 {dossier.matter.archival_code.code} 中的 {p}")
                   for p, d in sorted(files.items())]
    volume = build_volume(dossier, fonts=fonts, attachments=attachments, on=created.date(), sealer=sealer,
                          revocation=revocation, location=location, signer_name=signer_name)
    files[VOLUME] = volume.pdf

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        m = dossier.matter
        make_bag(staging, {
            "Source-Organization": m.organ,
            "External-Identifier": m.archival_code.code,
            "External-Description": m.title,
            "Internal-Sender-Identifier": m.case_id,
            "Bag-Group-Identifier": m.case_id,
            "Bag-Count": "1 of 1",
            "Yiyin-Package-Version": PACKAGE_VERSION,
        })
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, (YiyinError, KeyboardInterrupt)):
            raise
        raise InvalidData([FieldProblem("out", "writable", f"档案包无法写入 {out}：{exc}")]) from exc
    return BuiltPackage(path=out, archival_code=dossier.matter.archival_code.code, documents=len(dossier.entries),
                        pages=sum(counts), files=len(files), bytes=sum(len(d) for d in files.values()),
                        volume_sha256=volume.sealed_sha256)
