"""Request bodies of the dashboard's data routes (what ``/docs.json`` shows for them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Op = Literal["lt", "le", "gt", "ge", "eq", "ne", "between", "in", "not_in", "missing", "present"]
Scalar = float | str | None


class _Body(BaseModel):
    """Unknown keys refused, and no coercion: a count or a row index is a JSON integer (not ``"3"``,
    ``3.0`` or ``true``, which lax validation would read as 3 or row 1), a name a string, a value a
    number or a string (not a boolean)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Filter(_Body):
    """One condition on a field (a feature name, or ``@prediction``, ``@label``, ``@error``,
    ``@residual``, ``@proba:<class>``): numbers take lt/le/gt/ge/eq/ne with a number ``value`` or
    ``between`` with ``[low, high]`` (inclusive); categories take ``in``/``not_in`` with a list;
    ``missing``/``present`` take no value."""

    field: str = Field(min_length=1, max_length=300)
    op: Op
    value: Scalar | list[Scalar] = None


class Cohort(_Body):
    """Rows matching every filter (no filters: all rows), and with ``since`` only the answers recorded at
    or after that time (source ``recorded``)."""

    name: str = Field("All data", min_length=1, max_length=100)
    filters: list[Filter] = Field(default_factory=list, max_length=20)
    since: datetime | None = Field(
        None, strict=False, description="ISO 8601 time (UTC without a zone); source recorded."
    )


def _all() -> list[Cohort]:
    return [Cohort()]


class SourceBody(_Body):
    source: str | None = Field(
        None, max_length=100, description="eval, sample or stored:<id> (default: eval when packaged with it)"
    )


class CohortsBody(SourceBody):
    cohorts: list[Cohort] = Field(default_factory=_all, min_length=1, max_length=20)


class CompareBody(SourceBody):
    cohorts: list[Cohort] = Field(default_factory=_all, min_length=1, max_length=3)


class PerformanceBody(CompareBody):
    class_: str | None = Field(None, alias="class", description="The class whose probability is binned.")
    bins: int = Field(20, ge=2, le=100)


class ExploreBody(CompareBody):
    chart: Literal["scatter", "histogram"] = "scatter"
    x: str = Field(min_length=1, max_length=300)
    y: str | None = Field(None, max_length=300)
    color: str | None = Field(None, max_length=300)
    max_points: int = Field(2000, ge=10, le=10_000, description="Scatter points per cohort (a sample).")
    bins: int = Field(30, ge=2, le=200)


class ImportanceBody(CompareBody):
    kind: Literal["shap", "pfi", "mimic"] = "shap"


class DependenceBody(SourceBody):
    cohort: Cohort = Field(default_factory=Cohort)
    feature: str = Field(min_length=1, max_length=300)
    color: str | None = Field(None, max_length=300)
    class_: str | None = Field(None, alias="class")
    max_points: int = Field(2000, ge=10, le=10_000)


class RowBody(SourceBody):
    row: int = Field(ge=0)


class IceBody(SourceBody):
    cohort: Cohort = Field(default_factory=Cohort)
    feature: str = Field(min_length=1, max_length=300)
    rows: list[int] = Field(default_factory=list, max_length=10, description="Rows of the data set.")
    instances: list[dict[str, Any]] = Field(
        default_factory=list, max_length=10, description="Rows of the page's session (edited points)."
    )
    grid_points: int = Field(20, ge=2, le=100)
    pd_rows: int = Field(200, ge=0, le=1000, description="Cohort rows (a sample) averaged into the PD curve.")


class InteractionsBody(SourceBody):
    cohort: Cohort = Field(default_factory=Cohort)
    class_: str | None = Field(None, alias="class")
    feature: str | None = Field(
        None, max_length=300, description="Also its dependence plot, coloured by its strongest partner."
    )
    max_rows: int = Field(
        100, ge=1, le=1000, description="Cohort rows (a sample) whose matrices are averaged."
    )
