from yiyin.registry import vcodes


def test_codes_are_grouped_crockford_with_80_bits() -> None:
    codes = {vcodes.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(vcodes.ALPHABET)


def test_typed_codes_are_forgiving_but_exact() -> None:
    code = vcodes.new_code()
    stored = vcodes.digest(code)
    typed = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert vcodes.matches(typed, stored)
    other = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert not vcodes.matches(other, stored)
    assert not vcodes.matches("", stored)
    assert not vcodes.matches(code + "X", stored)


def test_a_code_as_printed_is_its_own_canonical_form() -> None:
    for _ in range(500):
        code = vcodes.new_code()
        assert vcodes.normalise(code) == code == vcodes.normalise(code.lower()) == vcodes.normalise(code.replace("-", ""))
    assert vcodes.normalise("ABCD-EFGH-JKMN-PQRI") == "ABCD-EFGH-JKMN-PQR1"  # I is folded, never kept
    assert vcodes.normalise("ABCD-EFGH-JKMN-PQRU") == ""  # U is not in the alphabet
    assert vcodes.normalise("ABCD-EFGH-JKMN-PQR1\n") == ""  # as before the fast path: only spaces and hyphens are dropped
