"""Settings from the environment, with embedded defaults that need no set-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from yiyin.errors import ConfigurationError

#: the bureau's calendar: dates on papers, numbering years, deadlines and expiry are Beijing dates
BUREAU_TIME = ZoneInfo("Asia/Shanghai")


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "yiyin"


def _url(value: str, name: str) -> str:
    value = value.strip()
    if value and not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"环境变量 {name} 须以 http:// 或 https:// 开头，现为 {value!r}")
    return value


def _rate(value: str) -> tuple[int, float]:
    count, sep, seconds = value.partition("/")
    try:
        parsed = (int(count), float(seconds))
    except ValueError:
        parsed = (-1, 0.0)
    if not sep or parsed[0] < 0 or parsed[1] <= 0:
        raise ConfigurationError(f"环境变量 YIYIN_RATE_LIMIT 须写成 次数/秒数（如 30/60 表示每个客户端 60 秒内最多 30 次；0/1 表示不限），现为 {value!r}")
    return parsed


@dataclass(frozen=True)
class Settings:
    #: data directory: database, development PKI, stored documents
    home: Path
    #: base of the public verification page printed in every QR code
    public_url: str = "http://localhost:8000"
    #: SQLAlchemy URL; SQLite file in the data directory by default
    database_url: str = ""
    #: extra font directories searched before the bundled fonts (e.g. licensed 仿宋_GB2312)
    font_dirs: tuple[Path, ...] = field(default_factory=tuple)
    #: font families, in order of preference, for body text and for titles
    body_fonts: tuple[str, ...] = ("Noto Serif CJK SC",)
    title_fonts: tuple[str, ...] = ("Noto Serif CJK SC",)
    #: RFC 3161 time-stamping authority; empty means yiyin's built-in development TSA
    tsa_url: str = ""
    #: public lookups per client: (count, seconds); count 0 disables the limit
    rate_limit: tuple[int, float] = (30, 60.0)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'yiyin.db'}"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"

    @property
    def documents_dir(self) -> Path:
        return self.home / "documents"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        # absolute: a relative path would follow the process's working directory, which bagging
        # an archive package changes for a moment
        home = Path(env.get("YIYIN_HOME") or _default_home()).expanduser().absolute()
        public_url = _url(env.get("YIYIN_PUBLIC_URL", "http://localhost:8000"), "YIYIN_PUBLIC_URL").rstrip("/")
        font_dirs = tuple(Path(p).expanduser().absolute() for p in env.get("YIYIN_FONT_DIRS", "").split(os.pathsep) if p)
        for d in font_dirs:
            if not d.is_dir():
                raise ConfigurationError(f"环境变量 YIYIN_FONT_DIRS 中的 {d} 不是文件夹（或不存在）；请改正路径，多个文件夹以“{os.pathsep}”分隔")

        def families(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
            raw = env.get(name, "")
            return tuple(f.strip() for f in raw.split(",") if f.strip()) or default

        return cls(
            home=home,
            public_url=public_url,
            database_url=env.get("YIYIN_DATABASE_URL", ""),
            font_dirs=font_dirs,
            body_fonts=families("YIYIN_FONT_BODY", cls.body_fonts),
            title_fonts=families("YIYIN_FONT_TITLE", cls.title_fonts),
            tsa_url=_url(env.get("YIYIN_TSA_URL", ""), "YIYIN_TSA_URL"),
            rate_limit=_rate(env.get("YIYIN_RATE_LIMIT", "30/60")),
        )
