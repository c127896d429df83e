"""What every licence kind shares: the optional 副本, the 有效期 row, and the certificate block."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import Field

from yiyin.templates.content import Block, cn_date, licence
from yiyin.templates.fields import DocumentData

Row = tuple[str, str]


# Declared last on each licence kind (pydantic puts inherited fields first): copies: int | None = COPIES
COPIES = Field(default=None, title="副本份数", ge=1, le=10, description="how many 副本 pages follow the 正本; none if omitted")


class LicenceData(DocumentData):
    """Base of the licence kinds; each declares ``copies`` (副本份数) last."""

    @property
    def copy_count(self) -> int:
        return int(getattr(self, "copies", None) or 0)


def validity(valid_from: date, valid_until: date) -> Row:
    return ("有效期", f"自{cn_date(valid_from)}至{cn_date(valid_until)}")


def certificate(name: str, data: LicenceData, rows: Sequence[Row], *, copy_rows: Sequence[Row] | None = None,
                number_label: str = "许可证编号") -> list[Block]:
    return [licence(name, rows, copies=data.copy_count, copy_rows=copy_rows, number_label=number_label)]
