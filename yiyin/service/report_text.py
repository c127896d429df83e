"""The readable validation report, in Chinese and English, like an EU DSS simple report:
one verdict for the document, then one block per seal or timestamp."""

from __future__ import annotations

from typing import Any

from yiyin.service.verify import VerificationReport


def _t(value: str | None) -> str:
    return value.replace("T", " ")[:19] + " UTC" if value else "—"


def _cn(subject: str) -> str:
    for part in subject.split(", "):
        if part.startswith("Common Name: "):
            return part.removeprefix("Common Name: ")
    return subject


def signature_block(i: int, s: dict[str, Any]) -> list[str]:
    kind = "电子印章 seal" if s["kind"] == "seal" else "文档时间戳 document timestamp"
    verdict = "通过 PASSED" if s["ok"] else "未通过 FAILED"
    lines = [f"  #{i} {kind} [{s['field_name']}]: {verdict}"]
    if s["kind"] == "seal":
        lines += [
            f"     签章机关 organ:            {s['signer_organization']} · {s['signer_common_name']}",
            f"     声称时间 claimed time:     {_t(s['claimed_time'])}",
            f"     时间戳证明 proven time:    {_t(s['timestamp_time'])}"
            + (f" ({'可信 trusted' if s['timestamp_trusted'] else '不可信 NOT trusted'}: {_cn(s['timestamp_authority'])})" if s["timestamp_time"] else " (无时间戳 no timestamp)"),
            f"     证书链 chain:              {' → '.join(_cn(c) for c in s['chain']) or '—'}",
            f"     吊销状态 revocation:       {s['revocation']}" + (f" (as of {_t(s['judged_at'])})" if s["judged_at"] else " (as of now)"),
        ]
    else:
        lines.append(f"     时间 time:                 {_t(s['timestamp_time'])} · {_cn(s['timestamp_authority'])}")
    lines += [
        f"     覆盖范围 coverage:         {s['coverage']}",
        f"     之后的修改 changes after:  {s['modification_level']} ({'允许 allowed' if s['modifications_allowed'] else '不允许 NOT allowed'})"
        + (", 已锁定 locked" if s.get("locked") else ""),
    ]
    lines += [f"     ✗ {p}" for p in s["problems"]]
    return lines


def render(report: VerificationReport, file_label: str) -> str:
    verdict = "有效 VALID: genuine, unaltered, registered and in force" if report.valid else "无效 NOT VALID"
    lines = [file_label, verdict]
    lines += [f"  [{'✓' if c.ok else '✗'}] {c.title} ({c.id}): {c.detail}" for c in report.checks]
    if report.document:
        d = report.document
        lines.append(f"  {d['title']} {d['number']} · {d['holder']} · {d['organ']} · {d['status']}")
    if report.signatures:
        lines.append("签章明细 signatures:")
        for i, s in enumerate(report.signatures, start=1):
            lines += signature_block(i, s)
    return "\n".join(lines)
