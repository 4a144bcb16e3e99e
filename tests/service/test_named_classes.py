"""The service answers with the class names given at packaging (``scorers.fit(..., classes=...)``):
``predictions``, ``classes`` and the ranked class of ``/explain`` are the names."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_predict_and_explain_answer_with_the_names(tmp_path: Path) -> None:
    import lightgbm as lgb
    import pandas as pd

    import scorers
    from service.core import ScoringService
    from service.settings import Settings

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    y = np.digitize(x["a"] + x["b"] * x["c"], [-0.5, 0.5])
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(x, y)
    explainer = scorers.fit(model, x, classes=["low", "mid", "high"], background_size=10, eval_size=10)
    service = ScoringService(explainer.save(tmp_path / "a"), name="named", version="1", settings=Settings())
    rows = x.iloc[:5].to_dict("records")
    out = service.explain(rows, top_k=2)
    assert out["classes"] == ["low", "mid", "high"]
    expected = [["low", "mid", "high"][k] for k in model.predict(x.iloc[:5])]
    assert out["predictions"] == expected
    assert service.predict(rows)["predictions"] == expected
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(x.iloc[:5]), rtol=0, atol=0)
    # the ranked values are those of the predicted class (its column in local_importance_values)
    for i, ranked in enumerate(out["ranked"]):
        column = ["low", "mid", "high"].index(expected[i])
        assert max(map(abs, ranked["values"])) == max(map(abs, out["local_importance_values"][i][column]))
    assert service.metadata()["model"]["format"] == "lightgbm"
