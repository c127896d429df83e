"""A 划转协议 sealed by five organs in turn: every seal valid, the last one locks the document."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from yiyin.errors import InvalidData
from yiyin.service.agreements import AgreementRequest, issue_agreement
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.service.verify import verify_pdf

from . import attacks

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "samples/documents/agreement_transfer.json").read_text("utf-8"))


def test_demo_agreement_carries_five_valid_seals(app: App, demo) -> None:
    report = verify_pdf(app, demo.agreement.path.read_bytes())
    assert report.valid, report.to_json()
    seals = [s for s in report.signatures if s["kind"] == "seal"]
    assert [s["signer_organization"] for s in seals] == [
        "台安县市场监督管理局", "台安县行政审批局", "中共台安县委机构编制委员会办公室", "台安县司法局", "台安县营商环境建设局"]
    assert all(s["ok"] and s["timestamp_trusted"] for s in seals)
    assert [s["locked"] for s in seals] == [False, False, False, False, True]
    assert report.signatures[-1]["kind"] == "document_timestamp"
    out = subprocess.run(["pdfsig", "-nocert", str(demo.agreement.path)], capture_output=True, text=True).stdout
    assert out.count("Signature is Valid") >= 5, out


def test_content_added_between_seals_or_after_the_last_is_rejected(app: App, demo) -> None:
    tampered = attacks.append_annotation(demo.agreement.path.read_bytes())
    assert not verify_pdf(app, tampered).valid


def test_parties_must_be_registered_and_in_order(app: App) -> None:
    data = resolve_dates(copy.deepcopy(SAMPLE), date.today())
    data["parties"][0], data["parties"][1] = data["parties"][1], data["parties"][0]
    with pytest.raises(InvalidData, match="应依次为"):
        issue_agreement(app, AgreementRequest("agreement_transfer", data, "T-1"))
    data = resolve_dates(copy.deepcopy(SAMPLE), date.today())
    data["parties"][3]["organ_name"] = "台安县不存在局"
    data["items"][0]["code"] = "000000-XX-0000"
    with pytest.raises(InvalidData) as err:
        issue_agreement(app, AgreementRequest("agreement_transfer", data, "T-2"))
    assert {p.field for p in err.value.problems} == {"parties[3]", "items[0].code"}
