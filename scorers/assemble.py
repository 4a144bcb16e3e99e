"""One assembly path: ``fit`` and ``load`` build the explainer through the same function.

Fit arrives here with its decisions in a manifest (masking, background, space, coalition runtime,
kind) and fits the scorer; load arrives with the same decisions read from ``manifest.json`` and the
scorer's saved state.  Everything between (the game on the weighted background, the context a scorer
sees, the kind's derived helpers such as an anchor, the facade) is built here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .background import Background
from .explanation_objects import GlobalExplanation
from .input_schema import Schema
from .kinds import REGISTRY, FitContext, FitOptions, Scorer
from .manifest import Manifest
from .masking import Game, Masking
from .runtimes import CLASSIFIER, ModelRuntime, OutputFn
from .scoring_explainer import ScoringExplainer


def _jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def context(
    runtime: ModelRuntime, masking: Masking, background: Background, space: str, fn: OutputFn, fn_name: str
) -> FitContext:
    """What a scorer sees: the game of the model function against the weighted, encoded background."""
    head = runtime.encoder(masking.mode)[1]
    n_outputs = len(runtime.classes) if runtime.task == CLASSIFIER else 1
    game = Game(masking, fn, background.encoded, background.weights)
    return FitContext(masking, game, head, space, runtime.task, n_outputs, masking.mode, fn_name)


def assemble(
    runtime: ModelRuntime,
    schema: Schema,
    masking: Masking,
    background: Background,
    manifest: Manifest,
    fn: OutputFn,
    *,
    options: FitOptions | None = None,
    state: dict[str, np.ndarray] | None = None,
    global_explanation: GlobalExplanation | None = None,
    sample: pd.DataFrame | None = None,
    onnx_head: bytes | None = None,
) -> ScoringExplainer:
    """The explainer: fit the manifest's scorer kind (``state`` None, parameters from ``options``) or
    restore it from ``state`` with the manifest's parameters."""
    ctx = context(runtime, masking, background, manifest.output_space, fn, manifest.model.coalition_runtime)
    cls = REGISTRY[manifest.scorer.kind]
    scorer: Scorer
    if state is None:
        scorer = cls(**cls.fit_params(ctx, options or FitOptions())).fit(ctx)
        manifest.scorer.params = {k: _jsonable(v) for k, v in scorer.params.items()}
        manifest.scorer.n_coalitions = scorer.n_coalitions
        manifest.expected_values = np.asarray(scorer.base_values, dtype=np.float64).tolist()
    else:
        scorer = cls(**manifest.scorer.params).set_state(ctx, state)
    return ScoringExplainer(
        runtime, schema, masking, scorer, background, manifest, global_explanation, sample, onnx_head
    )
