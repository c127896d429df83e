"""Reading the sample catalogue and applications shipped in samples/.

Dates in sample documents may be written relative to the issue date (``@issue_date``,
``@issue_date+5y-1d``, ``@issue_date-7d``) so that the demo never issues a stale licence.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from yiyin.errors import ConfigurationError

_RELATIVE = re.compile(r"^@issue_date(?:(?P<y>[+-]\d+)y)?(?:(?P<d>[+-]\d+)d)?$")


def samples_dir() -> Path:
    env = os.environ.get("YIYIN_SAMPLES")
    path = Path(env).absolute() if env else Path(__file__).resolve().parents[2] / "samples"
    if not (path / "organs.json").exists():
        raise ConfigurationError(f"在 {path} 中找不到样例数据（organs.json）；请用 YIYIN_SAMPLES 指向 samples/ 文件夹")
    return path


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"文件 {path} 不存在") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}") from None


def resolve_dates(value: Any, issue_date: date) -> Any:
    if isinstance(value, str):
        m = _RELATIVE.match(value)
        if not m:
            return value
        d = issue_date
        if m["y"]:
            years = int(m["y"])
            try:
                d = d.replace(year=d.year + years)
            except ValueError:
                d = d.replace(year=d.year + years, day=28)
        if m["d"]:
            d += timedelta(days=int(m["d"]))
        return d.isoformat()
    if isinstance(value, dict):
        return {k: resolve_dates(v, issue_date) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_dates(v, issue_date) for v in value]
    return value
