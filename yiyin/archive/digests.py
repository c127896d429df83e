"""Digests recorded for every file: SHA-256 and SHA-512 (the BagIt manifests) and SM3 (GB/T 32905,
the national algorithm archives record), all from `cryptography`."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

ALGORITHMS = {"SM3": hashes.SM3, "SHA-256": hashes.SHA256, "SHA-512": hashes.SHA512}


def digest(name: str, data: bytes) -> str:
    h = hashes.Hash(ALGORITHMS[name]())
    h.update(data)
    return h.finalize().hex()


def all_digests(data: bytes) -> dict[str, str]:
    return {name: digest(name, data) for name in ALGORITHMS}
