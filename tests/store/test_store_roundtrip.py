"""Round trips through a real database: local (classifier, regressor) and global explanations keep
their numbers, output space, kind and ranking; top_k keeps the top-k overall and per class."""

from __future__ import annotations

import numpy as np
import pytest
from store_support import diabetes, explain_answer, global_answer, iris, pfi_answer

from store import DatabaseExplanationClient, StoredGlobalExplanation, StoredLocalExplanation


@pytest.fixture
def client(store):
    return DatabaseExplanationClient(store)


def test_local_classifier_engine_object_round_trip(client):
    explainer, x = iris()
    exp = explainer.explain(x.iloc[:25])
    eid = client.upload_model_explanation(exp, comment="iris local", true_ys=["setosa"] * 25)
    got = client.download_model_explanation(eid)
    assert isinstance(got, StoredLocalExplanation)
    np.testing.assert_array_equal(got.values, exp.values)  # float64 bytes at rest: exact
    np.testing.assert_array_equal(got.base_values, exp.base_values)
    np.testing.assert_array_equal(got.outputs, exp.outputs)
    assert got.local_importance_values == exp.local_importance_values
    assert got.expected_values == exp.expected_values
    assert got.explained_outputs == exp.explained_outputs
    assert (got.features, got.classes, got.output_space, got.kind) == (
        exp.features,
        exp.classes,
        "log_odds",
        "local",
    )
    assert got.true_ys == ["setosa"] * 25
    assert got.get_ranked_local_names() == exp.get_ranked_local_names()
    assert got.get_ranked_local_values() == exp.get_ranked_local_values()
    # the global view of a local explanation is explain_global's mean |SHAP|
    glob = explainer.explain_global(x.iloc[:25])
    assert got.get_ranked_global_names() == glob.get_ranked_global_names()
    np.testing.assert_allclose(got.get_ranked_global_values(), glob.get_ranked_global_values(), rtol=1e-12)
    assert got.comment == "iris local" and got.id == eid and got.is_raw


def test_local_regressor_http_answer_round_trip(client):
    explainer, x = diabetes()
    answer = explain_answer(explainer, x.iloc[:12])
    eid = client.upload_model_explanation(answer, model="diabetes-ridge:v3")
    got = client.download_model_explanation(eid)
    assert got.classes is None and got.output_space == "raw"
    assert got.expected_values == pytest.approx(answer["expected_values"], rel=0, abs=0)
    assert got.explained_outputs == answer["explained_outputs"]
    assert got.local_importance_values == answer["local_importance_values"]
    assert got.predictions == answer["predictions"]
    # regressors: ranked local calls drop the class axis, like local_importance_values
    names = got.get_ranked_local_names(top_k=3)
    assert len(names) == 12 and len(names[0]) == 3
    row0 = np.asarray(answer["local_importance_values"][0])
    assert names[0] == [x.columns[j] for j in np.argsort(-np.abs(row0), kind="stable")[:3]]
    meta = client.list_model_explanations()[0]
    assert (meta["model"], meta["n_rows"], meta["n_features"], meta["classes"]) == (
        {"name": "diabetes-ridge", "version": "v3"},
        12,
        10,
        None,
    )
    # additivity survives storage
    recon = np.asarray(got.expected_values) + np.asarray(got.local_importance_values).sum(axis=1)
    np.testing.assert_allclose(recon, got.explained_outputs, atol=1e-6)


def test_local_classifier_http_answer_keeps_predictions_and_probabilities(client):
    explainer, x = iris()
    answer = explain_answer(explainer, x.iloc[95:105])
    got = client.download_model_explanation(client.upload_model_explanation(answer))
    assert got.predictions == answer["predictions"]
    assert got.probabilities == answer["probabilities"]
    assert got.to_json()["local_importance_values"] == answer["local_importance_values"]


