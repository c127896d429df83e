"""Attacks from the PDF signature literature, each built here against a genuine sealed document:
incremental saving, shadow attacks (hide, replace, hide-and-replace), signature wrapping, and
changes after the locking seal. Each must be rejected, with the reason."""

from __future__ import annotations

import pytest

from yiyin.errors import UnreadableDocument
from yiyin.service.app import App
from yiyin.service.verify import verify_pdf

from . import attacks


def intact_detail(report) -> str:  # type: ignore[no-untyped-def]
    return next(c.detail for c in report.checks if c.id == "intact")


@pytest.mark.parametrize("attack", [attacks.shadow_hide, attacks.shadow_replace, attacks.shadow_hide_and_replace])
def test_shadow_attacks_are_rejected(app: App, demo, attack) -> None:  # type: ignore[no-untyped-def]
    tampered = attack(demo.licence.path.read_bytes())
    report = verify_pdf(app, tampered)
    assert not report.valid
    assert "after sealing" in intact_detail(report) or "modification permissions" in intact_detail(report)


@pytest.mark.parametrize("delta", [-40, -1, 1, 64])
def test_signature_wrapping_is_rejected(app: App, demo, delta: int) -> None:
    tampered = attacks.wrap_byte_range(demo.decision.path.read_bytes(), delta)
    try:
        report = verify_pdf(app, tampered)
    except UnreadableDocument:
        return
    assert not report.valid


def test_changes_after_the_locking_seal_are_named(app: App, demo) -> None:
    """The issuing seal locks the document (field /Lock /P 1): an annotation added later is refused
    both as a disallowed modification and as a breach of the lock."""
    tampered = attacks.append_annotation(demo.licence.path.read_bytes())
    report = verify_pdf(app, tampered)
    assert not report.valid
    seal = report.signatures[0]
    assert seal["locked"] is True
    assert any("after sealing" in p for p in seal["problems"])
