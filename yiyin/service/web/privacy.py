"""What the public page may show of a licence: its printed fields, with natural persons masked
the way public notices (行政许可公示) mask them: 王*芬, 欧**远, 2103**********0026.

Which fields name a natural person is decided per field key, for every document type: the
people a licence names (法定代表人, 主要负责人, 质量负责人, 执业药师, …) and the staff listed in an
agreement. A resident identity number is masked wherever it appears, in any field or free text.
Fields the document type's schema does not declare are never shown.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from yiyin.errors import YiyinError
from yiyin.templates.catalog import document_type

#: field keys whose values are the names of natural persons (in any document type)
PERSON_FIELDS = frozenset({
    "legal_representative", "principal", "quality_manager", "pharmacist", "pharmacists",
    "person_name", "applicant_name", "operator", "contact_person", "responsible_person",
    "technical_director", "staff", "servers", "handler",
})
#: field keys whose values are identity document numbers of natural persons
ID_FIELDS = frozenset({"id_number", "id_card", "id_card_number", "identity_number", "passport_number"})

_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3})(?![0-9A-Za-z])")
#: printed fields the page shows in rows of their own (有效期 from the registry's columns)
_SHOWN_APART = frozenset({"valid_from", "valid_until"})
_FIFTEEN_DIGITS = re.compile(r"\d{15}")
_HAN = re.compile(r"^[\u3400-\u9fff]{2,4}$")
_SEPARATORS = re.compile(r"([、，,；;\s]+)")


def mask_id(number: str) -> str:
    """Keep the first four and last four characters: 2103**********0026."""
    number = number.strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_ids_in(text: str) -> str:
    """Mask every resident identity number (18 or 15 digits with a plausible birth date) in text."""
    if not _FIFTEEN_DIGITS.search(text):  # both kinds hold at least 15 digits in a row
        return text
    text = _ID18.sub(lambda m: mask_id(m[0]), text)
    return _ID15.sub(lambda m: mask_id(m[0]), text)


def _mask_one_name(name: str) -> str:
    if "·" in name or "•" in name:  # names of minority nationalities: 买买提·艾力 -> 买***力
        parts = re.split(r"[·•]", name)
        return parts[0][:1] + "".join("·" if c in "·•" else "*" for c in name[1:-1]) + parts[-1][-1:]
    if re.fullmatch(r"[A-Za-z][A-Za-z .'-]*", name):  # a name in Latin letters: J*** S****
        return " ".join(w[:1] + "*" * (len(w) - 1) for w in name.split())
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_name(value: str) -> str:
    """王淑芬 -> 王*芬, 李四 -> 李*, 欧阳修远 -> 欧**远; several names (王淑芬、李建国) each."""
    return "".join(p if _SEPARATORS.fullmatch(p) or not p else _mask_one_name(p) for p in _SEPARATORS.split(value))


def mask(value: Any, key: str = "") -> Any:
    """Mask a field's value (recursively for lists and objects) according to its key."""
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str):
        if key in ID_FIELDS:
            return mask_id(value)
        if key in PERSON_FIELDS:
            return mask_name(mask_ids_in(value))
        return mask_ids_in(value)
    return value


def mask_holder(holder: str, public_data: dict[str, Any]) -> str:
    """The holder is shown as printed unless it is a natural person: the value of a person field,
    or a bare personal name (two to four Han characters; no organisation is named so briefly)."""
    people = {v for k, v in public_data.items() if k in PERSON_FIELDS and isinstance(v, str)}
    if holder in people or _HAN.match(holder.strip()):
        return mask_name(holder.strip())
    return mask_ids_in(holder)


def public_fields(doc_type: str, public_data: dict[str, Any]) -> list[tuple[str, str]]:
    """The licence's printed fields as (label, text), in the schema's order, masked; only fields the
    document type declares, none that are empty."""
    out: list[tuple[str, str]] = []
    for key, label in _printed_fields(doc_type):
        value = public_data.get(key)
        if value in (None, "", [], {}):
            continue
        out.append((label, _text(mask(value, key))))
    return out


@lru_cache(maxsize=256)
def _printed_fields(doc_type: str) -> tuple[tuple[str, str], ...]:
    """(key, label) of the fields the document type declares, in order, but those shown apart."""
    try:
        model_fields = document_type(doc_type).schema.model_fields
    except YiyinError:
        return ()
    return tuple((key, info.title or key) for key, info in model_fields.items() if key not in _SHOWN_APART)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        # nested records (an agreement's parties, items): their printed parts, not internal ids
        return "，".join(_text(v) for k, v in value.items() if v not in (None, "") and not k.endswith("_id"))
    return str(value)
