"""The public page in a real browser: Debian's headless chromium against `yiyin serve` on loopback,
at phone and desktop widths. Set YIYIN_SCREENSHOTS=DIR to keep the screenshots for a look."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from yiyin.service.app import App
from yiyin.service.lifecycle import act

from .cdp import with_cjk_fonts
from .conftest import serving
from .test_web import PEOPLE, issue, qr_query

SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
WHOLE = {"phone-whole": (390, 2600), "desktop-whole": (1280, 1900)}  # the whole page, to look at


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path:
        return path
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True, timeout=900)
        return shutil.which("chromium") or pytest.fail("chromium did not install")
    pytest.fail("the browser test needs Debian's chromium: sudo apt-get install chromium")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


class Browser:
    def __init__(self, exe: str, profile: Path, shots: Path) -> None:
        self.exe, self.shots = exe, shots
        self.env = with_cjk_fonts(profile)  # or the screenshots show boxes on a machine without CJK fonts
        self.flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--hide-scrollbars", f"--user-data-dir={profile}"]

    def dom(self, url: str, size: tuple[int, int] = SIZES["phone"]) -> str:
        out = subprocess.run([self.exe, *self.flags, f"--window-size={size[0]},{size[1]}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=90, env=self.env)
        assert out.stdout.strip(), out.stderr[-2000:]
        return out.stdout

    def screenshot(self, name: str, url: str, size: tuple[int, int]) -> Path:
        shot = self.shots / f"{name}.png"
        subprocess.run([self.exe, *self.flags, f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}", url],
                       capture_output=True, timeout=90, env=self.env)
        assert shot.exists() and shot.stat().st_size > 5_000, f"no screenshot of {url}"
        assert _png_size(shot) == size
        if os.environ.get("YIYIN_SCREENSHOTS"):
            keep = Path(os.environ["YIYIN_SCREENSHOTS"])
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, keep / shot.name)
        return shot


@pytest.fixture
def server(app: App, home: Path):  # type: ignore[no-untyped-def]
    with serving(home, {"YIYIN_RATE_LIMIT": "0/1"}) as (base, _):
        yield base


@pytest.mark.slow
def test_the_page_in_headless_chromium(app: App, demo, server: str, tmp_path: Path) -> None:
    browser = Browser(_chromium(), tmp_path / "profile", tmp_path)
    n, c = qr_query(demo.licence.issued.verify_url)
    found = f"{server}/v?{urlencode({'n': n, 'c': c})}"

    dom = browser.dom(found)
    assert 'id="verdict"' in dom and "该文书由本机关签发，现行有效" in dom
    for answer in ("intact", "issued", "in_force", "issuer"):
        assert f'data-answer="{answer}"' in dom
    assert n in dom and "王*芬" in dom and not any(p in dom for p in PEOPLE)
    for name, size in {**SIZES, **WHOLE}.items():
        browser.screenshot(f"found-{name}", found, size)

    wrong = browser.dom(f"{server}/v?{urlencode({'n': n, 'c': '0000-0000-0000-0000'})}")
    assert 'data-result="not_found"' in wrong and "未找到" in wrong and "台安县康宁大药房" not in wrong
    browser.screenshot("not-found-phone", f"{server}/v?{urlencode({'n': n, 'c': '0000-0000-0000-0000'})}", SIZES["phone"])

    revoked = issue(app, "WEB-BROWSER")
    act(app, revoked.number, "revoke", "以欺骗手段取得许可", "《中华人民共和国行政许可法》第六十九条", "reviewer")
    url = f"{server}/v?{urlencode({'n': revoked.number, 'c': revoked.verification_code})}"
    dom = browser.dom(url)
    assert "verdict-bad" in dom and "已撤销" in dom and 'data-answer="issued" data-result="yes"' in dom
    browser.screenshot("revoked-phone", url, SIZES["phone"])
    browser.screenshot("revoked-phone-whole", url, WHOLE["phone-whole"])

    # the form alone, and the answer to an upload (a POST: its page is saved and opened from disk)
    browser.screenshot("form-phone", f"{server}/v", SIZES["phone"])
    answer = httpx.post(f"{server}/v/pdf", files={"file": ("licence.pdf", demo.licence.path.read_bytes(), "application/pdf")},
                        timeout=60)
    assert answer.status_code == 200 and 'data-answer="intact" data-result="yes"' in answer.text
    saved = tmp_path / "upload.html"
    saved.write_text(answer.text.replace("<head>", f'<head><base href="{server}/">', 1), encoding="utf-8")
    dom = browser.dom(saved.as_uri())
    assert "完整核验报告" in dom and "verdict-ok" in dom
    for name, size in {**SIZES, **WHOLE}.items():
        browser.screenshot(f"upload-{name}", saved.as_uri(), size)