def test_error_estimate_is_stored_with_the_explanation(client):
    """The Python API's error estimate (an engine object) and /explain's (a regressor's JSON answer, no
    class axis) come back exactly; an explanation computed without one comes back without one."""
    explainer, x = iris()
    exp = explainer.explain(x.iloc[:7])
    eid = client.upload_model_explanation(exp)
    got = client.download_model_explanation(eid)
    assert got.error_estimate == exp.error_estimate.to_json()
    assert got.to_json()["error_estimate"] == exp.error_estimate.to_json()
    top = client.download_model_explanation(eid, top_k=1)  # trimmed features: the values' sigmas with them
    assert np.shape(top.error_estimate["values"]) == np.shape(top.local_importance_values)
    assert top.error_estimate["rows"] == got.error_estimate["rows"]  # the whole row's
    plain = explainer.explain(x.iloc[:7], error_estimate=False)
    got = client.download_model_explanation(client.upload_model_explanation(plain))
    assert got.error_estimate is None and "error_estimate" not in got.to_json()
    reg, xr = diabetes()
    answer = explain_answer(reg, xr.iloc[:5])
    est = reg.explain(xr.iloc[:5]).error_estimate.to_json()
    est["values"] = [row[0] for row in est["values"]]  # /explain's regressor shape: [row][feature]
    got = client.download_model_explanation(
        client.upload_model_explanation({**answer, "error_estimate": est})
    )
    assert got.error_estimate == est


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["rows"].__setitem__(0, -1.0), "explanation.error_estimate.rows[0]"),
        (lambda e: e["sampling"].pop(), "explanation.error_estimate.sampling"),
        (lambda e: e["values"][1].pop(), "explanation.error_estimate.values[1]"),
        (lambda e: e.__setitem__("extra", 1), "explanation.error_estimate.extra"),
    ],
)
def test_a_wrong_error_estimate_is_refused_naming_the_field(client, change, field):
    from scorers.errors import InputError

    reg, xr = diabetes()
    answer = explain_answer(reg, xr.iloc[:3])
    est = reg.explain(xr.iloc[:3]).error_estimate.to_json()
    est["values"] = [row[0] for row in est["values"]]
    change(est)
    with pytest.raises(InputError) as info:
        client.upload_model_explanation({**answer, "error_estimate": est})
    assert info.value.field == field, info.value


def test_global_shap_round_trip_and_ranking(client):
    explainer, x = iris()
    glob = explainer.explain_global(x)
    eid = client.upload_model_explanation(glob, comment="global")
    got = client.download_model_explanation(eid)
    assert isinstance(got, StoredGlobalExplanation)
    assert (got.kind, got.output_space, got.n_rows, got.classes) == ("shap", "log_odds", 150, glob.classes)
    assert got.get_ranked_global_names() == glob.get_ranked_global_names()
    assert got.get_ranked_global_values() == glob.get_ranked_global_values()
    assert got.get_feature_importance_dict() == glob.get_feature_importance_dict()
    np.testing.assert_array_equal(got.per_class_importance, glob.per_class)
    for k, row in enumerate(glob.per_class):
        order = np.argsort(-row, kind="stable")
        assert got.get_ranked_per_class_names()[k] == [glob.features[j] for j in order]
        assert got.get_ranked_per_class_values()[k] == row[order].tolist()


def test_global_http_answer_with_truncated_ranking_round_trip(client):
    explainer, x = iris()
    glob = explainer.explain_global(x)
    got = client.download_model_explanation(client.upload_model_explanation(global_answer(glob, top_k=2)))
    assert got.features == glob.features  # per_class carries every feature
    assert got.get_ranked_global_names() == glob.get_ranked_global_names()
    np.testing.assert_allclose(got.get_ranked_global_values(), glob.get_ranked_global_values(), rtol=1e-15)


