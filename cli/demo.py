"""``shapserve demo``: package the seed's model (the default) and the mixed-type loan pipeline."""

from __future__ import annotations

from typing import Any

from scorers.examples import breast_cancer_svc, loan_pipeline

from .bento import DEFAULT_NAME, package
from .progress import Progress


def demo(build: bool = False) -> dict[str, Any]:
    say = Progress()
    say("demo: training the seed's model, SVC(gamma=0.001, C=100., probability=True) on breast cancer")
    model, x_train, *_ = breast_cancer_svc()
    out = package(
        model, x_train, name=DEFAULT_NAME, progress=say, build=build, labels={"example": "breast-cancer"}
    )
    say("demo: training the mixed-type example (ColumnTransformer with impute, scale, one-hot)")
    pipe, x, _ = loan_pipeline()
    loan = package(pipe, x, name="shapserve-loan", progress=say, labels={"example": "loan"})
    out["examples"] = {"shapserve-loan": loan["model_tag"]}
    return out
