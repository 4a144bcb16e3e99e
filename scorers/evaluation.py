"""Evaluation rows stored with an artifact (``shapserve package --eval-data``) and the global
explanations computed on them.

:func:`evaluate` reads the rows (CSV, Parquet, DataFrame or array in the raw schema), takes the labels
from a target column (or ``labels=``), validates the rows against the explainer's schema and computes the
requested kinds of global explanation on them (``scorers.global_explanations``): by default ``shap``, and ``pfi``
when there are labels.  :func:`write` stores the rows and labels once, as memory-mapped columns
(``scorers.eval_columns``: column-major ``.npy`` files and a JSON index ``eval.json``, no pickle, no
pyarrow; each file listed with its sha256 like every artifact file); :func:`read` restores them lazily:
the columns are mapped when first asked for (the dashboard, the check rows of the stored predictions),
and the rows are copied into a frame (their checksums checked again) only when
``ScoringExplainer.eval_data`` is asked for.  Artifacts packaged before kept them as Parquet
(``eval.parquet``): still read, with pyarrow, which the serving image carries only for such a model
(``scorers.runtime_packages``; docs/decisions.md 27 and 30).

The rows' predictions are computed once at packaging (``ScoringExplainer.predict_table``) and stored
beside them as ``.npy`` files a served worker memory-maps like the columns (``eval_predictions.npy``:
class positions or values; ``eval_probabilities.npy``: a classifier's probabilities; no pickle, each
listed with its sha256 and checked when the artifact is loaded, not read again), so that a served worker
does not predict 100,000 rows before its dashboard can paint, with the library versions they were made
with (manifest ``evaluation.predictions_versions``).  Artifacts packaged before kept them in one
``eval_predictions.npz``: still read (its checksum checked again on the read, the zip inflated).  They are only a cache:
``ScoringExplainer.eval_predictions`` predicts again when the serving versions differ, or when the model
disagrees with them on rows checked across the table (``scorers.bulk.stored_or_predicted``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import eval_columns, eval_sample
from .bulk import StoredPredictions, check_rows, prediction_versions
from .errors import ArtifactError, InputError
from .explanation_objects import GlobalExplanation
from .input_schema import CATEGORY, Schema
from .manifest import EvaluationSection, GlobalSection, Manifest
from .monitoring import baseline as monitoring
from .runtimes import CLASSIFIER
from .tables import read_table

if TYPE_CHECKING:
    from .scoring_explainer import ScoringExplainer

EVAL_FILE = eval_columns.INDEX_FILE
LEGACY_FILE = "eval.parquet"
PREDICTIONS_FILE = "eval_predictions.npy"
PROBABILITIES_FILE = "eval_probabilities.npy"
LEGACY_PREDICTIONS = "eval_predictions.npz"  # both in one zip: artifacts packaged before the .npy files


@dataclass
class Evaluation:
    """Evaluation rows (validated raw schema), their labels, and the global explanations on them."""

    n_rows: int
    label_column: str | None
    globals: dict[str, GlobalExplanation] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    labels: np.ndarray | None = None
    path: Path | None = None  # where the rows are read from when loaded from an artifact (eval.json)
    sha256: dict[str, str] | None = None  # the checksum of each of its files
    schema: Schema | None = None
    # the rows' predictions at packaging: what predict_table answered (labels or values, probabilities)
    predictions: tuple[np.ndarray, np.ndarray | None] | None = None
    predictions_path: Path | None = None
    predictions_sha256: str | None = None  # checked again when read: the legacy .npz only
    probabilities_path: Path | None = None
    predictions_versions: dict[str, str] | None = None  # the libraries they were made with (None: unknown)
    predictions_codes: np.ndarray | None = None  # a classifier's stored labels as class positions
    # SHAP values of the first rows of the fixed order, explained at packaging (``scorers.eval_sample``)
    shap_sample: np.ndarray | None = None
    shap_sample_path: Path | None = None
    shap_sample_sha256: str | None = None
    _columns: eval_columns.EvalColumns | None = None

    def columns(self) -> eval_columns.EvalColumns | None:
        """The rows as memory-mapped columns (``scorers.eval_columns``), or None for rows not saved yet
        or stored as Parquet (an artifact packaged before)."""
        if self._columns is None and self.path is not None and self.path.name == EVAL_FILE:
            assert self.schema is not None
            self._columns = eval_columns.read(self.path.parent, self.schema)
        return self._columns

    def rows(self) -> tuple[pd.DataFrame, np.ndarray | None]:
        if self.frame is None:
            self.frame, self.labels = _read_rows(self)
        return self.frame, self.labels

    def stored_predictions(self, classes: list[Any] | None) -> StoredPredictions | None:
        """The predictions stored at packaging (labels as ``predict_frame`` answers them, probabilities,
        the versions they were made with), or None when the artifact has none.  ``classes``: the model's,
        to name stored class positions."""
        if self.predictions is None and self.predictions_path is not None:
            self.predictions, self.predictions_codes = _read_predictions(self, classes)
        if self.predictions is None:
            return None
        return StoredPredictions(
            *self.predictions, versions=self.predictions_versions, codes=self.predictions_codes
        )

    def stored_shap_sample(self) -> np.ndarray | None:
        """The SHAP sample explained at packaging (``scorers.eval_sample``), or None when there is none."""
        if self.shap_sample is None and self.shap_sample_path is not None:
            self.shap_sample = eval_sample.read(self.shap_sample_path, self.shap_sample_sha256)
        return self.shap_sample

    def materialize(self, classes: list[Any] | None) -> None:
        """Read everything stored lazily now (before the directory it is read from is replaced)."""
        self.rows()
        self.stored_predictions(classes)
        self.stored_shap_sample()
        self.columns()


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

    ``options`` go to :func:`scorers.global_explanations.explain_global` (``metric``, ``n_repeats``, ``surrogate``).
    The explainer's manifest gets an ``evaluation`` section; saving the explainer writes the rows.
    """
    from . import global_explanations as global_kinds

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
    say("evaluation: explaining the rows for the drift monitor's baseline")
    explainer.baseline = monitoring.of_rows(explainer, frame, "evaluation")
    say(f"evaluation: predicting {len(frame)} rows (stored for the dashboard)")
    predictions = explainer.predict_table(frame)
    say(
        f"evaluation: explaining {min(eval_sample.SAMPLE_ROWS, len(frame))} rows (the dashboard's SHAP sample)"
    )
    shap_sample = eval_sample.explain(explainer, frame)
    label_column = _label_name(explainer.features, target) if label_array is not None else None
    versions = prediction_versions(explainer)
    explainer.evaluation = Evaluation(
        len(frame),
        label_column,
        results,
        frame,
        label_array,
        predictions=predictions,
        predictions_versions=versions,
        shap_sample=shap_sample,
    )
    stored = _encode(predictions, explainer.classes) is not None
    explainer.manifest.evaluation = EvaluationSection(
        file=EVAL_FILE,
        predictions_file=PREDICTIONS_FILE if stored else None,
        probabilities_file=PROBABILITIES_FILE if stored and predictions[1] is not None else None,
        predictions_versions=versions if stored else None,
        shap_sample_file=eval_sample.FILE,
        rows=len(frame),
        label_column=label_column,
        globals={k: GlobalSection.model_validate(g.to_json()) for k, g in results.items()},
    )
    return results


