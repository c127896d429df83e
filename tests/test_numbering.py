"""Numbers are unique and gap-free under concurrency, and patterns are checked before use."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from yiyin.errors import InvalidData
from yiyin.registry import catalog, numbering
from yiyin.registry.db import Database
from yiyin.registry.models import IssuedNumber

ORGAN = {"id": "o1", "name": "测试局", "uscc": "11210321MB15990271", "division_code": "210321", "province": "辽宁省",
         "city": "鞍山市", "county": "台安县", "short_name": "测", "numbering": {"t": "测〔{year}〕{seq}号", "u": "U{seq:04d}"}}


def fresh_db(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.transaction() as s:
        catalog.upsert_organ(s, ORGAN)
    return db


def _allocate_many(url: str, n: int) -> list[str]:
    db = Database(url)
    out = []
    for _ in range(n):
        with db.transaction() as s:
            out.append(numbering.allocate(s, "o1", "t", date(2026, 5, 1)).number)
    db.dispose()
    return out


def _assert_gap_free(numbers: list[str], expected: int) -> None:
    assert len(numbers) == len(set(numbers)) == expected
    seqs = sorted(int(n.split("〕")[1].rstrip("号")) for n in numbers)
    assert seqs == list(range(1, expected + 1))


def test_threads_get_unique_gap_free_numbers(tmp_path: Path) -> None:
    db = fresh_db(tmp_path / "r.db")
    with ThreadPoolExecutor(8) as pool:
        chunks = list(pool.map(lambda _: _allocate_many(db.url, 15), range(8)))
    _assert_gap_free([n for c in chunks for n in c], 120)


@pytest.mark.slow
def test_processes_get_unique_gap_free_numbers(tmp_path: Path) -> None:
    db = fresh_db(tmp_path / "r.db")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        chunks = pool.starmap(_allocate_many, [(db.url, 20)] * 4)
    _assert_gap_free([n for c in chunks for n in c], 80)
    with db.session() as s:
        assert len(s.execute(select(IssuedNumber)).scalars().all()) == 80


def test_year_restarts_the_sequence_only_when_the_pattern_has_a_year(tmp_path: Path) -> None:
    db = fresh_db(tmp_path / "r.db")
    with db.transaction() as s:
        assert numbering.allocate(s, "o1", "t", date(2026, 12, 31)).number == "测〔2026〕1号"
        assert numbering.allocate(s, "o1", "t", date(2027, 1, 1)).number == "测〔2027〕1号"
        assert numbering.allocate(s, "o1", "u", date(2026, 12, 31)).number == "U0001"
        assert numbering.allocate(s, "o1", "u", date(2027, 1, 1)).number == "U0002"


@pytest.mark.parametrize("pattern, rule", [("无序号", "needs_seq"), ("{seq}{month}", "known_placeholders"), ("{seq", "format")])
def test_bad_patterns_are_refused(pattern: str, rule: str) -> None:
    with pytest.raises(InvalidData) as err:
        numbering.check_pattern(pattern)
    assert err.value.problems[0].rule == rule


def test_a_number_closes_once(tmp_path: Path) -> None:
    from yiyin.errors import RegistryError

    db = fresh_db(tmp_path / "r.db")
    with db.transaction() as s:
        n = numbering.allocate(s, "o1", "t", date(2026, 1, 1)).number
        numbering.close(s, n, "void", "render failed")
        with pytest.raises(RegistryError, match="已有结果"):
            numbering.close(s, n, "issued")


def test_a_changed_pattern_goes_on_and_never_repeats_a_number(tmp_path: Path) -> None:
    db = fresh_db(tmp_path / "r.db")
    day = date(2026, 5, 1)
    with db.transaction() as s:
        assert [numbering.allocate(s, "o1", "t", day).number for _ in range(2)] == ["测〔2026〕1号", "测〔2026〕2号"]
        view = numbering.set_rule(s, "o1", "t", "测药许字〔{year}〕第{seq:06d}号", day)
        assert (view.last_seq, view.next_number) == (2, "测药许字〔2026〕第000003号")
        assert numbering.allocate(s, "o1", "t", day).number == "测药许字〔2026〕第000003号"
        # back to the old pattern: the counter went on, so no number repeats
        assert numbering.set_rule(s, "o1", "t", "测〔{year}〕{seq}号", day).next_number == "测〔2026〕4号"
        # a pattern without the year counts apart from the yearly one: its first number was given already
        with pytest.raises(InvalidData) as err:
            numbering.set_rule(s, "o1", "t", "测〔2026〕{seq}号", day)
        assert err.value.problems[0].rule == "unused_numbers" and "测〔2026〕1号" in err.value.problems[0].message
        assert [r.pattern for r in numbering.rules(s, day) if r.doc_type == "t"] == ["测〔{year}〕{seq}号"]
