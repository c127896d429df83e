"""The log's Merkle tree, stored: node hashes, proofs and C2SP tlog-tiles without recomputation.

``log.append`` only adds a row (an index and the canonical JSON of the entry). The integrator
(:func:`integrate`) then extends the stored tree: for every new entry it stores the leaf hash
(RFC 9162: SHA-256 over 0x00 || entry, computed from the payload, not from the stored hash column)
and every subtree that the entry completes (SHA-256 over 0x01 || left || right). A node, once
stored, covers a complete, aligned range of entries and never changes; on average two nodes are
written per entry.

Everything a verifier asks for is then a handful of primary-key reads:

- the root of the tree at any size up to the integrated one: one node per set bit of the size;
- an inclusion proof (RFC 9162 2.1.3) or a consistency proof (2.1.4): O(log n) nodes;
- a tile (C2SP tlog-tiles): the hashes of 256 consecutive nodes at tree level 8·L;
- an entry bundle: 256 consecutive entries, each as a big-endian uint16 length and the bytes.

Nodes are kept by tree level and index: node (l, i) is MTH of entries [i·2^l, (i+1)·2^l).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, insert, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiyin.errors import NotFound, RegistryError
from yiyin.registry import merkle
from yiyin.registry.models import Base, LogEntry

if TYPE_CHECKING:
    from yiyin.registry.db import Database

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_CHUNK = 5000


class TreeHead(Base):
    """How many log entries the stored tree covers (one row, id 1)."""

    __tablename__ = "log_tree_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class TreeNode(Base):
    """MTH of the complete, aligned range of entries [idx·2^level, (idx+1)·2^level)."""

    __tablename__ = "log_tree_nodes"
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


# -- integration ---------------------------------------------------------------------------------


def size(session: Session) -> int:
    """Entries covered by the stored tree."""
    return session.execute(select(TreeHead.size).where(TreeHead.id == 1)).scalar_one()


def sync(db: Database) -> int:
    """Integrate everything appended so far, in a transaction of its own; the tree's new size.
    Call before serving a checkpoint, tiles or proofs for the newest entries."""
    with db.transaction() as s:
        return integrate(s)


def integrate(session: Session) -> int:
    """Extend the stored tree over every entry appended since; returns the new size.

    Runs in the caller's write transaction: the tree head row is locked (FOR UPDATE on PostgreSQL;
    SQLite's write transaction is already exclusive), so concurrent integrators take turns."""
    head = session.execute(select(TreeHead).where(TreeHead.id == 1).with_for_update()).scalar_one()
    start = head.size
    frontier = _frontier(session, start)
    n = start
    while True:
        rows = session.execute(select(LogEntry.index, LogEntry.payload).where(LogEntry.index >= n)
                               .order_by(LogEntry.index).limit(_CHUNK)).all()
        if not rows:
            break
        new: list[dict] = []
        for index, payload in rows:
            if index != n:
                raise RegistryError(f"日志条目 {n} 缺失（其后是条目 {index}）：日志必须连续无缺号，"
                                    f"无法将其后的条目纳入默克尔树；请运行 yiyin log audit 核查")
            new.extend(_add_leaf(frontier, n, merkle.leaf_hash(payload.encode("utf-8"))))
            n += 1
        session.execute(insert(TreeNode), new)
        if len(rows) < _CHUNK:
            break
    if n != start:
        session.execute(update(TreeHead).where(TreeHead.id == 1).values(size=n))
    return n


def _frontier(session: Session, n: int) -> dict[int, bytes]:
    """The nodes on the right edge that a next leaf may complete: for each set bit of n, the
    complete subtree ending at n, keyed by its level."""
    keys = _decompose(0, n)
    nodes = _fetch(session, keys)
    return {level: nodes[(level, idx)] for level, idx in keys}


def _add_leaf(frontier: dict[int, bytes], index: int, leaf: bytes) -> list[dict]:
    """Store the leaf and every node it completes; keep the frontier current."""
    out = [{"level": 0, "idx": index, "hash": leaf}]
    level, idx, h = 0, index, leaf
    while idx & 1:
        h = merkle.node_hash(frontier.pop(level), h)
        level, idx = level + 1, idx >> 1
        out.append({"level": level, "idx": idx, "hash": h})
    frontier[level] = h
    return out


def build_nodes(leaves: Iterable[bytes]) -> Iterable[dict]:
    """Every node of the tree over these leaf hashes, as rows (for bulk loading and migrations)."""
    frontier: dict[int, bytes] = {}
    for index, leaf in enumerate(leaves):
        yield from _add_leaf(frontier, index, leaf)


# -- reading -------------------------------------------------------------------------------------