def write(explainer: ScoringExplainer, directory: Path, section: EvaluationSection | None) -> None:
    """Write the evaluation rows and labels (``scorers.eval_columns``) and their stored predictions when
    the explainer has them; ``section``: the saved manifest's, which names the files written."""
    if explainer.evaluation is None:
        return
    ev = explainer.evaluation
    frame, labels = ev.rows()
    stored = ev.stored_predictions(explainer.classes)
    arrays = (
        None if stored is None else _encode((stored.labels, stored.proba), explainer.classes, stored.codes)
    )
    for name in (PREDICTIONS_FILE, PROBABILITIES_FILE, LEGACY_PREDICTIONS):
        (directory / name).unlink(missing_ok=True)  # a new file, not the one a loaded artifact has mapped
    if section is not None:
        _write_predictions(directory, section, arrays if section.predictions_file is not None else None)
    shap_sample = ev.stored_shap_sample()  # read before the file is replaced (saved over itself)
    (directory / eval_sample.FILE).unlink(missing_ok=True)
    if section is not None and section.shap_sample_file is not None and shap_sample is not None:
        eval_sample.write(directory, shap_sample)
    checked = check_rows(
        frame, stored.labels if stored is not None and explainer.task == CLASSIFIER else None
    )
    assert explainer.schema is not None
    eval_columns.write(directory, frame, explainer.schema, labels, checked)
    (directory / LEGACY_FILE).unlink(missing_ok=True)  # an older artifact saved over itself: now columns
    if section is not None:
        section.file = EVAL_FILE


def _write_predictions(
    directory: Path, section: EvaluationSection, arrays: dict[str, np.ndarray] | None
) -> None:
    """The stored predictions as ``.npy`` files (an artifact packaged with the ``.npz`` and saved over
    itself now has them too); the section names what was written."""
    section.predictions_file = section.probabilities_file = None
    if arrays is None:
        return
    labels = arrays["codes"] if "codes" in arrays else arrays["values"]
    np.save(directory / PREDICTIONS_FILE, np.ascontiguousarray(labels), allow_pickle=False)
    section.predictions_file = PREDICTIONS_FILE
    if "probabilities" in arrays:
        np.save(
            directory / PROBABILITIES_FILE, np.ascontiguousarray(arrays["probabilities"]), allow_pickle=False
        )
        section.probabilities_file = PROBABILITIES_FILE


