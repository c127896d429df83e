"""Bad data fails before anything is numbered, with every offending field named in one error."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from yiyin.errors import InvalidData, MissingGlyph
from yiyin.service.app import App
from yiyin.service.samples import resolve_dates
from yiyin.templates.catalog import document_type

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "samples/applications/kaiban_yaodian.json").read_text("utf-8"))


def licence_data() -> dict:
    from datetime import date

    return resolve_dates(copy.deepcopy(SAMPLE["documents"][1]["data"]), date(2026, 11, 22))


def test_sample_data_is_valid(app: App) -> None:
    app.renderer.validate(document_type("licence_drug_retail"), licence_data())


def test_all_offending_fields_are_named_at_once(app: App) -> None:
    data = licence_data()
    data["uscc"] = "91210321MA10KX3P1X"          # wrong check character
    data["business_mode"] = "批发"               # not an allowed value
    data["valid_until"] = "2035-01-01"           # more than five years
    del data["quality_manager"]
    data["colour"] = "red"                       # unknown field
    with pytest.raises(InvalidData) as err:
        app.renderer.validate(document_type("licence_drug_retail"), data)
    fields = {p.field.split("（")[0] for p in err.value.problems}
    assert {"uscc", "business_mode", "quality_manager", "colour"} <= fields
    text = err.value.message
    assert "统一社会信用代码校验码错误" in text
    assert "质量负责人" in text
    # the model-level rule is reported once the field-level rules pass
    data = licence_data()
    data["valid_until"] = "2035-01-01"
    with pytest.raises(InvalidData, match="最长为 valid_from（有效期自）后 5 年"):
        app.renderer.validate(document_type("licence_drug_retail"), data)


def test_character_without_glyph_is_named(app: App) -> None:
    data = licence_data()
    data["legal_representative"] = "王\U0002CEB0芬"  # CJK Extension F: a rare name character the bundled font lacks
    with pytest.raises(MissingGlyph) as err:
        app.renderer.validate(document_type("licence_drug_retail"), data)
    assert "legal_representative" in err.value.message
    assert "U+2CEB0" in err.value.message and "\U0002CEB0" in err.value.message


def test_unknown_document_type_lists_the_known_ones() -> None:
    with pytest.raises(InvalidData, match="licence_drug_retail"):
        document_type("licence_of_marque")
