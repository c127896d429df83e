"""The stored tree gives the same roots and proofs as the RFC 9162 definitions, and C2SP tiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiyin.errors import NotFound
from yiyin.registry import log, merkle, tree
from yiyin.registry.db import Database


def fresh(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    db.migrate()
    return db


def append_n(db: Database, start: int, n: int) -> None:
    with db.transaction() as s:
        for i in range(start, start + n):
            log.append(s, "test", {"i": i})


def test_roots_and_proofs_match_the_rfc_at_every_size(tmp_path: Path) -> None:
    db = fresh(tmp_path / "t.db")
    total = 0
    for batch in (1, 2, 5, 9, 24):  # integrate in uneven steps
        append_n(db, total, batch)
        total += batch
        with db.transaction() as s:
            assert tree.integrate(s) == total
    with db.session() as s:
        leaves = log.leaves(s)
        for n in range(1, total + 1):
            r = merkle.root(leaves[:n])
            assert tree.root(s, n) == r
            for i in range(n):
                proof = tree.inclusion_proof(s, i, n)
                assert proof == merkle.inclusion_proof(i, leaves[:n])
                assert merkle.verify_inclusion(i, n, leaves[i], proof, r)
            for m in range(1, n + 1):
                proof = tree.consistency_proof(s, m, n)
                assert proof == merkle.consistency_proof(m, leaves[:n])
                assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), r, proof)
        with pytest.raises(NotFound):
            tree.inclusion_proof(s, 0, total + 1)


def test_integrating_twice_changes_nothing(tmp_path: Path) -> None:
    db = fresh(tmp_path / "t.db")
    append_n(db, 0, 7)
    with db.transaction() as s:
        assert tree.integrate(s) == 7
        assert tree.integrate(s) == 7
        assert tree.root(s) == merkle.root(log.leaves(s))


def test_tiles_and_entry_bundles(tmp_path: Path) -> None:
    db = fresh(tmp_path / "t.db")
    append_n(db, 0, 600)
    with db.transaction() as s:
        tree.integrate(s)
    with db.session() as s:
        leaves = log.leaves(s)
        full = tree.tile(s, 0, 1)
        assert full == b"".join(leaves[256:512])
        partial = tree.read_tile_path(s, "tile/0/002.p/88")
        assert partial == b"".join(leaves[512:600])
        level1 = tree.tile(s, 1, 0, 2)  # nodes at tree level 8 cover 256 entries each
        assert level1 == merkle.root(leaves[:256]) + merkle.root(leaves[256:512])
        with pytest.raises(NotFound):
            tree.tile(s, 1, 0, 3)
        with pytest.raises(NotFound):
            tree.tile(s, 0, 2)  # only 88 entries in the third tile
        bundle = tree.read_tile_path(s, "tile/entries/002.p/88")
        entries = tree.split_bundle(bundle)
        assert len(entries) == 88
        assert [merkle.leaf_hash(e) for e in entries] == leaves[512:600]
        assert tree.split_bundle(tree.entry_bundle(s, 0))[3].decode() == log.canonical({"i": 3, "index": 3, "kind": "test"})


@pytest.mark.parametrize("level, index, width, path", [
    (0, 0, 256, "tile/0/000"),
    (0, 1234067, 256, "tile/0/x001/x234/067"),
    (2, 1234067, 8, "tile/2/x001/x234/067.p/8"),
    ("entries", 5, 3, "tile/entries/005.p/3"),
])
def test_tile_paths(level, index: int, width: int, path: str) -> None:  # type: ignore[no-untyped-def]
    assert tree.tile_path(level, index, width) == path
    ref = tree.parse_tile_path(path)
    assert (ref.level if ref.level is not None else "entries", ref.index, ref.width) == (level, index, width)


@pytest.mark.parametrize("bad", ["tile/0/1", "tile/0/x000/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/-1/000",
                                 "tile/0/001/002", "checkpoint", "tile/a/000"])
def test_bad_tile_paths(bad: str) -> None:
    with pytest.raises(NotFound):
        tree.parse_tile_path(bad)


def test_migration_builds_the_tree_of_entries_logged_before_it(tmp_path: Path) -> None:
    from alembic import command

    from yiyin.registry.db import alembic_config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with db.engine.begin() as conn:
        from sqlalchemy import text
        for i in range(13):
            body = log.canonical({"index": i, "kind": "old", "i": i})
            conn.execute(text("INSERT INTO log_entries (\"index\", kind, payload, leaf_hash, appended_at) "
                              "VALUES (:i, 'old', :p, :h, '2026-01-01')"),
                         {"i": i, "p": body, "h": merkle.leaf_hash(body.encode()).hex()})
    db.migrate()
    with db.session() as s:
        assert tree.size(s) == 13
        assert tree.root(s) == merkle.root(log.leaves(s))


def test_a_tiles_client_recomputes_the_root_from_tiles_alone(tmp_path: Path) -> None:
    """What a witness does with C2SP tiles: entries -> level-0 hashes -> root, no proofs needed."""
    db = fresh(tmp_path / "t.db")
    append_n(db, 0, 700)
    n = tree.sync(db)
    with db.session() as s:
        hashes: list[bytes] = []
        for k in range((n + 255) // 256):
            width = min(256, n - k * 256)
            bundle = tree.read_tile_path(s, tree.tile_path("entries", k, width))
            tile = tree.read_tile_path(s, tree.tile_path(0, k, width))
            leaves = [merkle.leaf_hash(e) for e in tree.split_bundle(bundle)]
            assert b"".join(leaves) == tile
            hashes.extend(leaves)
        assert merkle.root(hashes) == tree.root(s, n)
        upper = tree.tile(s, 1, 0, n // 256)  # level-1 tile: one hash per 256 entries
        assert [upper[i:i + 32] for i in range(0, len(upper), 32)] == [merkle.root(hashes[j:j + 256]) for j in (0, 256)]
