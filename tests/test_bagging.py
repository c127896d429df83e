"""Packages built at once in one process (two archivists pressing 组卷 on the staff pages) each
get a valid bag of their own files, although bagit-python changes the working directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bagit

from yiyin.archive.package import make_bag


def test_bags_made_at_once_in_threads_are_each_complete_and_valid(tmp_path: Path) -> None:
    def one(i: int) -> tuple[int, bool, set[str]]:
        d = tmp_path / f"bag-{i}"
        (d / "docs").mkdir(parents=True)
        for k in range(40):
            (d / "docs" / f"{k}.txt").write_bytes(f"package {i} file {k}\n".encode() * 50)
        make_bag(d, {"External-Identifier": f"package-{i}"})
        bag = bagit.Bag(str(d))
        return i, bag.is_valid(), set(bag.payload_entries())

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(24)))
    for i, valid, payload in results:
        assert valid, f"bag {i} does not validate"
        assert payload == {f"data/docs/{k}.txt" for k in range(40)}, f"bag {i} holds other files than its own"
        assert (tmp_path / f"bag-{i}" / "bagit.txt").read_text().startswith("BagIt-Version: 1.0")
