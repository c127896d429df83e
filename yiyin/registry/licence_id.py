"""The national electronic licence identifier of GB/T 36904 (电子证照 标识规范).

    1.2.156.3005.2.<证照类型代码>.<颁发机构代码>.<顺序号>.<版本号>.<校验位>

- ``1.2.156.3005.2`` is the fixed OID arc for electronic licences;
- 证照类型代码: the licence type code from the licence catalogue (证照目录);
- 颁发机构代码: the issuing organ's 18-character unified social credit code (统一社会信用代码);
- 顺序号: the serial of this licence among those of its type issued by the organ (kept across
  versions: a 变更 or 延续 issues a new version of the same licence, not a new licence);
- 版本号: the version, starting at 1;
- 校验位: one check character by ISO/IEC 7064 MOD 37,36 (hybrid system, alphabet 0-9A-Z), computed
  over the type code, organ code, serial and version concatenated without the dots, upper case.

The serial is written with at least :data:`SERIAL_WIDTH` digits and the version with
:data:`VERSION_WIDTH`, zero-padded, so that identifiers sort and read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SERIAL_WIDTH = 8
VERSION_WIDTH = 3
_FIELD = re.compile(r"^[0-9A-Z]+$")


def _values(text: str) -> list[int]:
    out = []
    for ch in text.upper():
        v = ALPHABET.find(ch)
        if v < 0:
            raise ValueError(f"{ch!r} is not a character of ISO 7064 MOD 37,36 (0-9, A-Z)")
        out.append(v)
    return out


def mod37_36(text: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character for ``text`` (hybrid system, M = 36)."""
    m = 36
    p = m
    for v in _values(text):
        s = (p + v) % m or m
        p = (s * 2) % (m + 1)
    return ALPHABET[(m + 1 - p) % m]


def mod37_36_valid(text_with_check: str) -> bool:
    """True when the last character is the right check character for the rest."""
    if len(text_with_check) < 2:
        return False
    try:
        return mod37_36(text_with_check[:-1]) == text_with_check[-1].upper()
    except ValueError:
        return False


@dataclass(frozen=True)
class LicenceId:
    type_code: str
    organ_code: str
    serial: int
    version: int

    def __post_init__(self) -> None:
        for name in ("type_code", "organ_code"):
            value = getattr(self, name)
            if not _FIELD.match(value):
                raise ValueError(f"{name} {value!r} must be upper-case letters and digits only")
        if self.serial < 1 or self.version < 1:
            raise ValueError("serial and version start at 1")

    def _fields(self) -> list[str]:
        return [self.type_code, self.organ_code, f"{self.serial:0{SERIAL_WIDTH}d}", f"{self.version:0{VERSION_WIDTH}d}"]

    @property
    def check(self) -> str:
        return mod37_36("".join(self._fields()))

    def __str__(self) -> str:
        return ".".join([PREFIX, *self._fields(), self.check])

    def next_version(self) -> "LicenceId":
        return LicenceId(self.type_code, self.organ_code, self.serial, self.version + 1)


def parse(identifier: str) -> LicenceId:
    """Parse and check an identifier; ValueError names what is wrong."""
    text = identifier.strip()
    if not text.startswith(PREFIX + "."):
        raise ValueError(f"an electronic licence identifier starts with {PREFIX}.")
    parts = text[len(PREFIX) + 1:].split(".")
    if len(parts) != 5:
        raise ValueError("expected 类型代码.机构代码.顺序号.版本号.校验位 after the prefix")
    type_code, organ_code, serial, version, check = parts
    if not (serial.isdigit() and version.isdigit()):
        raise ValueError("顺序号 and 版本号 are decimal digits")
    lid = LicenceId(type_code, organ_code, int(serial), int(version))
    if len(check) != 1 or lid.check != check.upper() or str(lid) != text.upper():
        raise ValueError(f"check character {check!r} does not match (expected {lid.check}) or fields are not in canonical form")
    return lid
