"""Evaluation rows stored with an artifact (``shapserve package --eval-data``) and the global
explanations computed on them.

:func:`evaluate` reads the rows (CSV, Parquet, DataFrame or array in the raw schema), takes the labels
from a target column (or ``labels=``), validates the rows against the explainer's schema and computes the
requested kinds of global explanation on them (``scorers.globals``): by default ``shap``, and ``pfi``
when there are labels.  :func:`write` stores the rows and labels as one Parquet file (``eval.parquet``,
listed with its sha256 like every artifact file); :func:`read` restores them lazily: the rows are read
(and their checksum checked again) only when ``ScoringExplainer.eval_data`` is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ArtifactError, InputError
from .explanation import GlobalExplanation
from .manifest import EvaluationSection, GlobalSection, Manifest
from .schema import CATEGORY, Schema
from .tables import read_table

if TYPE_CHECKING:
    from .explainer import ScoringExplainer

EVAL_FILE = "eval.parquet"


@dataclass
class Evaluation:
    """Evaluation rows (validated raw schema), their labels, and the global explanations on them."""

    n_rows: int
    label_column: str | None
    globals: dict[str, GlobalExplanation] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    labels: np.ndarray | None = None
    path: Path | None = None  # where the rows are read from when loaded from an artifact
    sha256: str | None = None
    schema: Schema | None = None

    def rows(self) -> tuple[pd.DataFrame, np.ndarray | None]:
        if self.frame is None:
            self.frame, self.labels = _read_rows(self)
        return self.frame, self.labels


def _label_name(features: list[str], target: str | None) -> str:
    if target:
        return target
    return "label" if "label" not in features else "__label__"


def evaluate(
    explainer: ScoringExplainer,
    data: pd.DataFrame | np.ndarray | str | Path,
    *,
    target: str | None = None,
    labels: Sequence[Any] | np.ndarray | None = None,
    kinds: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, GlobalExplanation]:
    """Store evaluation rows on ``explainer`` and compute global explanations of ``kinds`` on them.

    ``options`` go to :func:`scorers.globals.explain_global` (``metric``, ``n_repeats``, ``surrogate``).
    The explainer's manifest gets an ``evaluation`` section; saving the explainer writes the rows.
    """
    from . import globals as global_kinds

    say = progress or (lambda _msg: None)
    frame = read_table(data, explainer.features if isinstance(data, np.ndarray) else None)
    if target is not None:
        if target not in frame.columns:
            raise InputError(
                f"target column '{target}' is not in the evaluation data; columns: {list(frame.columns)[:20]}",
                field="eval_target",
            )
        if labels is not None:
            raise InputError("pass either a target column or labels, not both", field="labels")
        labels = frame[target].to_numpy()
        frame = frame.drop(columns=[target])
    if len(frame) == 0:
        raise InputError("expected at least one evaluation row", field="eval_data")
    frame = _typed(explainer.validate(frame), explainer.schema)
    label_array = None
    if labels is not None:
        label_array = np.asarray(labels.tolist() if hasattr(labels, "tolist") else list(labels))
        if len(label_array) != len(frame):
            raise InputError(
                f"expected {len(frame)} labels (one per evaluation row), got {len(label_array)}",
                field="labels",
            )
    if kinds is None:
        kinds = ["shap", "pfi"] if label_array is not None else ["shap"]
    results: dict[str, GlobalExplanation] = {}
    for kind in dict.fromkeys(kinds):
        global_kinds.check_kind(kind)
        if kind == "pfi" and label_array is None:
            raise InputError(
                "permutation importance needs labels: name the label column of the evaluation data "
                "(--eval-target, or --target when it has the same name)",
                field="eval_target",
            )
        say(f"evaluation: {kind} global explanation on {len(frame)} rows")
        results[kind] = global_kinds.explain_global(
            explainer, frame, kind=kind, labels=label_array, **options
        )
    label_column = _label_name(explainer.features, target) if label_array is not None else None
    explainer.evaluation = Evaluation(len(frame), label_column, results, frame, label_array)
    explainer.manifest.evaluation = EvaluationSection(
        file=EVAL_FILE,
        rows=len(frame),
        label_column=label_column,
        globals={k: GlobalSection.model_validate(g.to_json()) for k, g in results.items()},
    )
    return results


def write(explainer: ScoringExplainer, directory: Path) -> None:
    """Write the evaluation rows and labels (one Parquet file) when the explainer has them."""
    if explainer.evaluation is None:
        return
    ev = explainer.evaluation
    frame, labels = ev.rows()
    table = frame.copy()
    if labels is not None and ev.label_column is not None:
        table[ev.label_column] = labels
    table.to_parquet(directory / EVAL_FILE, index=False)


def read(directory: Path, manifest: Manifest, schema: Schema) -> Evaluation | None:
    """The evaluation of a loaded artifact: explanations now, rows when asked for."""
    section = manifest.evaluation
    if section is None:
        return None
    if section.file not in manifest.files:
        raise ArtifactError(f"manifest.json field 'evaluation.file': '{section.file}' is not a listed file")
    return Evaluation(
        section.rows,
        section.label_column,
        {k: GlobalExplanation.from_json(g.model_dump()) for k, g in section.globals.items()},
        path=directory / section.file,
        sha256=manifest.files[section.file],
        schema=schema,
    )


def _read_rows(ev: Evaluation) -> tuple[pd.DataFrame, np.ndarray | None]:
    from .model_io import sha256_file

    assert ev.path is not None and ev.schema is not None
    if not ev.path.is_file() or sha256_file(ev.path) != ev.sha256:
        raise ArtifactError(f"artifact file '{ev.path.name}' is missing or fails its checksum")
    table = pd.read_parquet(ev.path)
    labels = None
    if ev.label_column is not None:
        col = table[ev.label_column]
        labels = col.to_numpy() if pd.api.types.is_numeric_dtype(col) else col.astype(object).to_numpy()
    return _typed(table, ev.schema), labels


def _typed(table: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The schema's columns: numbers as float64, categories as objects (strings, NaN when missing)."""
    frame = pd.DataFrame(index=range(len(table)))
    for f in schema.features:
        col = table[f.name].reset_index(drop=True)
        if f.dtype == CATEGORY:
            frame[f.name] = col.astype(object).where(col.notna(), np.nan)
        else:
            frame[f.name] = col.astype(np.float64)
    return frame
