"""GB/T 36904 electronic licence identifiers and their ISO/IEC 7064 MOD 37,36 check character."""

from __future__ import annotations

import pytest

from yiyin.registry.licence_id import LicenceId, mod37_36, mod37_36_valid, parse

# Published vectors: the GRid example (A1-2425G-ABC1234002-M) and vectors of independent
# implementations of the hybrid MOD 37,36 system.
VECTORS = [
    ("A12425GABC1234002", "M"),
    ("RABD", "A"),
    ("X0H", "X"),
    ("TBR", "1"),
    ("B7Q3SFTUSH2QN7BIXBPMNZAM", "I"),
    ("UFSYYJO9FCID766EJYAEINTG43UZDD84MT6ZUDH08OM4N1K", "N"),
    ("ROYL38YZ9TDGPNB5MT40CEWGURAOKF07XEYTV3M", "6"),
]


@pytest.mark.parametrize("text, check", VECTORS)
def test_mod37_36_known_vectors(text: str, check: str) -> None:
    assert mod37_36(text) == check
    assert mod37_36(text.lower()) == check
    assert mod37_36_valid(text + check)


def test_mod37_36_detects_every_single_substitution_and_adjacent_transposition() -> None:
    base = "A12425GABC1234002M"
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i in range(len(base)):
        for ch in alphabet:
            if ch != base[i]:
                assert not mod37_36_valid(base[:i] + ch + base[i + 1:])
    for i in range(len(base) - 1):
        if base[i] != base[i + 1]:
            assert not mod37_36_valid(base[:i] + base[i + 1] + base[i] + base[i + 2:])
    with pytest.raises(ValueError):
        mod37_36("A-1")


def test_identifier_format_round_trip_and_versions() -> None:
    lid = LicenceId("YPJYXKZ", "11210321MB15990271", 123, 1)
    text = str(lid)
    assert text.startswith("1.2.156.3005.2.YPJYXKZ.11210321MB15990271.00000123.001.")
    assert text[-1] == mod37_36("YPJYXKZ11210321MB1599027100000123001")
    assert parse(text) == lid
    v2 = lid.next_version()
    assert (v2.serial, v2.version) == (123, 2) and str(v2) != text


@pytest.mark.parametrize("bad", [
    "1.2.156.3005.1.YPJYXKZ.11210321MB15990271.00000123.001.0",   # wrong arc
    "1.2.156.3005.2.YPJYXKZ.11210321MB15990271.00000124.001.0",   # serial changed, check not
    "1.2.156.3005.2.YPJYXKZ.11210321MB15990271.00000123.0",       # a field missing
    "1.2.156.3005.2.YPJY-KZ.11210321MB15990271.00000123.001.0",   # not alphanumeric
])
def test_bad_identifiers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse(bad)
