"""The seed's scoring explainers (``azureml.interpret.scoring.scoring_explainer``): a lightweight explainer
to deploy beside the model, ``save`` and ``load``.

``KernelScoringExplainer(explainer)``, ``TreeScoringExplainer(explainer)`` and
``LinearScoringExplainer(explainer)`` take a ``TabularExplainer`` and force their scorer kind (``kernel``,
``tree``, ``linear``); the TabularExplainer's own fitted explainer is reused when it already is of that
kind.  ``explain(x)`` answers what the seed's ``score.py`` puts under ``local_importance_values``, in Azure
ML's layout: for a classifier a list per class of ``[row][feature]`` matrices, for a regressor one
``[row][feature]`` matrix; raw features by default, engineered ones with ``get_raw=False`` (linear and
tree scorers).  ``save`` writes a shapserve artifact (the directory ``shapserve package`` stores and the
service loads); ``load`` reads it back with its checksums verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ArtifactError, InputError, UnsupportedOperationError
from ..fit import fit
from ..manifest import MANIFEST
from ..manifest import read as read_manifest
from ..scoring_explainer import ScoringExplainer
from ..transformations import compose
from .seed_explainers import MimicExplainer, TabularExplainer, rows_frame


class BaseScoringExplainer:
    """A fitted engine explainer with the seed's scoring calls; subclasses name the scorer kind."""

    kind: ClassVar[str | None] = None

    def __init__(
        self, original_explainer: Any, initialization_examples: Any = None, **fit_options: Any
    ) -> None:
        if isinstance(original_explainer, MimicExplainer):
            raise UnsupportedOperationError(
                "a scoring explainer serves the model's own explanations; a MimicExplainer explains a "
                "surrogate. Build it from a TabularExplainer (or the model) instead."
            )
        if isinstance(original_explainer, ScoringExplainer):
            if initialization_examples is not None or fit_options:
                raise InputError("refitting needs a TabularExplainer, not a fitted engine explainer")
            engine = original_explainer
            if self.kind is not None and engine.scorer.name != self.kind:
                raise UnsupportedOperationError(
                    f"this explainer uses the {engine.scorer.name} scorer, not {self.kind}; build the scoring "
                    "explainer from a TabularExplainer so that it can be refitted"
                )
            self._init(engine, None, engine.classes)
            return
        if not isinstance(original_explainer, TabularExplainer):
            raise InputError(
                f"expected a TabularExplainer, got {type(original_explainer).__name__}",
                field="original_explainer",
            )
        tab = original_explainer
        engine = tab.explainer
        if (
            initialization_examples is not None
            or fit_options
            or (self.kind and engine.scorer.name != self.kind)
        ):
            rows = (
                tab.initialization_examples
                if initialization_examples is None
                else rows_frame(initialization_examples, tab.features)
            )
            options = {**tab.fit_options, **fit_options}
            if self.kind is not None:
                options["scorer"] = self.kind
            engine = fit(compose(tab.model, tab.transformations, rows), rows, classes=tab.classes, **options)
        self._init(engine, tab.transformations, tab.classes)

    def _init(self, engine: ScoringExplainer, transformations: Any, classes: list[Any] | None) -> None:
        self.explainer = engine
        self.transformations = transformations
        self.classes = classes

    @classmethod
    def from_engine(cls, engine: ScoringExplainer) -> BaseScoringExplainer:
        out = cls.__new__(cls)
        out._init(engine, None, engine.classes)
        return out

    @property
    def features(self) -> list[str]:
        return self.explainer.features

    @property
    def expected_values(self) -> list[float] | float:
        base = np.asarray(self.explainer.expected_values, dtype=np.float64)
        return base.tolist() if self.explainer.classes is not None else float(base[0])

    @property
    def output_space(self) -> str:
        return self.explainer.output_space

    def explain(self, evaluation_examples: Any, get_raw: bool | None = None) -> list[Any]:
        """Azure ML's layout: ``[class][row][feature]`` (classifiers) or ``[row][feature]`` (regressors)."""
        exp = self.explainer.explain(evaluation_examples, engineered=get_raw is False, error_estimate=False)
        if self.explainer.classes is None:
            return exp.values[:, 0, :].tolist()
        return np.transpose(exp.values, (1, 0, 2)).tolist()

    def predict(self, evaluation_examples: Any) -> list[Any]:
        """Azure ML's alias of :meth:`explain`."""
        return self.explain(evaluation_examples)

    def interactions(self, evaluation_examples: Any) -> list[Any]:
        """Pairwise interaction values in :meth:`explain`'s layout, a ``[feature][feature]`` matrix in
        place of each row's values (``[class][row][feature][feature]`` or ``[row][feature][feature]``);
        each matrix row sums to the matching :meth:`explain` value (``scorers.interactions``)."""
        inter = self.explainer.interactions(evaluation_examples)
        if self.explainer.classes is None:
            return inter.values[:, 0].tolist()
        return np.transpose(inter.values, (1, 0, 2, 3)).tolist()

    def counterfactuals(
        self, evaluation_examples: Any, target: Any, *, count: int = 1, constraints: Any = None
    ) -> Any:
        """The engine's ``explainer.counterfactuals`` (``scorers.counterfactuals.Counterfactuals``)."""
        return self.explainer.counterfactuals(
            evaluation_examples, target, count=count, constraints=constraints
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scorer={self.explainer.scorer.name!r}, space={self.output_space!r})"


