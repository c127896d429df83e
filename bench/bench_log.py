"""Transparency log at one million entries: append rate and proof times, next to the naive way.

The million entries are generated directly in the database in bulk (issuance-like JSON payloads,
their leaf hashes and the stored tree), then, on that log:

  append      log.append in its own transaction (what an issuance or a status act adds)
  +integrate  the same, with the stored tree extended in the same transaction
  proofs      inclusion and consistency proofs from the stored tree (tree.*), verified
  naive       the same proofs recomputed from every payload (merkle.* over log.leaves), as the
              log did before the tree was stored

    .venv/bin/python bench/bench_log.py [--entries 1000000] [--url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select, text, update

from yiyin.registry import log, merkle, tree
from yiyin.registry.db import Database
from yiyin.registry.models import LogEntry


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"median {statistics.median(s) * 1000:8.3f} ms   p99 {s[max(0, int(len(s) * 0.99) - 1)] * 1000:8.3f} ms"


def payload(i: int) -> str:
    h = hashlib.sha256(str(i).encode()).hexdigest()
    return log.canonical({"index": i, "kind": "issue", "document_id": h[:32], "number": f"辽EA0321{i:07d}",
                          "type": "licence_drug_retail", "organ": "taian-xzspj", "sha256": h, "record": h[::-1],
                          "issued_at": "2026-11-23T00:00:00+00:00", "status": "01"})


def bulk_load(db: Database, n: int) -> float:
    t0 = time.perf_counter()
    now = datetime.now(timezone.utc)
    chunk = 50_000
    frontier: dict[int, bytes] = {}
    with db.transaction() as s:
        for start in range(0, n, chunk):
            rows, nodes = [], []
            for i in range(start, min(n, start + chunk)):
                body = payload(i)
                leaf = merkle.leaf_hash(body.encode())
                rows.append({"index": i, "kind": "issue", "document_id": None, "payload": body,
                             "leaf_hash": leaf.hex(), "appended_at": now})
                nodes.extend(tree._add_leaf(frontier, i, leaf))
            s.execute(insert(LogEntry), rows)
            s.execute(insert(tree.TreeNode), nodes)
        s.execute(update(tree.TreeHead).where(tree.TreeHead.id == 1).values(size=n))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--appends", type=int, default=2000)
    ap.add_argument("--proofs", type=int, default=500)
    ap.add_argument("--naive", type=int, default=3, help="naive proofs to time (each reads every entry)")
    ap.add_argument("--url", default="", help="SQLAlchemy URL of an empty database (default: SQLite in a temp dir)")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    db = Database(url)
    db.migrate()
    print(f"database: {db.engine.dialect.name}; entries: {args.entries:,}")
    print(f"bulk load (entries + stored tree): {bulk_load(db, args.entries):.1f} s")

    # -- appends -----------------------------------------------------------------------------
    def appends(label: str, integrate: bool) -> None:
        samples = []
        t0 = time.perf_counter()
        for i in range(args.appends):
            t = time.perf_counter()
            with db.transaction() as s:
                log.append(s, "status", {"document_id": f"{i:032x}", "status": "02", "reason": "bench", "basis": "bench",
                                         "actor": "bench", "at": "2026-11-23T00:00:00+00:00"})
                if integrate:
                    tree.integrate(s)
            samples.append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        print(f"{label:18s} {args.appends / total:8.0f} entries/s   {ms(samples)}")

    appends("append", False)
    t = time.perf_counter()
    with db.transaction() as s:
        tree.integrate(s)  # the entries just appended, in one go
    print(f"integrate the {args.appends} pending entries in one transaction: {(time.perf_counter() - t) * 1000:.1f} ms")
    appends("append+integrate", True)
    with db.session() as s:
        size = tree.size(s)

    # -- proofs from the stored tree -------------------------------------------------------------
    rng = random.Random(7)
    with db.session() as s:
        t = time.perf_counter()
        root = tree.root(s, size)
        print(f"root at size {size:,}: {(time.perf_counter() - t) * 1000:.3f} ms")
        inc, con = [], []
        for _ in range(args.proofs):
            i = rng.randrange(size)
            t = time.perf_counter()
            proof = tree.inclusion_proof(s, i, size)
            inc.append(time.perf_counter() - t)
            leaf = merkle.leaf_hash(s.execute(select(LogEntry.payload).where(LogEntry.index == i)).scalar_one().encode())
            assert merkle.verify_inclusion(i, size, leaf, proof, root)
        for _ in range(args.proofs):
            old = rng.randrange(1, size)
            t = time.perf_counter()
            proof = tree.consistency_proof(s, old, size)
            con.append(time.perf_counter() - t)
            assert merkle.verify_consistency(old, size, tree.root(s, old), root, proof)
        tiles = []
        for _ in range(args.proofs):
            k = rng.randrange(size // 256)
            t = time.perf_counter()
            tree.tile(s, 0, k)
            tiles.append(time.perf_counter() - t)
        print(f"inclusion proof (stored tree)   {ms(inc)}   ({len(proof)} hashes)")
        print(f"consistency proof (stored tree) {ms(con)}")
        print(f"full level-0 tile (256 hashes)  {ms(tiles)}")

        # -- naive: recompute from every payload -----------------------------------------------------
        naive_inc, naive_con = [], []
        for _ in range(args.naive):
            i = rng.randrange(size)
            t = time.perf_counter()
            leaves = log.leaves(s)
            p = merkle.inclusion_proof(i, leaves)
            naive_inc.append(time.perf_counter() - t)
            assert p == tree.inclusion_proof(s, i, size)
            old = rng.randrange(1, size)
            t = time.perf_counter()
            leaves = log.leaves(s)
            p = merkle.consistency_proof(old, leaves)
            naive_con.append(time.perf_counter() - t)
            assert p == tree.consistency_proof(s, old, size)
        print(f"inclusion proof (naive)         {ms(naive_inc)}")
        print(f"consistency proof (naive)       {ms(naive_con)}")
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as c:
            pages = c.execute(text("PRAGMA page_count")).scalar_one() * c.execute(text("PRAGMA page_size")).scalar_one()
        print(f"database size: {pages / 2**20:.0f} MiB")
    db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
