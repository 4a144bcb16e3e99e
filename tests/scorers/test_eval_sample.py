"""The evaluation rows' SHAP sample explained at packaging (``scorers.eval_sample``): stored, listed in the
manifest with its sha256, in the fixed order, and equal to the brute-force oracle and to what the loaded
explainer answers for the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scorer_support import CASES, dataset, fitted_model, oracle_for

import scorers
from scorers import eval_sample
from scorers.errors import ArtifactError
from scorers.model_io import sha256_file


def test_the_stored_sample_is_the_oracles_values_in_the_fixed_order(tmp_path: Path) -> None:
    case = CASES["linear-logistic-binary"]  # exact (log-odds): the oracle's values
    model = fitted_model(case.model, case.data)
    x, y = dataset(case.data)
    explainer = scorers.fit(model, x.iloc[:120], **dict(case.fit_kwargs))
    assert explainer.manifest.scorer.exact
    rows = x.iloc[120:180].reset_index(drop=True)
    scorers.evaluate(explainer, rows, labels=y[120:180], kinds=[])
    out = explainer.save(tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluation"]["shap_sample_file"] == eval_sample.FILE
    assert manifest["files"][eval_sample.FILE] == sha256_file(out / eval_sample.FILE)

    loaded = scorers.load(out)
    assert loaded.evaluation is not None
    stored = loaded.evaluation.stored_shap_sample()
    assert stored is not None and stored.shape == (60, 2, x.shape[1])  # fewer rows than SAMPLE_ROWS: all
    order, rank = eval_sample.fixed_order(60)
    assert sorted(order.tolist()) == list(range(60)) and (order[rank] == np.arange(60)).all()
    in_order = rows.iloc[order].reset_index(drop=True)
    phi, _, _ = oracle_for(loaded, model, in_order, as_array=True)
    np.testing.assert_allclose(stored, phi, atol=1e-9)
    assert np.array_equal(stored, loaded.explain_frame(in_order).values)  # what a worker would compute
    assert eval_sample.checked(loaded, stored, in_order.iloc[: eval_sample.CHECKED]) is stored
    shifted = stored.copy()
    shifted[0, 0, 0] += 1e-6
    assert eval_sample.checked(loaded, shifted, in_order.iloc[: eval_sample.CHECKED]) is None


def test_a_changed_sample_file_is_refused(tmp_path: Path) -> None:
    case = CASES["linear-logistic-binary"]
    x, y = dataset(case.data)
    explainer = scorers.fit(fitted_model(case.model, case.data), x.iloc[:100], **dict(case.fit_kwargs))
    scorers.evaluate(explainer, x.iloc[100:130], labels=y[100:130], kinds=[])
    out = explainer.save(tmp_path / "b")
    loaded = scorers.load(out)  # checksums verified on load; the sample is read later
    values = np.load(out / eval_sample.FILE)
    np.save(out / eval_sample.FILE, values + 1.0, allow_pickle=False)
    assert loaded.evaluation is not None
    with pytest.raises(ArtifactError, match=eval_sample.FILE):
        loaded.evaluation.stored_shap_sample()
