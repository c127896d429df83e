"""The command line as a newcomer uses it: demo, verify (exit 0/1/2, --json), render, templates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def demo_out(cli_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cli-demo")
    result = run_cli("demo", "--out", str(out), home=cli_home)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_demo_prints_number_code_and_path(demo_out: tuple[Path, str], cli_home: Path) -> None:
    out, stdout = demo_out
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.name for p in pdfs] == ["01-准予行政许可决定书.pdf", "02-药品经营许可证.pdf", "03-行政审批事项划转协议.pdf"]
    assert "台审批许准〔" in stdout and "辽EA0321" in stdout
    assert stdout.count("验证码") == 3 and str(pdfs[1]) in stdout
    assert "genuine and in force" in stdout
    assert (cli_home / "pki" / "root-ca.crt.pem").exists()
    assert not list(cli_home.glob("**/*.key.pem")) or all(
        (p.stat().st_mode & 0o077) == 0 for p in cli_home.glob("**/*.key.pem"))


def test_verify_exit_codes_and_json(demo_out: tuple[Path, str], cli_home: Path, tmp_path: Path) -> None:
    out, _ = demo_out
    licence = out / "02-药品经营许可证.pdf"
    ok = run_cli("verify", str(licence), home=cli_home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "有效：确系本局签发" in ok.stdout and "TOTAL_PASSED" in ok.stdout and "genuine" not in ok.stdout  # Chinese by default
    english = run_cli("verify", "--lang", "en", str(licence), home=cli_home)
    assert english.returncode == 0 and "VALID: genuine" in english.stdout and "signing time proven by a trusted timestamp" in english.stdout
    both = run_cli("verify", "--lang", "both", str(licence), home=cli_home)
    assert "签章时间由可信时间戳证明" in both.stdout and "signing time proven by a trusted timestamp" in both.stdout
    assert run_cli("verify", "--lang", "fr", str(licence), home=cli_home).returncode == 2
    js = run_cli("verify", "--json", str(licence), home=cli_home)
    report = json.loads(js.stdout)
    assert js.returncode == 0 and report["valid"] is True and report["document"]["title"] == "药品经营许可证"

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(licence.read_bytes())
    data[len(data) // 3] ^= 1
    tampered.write_bytes(bytes(data))
    bad = run_cli("verify", "--json", str(tampered), home=cli_home)
    assert bad.returncode == 1 and json.loads(bad.stdout)["valid"] is False
    seal = json.loads(bad.stdout)["signatures"][0]
    assert (seal["indication"], seal["subindication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert {"code": "DIGEST_MISMATCH", "ok": False, "zh": "文件字节与印章不符（盖章后被改动）。",
            "en": "the document's bytes do not match the seal (changed after sealing)", "subindication": "HASH_FAILURE"} in seal["findings"]
    readable = run_cli("verify", str(tampered), home=cli_home)
    assert readable.returncode == 1 and "无效" in readable.stdout and "文件字节与印章不符" in readable.stdout

    junk = tmp_path / "junk.pdf"
    junk.write_text("hello")
    unreadable = run_cli("verify", str(junk), home=cli_home)
    assert unreadable.returncode == 2 and "不是 PDF" in unreadable.stderr
    missing = run_cli("verify", str(tmp_path / "nope.pdf"), home=cli_home)
    assert missing.returncode == 2


def test_render_draft_and_bad_data(cli_home: Path, tmp_path: Path) -> None:
    sample = json.loads((Path(__file__).resolve().parents[1] / "samples/applications/kaiban_yaodian.json").read_text("utf-8"))
    data = sample["documents"][1]["data"] | {"valid_from": "2026-01-01", "valid_until": "2030-12-31"}
    good = tmp_path / "data.json"
    good.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    draft = tmp_path / "draft.pdf"
    r = run_cli("render", "licence_drug_retail", str(good), "--out", str(draft), home=cli_home)
    assert r.returncode == 0, r.stderr
    assert draft.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(draft), "-"], capture_output=True, text=True, check=True).stdout
    assert "草稿" in text and "台安县康宁大药房有限公司" in text
    assert b"/Sig" not in draft.read_bytes()  # a draft is never sealed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data | {"uscc": "X", "complaint_phone": "call me"}, ensure_ascii=False), "utf-8")
    r = run_cli("render", "licence_drug_retail", str(bad), "--out", str(tmp_path / "x.pdf"), home=cli_home)
    assert r.returncode == 2
    assert "uscc（统一社会信用代码）" in r.stderr and "complaint_phone（投诉举报电话）" in r.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_templates_lists_types_and_fields(cli_home: Path) -> None:
    r = run_cli("templates", home=cli_home)
    assert r.returncode == 0
    assert "licence_drug_retail  药品经营许可证" in r.stdout and "统一社会信用代码" in r.stdout


def test_every_help_page_describes_its_help_option_in_chinese_first() -> None:
    """`yiyin … --help` for every group and command, as a clerk would ask it."""
    import click
    import typer.main
    from typer.testing import CliRunner

    from yiyin.service.cli import app

    def paths(group: Any, ctx: click.Context, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [prefix]
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if hasattr(command, "list_commands"):  # a group (typer's own click, not click's classes)
                found += paths(command, click.Context(command, parent=ctx, info_name=name), (*prefix, name))
            else:
                found.append((*prefix, name))
        return found

    root = typer.main.get_command(app)
    every = paths(root, click.Context(root, info_name="yiyin"), ())
    assert ("seal", "add") in every and ("serve",) in every and len(every) > 40
    runner = CliRunner()
    for path in every:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        text = " ".join(result.output.split())
        assert "显示本帮助并退出。" in text, path
        assert text.index("显示本帮助并退出") < text.index("Show this message and exit"), path
