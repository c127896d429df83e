"""Working days: weekends off, public holidays off, and the weekends worked in exchange (调休).

The State Council publishes each year's holidays in November of the year before. yiyin ships the
official calendars it knows (``yiyin/service/holidays/YEAR.json``); a bureau adds or corrects a
year by putting a file of the same shape into ``$YIYIN_HOME/holidays/``, which wins over the
shipped one for that year. A year with no calendar counts weekends only, and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from yiyin.config import BUREAU_TIME
from yiyin.errors import ConfigurationError

SHIPPED = Path(__file__).parent / "holidays"
LOCAL = BUREAU_TIME  # the bureau's dates: acceptance, deadlines, dates on papers


def bureau_time(at: datetime) -> datetime:
    """A stored time as the bureau reads it, in Beijing time. Every time yiyin stores is UTC; SQLite
    hands it back without its zone."""
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(LOCAL)


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()
    names: dict[date, str] = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, home: Path | None = None) -> "WorkCalendar":
        files: dict[int, Path] = {}
        for folder in (SHIPPED, home / "holidays" if home else None):
            if folder and folder.is_dir():
                for path in sorted(folder.glob("*.json")):
                    files[_year_of(path)] = path  # the data directory's file wins for its year
        holidays: set[date] = set()
        weekends: set[date] = set()
        names: dict[date, str] = {}
        for year, path in files.items():
            try:
                spec = json.loads(path.read_text("utf-8"))
                for h in spec["holidays"]:
                    day, end = date.fromisoformat(h["from"]), date.fromisoformat(h["to"])
                    if end < day or day.year != year:
                        raise ValueError(f"节假日 {h.get('name')}：{h['from']}–{h['to']} 不是 {year} 年内的一段日期")
                    while day <= end:
                        holidays.add(day)
                        names[day] = h.get("name", "")
                        day += timedelta(days=1)
                for d in spec.get("working_weekends", []):
                    day = date.fromisoformat(d)
                    if day.weekday() < 5:
                        raise ValueError(f"调休上班日 {d} 不是星期六或星期日")
                    weekends.add(day)
            except KeyError as exc:
                raise ConfigurationError(f"节假日安排文件 {path} 缺少字段 {exc}") from None
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"节假日安排文件 {path} 有误：{exc}") from None
        return cls(frozenset(holidays), frozenset(weekends), frozenset(files), names)

    def knows(self, year: int) -> bool:
        return year in self.years

    def is_workday(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (the day of acceptance does not count)."""
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            n += self.is_workday(day)
        return n


def _year_of(path: Path) -> int:
    try:
        return int(path.stem)
    except ValueError:
        raise ConfigurationError(f"节假日安排文件 {path}：文件名须为年份，如 2027.json") from None


@dataclass(frozen=True)
class Deadline:
    due: date
    remaining: int          # working days left; negative when overdue
    state: str              # 正常 | 临期 | 超期 | 已办结
    calendar_known: bool    # False when the year has no holiday calendar (weekends only)


NEARLY_DUE_DAYS = 1  # flagged 临期 with this many working days or fewer left


def deadline(calendar: WorkCalendar, due: date, today: date, finished: bool = False) -> Deadline:
    known = calendar.knows(due.year) and calendar.knows(today.year)
    if finished:
        return Deadline(due, 0, "已办结", known)
    left = calendar.between(today, due)
    state = "超期" if today > due else ("临期" if left <= NEARLY_DUE_DAYS else "正常")
    return Deadline(due, left if today <= due else -calendar.between(due, today), state, known)