def _is_node(a: int, b: int) -> bool:
    n = b - a
    return n > 0 and n & (n - 1) == 0 and a % n == 0


def _decompose(a: int, b: int) -> list[tuple[int, int]]:
    """The complete aligned subtrees whose concatenation is [a, b), left to right (RFC split)."""
    out = []
    while a < b:
        if _is_node(a, b):
            out.append(((b - a).bit_length() - 1, a >> ((b - a).bit_length() - 1)))
            break
        k = merkle._split(b - a)
        out.append((k.bit_length() - 1, a >> (k.bit_length() - 1)))
        a += k
    return out


def _fetch(session: Session, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    found: dict[tuple[int, int], bytes] = {}
    unique = sorted(set(keys))
    if unique:
        # one indexed lookup per level (a row-value IN list is not served by the index on SQLite)
        by_level: dict[int, list[int]] = {}
        for level, idx in unique:
            by_level.setdefault(level, []).append(idx)
        # (plain SQL over integers this module computed: building the expression with the ORM
        # costs more than the lookups themselves)
        where = " OR ".join(f"(level = {int(level)} AND idx IN ({','.join(str(int(i)) for i in idxs)}))"
                            for level, idxs in by_level.items())
        for level, idx, h in session.execute(text(f"SELECT level, idx, hash FROM log_tree_nodes WHERE {where}")):
            found[(level, idx)] = bytes(h)
    missing = [k for k in unique if k not in found]
    if missing:
        nodes = "、".join(f"第 {level} 层节点 {idx}" for level, idx in missing[:3])
        raise RegistryError(f"存储的默克尔树缺少{nodes}{f' 等 {len(missing)} 个节点' if len(missing) > 3 else ''}；"
                            f"请运行 yiyin log audit 核查")
    return found


def _hash_ranges(session: Session, ranges: list[tuple[int, int]]) -> list[bytes]:
    """MTH of each range, from the stored nodes, with one read for all of them."""
    parts = {r: _decompose(*r) for r in ranges}
    nodes = _fetch(session, [k for p in parts.values() for k in p])
    out = []
    for r in ranges:
        hashes = [nodes[k] for k in parts[r]]
        h = hashes[-1]
        for left in reversed(hashes[:-1]):
            h = merkle.node_hash(left, h)
        out.append(h)
    return out


def _check_size(session: Session, n: int) -> None:
    have = size(session)
    if n > have:
        raise NotFound(f"默克尔树目前只纳入了 {have} 个日志条目，没有大小为 {n} 的树")


def root(session: Session, n: int | None = None) -> bytes:
    """MTH of the first n entries (default: all integrated)."""
    n = size(session) if n is None else n
    if n == 0:
        return merkle.EMPTY_ROOT
    _check_size(session, n)
    return _hash_ranges(session, [(0, n)])[0]


def inclusion_proof(session: Session, index: int, n: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1."""
    if not 0 <= index < n:
        raise NotFound(f"条目 {index} 不在大小为 {n} 的树中（须 0 ≤ 条目 < 树大小）")
    _check_size(session, n)
    ranges: list[tuple[int, int]] = []
    a, b, m = 0, n, index
    while b - a > 1:
        k = merkle._split(b - a)
        if m < k:
            ranges.append((a + k, b))
            b = a + k
        else:
            ranges.append((a, a + k))
            a, m = a + k, m - k
    return list(reversed(_hash_ranges(session, ranges)))


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[new]) of RFC 9162 2.1.4.1."""
    if not 0 < old <= new:
        raise NotFound(f"没有从树大小 {old} 到 {new} 的一致性证明（须 0 < 原大小 ≤ 新大小）")
    _check_size(session, new)
    ranges: list[tuple[int, int]] = []
    a, b, m, complete = 0, new, old, True
    while True:
        if m == b - a:
            if not complete:
                ranges.append((a, b))
            break
        k = merkle._split(b - a)
        if m <= k:
            ranges.append((a + k, b))
            b = a + k
        else:
            ranges.append((a, a + k))
            a, m, complete = a + k, m - k, False
    return list(reversed(_hash_ranges(session, ranges)))


# -- C2SP tlog-tiles -----------------------------------------------------------------------------


def tile(session: Session, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
    """Tile ``level``/``index``: the hashes of nodes [index·256, index·256 + width) at tree level
    8·level, concatenated (32 bytes each). Width 256 is a full tile; less is a partial tile."""
    if level < 0 or index < 0 or not 1 <= width <= TILE_WIDTH:
        raise NotFound(f"没有瓦片（tile）{level}/{index}（宽度 {width}）：层号和编号须不小于 0，宽度须为 1–{TILE_WIDTH}")
    tree_level = TILE_HEIGHT * level
    first = index * TILE_WIDTH
    if (first + width) << tree_level > size(session):
        raise NotFound(f"宽度为 {width} 的瓦片（tile）{level}/{index} 超出了已纳入默克尔树的 {size(session)} 个条目")
    rows = session.execute(select(TreeNode.idx, TreeNode.hash).where(
        TreeNode.level == tree_level, TreeNode.idx >= first, TreeNode.idx < first + width).order_by(TreeNode.idx)).all()
    if [i for i, _ in rows] != list(range(first, first + width)):
        raise RegistryError(f"瓦片（tile）{level}/{index}：存储的默克尔树缺少节点；请运行 yiyin log audit 核查")
    return b"".join(bytes(h) for _, h in rows)


def entry_bundle(session: Session, index: int, width: int = TILE_WIDTH) -> bytes:
    """Entry bundle ``index``: entries [index·256, index·256 + width), each a big-endian uint16
    length followed by the entry (the canonical JSON whose leaf hash the tree holds)."""
    if index < 0 or not 1 <= width <= TILE_WIDTH:
        raise NotFound(f"没有条目包（entry bundle）{index}（宽度 {width}）：编号须不小于 0，宽度须为 1–{TILE_WIDTH}")
    first = index * TILE_WIDTH
    if first + width > size(session):
        raise NotFound(f"宽度为 {width} 的条目包（entry bundle）{index} 超出了已纳入默克尔树的 {size(session)} 个条目")
    rows = session.execute(select(LogEntry.index, LogEntry.payload).where(
        LogEntry.index >= first, LogEntry.index < first + width).order_by(LogEntry.index)).all()
    if [i for i, _ in rows] != list(range(first, first + width)):
        missing = sorted(set(range(first, first + width)) - {i for i, _ in rows})
        raise RegistryError(f"条目包（entry bundle）{index}：日志中缺少条目 {'、'.join(map(str, missing[:3]))}"
                            f"{f' 等 {len(missing)} 条' if len(missing) > 3 else ''}；请运行 yiyin log audit 核查")
    out = bytearray()
    for i, payload in rows:
        data = payload.encode("utf-8")
        if len(data) > 0xFFFF:
            raise RegistryError(f"日志条目 {i} 长 {len(data)} 字节，超过条目包（entry bundle）每条 65535 字节的上限")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def split_bundle(bundle: bytes) -> list[bytes]:
    """The entries of an entry bundle (what a client does with one)."""
    out, i = [], 0
    while i < len(bundle):
        n = int.from_bytes(bundle[i:i + 2], "big")
        out.append(bundle[i + 2:i + 2 + n])
        i += 2 + n
    return out


def _encode_index(n: int) -> str:
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` with N in groups of three digits (``x001/x234/067``);
    ``level="entries"`` names an entry bundle."""
    path = f"tile/{level}/{_encode_index(index)}"
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


@dataclass(frozen=True)
class TileRef:
    level: int | None  # None for an entry bundle
    index: int
    width: int


def parse_tile_path(path: str) -> TileRef:
    """Parse a tlog-tiles path (as served under the log's prefix); NotFound for anything else."""
    parts = path.strip("/").split("/")
    try:
        if len(parts) < 3 or parts[0] != "tile":
            raise ValueError
        level: int | None = None if parts[1] == "entries" else int(parts[1])
        if level is not None and (not parts[1].isdigit() or level > 63):
            raise ValueError
        rest, width = parts[2:], TILE_WIDTH
        if len(rest) >= 2 and rest[-2].endswith(".p"):
            width = int(rest[-1])
            if not rest[-1].isdigit() or not 1 <= width < TILE_WIDTH:
                raise ValueError
            rest = [*rest[:-2], rest[-2][:-2]]
        digits = ""
        for i, g in enumerate(rest):
            last = i == len(rest) - 1
            if (g[:1] == "x") == last or len(g.lstrip("x")) != 3 or not g.lstrip("x").isdigit():
                raise ValueError
            digits += g.lstrip("x")
        index = int(digits)
        if _encode_index(index) != "/".join(rest):
            raise ValueError  # non-canonical (leading zero groups)
    except ValueError:
        raise NotFound(f"{path!r} 不是 C2SP tlog-tiles 路径") from None
    return TileRef(level, index, width)


def read_tile_path(session: Session, path: str) -> bytes:
    """The bytes to serve at a tlog-tiles path: a hash tile or an entry bundle."""
    ref = parse_tile_path(path)
    if ref.level is None:
        return entry_bundle(session, ref.index, ref.width)
    return tile(session, ref.level, ref.index, ref.width)
