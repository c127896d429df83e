"""Content-addressed document store in the data directory: the key is the SHA-256 of the bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / "sha256" / key[:2] / f"{key}.pdf"

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its key and whether it was newly written (atomic rename)."""
        key = hashlib.sha256(data).hexdigest()
        path = self.path_of(key)
        if path.exists():
            return key, False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return key, True

    def get(self, key: str) -> bytes:
        return self.path_of(key).read_bytes()

    def discard(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)
