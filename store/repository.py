"""The explanation repository: add, get, list, delete, latest-matching, retention.

One transaction per write: an explanation's metadata row and all of its arrays commit together or not
at all, so a process killed mid-upload leaves the whole explanation or none of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy.typing as npt
from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.orm import Session

from . import db
from .arrays import from_npy, to_npy
from .errors import ExplanationNotFound
from .models import ArrayRow, ExplanationRow
from .records import KINDS, Record
from .settings import StoreSettings

UPLOAD = "upload"
RECORDED = "recorded"
SOURCES = (UPLOAD, RECORDED)


@dataclass(frozen=True)
class Meta:
    """What a listing shows of one stored explanation (no arrays)."""

    id: str
    created: datetime
    comment: str | None
    kind: str
    source: str
    request_id: str | None
    model_name: str | None
    model_version: str | None
    engineered: bool
    output_space: str
    scorer: str | None
    n_rows: int
    n_features: int
    features: list[str]
    classes: list[Any] | None
    top_k: int | None
    size_bytes: int

    @property
    def raw(self) -> bool:
        return not self.engineered

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "comment": self.comment,
            "kind": self.kind,
            "source": self.source,
            "request_id": self.request_id,
            "model": {"name": self.model_name, "version": self.model_version},
            "raw": self.raw,
            "engineered": self.engineered,
            "output_space": self.output_space,
            "scorer": self.scorer,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "features": self.features,
            "classes": self.classes,
            "top_k": self.top_k,
            "size_bytes": self.size_bytes,
        }


@dataclass(frozen=True)
class Filters:
    """Which explanations a listing or a latest-matching lookup considers; None means any."""

    comment: str | None = None
    kind: str | None = None
    engineered: bool | None = None
    source: str | None = UPLOAD
    model_name: str | None = None
    model_version: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    def apply(self, q: Select[Any]) -> Select[Any]:
        if self.comment is not None:
            q = q.where(ExplanationRow.comment == self.comment)
        if self.kind is not None:
            q = q.where(ExplanationRow.kind == self.kind)
        if self.engineered is not None:
            q = q.where(ExplanationRow.engineered == self.engineered)
        if self.source is not None:
            q = q.where(ExplanationRow.source == self.source)
        if self.model_name is not None:
            q = q.where(ExplanationRow.model_name == self.model_name)
        if self.model_version is not None:
            q = q.where(ExplanationRow.model_version == self.model_version)
        if self.since is not None:
            q = q.where(ExplanationRow.created >= _as_utc(self.since))
        if self.until is not None:
            q = q.where(ExplanationRow.created < _as_utc(self.until))
        return q


@dataclass(frozen=True)
class NewRow:
    """What a new explanation carries beside its record: where it came from and for which model."""

    source: str = UPLOAD
    comment: str | None = None
    request_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    created: datetime | None = None  # when the explanation was made (a recorded answer: when it was served)

    def build(self, record: Record) -> tuple[ExplanationRow, dict[str, bytes]]:
        """The explanation's row (a new id, created now unless ``created`` says when) and its arrays as
        ``.npy`` bytes."""
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        blobs = {name: to_npy(a) for name, a in record.arrays.items()}
        row = ExplanationRow(
            id=uuid.uuid4().hex,
            created=self.created or datetime.now(UTC),
            comment=self.comment,
            kind=record.kind,
            source=self.source,
            request_id=self.request_id,
            model_name=self.model_name,
            model_version=self.model_version,
            engineered=record.engineered,
            output_space=record.output_space,
            scorer=record.scorer,
            n_rows=record.n_rows,
            n_features=len(record.features),
            n_classes=record.n_classes,
            features=list(record.features),
            classes=record.classes,
            top_k=record.top_k,
            info=dict(record.info),
            size_bytes=sum(len(b) for b in blobs.values()),
        )
        return row, blobs


def _utc(t: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time we write is UTC
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _as_utc(t: datetime) -> datetime:
    # every stored time is UTC (SQLite keeps its fields without the zone): compare in UTC; naive is UTC
    return t.astimezone(UTC) if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _meta(row: ExplanationRow) -> Meta:
    return Meta(
        id=row.id,
        created=_utc(row.created),
        comment=row.comment,
        kind=row.kind,
        source=row.source,
        request_id=row.request_id,
        model_name=row.model_name,
        model_version=row.model_version,
        engineered=row.engineered,
        output_space=row.output_space,
        scorer=row.scorer,
        n_rows=row.n_rows,
        n_features=row.n_features,
        features=list(row.features),
        classes=None if row.classes is None else list(row.classes),
        top_k=row.top_k,
        size_bytes=row.size_bytes,
    )


class ExplanationStore:
    """Explanations in one database: ``ExplanationStore("sqlite:///x.db")`` or a PostgreSQL URL.

    The schema is migrated to the newest revision on first use (once per process and database).
    """

    def __init__(self, url: str | None = None, *, settings: StoreSettings | None = None) -> None:
        self.settings = settings or StoreSettings()  # type: ignore[call-arg]
        self.url = db.normalize_url(url or self.settings.url())
        self.engine: Engine = db.make_engine(self.url, busy_timeout=self.settings.store_sqlite_busy_timeout)
        db.ensure_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _session(self, *, write: bool = False) -> Session:
        if write:
            return Session(self.engine.execution_options(**{db.WRITE: True}), expire_on_commit=False)
        return Session(self.engine, expire_on_commit=False)

    # -- writes ----------------------------------------------------------------------------------------
    def add(
        self,
        record: Record,
        *,
        comment: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        source: str = UPLOAD,
        request_id: str | None = None,
    ) -> str:
        """Store one explanation (metadata and arrays in one transaction); its new id."""
        new = NewRow(source, comment, request_id, model_name, model_version)
        return self.add_many([record], [new])[0]

    def add_many(
        self,
        records: Sequence[Record],
        rows: Sequence[NewRow],
    ) -> list[str]:
        """Store several explanations in one transaction (all or none); their new ids, in order."""
        if len(records) != len(rows):
            raise ValueError(f"{len(records)} records but {len(rows)} rows of metadata")
        built = [new.build(record) for record, new in zip(records, rows, strict=True)]
        with self._session(write=True) as s, s.begin():
            s.add_all(row for row, _ in built)
            s.flush()  # the parent rows first: the arrays' foreign key points at them
            s.add_all(
                ArrayRow(explanation_id=row.id, name=name, data=data)
                for row, blobs in built
                for name, data in blobs.items()
            )
        return [row.id for row, _ in built]

    def delete(self, explanation_id: str) -> None:
        with self._session(write=True) as s, s.begin():
            s.execute(delete(ArrayRow).where(ArrayRow.explanation_id == explanation_id))
            gone = s.execute(delete(ExplanationRow).where(ExplanationRow.id == explanation_id)).rowcount  # type: ignore[attr-defined]
        if not gone:
            raise _not_found(explanation_id)

    def trim(self, keep: int, *, source: str = RECORDED) -> int:
        """Delete all but the newest ``keep`` explanations of ``source``; how many were deleted."""
        with self._session(write=True) as s, s.begin():
            newest = (
                select(ExplanationRow.id)
                .where(ExplanationRow.source == source)
                .order_by(ExplanationRow.created.desc(), ExplanationRow.id.desc())
                .limit(keep)
            )
            old = [
                i
                for (i,) in s.execute(
                    select(ExplanationRow.id).where(
                        ExplanationRow.source == source, ExplanationRow.id.not_in(newest)
                    )
                )
            ]
            _delete_ids(s, old)
        return len(old)

    def delete_older(self, seconds: float, *, source: str = RECORDED) -> int:
        """Delete the explanations of ``source`` created more than ``seconds`` ago; how many."""
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
        with self._session(write=True) as s, s.begin():
            old = list(
                s.scalars(
                    select(ExplanationRow.id).where(
                        ExplanationRow.source == source, ExplanationRow.created < cutoff
                    )
                )
            )
            _delete_ids(s, old)
        return len(old)

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, explanation_id: str) -> tuple[Meta, Record]:
        with self._session() as s, s.begin():
            row = s.get(ExplanationRow, explanation_id)
            if row is None:
                raise _not_found(explanation_id)
            arrays = s.execute(
                select(ArrayRow.name, ArrayRow.data).where(ArrayRow.explanation_id == explanation_id)
            ).all()
        record = Record(
            kind=row.kind,
            features=list(row.features),
            classes=None if row.classes is None else list(row.classes),
            output_space=row.output_space,
            n_rows=row.n_rows,
            arrays={name: from_npy(data) for name, data in arrays},
            info=dict(row.info or {}),
            engineered=row.engineered,
            scorer=row.scorer,
            top_k=row.top_k,
        )
        return _meta(row), record

    def list(self, filters: Filters = Filters(), *, limit: int | None = None) -> list[Meta]:  # noqa: B008
        """Newest first."""
        q = filters.apply(select(ExplanationRow)).order_by(
            ExplanationRow.created.desc(), ExplanationRow.id.desc()
        )
        if limit is not None:
            q = q.limit(limit)
        with self._session() as s, s.begin():
            return [_meta(r) for r in s.scalars(q)]

    def latest(self, filters: Filters = Filters()) -> tuple[Meta, Record]:  # noqa: B008
        """The newest explanation matching ``filters``."""
        found = self.list(filters, limit=1)
        if not found:
            raise ExplanationNotFound(f"no stored explanation matches {_describe(filters)}")
        return self.get(found[0].id)

    def arrays(
        self, filters: Filters, names: tuple[str, ...], *, chunk: int = 200
    ) -> Iterator[tuple[Meta, dict[str, npt.NDArray[Any]]]]:
        """Oldest first, each matching explanation's arrays of ``names`` (those it has), read in chunks
        of ``chunk`` explanations: one query per chunk, not one per explanation."""
        q = filters.apply(select(ExplanationRow)).order_by(ExplanationRow.created, ExplanationRow.id)
        with self._session() as s, s.begin():
            metas = [_meta(r) for r in s.scalars(q)]
        for part in _chunks([m.id for m in metas], chunk):
            with self._session() as s, s.begin():
                found: dict[str, dict[str, npt.NDArray[Any]]] = {i: {} for i in part}
                for i, name, data in s.execute(
                    select(ArrayRow.explanation_id, ArrayRow.name, ArrayRow.data).where(
                        ArrayRow.explanation_id.in_(part), ArrayRow.name.in_(names)
                    )
                ):
                    found[i][name] = from_npy(data)
            for m in metas[: len(part)]:
                yield m, found[m.id]
            metas = metas[len(part) :]

    def count(self, filters: Filters = Filters(source=None)) -> int:  # noqa: B008
        with self._session() as s, s.begin():
            return int(s.scalar(filters.apply(select(func.count()).select_from(ExplanationRow))) or 0)


def _not_found(explanation_id: str) -> ExplanationNotFound:
    return ExplanationNotFound(f"no stored explanation has the id {explanation_id!r}", field="id")


def _describe(f: Filters) -> str:
    parts = [f"{k}={v!r}" for k, v in vars(f).items() if v is not None]
    return ", ".join(parts) if parts else "(any)"


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _delete_ids(s: Session, ids: list[str]) -> None:
    for chunk in _chunks(ids, 500):
        s.execute(delete(ArrayRow).where(ArrayRow.explanation_id.in_(chunk)))
        s.execute(delete(ExplanationRow).where(ExplanationRow.id.in_(chunk)))


def check_kind(kind: str | None, field: str = "kind") -> str | None:
    from scorers.errors import InputError

    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", field=field)
    return kind
