"""The demo: issue the sample 开办药店 matter's decision and licence, and the 划转协议 under which
the bureau holds the item, sealed by five organs; then verify them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from yiyin.service.agreements import AgreementRequest, issue_agreement
from yiyin.service.app import App
from yiyin.service.pipeline import Issued, Issuer, IssueRequest
from yiyin.service.transparency import sign_checkpoint
from yiyin.service.samples import load_json, resolve_dates, samples_dir


@dataclass(frozen=True)
class DemoDocument:
    issued: Issued
    path: Path


def run_demo(app: App, out: Path, application: str = "kaiban_yaodian") -> list[DemoDocument]:
    spec = load_json(samples_dir() / "applications" / f"{application}.json")
    out.mkdir(parents=True, exist_ok=True)
    issuer = Issuer(app)
    today = app.today()
    results = []
    for i, entry in enumerate(spec["documents"], start=1):
        issued = issuer.issue(IssueRequest(
            doc_type=entry["type"], data=resolve_dates(entry["data"], today), item_code=entry["item"],
            case_ref=spec["case_ref"], actor="demo", issue_date=today,
        ))
        results.append(_copy(issued, out, i))
    # the agreement under which the bureau holds these items, sealed by all five organs in turn
    agreement = load_json(samples_dir() / "documents" / "agreement_transfer.json")
    issued = issue_agreement(app, AgreementRequest("agreement_transfer", resolve_dates(agreement, today), spec["case_ref"],
                                                   actor="demo", issue_date=today))
    results.append(_copy(issued, out, len(results) + 1))
    sign_checkpoint(app)  # a signed tree head over everything just issued
    return results


def _copy(issued: Issued, out: Path, index: int) -> DemoDocument:
    target = out / f"{index:02d}-{issued.title}.pdf"
    shutil.copyfile(issued.path, target)
    return DemoDocument(issued=issued, path=target)
