"""Check characters of GB 32100 (统一社会信用代码), GB 11714 and GB 11643 (公民身份号码)."""

import pytest

from yiyin.templates.codes import make_uscc, resident_id_problem, uscc_problem

# Published codes of real organisations, checked by hand against GB 32100.
REAL_USCC = ["91350100M000100Y43", "91110108551385082Q"]


@pytest.mark.parametrize("code", REAL_USCC + ["11210321MB15990271", "91210321MA10KX3P1U"])
def test_valid_credit_codes_pass(code: str) -> None:
    assert uscc_problem(code) is None


def test_every_wrong_check_character_is_caught() -> None:
    code = "91210321MA10KX3P1U"
    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if c != code[-1]:
            problem = uscc_problem(code[:-1] + c)
            assert problem and "校验码错误" in problem


def test_credit_code_rules_are_named() -> None:
    assert "应为 18 位" in uscc_problem("9121032")
    assert "I、O、S、V、Z" in uscc_problem("91210321MA10KX3PIU")
    assert "组织机构代码" in uscc_problem(make_uscc("91", "210321", "MA10KX3P")[:16] + "7" + "U")


def test_resident_id() -> None:
    assert resident_id_problem("210321198503140026") is None
    assert "校验码错误" in resident_id_problem("210321198503140027")
    assert "出生日期" in resident_id_problem("210321198502300026")
    assert "应为 18 位" in resident_id_problem("21032119850314")
