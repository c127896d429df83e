"""The auditor's and the batch pages in headless chromium against `yiyin serve`: the audit trail with
its refused attempts and the chain check, and a batch job's progress, resumed from the page after
an interruption. Set YIYIN_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from yiyin.service import batch, staff
from yiyin.service.app import App

from .cdp import Chromium
from .test_batch import licence_tasks
from .test_staff_browser import _keep
from .test_web_browser import _chromium, server  # noqa: F401  (the `yiyin serve` fixture)

PASSWORD = "correct horse battery"


def login(browser: Chromium, server: str, username: str) -> None:  # noqa: F811
    browser.open(f"{server}/staff/login")
    browser.submit("form[action='/staff/login']", {"username": username, "password": PASSWORD})


@pytest.mark.slow
def test_audit_and_batch_pages_in_headless_chromium(app: App, server: str, tmp_path: Path) -> None:  # noqa: F811
    staff.add_user(app, "web2.audit", "郑审计", ["auditor"], [], PASSWORD, "test")
    staff.add_user(app, "web2.lead", "吴牵头", ["lead"], ["医药器械审批科"], PASSWORD, "test")
    staff.add_user(app, "web2.window", "冯窗口", ["window"], [], PASSWORD, "test")
    # a job whose worker went away before it began: nothing works on it until someone resumes it
    job_id = batch.create_job(app, "web2.lead", "issue", "药品经营许可证补发（测试）", licence_tasks(3, "OVERSIGHT"))

    browser = Chromium(_chromium(), tmp_path / "profile")
    shot = lambda name, full=True: _keep(browser.screenshot(tmp_path / f"staff-{name}.png", full))  # noqa: E731
    try:
        # a refused attempt the auditor will see: the window clerk opens the audit page
        login(browser, server, "web2.window")
        browser.open(f"{server}/staff/audit")
        assert "没有权限" in browser.text() and "审计监督" in browser.text()
        browser.submit("form[action='/staff/logout']", {})

        login(browser, server, "web2.audit")
        browser.open(f"{server}/staff/audit")
        text = browser.text()
        assert "审计记录" in text and "web2.window" in text and "拒绝" in text and "audit.read" in text
        assert "导出审计记录" in text and "北京时间" in text
        url = browser.submit("form.inline:has(input[name='check'])", {})
        assert "check=1" in url
        assert "✔ 审计记录完整" in browser.text(), browser.text()[:2000]
        shot("audit-checked")
        browser.open(f"{server}/staff/audit?actor=web2.window&outcome=refused")
        rows = browser.js("[...document.querySelectorAll('table.list tbody tr')].map(r => r.innerText)")
        assert rows and all("web2.window" in r and "拒绝" in r for r in rows), rows
        shot("audit-refused", full=False)
        browser.submit("form[action='/staff/logout']", {})

        login(browser, server, "web2.lead")
        browser.open(f"{server}/staff/batches")
        assert "药品经营许可证补发（测试）" in browser.text() and "排队中" in browser.text()
        shot("batches", full=False)
        browser.open(f"{server}/staff/batches/{job_id}")
        assert "0%" in browser.text() and "待办" in browser.text() and "中断后继续" in browser.text()
        url = browser.submit(f"form[action='/staff/batches/{job_id}/resume']", {})
        assert url.endswith("?done=resume") and "已重新排队" in browser.text()
        for _ in range(300):  # the page refreshes itself every five seconds while the job runs
            if batch.progress(app, job_id).status == "finished":
                break
            time.sleep(0.2)
        browser.open(f"{server}/staff/batches/{job_id}")
        text = browser.text()
        assert "100%" in text and "已完成" in text and "中断后继续" not in text, text[:1500]
        assert batch.progress(app, job_id).done == 3
        shot("batch-finished", full=False)
    finally:
        browser.close()
