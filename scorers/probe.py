"""Model probing at fit: ask the model which raw features it can impute, whether it takes unseen
categories and how large a number it reads (``scorers.magnitude``), so that validation at serving time
accepts exactly what the model accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .input_schema import CATEGORY, Feature
from .magnitude import probe_magnitude
from .model_failure import failure
from .runtimes import ModelRuntime

UNSEEN = "__shapserve_unseen_category__"
ROWS = 256  # training rows the model must answer at packaging (and as many with a missing value)


def check_training_rows(model: ModelRuntime, frame: pd.DataFrame) -> None:
    """The model must answer its training rows (the first 256, and 256 of those with a missing
    value): else they are not its input, and packaging stops here with why, naming the column whose
    missing values the model does not impute, instead of failing later inside a scorer."""
    missing = frame.isna()
    rows = frame.loc[frame.index[:ROWS].union(frame.index[missing.any(axis=1)][:ROWS])]
    why = failure(model, rows, proba=False)
    if why is None:
        return
    complete = rows[~missing.loc[rows.index].any(axis=1)]
    if len(complete) and failure(model, complete, proba=False) is None:
        for name in frame.columns[missing.any(axis=0)]:
            test = complete.iloc[:2].copy()
            test[name] = np.nan if pd.api.types.is_numeric_dtype(frame[name]) else None
            if failure(model, test, proba=False) is not None:
                raise InputError(
                    f"the training rows hold missing values in '{name}', and the model fails on them ({why}); "
                    "impute them before training, or package a Pipeline that imputes",
                    field=str(name),
                )
    raise InputError(
        f"the model fails on the training rows ({why}); pass the rows it was trained on, in its raw input "
        f"schema (columns here: {list(frame.columns)})",
        field="background",
    )


def probe_features(model: ModelRuntime, frame: pd.DataFrame, features: list[Feature]) -> None:
    """Set ``nullable``, ``unseen`` and ``max_abs`` on each feature by trying two training rows."""
    rows = frame.iloc[:2].copy()

    def works(test: pd.DataFrame) -> bool:
        return failure(model, test) is None

    for feat in features:
        if not feat.nullable:
            test = rows.copy()
            test[feat.name] = np.nan if feat.dtype != CATEGORY else None
            if feat.dtype == CATEGORY:
                test[feat.name] = test[feat.name].astype(object)
            feat.nullable = works(test)
        if feat.dtype == CATEGORY:
            test = rows.copy()
            test[feat.name] = UNSEEN
            feat.unseen = "accepted" if works(test) else "rejected"
    probe_magnitude(model, frame, features)
