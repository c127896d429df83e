"""The readable validation report, in Chinese, English or both, like an EU DSS simple report:
one verdict for the document, the checks against the registry, then one block per seal or
timestamp with its ETSI EN 319 102-1 indication and the findings behind it."""

from __future__ import annotations

import unicodedata
from typing import Any

from yiyin.service.verify import VerificationReport
from yiyin.signing.findings import CHANGES_TEXT, COVERAGE_TEXT

LANGS = ("zh", "en", "both")

_INDICATION = {
    "TOTAL_PASSED": ("通过", "passed"),
    "TOTAL_FAILED": ("未通过", "failed"),
    "INDETERMINATE": ("无法确定", "indeterminate"),
}
_LABELS = {
    "verdict_ok": ("有效：确系本局签发，未被改动，现行有效", "VALID: genuine, unaltered, registered and in force"),
    "verdict_bad": ("无效", "NOT VALID"),
    "signatures": ("签章明细", "Signatures"),
    "seal": ("电子印章", "seal"),
    "document_timestamp": ("文档时间戳", "document timestamp"),
    "organ": ("签章机关", "organ"),
    "claimed": ("声称时间", "claimed time"),
    "proven": ("时间戳证明", "proven time"),
    "chain": ("证书链", "chain"),
    "revocation": ("吊销状态", "revocation"),
    "coverage": ("覆盖范围", "coverage"),
    "changes": ("之后的修改", "changes after"),
    "time": ("时间", "time"),
    "findings": ("核验发现", "findings"),
}
_REVOCATION = {"good": ("未吊销", "not revoked"), "revoked": ("已吊销", "revoked"), "unknown": ("未知", "unknown")}


def _pick(pair: tuple[str, str], lang: str, sep: str = " ") -> str:
    zh, en = pair
    return {"zh": zh, "en": en}.get(lang, f"{zh}{sep}{en}")


def _label(key: str, lang: str) -> str:
    return _pick(_LABELS[key], lang)


def _t(value: str | None) -> str:
    return value.replace("T", " ")[:19] + " UTC" if value else "—"


def _cn(subject: str) -> str:
    for part in subject.split(", "):
        if part.startswith("Common Name: "):
            return part.removeprefix("Common Name: ")
    return subject


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _row(key: str, value: str, lang: str) -> str:
    label = _label(key, lang) + ":"
    return f"     {label}{' ' * max(1, 30 - _width(label))}{value}"


def signature_block(i: int, s: dict[str, Any], lang: str = "zh") -> list[str]:
    indication = _pick(_INDICATION.get(s["indication"], (s["indication"], s["indication"])), lang)
    etsi = s["indication"] + (f"/{s['subindication']}" if s["subindication"] else "")
    lines = [f"  #{i} {_label(s['kind'], lang)} [{s['field_name']}]: {indication} ({etsi})"]
    if s["kind"] == "seal":
        proof = (_pick(("可信", "trusted"), lang) if s["timestamp_trusted"] else _pick(("不可信", "NOT trusted"), lang))
        proven = (f"{_t(s['timestamp_time'])} ({proof}: {_cn(s['timestamp_authority'])})" if s["timestamp_time"]
                  else _pick(("无时间戳", "no timestamp"), lang))
        judged = _t(s["judged_at"]) if s["judged_at"] else _pick(("当前", "now"), lang)
        lines += [
            _row("organ", f"{s['signer_organization']} · {s['signer_common_name']}", lang),
            _row("claimed", _t(s["claimed_time"]), lang),
            _row("proven", proven, lang),
            _row("chain", " → ".join(_cn(c) for c in s["chain"]) or "—", lang),
            _row("revocation", f"{_pick(_REVOCATION.get(s['revocation'], ('未知', 'unknown')), lang)} "
                               f"({_pick(('判断时间', 'as of'), lang)} {judged})", lang),
        ]
    else:
        lines.append(_row("time", f"{_t(s['timestamp_time'])} · {_cn(s['timestamp_authority'])}", lang))
    allowed = _pick(("允许", "allowed"), lang) if s["modifications_allowed"] else _pick(("不允许", "NOT allowed"), lang)
    lines += [
        _row("coverage", _pick(COVERAGE_TEXT.get(s["coverage"], COVERAGE_TEXT["unclear"]), lang, " / "), lang),
        _row("changes", _pick(CHANGES_TEXT.get(s["modification_level"], CHANGES_TEXT["unknown"]), lang, " / ") + f" ({allowed})" + (f", {_pick(('已锁定', 'locked'), lang)}" if s.get("locked") else ""), lang),
        f"     {_label('findings', lang)}:",
    ]
    for f in s["findings"]:
        mark = "✓" if f["ok"] else "✗"
        texts = [f["zh"], f["en"]] if lang == "both" else [f[lang]]
        lines.append(f"       {mark} [{f['code']}] {texts[0]}")
        lines += [f"         {t}" for t in texts[1:]]
    return lines


def render(report: VerificationReport, file_label: str, lang: str = "zh") -> str:
    if lang not in LANGS:
        raise ValueError(f"report language must be one of {', '.join(LANGS)}, not {lang!r}")
    verdict = _pick(_LABELS["verdict_ok" if report.valid else "verdict_bad"], lang, " / ")
    lines = [file_label, verdict]
    for c in report.checks:
        mark = "✓" if c.ok else "✗"
        if lang == "both":
            lines += [f"  [{mark}] {c.title} / {c.title_en} ({c.id}): {c.detail_zh}", f"        {c.detail}"]
        else:
            title, detail = (c.title, c.detail_zh) if lang == "zh" else (c.title_en, c.detail)
            lines.append(f"  [{mark}] {title} ({c.id}): {detail}")
    if report.document:
        d = report.document
        lines.append(f"  {d['title']} {d['number']} · {d['holder']} · {d['organ']} · {d['status']}")
    if report.signatures:
        lines.append(_label("signatures", lang) + ":")
        for i, s in enumerate(report.signatures, start=1):
            lines += signature_block(i, s, lang)
    return "\n".join(lines)
