"""Verification codes: 80 random bits, Crockford base32, in groups of four (e.g. 7K3M-Q9TB-2XWD-H4PA).

Typed by people from paper, so reading is forgiving: case, hyphens, spaces, and the letters
I/L (for 1) and O (for 0) are folded as Crockford's alphabet intends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BITS = 80
_FOLD = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def new_code() -> str:
    n = secrets.randbits(BITS)
    chars = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(BITS // 5)))
    return "-".join(chars[i:i + 4] for i in range(0, len(chars), 4))


_CANONICAL = re.compile(f"[{ALPHABET}]{{{BITS // 5}}}")
_GROUPED = re.compile(f"(?:[{ALPHABET}]{{4}}-){{{BITS // 20 - 1}}}[{ALPHABET}]{{4}}")


def normalise(code: str) -> str:
    """Canonical grouped form of a typed code, or '' if it cannot be one."""
    if _GROUPED.fullmatch(code):  # as printed and as the QR code carries it: nothing to fold
        return code
    raw = code.upper().translate(_FOLD)
    if not _CANONICAL.fullmatch(raw):
        return ""
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def digest(code: str) -> str:
    return canonical_digest(normalise(code))


def canonical_digest(canonical: str) -> str:
    """The digest of a code already in the form :func:`normalise` returns."""
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def matches(code: str, stored_digest: str) -> bool:
    return bool(normalise(code)) and hmac.compare_digest(digest(code), stored_digest)