def test_pfi_kind_keeps_extras_and_info(client):
    features = [f"f{i}" for i in range(8)]
    answer = pfi_answer(features)
    got = client.download_model_explanation(client.upload_model_explanation(answer))
    assert got.kind == "pfi" and got.info == {"metric": "accuracy", "n_repeats": 5}
    np.testing.assert_array_equal(got.extras["std"], np.asarray(answer["extras"]["std"]))
    drop = np.asarray(answer["per_class"][0])
    assert got.get_ranked_global_names() == [features[j] for j in np.argsort(-drop, kind="stable")]
    # the JSON it gives back is accepted again, unchanged
    again = client.download_model_explanation(client.upload_model_explanation(got.to_json()))
    assert again.to_json() == got.to_json()


def test_mimic_kind_with_its_own_importance(client):
    class Mimic:  # any object with to_json() in the global shape
        def to_json(self):
            return {
                "kind": "mimic",
                "output_space": "probability",
                "n_rows": 30,
                "classes": ["no", "yes"],
                "features": ["a", "b", "c"],
                "per_class": [[0.1, 0.5, 0.2], [0.3, 0.1, 0.2]],
                "importance": {"a": 0.9, "b": 0.2, "c": 0.4},  # the surrogate's own overall ranking
                "info": {"fidelity": 0.97, "surrogate": "LGBMExplainableModel"},
            }

    got = client.download_model_explanation(client.upload_model_explanation(Mimic()))
    assert got.kind == "mimic" and got.info["fidelity"] == 0.97
    assert got.get_feature_importance_dict() == {"a": 0.9, "c": 0.4, "b": 0.2}
    assert got.get_ranked_per_class_names() == [["b", "c", "a"], ["a", "c", "b"]]


def test_top_k_at_upload_and_at_download(client):
    explainer, x = iris()
    glob = explainer.explain_global(x)
    full = client.upload_model_explanation(glob, comment="all")
    two = client.upload_model_explanation(glob, top_k=2, comment="top 2")
    stored2 = client.download_model_explanation(two)
    assert stored2.get_ranked_global_names() == glob.get_ranked_global_names(2)
    assert stored2.get_ranked_global_values() == glob.get_ranked_global_values(2)
    assert stored2.get_feature_importance_dict() == glob.get_feature_importance_dict(2)
    kept = set(glob.get_ranked_global_names(2))
    for k, row in enumerate(glob.per_class):  # each class's own top 2 survive the trim
        order = np.argsort(-row, kind="stable")[:2]
        assert stored2.get_ranked_per_class_names()[k] == [glob.features[j] for j in order]
        kept |= {glob.features[j] for j in order}
    assert stored2.features == [f for f in glob.features if f in kept]
    meta = {m["id"]: m for m in client.list_model_explanations()}
    assert meta[two]["top_k"] == 2 and meta[full]["top_k"] is None
    assert meta[two]["size_bytes"] < meta[full]["size_bytes"]
    down = client.download_model_explanation(full, top_k=1)
    assert down.get_ranked_global_names() == glob.get_ranked_global_names(1)
    assert down.get_ranked_global_names(top_k=3) == glob.get_ranked_global_names(1)  # cannot exceed the trim
    assert client.download_model_explanation(full).get_ranked_global_names() == glob.get_ranked_global_names()


def test_top_k_trims_a_local_explanation_to_its_top_features(client):
    explainer, x = diabetes()
    exp = explainer.explain(x.iloc[:40])
    got = client.download_model_explanation(client.upload_model_explanation(exp, top_k=3))
    glob = explainer.explain_global(x.iloc[:40])
    assert got.get_ranked_global_names() == glob.get_ranked_global_names(3)
    assert got.features == [f for f in exp.features if f in set(glob.get_ranked_global_names(3))]
    cols = [exp.features.index(f) for f in got.features]
    np.testing.assert_array_equal(got.values, exp.values[:, :, cols])
    np.testing.assert_array_equal(got.outputs, exp.outputs)  # outputs are kept whole
    assert all(len(r) == 3 for r in got.get_ranked_local_names())