def _encode(
    predictions: tuple[np.ndarray, np.ndarray | None],
    classes: list[Any] | None,
    codes: np.ndarray | None = None,
) -> dict[str, np.ndarray] | None:
    """Arrays without objects: class positions (classifiers; ``codes`` when known) or float64 values, and
    the probabilities.  None when a predicted label names no class (nothing is stored then, and it is
    predicted when served)."""
    labels, proba = predictions
    out: dict[str, np.ndarray] = {}
    if classes is None:
        out["values"] = np.asarray(labels, dtype=np.float64)
    elif codes is not None:
        out["codes"] = np.asarray(codes, dtype=np.int64)
    else:
        index = {_key(c): i for i, c in enumerate(classes)}
        codes = np.fromiter((index.get(_key(v), -1) for v in labels), dtype=np.int64, count=len(labels))
        if codes.size and codes.min() < 0:
            return None
        out["codes"] = codes
    if proba is not None:
        out["probabilities"] = np.asarray(proba, dtype=np.float64)
    return out


def _key(v: Any) -> str:
    return str(v.item() if isinstance(v, np.generic) else v)


def _read_predictions(
    ev: Evaluation, classes: list[Any] | None
) -> tuple[tuple[np.ndarray, np.ndarray | None], np.ndarray | None]:
    """(labels or values, probabilities) and, for a classifier, the class positions they were stored as:
    mapped ``.npy`` files (checked when the artifact was loaded), or an older artifact's ``.npz``."""
    path = ev.predictions_path
    assert path is not None
    if path.suffix == ".npz":
        arrays = _read_legacy(path, ev.predictions_sha256)
        stored, proba = arrays["codes" if classes is not None else "values"], arrays.get("probabilities")
    else:
        stored = eval_columns.mapped(path)
        proba = None if ev.probabilities_path is None else eval_columns.mapped(ev.probabilities_path)
    _check_predictions(path.name, ev.n_rows, stored, proba, classes)
    if classes is None:
        return (stored, proba), None
    names = np.empty(len(classes), dtype=object)
    names[:] = list(classes)
    return (names[stored], proba), stored


def _read_legacy(path: Path, sha256: str | None) -> dict[str, np.ndarray]:
    from .model_io import sha256_file

    if not path.is_file() or sha256_file(path) != sha256:
        raise ArtifactError(f"artifact file '{path.name}' is missing or fails its checksum")
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _check_predictions(
    name: str, n: int, stored: np.ndarray, proba: np.ndarray | None, classes: list[Any] | None
) -> None:
    """One prediction per row: class positions of ``classes`` (int64) or float64 values, and (n, K)
    float64 probabilities."""
    kind = np.int64 if classes is not None else np.float64
    fine = stored.shape == (n,) and stored.dtype == kind
    if fine and classes is not None and n:
        fine = int(stored.min()) >= 0 and int(stored.max()) < len(classes)
    if proba is not None:
        fine = fine and proba.dtype == np.float64 and proba.shape == (n, len(classes or []))
    if not fine:
        raise ArtifactError(
            f"artifact file '{name}': expected the {n} rows' predictions "
            + ("as positions in the model's classes" if classes is not None else "as float64 values")
        )


def read(directory: Path, manifest: Manifest, schema: Schema) -> Evaluation | None:
    """The evaluation of a loaded artifact: explanations now, rows when asked for."""
    section = manifest.evaluation
    if section is None:
        return None
    listed = (
        ("file", section.file),
        ("predictions_file", section.predictions_file),
        ("probabilities_file", section.probabilities_file),
        ("shap_sample_file", section.shap_sample_file),
    )
    for name, value in listed:
        if value is not None and value not in manifest.files:
            raise ArtifactError(f"manifest.json field 'evaluation.{name}': '{value}' is not a listed file")
    rows = eval_columns.files(directory) if section.file == EVAL_FILE else [section.file]
    for value in rows:
        if value not in manifest.files:
            raise ArtifactError(
                f"artifact file '{EVAL_FILE}' names '{value}', which the manifest does not list"
            )
    predictions, shap_sample = section.predictions_file, section.shap_sample_file
    probabilities = section.probabilities_file
    return Evaluation(
        section.rows,
        section.label_column,
        {k: GlobalExplanation.from_json(g.model_dump()) for k, g in section.globals.items()},
        path=directory / section.file,
        sha256={name: manifest.files[name] for name in rows},
        schema=schema,
        predictions_path=None if predictions is None else directory / predictions,
        predictions_sha256=None if predictions is None else manifest.files[predictions],
        probabilities_path=None if probabilities is None else directory / probabilities,
        predictions_versions=section.predictions_versions,
        shap_sample_path=None if shap_sample is None else directory / shap_sample,
        shap_sample_sha256=None if shap_sample is None else manifest.files[shap_sample],
    )


def _read_rows(ev: Evaluation) -> tuple[pd.DataFrame, np.ndarray | None]:
    from .model_io import sha256_file

    assert ev.path is not None and ev.schema is not None and ev.sha256 is not None
    for name, digest in ev.sha256.items():
        path = ev.path.parent / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ArtifactError(f"artifact file '{name}' is missing or fails its checksum")
    columns = ev.columns()
    if columns is not None:
        return columns.rows(), columns.label_array()
    table = pd.read_parquet(ev.path)  # an artifact packaged before the columns (pyarrow)
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
