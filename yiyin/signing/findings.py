"""What a validation found about one signature, in Chinese and English, and the ETSI verdict.

Every finding has a stable code (for programs), a Chinese and an English sentence (for people)
and says whether it is fine. A finding that is not fine names the ETSI EN 319 102-1
subindication it leads to; the signature's indication follows from the most serious one:

  TOTAL_PASSED   nothing wrong;
  TOTAL_FAILED   proven wrong: HASH_FAILURE, SIG_CRYPTO_FAILURE, FORMAT_FAILURE, REVOKED, EXPIRED, …;
  INDETERMINATE  cannot be proven right: NO_CERTIFICATE_CHAIN_FOUND, REVOKED_NO_POE,
                 OUT_OF_BOUNDS_NO_POE, NO_POE, …
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

TOTAL_PASSED = "TOTAL_PASSED"
TOTAL_FAILED = "TOTAL_FAILED"
INDETERMINATE = "INDETERMINATE"

# Most serious first: a document changed after sealing is reported as that, even if its
# certificate is also unknown.
_SUBINDICATIONS = (
    ("HASH_FAILURE", TOTAL_FAILED),
    ("SIG_CRYPTO_FAILURE", TOTAL_FAILED),
    ("FORMAT_FAILURE", TOTAL_FAILED),
    ("REVOKED", TOTAL_FAILED),
    ("EXPIRED", TOTAL_FAILED),
    ("NOT_YET_VALID", TOTAL_FAILED),
    ("REVOKED_NO_POE", INDETERMINATE),
    ("OUT_OF_BOUNDS_NO_POE", INDETERMINATE),
    ("NO_CERTIFICATE_CHAIN_FOUND", INDETERMINATE),
    ("NO_POE", INDETERMINATE),
    ("TRY_LATER", INDETERMINATE),   # revocation data needed to judge the certificate are missing
    ("GENERIC", INDETERMINATE),
)
_RANK = {sub: i for i, (sub, _) in enumerate(_SUBINDICATIONS)}
_INDICATION = dict(_SUBINDICATIONS)


# what a signature covers and what changed after it, as (中文, English)
COVERAGE_TEXT = {
    "entire_file": ("覆盖整个文件", "covers the whole file"),
    "entire_revision": ("覆盖签名时的整个文件，其后另有修订", "covers the whole document as signed; later revisions follow"),
    "contiguous_block_from_start": ("只覆盖文件的一部分", "covers only part of the file"),
    "unclear": ("覆盖范围不明", "coverage unclear"),
}
CHANGES_TEXT = {
    "none": ("无修改", "no changes"),
    "lta_updates": ("仅追加验证数据（DSS、文档时间戳）", "only validation data added (DSS, document timestamps)"),
    "form_filling": ("填写表单或加盖其他印章", "form filling or further seals"),
    "annotations": ("添加注释", "annotations added"),
    "other": ("其他修改（内容可能已变）", "other changes (the content may have changed)"),
    "unknown": ("无法判断", "cannot be determined"),
}


@dataclass(frozen=True)
class Finding:
    code: str
    ok: bool
    zh: str
    en: str
    subindication: str = ""  # set when not ok

    def __post_init__(self) -> None:
        if not self.ok and self.subindication not in _RANK:
            raise ValueError(f"finding {self.code}: unknown subindication {self.subindication!r}")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.ok:
            out.pop("subindication")
        return out


def good(code: str, zh: str, en: str) -> Finding:
    return Finding(code, True, zh, en)


def bad(code: str, subindication: str, zh: str, en: str) -> Finding:
    return Finding(code, False, zh, en, subindication)


def verdict(findings: list[Finding]) -> tuple[str, str]:
    """(indication, subindication) of a signature from its findings."""
    failed = [f for f in findings if not f.ok]
    if not failed:
        return TOTAL_PASSED, ""
    worst = min(failed, key=lambda f: _RANK[f.subindication]).subindication
    return _INDICATION[worst], worst


def when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"
