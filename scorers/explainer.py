"""The scoring explainer: the facade a caller (the service, the CLI, a notebook) talks to.

Build it with :func:`scorers.fit` or :func:`scorers.load`.  It holds the model runtime, the input
schema, the masking, the fitted scorer, the background and the manifest (what fit decided and
measured); callers ask it for predictions and explanations and never reach into the backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .background import Background
from .errors import UnsupportedModelError
from .explanation import Explanation, GlobalExplanation
from .kinds import Scorer
from .manifest import Manifest
from .masking import Masking
from .runtimes import CLASSIFIER, ModelRuntime
from .schema import Schema

if TYPE_CHECKING:
    from .evaluation import Evaluation
    from .globals import Mimic


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


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
        self.surrogates: dict[str, Mimic] = {}  # mimic surrogates fitted on demand (scorers.globals)

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
        out = self.runtime.predict(frame)
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

    # -- explanations -----------------------------------------------------------------------------------
    def explain(self, rows: Any, *, engineered: bool = False) -> Explanation:
        """Local explanation of rows (see :class:`Explanation` for shapes)."""
        return self.explain_frame(self.validate(rows), engineered=engineered)

    def explain_frame(self, frame: pd.DataFrame, *, engineered: bool = False) -> Explanation:
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
        else:
            values, outputs = self.scorer.shap_values(x)
        return Explanation(
            values=values,
            base_values=np.asarray(self.expected_values, dtype=np.float64),
            outputs=outputs,
            features=names,
            classes=self.classes,
            output_space=self.output_space,
            scorer=self.scorer.name,
        )

    def explain_global(
        self, rows: Any | None = None, *, kind: str = "shap", labels: Any = None, **options: Any
    ) -> GlobalExplanation:
        """A global explanation of ``kind`` (``shap``: mean |SHAP|; ``pfi``: permutation importance, needs
        ``labels``; ``mimic``: a global surrogate's mean |SHAP| and fidelity) computed on ``rows``, or the
        one stored at packaging when ``rows`` is None (see :mod:`scorers.globals`).  ``options``:
        ``metric``, ``n_repeats``, ``random_state`` (pfi), ``surrogate`` (mimic)."""
        from . import globals as global_kinds

        if rows is None:
            return global_kinds.stored(self, kind)
        return global_kinds.explain_global(self, self.validate(rows), kind=kind, labels=labels, **options)

    @property
    def eval_data(self) -> tuple[pd.DataFrame, np.ndarray | None] | None:
        """The evaluation rows stored with the artifact (``--eval-data``) and their labels, if any."""
        return self.evaluation.rows() if self.evaluation is not None else None

    def save(self, directory: str | Path) -> Path:
        from .artifact import save

        return save(self, directory)
