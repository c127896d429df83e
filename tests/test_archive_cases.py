"""One set of archives of a case of the service: `yiyin demo` carries 开办药店 from intake to
delivery and prints the commands that archive and check it; the package holds every paper of the
matter in order with the case's real steps; it checks offline fifteen years on; its dates are the
bureau's; archive staff build, check and download it from their page and the API."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import bagit
import pytest
from fastapi.testclient import TestClient

from yiyin.archive.checks import check_package
from yiyin.config import BUREAU_TIME, Settings
from yiyin.service import archiving, staff
from yiyin.service.app import App
from yiyin.service.web import create_app

from .cdp import Chromium
from .conftest import run_cli
from .test_web_browser import _chromium, server  # noqa: F401  (the `yiyin serve` fixture)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Demo:
    home: Path
    stdout: str
    built: subprocess.CompletedProcess[str]
    checked: subprocess.CompletedProcess[str]
    package: Path
    started: datetime
    ended: datetime


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`yiyin demo`, then the two commands it prints, pasted into a shell as a newcomer would."""
    home, out = tmp_path_factory.mktemp("case-archive-home"), tmp_path_factory.mktemp("case-demo")
    started = datetime.now(timezone.utc)
    result = run_cli("demo", "--out", str(out), home=home)
    ended = datetime.now(timezone.utc)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "Archive the case" in line)
    build_cmd, check_cmd = lines[at + 1].strip(), lines[at + 2].strip()
    env = {**os.environ, "YIYIN_HOME": str(home)}
    built = subprocess.run(build_cmd, shell=True, capture_output=True, text=True, env=env, cwd=out, timeout=600)
    checked = subprocess.run(check_cmd, shell=True, capture_output=True, text=True, env=env, cwd=out, timeout=600)
    return Demo(home, result.stdout, built, checked, Path(shlex.split(check_cmd)[-1]), started, ended)


def _xml(package: Path) -> ET.Element:
    return ET.fromstring((package / "data/metadata.xml").read_bytes())


def test_demo_prints_the_case_and_commands_that_work_as_printed(demo: Demo) -> None:
    assert "case id" in demo.stdout and "台审批件〔" in demo.stdout
    assert demo.built.returncode == 0, demo.built.stderr
    assert "档号 Z109-ZW·" in demo.built.stdout
    assert demo.checked.returncode == 0, demo.checked.stdout[-3000:]
    assert "全部通过" in demo.checked.stdout


def test_the_dossier_holds_every_paper_of_the_matter_in_order(demo: Demo) -> None:
    volume = _xml(demo.package).find("案卷")
    docs = volume.findall("卷内文件/文件")
    kinds = [d.find("文件类别").get("代码") for d in docs]
    order = ["application_form", "material", "acceptance_notice", "inspection_record", "decision", "licence",
             "delegation_agreement", "delivery_receipt"]
    assert kinds == sorted(kinds, key=order.index) and set(kinds) == set(order)
    titles = [d.findtext("题名") for d in docs]
    for expected in ("药品经营许可证申请表", "营业执照", "补正材料通知书", "受理通知书", "现场勘验记录（药品零售企业许可）",
                     "准予行政许可决定书（执业药师注册）", "药品经营许可证（台安县康宁大药房有限公司）", "行政审批事项划转协议", "送达回证"):
        assert expected in titles, (expected, titles)
    assert kinds.count("decision") == 4
    # the scanned 营业执照 is kept as received and filed as PDF/A pages
    scan = next(d for d in docs if d.findtext("题名") == "营业执照")
    assert scan.findtext("原件/媒体类型") == "image/png" and scan.findtext("计算机文件/格式信息") == "PDF/A-3b"
    assert (demo.package / "data" / scan.findtext("原件/计算机文件名")).read_bytes().startswith(b"\x89PNG")
    # the process history is the case's steps, each by the one who did it
    acts = [(a.findtext("行为名称"), a.findtext("机构人员")) for a in volume.findall("业务行为/行为")]
    for step, who in (("接件", "张敏（demo.intake）"), ("受理", "李强（demo.accept）"), ("现场勘验结论", "孙伟（demo.inspect）"),
                      ("审批决定", "赵丽（demo.reg）"), ("审批决定", "王芳（demo.drug）"), ("签发", "周磊（demo.lead）"),
                      ("送达", "钱敏（demo.window）")):
        assert (step, who) in acts, (step, who)
    assert [s.text for s in volume.findall("应有业务行为")] == ["接件", "受理", "审批决定", "签发", "送达", "归档"]
    assert volume.findtext("立卷日期") >= volume.findtext("办结日期") >= volume.findtext("受理日期")
    # every act of the case happened while the demo ran: the case's times are read back as the
    # instants they were, whatever zone the database keeps them in
    times = [datetime.fromisoformat(a.findtext("行为时间")) for a in volume.findall("业务行为/行为")
             if a.findtext("行为名称") in ("接件", "受理", "审批决定", "送达")]
    assert times and all(demo.started <= t <= demo.ended for t in times)
    application = App.open(Settings.from_env({"YIYIN_HOME": str(demo.home)}))
    try:
        recorded = archiving.packages(application)
        assert recorded[0].archival_code == volume.findtext("档号") and Path(recorded[0].path) == demo.package.resolve()
    finally:
        application.close()


