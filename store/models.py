"""The store's tables (SQLAlchemy 2), one schema for SQLite and PostgreSQL.

``explanations`` holds one row of metadata per stored explanation; ``explanation_arrays`` holds its
numbers, one row per array, each a little-endian ``.npy`` blob (dtype and shape in its header).  The
migrations in ``store/migrations`` create exactly these tables (a test compares them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ExplanationRow(Base):
    __tablename__ = "explanations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(16))  # "local" or a global kind: shap, pfi, mimic
    source: Mapped[str] = mapped_column(String(16))  # "upload" or "recorded" (sampled /explain answers)
    request_id: Mapped[str | None] = mapped_column(String(128))
    model_name: Mapped[str | None] = mapped_column(String(255))
    model_version: Mapped[str | None] = mapped_column(String(255))
    engineered: Mapped[bool] = mapped_column(Boolean)
    output_space: Mapped[str] = mapped_column(String(32))
    scorer: Mapped[str | None] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    n_classes: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON)
    classes: Mapped[list[Any] | None] = mapped_column(JSON)
    top_k: Mapped[int | None] = mapped_column(Integer)
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    size_bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_explanations_source_created", "source", "created"),
        Index("ix_explanations_comment", "comment"),
    )


class ArrayRow(Base):
    __tablename__ = "explanation_arrays"

    explanation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("explanations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
