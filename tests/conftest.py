from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