def _copy(package: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    return copy


def test_a_missing_step_in_the_history_fails_2_5(demo: Demo, tmp_path: Path) -> None:
    copy = _copy(demo.package, tmp_path)
    xml = copy / "data/metadata.xml"
    root = ET.fromstring(xml.read_bytes())
    acts = root.find("案卷/业务行为")
    for act in [a for a in acts if a.findtext("行为名称") == "送达"]:
        acts.remove(act)
    xml.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8"))
    bagit.Bag(str(copy)).save(manifests=True)
    report = archiving.check_offline(copy, datetime.now(BUREAU_TIME).date())
    item = next(i for i in report.items if i.code == "2-5")
    assert item.status == "fail" and "过程信息中缺少“送达”行为" in item.findings, item.findings


def test_fifteen_years_on_offline_it_still_passes_thanks_to_its_timestamps(demo: Demo, tmp_path: Path) -> None:
    later = (datetime.now(BUREAU_TIME).date() + timedelta(days=365 * 15 + 4)).isoformat()
    nobody = tmp_path / "no-yiyin-here"   # no registry, no keys: only the package
    ok = run_cli("archive", "check", str(demo.package), "--at", later, home=nobody)
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert f"按 {later} 离线检测" in ok.stdout and "届时已过期的信任锚" in ok.stdout
    assert not (nobody / "yiyin.db").exists()

    # the revocation data removed (manifests redone): today the seals still check, but not 15 years on
    copy = _copy(demo.package, tmp_path)
    for folder in ("crls", "ocsp"):
        for f in (copy / "data/evidence" / folder).iterdir():
            f.unlink()
    bagit.Bag(str(copy)).save(manifests=True)
    today = check_package(copy, log_verifier=archiving.log_verifier)   # today's check: revocation data used when present
    assert "1-1" not in today.failed() and {"1-13", "2-11"} <= set(today.failed())
    stripped = run_cli("archive", "check", str(copy), "--at", later, "--json", home=nobody)
    import json

    report = json.loads(stripped.stdout)
    assert stripped.returncode == 1 and "1-1" in report["failed"]
    findings = next(i for i in report["items"] if i["code"] == "1-1")["findings"]
    assert any("data/documents/" in f and "[NO_REVOCATION_DATA]" in f for f in findings), findings
    bad = run_cli("archive", "check", str(demo.package), "--at", "in twenty years", home=nobody)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_dates_are_the_bureaus_near_midnight(demo: Demo, tmp_path: Path) -> None:
    """Filed five minutes after the bureau's midnight, which is 16:05 UTC of the day before."""
    tomorrow = datetime.now(BUREAU_TIME).date() + timedelta(days=1)
    filed = datetime.combine(tomorrow, time(0, 5), BUREAU_TIME)
    assert filed.astimezone(timezone.utc).date() == tomorrow - timedelta(days=1)  # in UTC: still the day before
    application = App.open(Settings.from_env({"YIYIN_HOME": str(demo.home)}))
    try:
        case = archiving.ready_cases(application)[0]
        out = tmp_path / "midnight"
        archiving.build(application, str(case.id), out, archiving.ArchiveOptions(actor="吴静（demo.archivist）", now=filed))
    finally:
        application.close()
    root = _xml(out)
    volume = root.find("案卷")
    assert volume.findtext("立卷日期") == tomorrow.isoformat()
    assert root.findtext("封装包创建时间").endswith("+08:00")
    assert all(a.findtext("行为时间").endswith("+08:00") for a in volume.findall("业务行为/行为"))
    report = archiving.check_offline(out, tomorrow)
    assert report.ok, report.render()


ARCHIVIST, CLERK = "arch.wu", "arch.window"


def test_archive_staff_api_lists_builds_checks_and_downloads(app: App, demo_case: int) -> None:
    headers = {}
    for name, roles in ((ARCHIVIST, ["archivist"]), (CLERK, ["window"])):
        if name not in {u.username for u in staff.list_users(app)}:
            staff.add_user(app, name, "吴静" if name == ARCHIVIST else "钱敏", roles, [], None, "test")
        headers[name] = {"Authorization": f"Bearer {staff.new_token(app, name, 'test', 'test')}"}
    client = TestClient(create_app(app, rate_limit=(0, 1)))
    r = client.get("/api/v1/staff/archives/cases", headers=headers[CLERK])
    assert r.status_code == 403 and "档案管理员" in r.json()["error"]["message"]
    listed = client.get("/api/v1/staff/archives/cases", headers=headers[ARCHIVIST]).json()
    assert any(c["id"] == demo_case and c["status"] in ("已送达", "已归档") for c in listed)
    built = client.post(f"/api/v1/staff/archives/cases/{demo_case}/build", headers=headers[ARCHIVIST])
    assert built.status_code == 201, built.text
    package = built.json()
    assert package["archival_code"].startswith("Z109-ZW·") and package["built_by"] == f"吴静（{ARCHIVIST}）"
    case = client.get(f"/api/v1/staff/cases/{demo_case}", headers=headers[ARCHIVIST]).json()
    assert case["status"] == "已归档" and case["steps"][-1]["action"] == "archive"
    report = client.get(f"/api/v1/staff/archives/packages/{package['id']}/check", headers=headers[ARCHIVIST]).json()
    assert report["passed"] is True and report["archival_code"] == package["archival_code"]
    z = client.get(f"/api/v1/staff/archives/packages/{package['id']}/zip", headers=headers[ARCHIVIST])
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert f"{package['archival_code']}/bagit.txt" in names and f"{package['archival_code']}/data/volume.pdf" in names


@pytest.fixture(scope="module")
def demo_case(app: App, tmp_path_factory: pytest.TempPathFactory) -> int:
    from yiyin.service.demo import run_demo

    return run_demo(app, tmp_path_factory.mktemp("staff-archive-demo")).case_id


def test_archive_page_in_headless_chromium(app: App, demo_case: int, server: str, tmp_path: Path) -> None:  # noqa: F811
    password = "archive shelf 2026"
    name = "arch.page"
    if name not in {u.username for u in staff.list_users(app)}:
        staff.add_user(app, name, "吴静", ["archivist"], [], password, "test")
    browser = Chromium(_chromium(), tmp_path / "profile")
    keep = os.environ.get("YIYIN_SCREENSHOTS")
    shot = lambda n: browser.screenshot(tmp_path / f"archive-{n}.png", True)  # noqa: E731
    try:
        browser.open(f"{server}/staff/login?next=/staff/archives")
        url = browser.submit("form[action='/staff/login']", {"username": name, "password": password})
        assert url.endswith("/staff/archives")
        ref = next(c.ref for c in archiving.ready_cases(app) if c.id == demo_case)
        assert ref in browser.text() and ("立卷归档" in browser.text() or "重新立卷" in browser.text())
        shots = [shot("list")]
        url = browser.submit(f"form[action='/staff/archives/cases/{demo_case}/build']", {})
        assert "done=" in url and "已立卷：档号 Z109-ZW·" in browser.text()
        shots.append(shot("built"))
        package = archiving.packages(app, demo_case, limit=1)[0]
        browser.open(f"{server}/staff/archives/packages/{package.id}/check")
        text = browser.text()
        for expected in ("四性检测报告", "真实性", "完整性", "可用性", "安全性", "全部通过", "1-1", "2-5", "4-2"):
            assert expected in text, expected
        shots.append(shot("check"))
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for s in shots:
                shutil.copy(s, Path(keep) / s.name)
    finally:
        browser.close()


def _scan(pages: int, kind: str) -> bytes:
    """A scanned paper as a window receives it: grey pages with a few dark lines."""
    from PIL import Image, ImageDraw

    frames = []
    for n in range(pages):
        page = Image.new("L", (620, 877), 235)
        draw = ImageDraw.Draw(page)
        for y in range(80, 800, 40):
            draw.line((60, y, 560 - 30 * ((y // 40 + n) % 5), y), fill=40, width=3)
        frames.append(page)
    out = io.BytesIO()
    frames[0].save(out, kind, save_all=pages > 1, append_images=frames[1:])
    return out.getvalue()


def test_a_case_refused_at_acceptance_is_filed_with_its_scans(app: App, demo_case: int, tmp_path: Path) -> None:
    """不予受理: the materials (a two-page TIFF and a PNG), the notices, the agreement (issued by the
    demo before this case was opened) and the steps are the whole file."""
    from yiyin.service import case_papers, cases
    from yiyin.service.demo import demo_staff

    who = demo_staff(app)
    case_id = cases.open_case(app, who["demo.intake"], cases.Application(
        applicant="台安县仁和堂大药房有限公司", applicant_code="91210321MA10KX3P1U", item_code="210321-XK-0412"))
    cases.add_material(app, who["demo.intake"], case_id, "药品经营许可证申请表", "申请表.tif", _scan(2, "TIFF"), "image/tiff")
    cases.add_material(app, who["demo.intake"], case_id, "营业执照", "营业执照.png", _scan(1, "PNG"), "image/png")
    assert cases.check_completeness(app, who["demo.intake"], case_id)   # three still missing: 补正材料通知书
    cases.refuse_acceptance(app, who["demo.drug"], case_id, case_papers.Refusal(
        grounds="不属于本机关职权范围", reasons="你申请的药品批发企业许可由省级药品监督管理部门实施，不属于本机关的职权范围。",
        competent_body="辽宁省药品监督管理局"))
    out = tmp_path / "refused"
    built = archiving.build(app, str(case_id), out, archiving.ArchiveOptions(actor="吴静（demo.archivist）"))
    volume = _xml(out).find("案卷")
    docs = volume.findall("卷内文件/文件")
    # the papers received, the notice, and the one agreement the bureau held the item under
    assert [d.findtext("题名") for d in docs] == ["药品经营许可证申请表", "营业执照", "补正材料通知书", "不予受理通知书",
                                                 "行政审批事项划转协议"]
    assert [d.findtext("页数") for d in docs][:2] == ["2", "1"]
    assert [s.text for s in volume.findall("应有业务行为")] == ["接件", "不予受理", "归档"]
    assert ("不予受理", "王芳（demo.drug）") in [(a.findtext("行为名称"), a.findtext("机构人员")) for a in volume.findall("业务行为/行为")]
    assert (out / "data/originals/001-01.tif").read_bytes()[:4] in (b"II*\x00", b"MM\x00*")
    report = archiving.check(app, out)
    assert report.ok, report.render()

