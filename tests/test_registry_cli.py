"""`yiyin licence show|amend|renew|status-list` as a clerk runs them."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from yiyin.service.app import App
from yiyin.service.pipeline import Issuer, IssueRequest
from yiyin.service.samples import resolve_dates

from .conftest import run_cli
from .test_document_data import SAMPLE


@pytest.mark.slow
def test_licence_commands(app: App, home: Path, tmp_path: Path) -> None:
    entry = SAMPLE["documents"][1]
    data = resolve_dates(copy.deepcopy(entry["data"]), date.today())
    first = Issuer(app).issue(IssueRequest(entry["type"], data, entry["item"], "CLI"))
    shown = run_cli("licence", "show", first.number, home=home)
    assert shown.returncode == 0, shown.stderr
    meta = json.loads(shown.stdout)
    assert meta["证照编号"] == first.number and meta["证照标识"].startswith("1.2.156.3005.2.") and meta["版本号"] == 1

    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    missing = run_cli("licence", "amend", first.number, entry["type"], str(data_file), "--item", entry["item"],
                      "--case", "CLI-2", "--reason", "地址变更", "--basis", "", "--out", str(tmp_path), home=home)
    assert missing.returncode == 2 and "basis" in missing.stderr
    amended = run_cli("licence", "amend", first.number, entry["type"], str(data_file), "--item", entry["item"],
                      "--case", "CLI-2", "--reason", "经营地址变更", "--basis", "《药品经营和使用质量监督管理办法》",
                      "--out", str(tmp_path), home=home)
    assert amended.returncode == 0, amended.stderr
    assert "第2版" in amended.stdout and first.number in amended.stdout
    old = json.loads(run_cli("licence", "show", first.number, home=home).stdout)
    assert old["证照状态"] == "变更" and old["证照状态代码"] == "05" and old["后一版本"]["变更类型"] == "变更"
    assert [v["版本号"] for v in old["版本"]] == [1, 2]
    again = run_cli("licence", "renew", first.number, entry["type"], str(data_file), "--item", entry["item"],
                    "--case", "CLI-3", "--reason", "延续", "--basis", "《行政许可法》第五十条", home=home)
    assert again.returncode == 1 and "已终止" in again.stderr

    listed = run_cli("licence", "status-list", "1", "revocation", home=home)
    assert listed.returncode == 0, listed.stderr
    cred = json.loads(listed.stdout)
    assert cred["credentialSubject"]["statusPurpose"] == "revocation"
    assert cred["credentialSubject"]["encodedList"].startswith("u")