class KernelScoringExplainer(BaseScoringExplainer):
    """KernelSHAP from a design fixed at fit (probability space for classifiers by default)."""

    kind = "kernel"


class TreeScoringExplainer(BaseScoringExplainer):
    """Exact interventional TreeSHAP of a tree ensemble."""

    kind = "tree"


class LinearScoringExplainer(BaseScoringExplainer):
    """Exact SHAP values of a linear model."""

    kind = "linear"


def _clear_previous(out: Path) -> None:
    """Remove a previous artifact's files; refuse to touch any other file."""
    try:  # the files a valid manifest lists; no manifest, or not a valid one: nothing is ours to remove
        listed = set(read_manifest(out).files) | {MANIFEST}
    except ArtifactError:
        listed = set()
    foreign = sorted(p.name for p in out.iterdir() if p.name not in listed)
    if foreign:
        raise ArtifactError(
            f"'{out}' holds files that are not a shapserve artifact's ({foreign[:5]}); save into a new or "
            "empty directory"
        )
    for name in listed:
        (out / name).unlink(missing_ok=True)


def save(scoring_explainer: Any, directory: str | Path = ".", exist_ok: bool = False) -> str:
    """Write the scoring explainer as a shapserve artifact into ``directory``; returns its path.

    As in Azure ML, an existing directory is an error unless ``exist_ok``; then a previous artifact in it
    is replaced (any other file in it is refused, never deleted).
    """
    engine = (
        scoring_explainer.explainer
        if isinstance(scoring_explainer, BaseScoringExplainer)
        else scoring_explainer
    )
    if not isinstance(engine, ScoringExplainer):
        raise InputError(
            f"expected a scoring explainer, got {type(scoring_explainer).__name__}", field="scoring_explainer"
        )
    out = Path(directory)
    if engine.evaluation is not None:
        engine.evaluation.materialize(
            engine.classes
        )  # read stored evaluation rows now: the directory may be the one they are in
    if out.exists():
        if not exist_ok:
            raise ArtifactError(f"'{out}' already exists; pass exist_ok=True to write the artifact into it")
        if not out.is_dir():
            raise ArtifactError(f"'{out}' is not a directory")
        _clear_previous(out)
    engine.save(out)
    return str(out)


def load(
    path: str | Path, *, trust_pickle: bool = False, expected_sha256: str | None = None
) -> BaseScoringExplainer:
    """A saved scoring explainer: the artifact directory, or any file in it (the seed passes the path
    its model registry downloaded to)."""
    from .. import load as load_artifact

    root = Path(path)
    if root.is_file():
        root = root.parent
    engine = load_artifact(root, trust_pickle=trust_pickle, expected_sha256=expected_sha256)
    return BaseScoringExplainer.from_engine(engine)
