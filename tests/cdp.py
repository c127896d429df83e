"""Just enough of the Chrome DevTools Protocol to drive Debian's headless chromium through a
session: open a page, fill and submit forms, read the DOM, take screenshots. It speaks over
``--remote-debugging-pipe`` (NUL-separated JSON on file descriptors 3 and 4), so nothing but
chromium itself is needed."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any


FONTS = Path(__file__).resolve().parents[1] / "yiyin" / "templates" / "fonts"


def with_cjk_fonts(profile: Path) -> dict[str, str]:
    """The environment for a browser that has Chinese fonts, as every workstation of the bureau
    has: the system's fontconfig plus the Noto CJK fonts yiyin ships for its documents (a test
    machine may have no CJK font at all, and its screenshots would show boxes)."""
    profile.mkdir(parents=True, exist_ok=True)
    conf = profile / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                    f"<dir>{FONTS}</dir><cachedir>{profile / 'fontconfig-cache'}</cachedir></fontconfig>", "utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def _onto_3_and_4(reading: int, writing: int) -> None:
    """In the child: the pipe ends chromium expects, whatever numbers they had (moved up first so
    that placing one never overwrites the other)."""
    high_r, high_w = fcntl.fcntl(reading, fcntl.F_DUPFD, 10), fcntl.fcntl(writing, fcntl.F_DUPFD, 10)
    os.dup2(high_r, 3)
    os.dup2(high_w, 4)


class Chromium:
    def __init__(self, exe: str, profile: Path, size: tuple[int, int] = (1280, 900)) -> None:
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "--remote-debugging-pipe", "about:blank"],
            env=with_cjk_fonts(profile), pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _onto_3_and_4(to_browser_r, from_browser_w))  # noqa: PLW1509
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.size(*size)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" not in self._buf:
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise TimeoutError(method)

    def size(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height, deviceScaleFactor=1, mobile=False)

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_loaded(self) -> str:
        """Wait for a new document (the old one carried a marker) to finish loading."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                url, state, old = self.js("[location.href, document.readyState, window.__old === 1]")
            except RuntimeError:  # the page is navigating
                time.sleep(0.05)
                continue
            if state == "complete" and not old:
                return url
            time.sleep(0.05)
        raise TimeoutError("page did not load")

    def open(self, url: str) -> str:
        self.js("window.__old = 1")
        self.call("Page.navigate", session=True, url=url)
        time.sleep(0.1)
        return self.wait_loaded()

    def submit(self, form_selector: str, fields: dict[str, str], button: str = "button") -> str:
        """Fill the form's fields as a user would and press its button; the URL it leads to."""
        self.js("window.__old = 1")
        script = f"""(() => {{
            const form = document.querySelector({json.dumps(form_selector)});
            const fields = {json.dumps(fields, ensure_ascii=False)};
            for (const [name, value] of Object.entries(fields)) {{
                const el = form.elements[name];
                if (el.type === 'checkbox') el.checked = value === 'on'; else el.value = value;
            }}
            form.querySelector({json.dumps(button)}).click();
            return true; }})()"""
        self.js(script)
        time.sleep(0.2)
        return self.wait_loaded()

    def text(self) -> str:
        return self.js("document.body.innerText")

    def html(self) -> str:
        return self.js("document.documentElement.outerHTML")

    def screenshot(self, path: Path, full: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full:
            height = int(self.js("document.documentElement.scrollHeight"))
            width = int(self.js("document.documentElement.clientWidth"))
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session=True, **params)["data"]))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
