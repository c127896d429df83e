from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from yiyin.config import Settings
from yiyin.service.app import App
from yiyin.service.demo import DemoDocument, run_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("yiyin-home")


@pytest.fixture(scope="session")
def app(home: Path) -> Iterator[App]:
    application = App.open(Settings.from_env({"YIYIN_HOME": str(home)}))
    yield application
    application.close()


@dataclass(frozen=True)
class DemoRun:
    decision: DemoDocument
    licence: DemoDocument
    agreement: DemoDocument


@pytest.fixture(scope="session")
def demo(app: App, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    decision, licence, agreement = run_demo(app, tmp_path_factory.mktemp("demo-out")).documents
    return DemoRun(decision=decision, licence=licence, agreement=agreement)


def run_cli(*args: str, home: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the installed `yiyin` command as a user would."""
    exe = shutil.which("yiyin", path=str(Path(sys.executable).parent)) or "yiyin"
    env = {**os.environ, "YIYIN_HOME": str(home)}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=check, timeout=300)


@contextlib.contextmanager
def serving(home: Path, env: dict[str, str], *args: str) -> Iterator[tuple[str, Path]]:
    """`yiyin serve` on a free loopback port, as an operator starts it: the base URL, and the
    file its output (the access log among it) goes to."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("yiyin", path=str(Path(sys.executable).parent)) or "yiyin"
    log = Path(tempfile.mkstemp(prefix="yiyin-serve-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                                env={**os.environ, "YIYIN_HOME": str(home), **env}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"yiyin serve exited: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        else:
            pytest.fail("yiyin serve did not start")
        yield base, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.unlink(missing_ok=True)
