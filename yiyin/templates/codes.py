"""Check characters of the identifiers that appear on Chinese official papers.

- 统一社会信用代码 (unified social credit code), GB 32100-2015, with the embedded
  organization code of GB 11714-1997;
- 公民身份号码 (resident identity number), GB 11643-1999.
"""

from __future__ import annotations

from datetime import date

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# First character: the registering authority (登记管理部门); second: the category under it.
USCC_REGISTRARS = {
    "1": "机构编制", "5": "民政", "9": "工商", "Y": "其他",
    "2": "外交", "3": "司法行政", "4": "文化", "6": "旅游", "7": "宗教", "8": "工会", "A": "中央军委改革和编制办公室", "N": "农业",
}


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    r = 11 - sum(value(c) * w for c, w in zip(first8, _ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(r, str(r))


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or None if it is."""
    if len(code) != 18:
        return f"应为 18 位，实为 {len(code)} 位"
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        return f"含有 GB 32100 不使用的字符（{''.join(bad)}）；代码中不使用字母 I、O、S、V、Z"
    if code[0] not in USCC_REGISTRARS:
        return f"第 1 位“{code[0]}”不是登记管理部门代码"
    if not code[2:8].isdigit():
        return "第 3–8 位应为 6 位行政区划码"
    org = code[8:17]
    if all(c.isdigit() or "A" <= c <= "Z" for c in org[:8]) and org[8] != org_code_check_char(org[:8]):
        return f"其中的组织机构代码 {org} 校验码错误（按 GB 11714 应为 {org_code_check_char(org[:8])}），请核对是否抄错"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"校验码错误：第 18 位为“{code[17]}”，按 GB 32100 应为“{expected}”，请核对是否抄错"
    return None


def make_uscc(registrar_and_category: str, division: str, org_body8: str) -> str:
    """Build a valid code from its parts (used for samples and tests)."""
    org = org_body8 + org_code_check_char(org_body8)
    first17 = registrar_and_category + division + org
    return first17 + uscc_check_char(first17)


def id_check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def resident_id_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-digit resident identity number, or None if it is."""
    if len(number) != 18:
        return f"应为 18 位，实为 {len(number)} 位"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "前 17 位应为数字，第 18 位为数字或 X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return f"第 7–14 位（{number[6:14]}）不是有效的出生日期"
    if born > date.today() or born.year < 1900:
        return f"出生日期 {born.isoformat()} 不合理"
    expected = id_check_char(number[:17])
    if number[17] != expected:
        return f"校验码错误：第 18 位为“{number[17]}”，按 GB 11643 应为“{expected}”，请核对是否抄错"
    return None
