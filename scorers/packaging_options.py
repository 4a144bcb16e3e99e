"""``PackagingOptions``: every choice a caller of ``scorers.fit`` can make, typed and checked once.

``scorers.fit(model, rows, **keywords)`` builds one from its keywords; the packaging steps in
``scorers/fit.py`` read it and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .errors import InputError

Table: TypeAlias = pd.DataFrame | np.ndarray | str | Path


@dataclass(frozen=True)
class PackagingOptions:
    """What to package and how (``scorers.fit``'s keywords, with the same defaults)."""

    scorer: str = "auto"  # a kind of scorers.kinds.REGISTRY, or auto
    output_space: str | None = None  # the space explained; None: the kind's choice for the model
    background_size: int | str | None = None  # rows of the background, "all", or None: the kind's own
    summary: str | None = None  # kmeans, sample, all or calibrated (None: calibrated unless a size is given)
    n_coalitions: int | None = None  # coalitions of a sampling kind; None: the kind's default
    max_exact_features: int = 12  # the most features the exact scorer enumerates
    eval_size: int = 200  # rows of the fit-time checks (and the sample stored for them)
    onnx: bool = True  # try an ONNX export of the model function
    onnx_tolerance: float = 1e-10  # the largest difference to the native model the export may show
    anchor: bool = True  # the kernel scorer's control variate on an exact scorer
    target: str | None = None  # a column of the training rows to drop (the label)
    feature_names: Sequence[str] | None = None  # names of an array's columns
    classes: Sequence[Any] | None = None  # names of a classifier's classes, in the model's own order
    task: str | None = None  # classifier / regressor, for a black box
    seed: int = 0
    max_error: float | None = None  # grow the background until the stated error meets it
    latency_budget_ms: float | None = None  # the most accurate background whose time per row fits
    calibrate: bool = True  # fit background weights to the full data (with the default summary)
    holdout: Table | None = None  # rows no fit may see; the stated error is also measured on them
    immutable: Sequence[str] = ()  # features no counterfactual may change (manifest.counterfactuals)

    def __post_init__(self) -> None:
        if self.max_error is not None and self.latency_budget_ms is not None:
            raise InputError("give max_error or latency_budget_ms, not both", field="max_error")

    @property
    def calibrating(self) -> bool:
        """Background weights are fitted to the full data: the default summary, asked or implied."""
        return self.calibrate and (
            self.summary == "calibrated" or (self.summary is None and self.background_size is None)
        )
