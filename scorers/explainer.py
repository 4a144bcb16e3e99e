"""The scoring explainer: the facade a caller (the service, the CLI, a notebook) talks to.

Build it with :func:`scorers.fit` or :func:`scorers.load`.  It holds the model runtime, the input
schema, the masking, the fitted scorer, the background and the manifest (what fit decided and
measured); callers ask it for predictions and explanations and never reach into the backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .background import Background
from .errors import InputError, UnsupportedModelError
from .explanation import Explanation, GlobalExplanation
from .kinds import Scorer
from .manifest import Manifest
from .masking import Masking
from .runtimes import CLASSIFIER, ModelRuntime
from .schema import Schema


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
        return self.runtime.predict(frame)

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

    def explain_global(self, rows: Any | None = None) -> GlobalExplanation:
        """Mean |SHAP| per feature over rows (default: the stored global explanation)."""
        if rows is None and self.global_explanation is not None:
            return self.global_explanation
        if rows is None:
            raise InputError("no stored global explanation; pass rows to explain", field="rows")
        exp = self.explain(rows)
        return GlobalExplanation(
            np.abs(exp.values).mean(axis=0), self.features, self.classes, self.output_space, len(exp.values)
        )

    def save(self, directory: str | Path) -> Path:
        from .artifact import save

        return save(self, directory)
