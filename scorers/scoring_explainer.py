"""The scoring explainer: the facade a caller (the service, the CLI, a notebook) talks to.

Build it with :func:`scorers.fit` or :func:`scorers.load`.  It holds the model runtime, the input
schema, the masking, the fitted scorer, the background and the manifest (what fit decided and
measured); callers ask it for predictions and explanations and never reach into the backend.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import errorbars
from .background import Background
from .errors import ExplanationCancelled, InputError, UnsupportedModelError
from .explanation_objects import Explanation, GlobalExplanation
from .input_schema import Schema
from .kinds import Scorer
from .manifest import Manifest
from .masking import Masking
from .runtimes import CLASSIFIER, ModelRuntime

if TYPE_CHECKING:
    from .bulk import TablePredictions
    from .counterfactuals import CounterfactualIndex, Counterfactuals
    from .decision_predictions import DecisionPredictions
    from .evaluation import Evaluation
    from .global_explanations import Mimic
    from .interactions import Interactions
    from .monitoring.baseline import Baseline


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# A cancellable explanation asks its token between slices of rows of about this many seconds (so it
# stops within about that long); the slices never exceed _MAX_SLICE rows.
_SLICE_SECONDS = 0.05
_MAX_SLICE = 1024
# BLAS kernels work on rows in blocks of 4 (OpenBLAS's GEMM and GEMV; one row alone takes another path),
# so a model's output for a row can change in the last bit with the rows evaluated beside it.  Slices
# made of whole blocks from the first row, the last one taking the remainder, give every row the block
# and the position it has in one evaluation of all the rows: the same bits (tests/scorers/test_cancellation).
ROW_BLOCK = 4


def slice_end(start: int, size: int, n: int, block: int = ROW_BLOCK) -> int:
    """End of the slice of about ``size`` rows that starts at ``start`` (a multiple of ``block``) in ``n``
    rows: whole blocks, and the last slice takes any remainder smaller than a block."""
    end = start + max(block, size - size % block)
    return n if n - end < block else end


class ScoringExplainer:
    """A fitted scoring explainer.

    Methods taking ``rows`` validate them (DataFrame, array, or JSON-like list of objects or arrays);
    the ``*_frame`` methods take a frame that :meth:`validate` returned, so a caller that validates once
    (the service) does not pay for it twice.
    """

    def __init__(
        self,
        runtime: ModelRuntime,
        schema: Schema,
        masking: Masking,
        scorer: Scorer,
        background: Background,
        manifest: Manifest,
        global_explanation: GlobalExplanation | None = None,
        sample: pd.DataFrame | None = None,
        onnx_head: bytes | None = None,
    ) -> None:
        self.runtime = runtime
        self.schema = schema
        self.masking = masking
        self.scorer = scorer
        self.background = background
        self.manifest = manifest
        self.global_explanation = global_explanation
        self.sample = sample
        self.onnx_head = onnx_head
        self.evaluation: Evaluation | None = (
            None  # evaluation rows and global explanations (scorers.evaluation)
        )
        self.baseline: Baseline | None = None  # the drift monitor's baseline (scorers.monitoring)
        self.surrogates: dict[str, Mimic] = {}  # mimic surrogates fitted on demand
        self._counterfactual_index: CounterfactualIndex | None = None  # built on first use

    # -- facts ------------------------------------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        return self.schema.names

    @property
    def task(self) -> str:
        return self.runtime.task

    @property
    def classes(self) -> list[Any] | None:
        return list(self.runtime.classes) if self.task == CLASSIFIER else None

    @property
    def output_space(self) -> str:
        return self.manifest.output_space

    @property
    def expected_values(self) -> np.ndarray:
        return self.scorer.base_values

    # -- rows -------------------------------------------------------------------------------------------
    def validate(self, rows: Any) -> pd.DataFrame:
        """Rows (DataFrame, array, or JSON-like list) checked against the schema; raises InputError."""
        if isinstance(rows, (pd.DataFrame, np.ndarray)):
            return self.schema.validate_frame(rows)
        return self.schema.rows_to_frame(rows)

    # -- predictions ------------------------------------------------------------------------------------
    def predict(self, rows: Any) -> np.ndarray:
        return self.predict_frame(self.validate(rows))

    def predict_proba(self, rows: Any) -> np.ndarray:
        return self.predict_proba_frame(self.validate(rows))

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return self.named(self.runtime.predict(frame))

    def predict_table(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """(``predict_frame``, ``predict_proba_frame`` or None) of many validated rows, through a verified
        fast path where the model has one (``scorers.bulk``)."""
        from .bulk import predict_table

        return predict_table(self, frame)

    def encoded_predictions(
        self, frame: pd.DataFrame, encoded: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(``masking.encode``, ``predict_frame``, ``predict_proba_frame`` or None) of validated rows.  For a
        scikit-learn Pipeline masked by its preprocessing, that preprocessing runs once: the head predicts
        on the encoding, as ``Pipeline.predict`` does; ``encoded``, when the caller has the rows' encoding
        already (a counterfactual search's gathered rows), stands for ``masking.encode(frame)``."""
        x = self.masking.encode(frame) if encoded is None else encoded
        on_head = getattr(self.runtime, "head_predictions", None)  # scikit-learn Pipelines
        both = on_head(x, self.masking.mode) if on_head is not None else None
        if both is not None:
            return x, self.named(both[0]), both[1]
        proba = self.predict_proba_frame(frame) if self.task == CLASSIFIER else None
        return x, self.predict_frame(frame), proba

    def eval_predictions(self) -> TablePredictions | None:
        """Predictions of the evaluation rows (``eval_data``): the ones stored at packaging once the model
        agrees with them on the first rows, else predicted now (``scorers.bulk.stored_or_predicted``)."""
        if self.evaluation is None:
            return None
        from .bulk import checked_stored, stored_or_predicted

        stored = self.evaluation.stored_predictions(self.classes)
        columns = self.evaluation.columns()
        if stored is not None and columns is not None:  # checked on the rows chosen at packaging
            rows = columns.check_rows
            found = checked_stored(self, stored, columns.n_rows, rows, lambda: columns.rows(rows))
            if found is not None:
                return found
        frame, _ = self.evaluation.rows()
        return stored_or_predicted(self, frame, stored)

    def named(self, out: np.ndarray) -> np.ndarray:
        """The runtime's labels as ``predict_frame`` answers them."""
        labels = self.manifest.model.labels
        if labels is None:
            return out
        # classes were named at fit: a label becomes the name at its position (scorers.fit ``classes``)
        names = self.runtime.classes
        index = {label: names[i] for i, label in enumerate(labels)}
        return np.array([index.get(_plain(v), v) for v in out], dtype=object)

    def predict_proba_frame(self, frame: pd.DataFrame) -> np.ndarray:
        if self.task != CLASSIFIER:
            raise UnsupportedModelError("a regressor has no class probabilities")
        return self.runtime.predict_proba(frame)

    def predictions(
        self, frame: pd.DataFrame, outputs: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(``predict_frame``, ``predict_proba_frame`` or None) of validated rows; from the rows' explained
        ``outputs`` (or their decision values as one GEMM) where a decision path was verified for this
        model (``scorers.decision_predictions``), else from the model's own calls."""
        path = self.decision_path
        if path is None:
            proba = self.predict_proba_frame(frame) if self.task == CLASSIFIER else None
            return self.predict_frame(frame), proba
        if outputs is None:
            labels, proba = path.of_rows(frame, self.masking.encode(frame))
        else:
            labels, proba = path.of(frame, outputs)
        return self.named(labels), proba

    @functools.cached_property
    def decision_path(self) -> DecisionPredictions | None:
        """The verified decision path of this model, or None (checked once, on the packaged rows)."""
        from .decision_predictions import verified

        return verified(self)

    # -- explanations -----------------------------------------------------------------------------------
    def explain(
        self,
        rows: Any,
        *,
        engineered: bool = False,
        cancel: Callable[[], bool] | None = None,
        error_estimate: bool = True,
        max_error: float | None = None,
        max_error_seconds: float = 10.0,
    ) -> Explanation:
        """Local explanation of rows (see :class:`Explanation` for shapes), with each row's error estimate
        (``Explanation.error_estimate``, scorers.errorbars) unless ``error_estimate=False``; ``max_error``
        refines rows towards that per-row sigma within ``max_error_seconds``.  Engineered explanations
        (linear, tree: exact for their background) carry no estimate.  No rows: an InputError, as over
        HTTP (an empty ``instances``)."""
        frame = self.validate(rows)
        if len(frame) == 0:
            raise InputError("expected at least one row to explain, got none", field="rows")
        return self.explain_frame(
            frame,
            engineered=engineered,
            cancel=cancel,
            error_estimate=error_estimate and not engineered,
            max_error=max_error,
            max_error_seconds=max_error_seconds,
        )

    def explain_frame(
        self,
        frame: pd.DataFrame,
        *,
        engineered: bool = False,
        cancel: Callable[[], bool] | None = None,
        error_estimate: bool = False,
        max_error: float | None = None,
        max_error_seconds: float = 10.0,
    ) -> Explanation:
        """Local explanation of validated rows.

        ``cancel`` (e.g. a ``threading.Event``'s ``is_set``) is asked between slices of rows, about every
        50 ms; once it returns True the explanation stops with :class:`ExplanationCancelled`.  A row's
        values do not depend on the rows explained with it (a rule every kind keeps), so the slicing
        changes nothing: the result equals an uncancellable call's bit for bit.  Without ``cancel`` the
        rows go to the scorer in one call.  Engineered explanations (linear, tree: fast) are not sliced.
        """
        x = self.masking.encode(frame)
        names = self.features
        if engineered:
            result = self.scorer.engineered_values(x)
            if result is None:
                raise UnsupportedModelError(
                    f"the {self.scorer.name} scorer explains raw features only; engineered explanations "
                    "come from the linear and tree scorers"
                )
            values, outputs = result
            names = self.masking.encoded_names
            if error_estimate or max_error is not None:
                raise UnsupportedModelError("error estimates are given for raw-feature explanations only")
        elif error_estimate or max_error is not None:
            return self._explain_with_errors(frame, x, cancel, max_error, max_error_seconds)
        else:
            values, outputs = self._shap_values(x, cancel)
        return self._explanation(values, outputs, names)

    def explain_encoded(self, x: np.ndarray) -> Explanation:
        """:meth:`explain_frame` (no error estimate) of rows already encoded by ``masking.encode``."""
        values, outputs = self._shap_values(x, None)
        return self._explanation(values, outputs, self.features)

    def _explanation(
        self, values: np.ndarray, outputs: np.ndarray, names: list[str], **extra: Any
    ) -> Explanation:
        return Explanation(
            values=values,
            base_values=np.asarray(self.expected_values, dtype=np.float64),
            outputs=outputs,
            features=names,
            classes=self.classes,
            output_space=self.output_space,
            scorer=self.scorer.name,
            **extra,
        )

    def _explain_with_errors(
        self,
        frame: pd.DataFrame,
        x: np.ndarray,
        cancel: Callable[[], bool] | None,
        max_error: float | None,
        seconds: float,
    ) -> Explanation:
        """Values with their error estimate (scorers.errorbars), refined towards ``max_error`` if given."""
        deadline = time.perf_counter() + seconds
        rel = errorbars.background_rel_error(self.manifest.fidelity, self.scorer.name)
        population = self.manifest.background.source_rows
        values, outputs, se = self.in_slices(errorbars.with_se(self.scorer, population), x, cancel)
        if max_error is None:
            return self._explanation(
                values, outputs, self.features, error_estimate=errorbars.combine(values, se, rel)
            )
        done = errorbars.refine(self.scorer, x, values, outputs, se, rel, max_error, deadline, population)
        return self._explanation(
            done.values,
            done.outputs,
            self.features,
            error_estimate=done.error,
            refinement=done.status,
            coalitions=done.coalitions,
        )

    def _shap_values(self, x: np.ndarray, cancel: Callable[[], bool] | None) -> Any:
        """(values, outputs)."""
        return self.in_slices(self.scorer.shap_values, x, cancel)

    def in_slices(
        self,
        compute: Callable[[np.ndarray], tuple[np.ndarray, ...]],
        x: np.ndarray,
        cancel: Callable[[], bool] | None,
    ) -> tuple[np.ndarray, ...]:
        """``compute`` (encoded rows -> arrays with a row axis first) of rows ``x``, in slices of about
        ``_SLICE_SECONDS`` with ``cancel`` asked before each (``ExplanationCancelled`` once it returns True);
        in one call without ``cancel``.  ``compute`` must give a row the same values whatever rows it
        comes with (every kind's rule, and the interaction methods')."""
        n = len(x)
        if cancel is None or n == 0:
            return compute(x)
        # a kind that explains each row alone may stop after any row; the others, after whole blocks
        block = 1 if self.scorer.rows_alone else ROW_BLOCK
        parts: list[tuple[np.ndarray, ...]] = []
        lo, size = 0, block
        while lo < n:
            if cancel():
                raise ExplanationCancelled(f"the explanation was cancelled after {lo} of {n} rows")
            t0 = time.perf_counter()
            hi = slice_end(lo, size, n, block)
            parts.append(compute(x[lo:hi]))
            # grow (at most doubling) or shrink the next slice towards _SLICE_SECONDS
            rate = (hi - lo) / max(time.perf_counter() - t0, 1e-9)
            size = max(block, min(2 * (hi - lo), _MAX_SLICE, int(rate * _SLICE_SECONDS)))
            lo = hi
        if len(parts) == 1:  # one slice (a 1-row request): its arrays, as an uncancellable call gives them
            return parts[0]
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(len(parts[0])))

    def interactions(self, rows: Any, *, cancel: Callable[[], bool] | None = None) -> Interactions:
        """Pairwise Shapley interaction values of rows, with the main effects on the diagonal: each row
        of a matrix sums to the feature's SHAP value (see :mod:`scorers.interactions`).  ``cancel`` as
        :meth:`explain_frame`'s: asked between slices of rows."""
        return self.interactions_frame(self.validate(rows), cancel=cancel)

    def interactions_frame(
        self, frame: pd.DataFrame, *, cancel: Callable[[], bool] | None = None
    ) -> Interactions:
        """:meth:`interactions` of validated rows."""
        from .interactions import interactions

        return interactions(self, frame, cancel)

    def explain_global(
        self, rows: Any | None = None, *, kind: str = "shap", labels: Any = None, **options: Any
    ) -> GlobalExplanation:
        """A global explanation of ``kind`` (``shap``: mean |SHAP|; ``pfi``: permutation importance, needs
        ``labels``; ``mimic``: a global surrogate's mean |SHAP| and fidelity) computed on ``rows``, or the
        one stored at packaging when ``rows`` is None (see :mod:`scorers.global_explanations`).  ``options``:
        ``metric``, ``n_repeats``, ``random_state`` (pfi), ``surrogate`` (mimic)."""
        from . import global_explanations as global_kinds

        if rows is None:
            return global_kinds.stored(self, kind)
        return global_kinds.explain_global(self, self.validate(rows), kind=kind, labels=labels, **options)

    def counterfactuals(
        self, rows: Any, target: Any, *, count: int = 1, constraints: Any = None
    ) -> Counterfactuals:
        """Up to ``count`` diverse counterfactuals of each row that reach ``target`` (a class, or
        ``[low, high]`` of a regressor's prediction) within ``constraints`` (``scorers.counterfactuals``:
        ``fixed`` features, allowed ``ranges`` and ``categories``), each with its prediction and
        explanation.  A row that cannot reach the target says why (``RowCounterfactuals.reason``)."""
        return self.counterfactuals_frame(self.validate(rows), target, count=count, constraints=constraints)

    def counterfactuals_frame(
        self, frame: pd.DataFrame, target: Any, *, count: Any = 1, constraints: Any = None
    ) -> Counterfactuals:
        """:meth:`counterfactuals` of validated rows."""
        return self.counterfactual_index().find(
            frame,
            target=target,
            count=count,
            constraints=constraints,
            classes=self.classes,
            judge=self.encoded_predictions,
            explain=self.explain_encoded,
        )

    def counterfactual_index(self) -> CounterfactualIndex:
        """The training rows the artifact stores, indexed once for counterfactual searches."""
        if self._counterfactual_index is None:
            from .counterfactuals import CounterfactualIndex

            rows = [self.background.raw]
            if self.sample is not None:
                rows.append(self.sample)
            if self.evaluation is not None:
                rows.append(self.evaluation.rows()[0])
            from .counterfactuals.fast import Rbf

            settings = self.manifest.counterfactuals
            _, head = self.runtime.encoder(self.masking.mode)
            self._counterfactual_index = CounterfactualIndex.build(
                self.schema,
                rows,
                self.masking.encode,
                self.masking.column_group,
                self.scorer.outputs,
                Rbf.of(head, self.task, self.output_space),
                immutable=settings.immutable if settings is not None else (),
            )
        return self._counterfactual_index

    @property
    def eval_data(self) -> tuple[pd.DataFrame, np.ndarray | None] | None:
        """The evaluation rows stored with the artifact (``--eval-data``) and their labels, if any."""
        return self.evaluation.rows() if self.evaluation is not None else None

    def save(self, directory: str | Path) -> Path:
        from .artifact import save

        return save(self, directory)
