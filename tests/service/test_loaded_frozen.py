"""A worker's load ends by freezing what it loaded (``ScoringService``, ``gc.freeze``): the loaded
objects leave the collector's generations, so a full collection while serving scans only what came
after (docs/performance.md, "The request path, round 10")."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np


def test_the_loaded_service_is_frozen_and_later_objects_are_not(tmp_path: Path) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import scorers
    from service.core import ScoringService
    from service.settings import Settings

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    y = (x["a"] + x["b"] > 0).astype(int)
    explainer = scorers.fit(LogisticRegression().fit(x, y), x, background_size=10, eval_size=10)
    artifact = explainer.save(tmp_path / "a")
    gc.unfreeze()  # whatever an earlier test froze goes back to the collector first
    try:
        service = ScoringService(artifact, name="frozen", version="1", settings=Settings())
        assert gc.get_freeze_count() > 0
        later = [object.__new__(type("Later", (), {}))]  # a tracked object made after the load
        tracked = gc.get_objects()  # the collector's generations: frozen objects are not in them
        assert not any(o is service.explainer for o in tracked)
        assert not any(o is service for o in tracked)
        assert any(o is later for o in tracked)
        # the frozen service still answers
        assert len(service.predict(x.iloc[:2].to_dict("records"))["predictions"]) == 2
    finally:
        gc.unfreeze()
