"""The archive packages built for cases (一套档案): which case, its 档号, where the package was
written, the digest that pins it, when and by whom. Rows are only ever inserted: a package built
again (e.g. after a later change of a licence) is a new row, and the newest one is the case's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiyin.registry.models import Base


class ArchivePackage(Base):
    __tablename__ = "archive_packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the service's case, when the dossier came from one; the case reference names it in any case
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    case_ref: Mapped[str] = mapped_column(String(64), index=True)
    archival_code: Mapped[str] = mapped_column(String(60), index=True)   # 档号
    path: Mapped[str] = mapped_column(Text)
    #: SHA-256 of tagmanifest-sha256.txt, which pins every manifest and so every file of the package
    digest: Mapped[str] = mapped_column(String(64))
    volume_sha256: Mapped[str] = mapped_column(String(64))               # the volume as sealed
    documents: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    built_by: Mapped[str] = mapped_column(String(64))
