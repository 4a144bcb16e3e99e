"""The seed's remote-run snippet ("Waarden voor functie-belang genereren via externe runs") against
SQLite and PostgreSQL, with only its imports changed, on the seed's own model (the breast cancer SVC).

The two code blocks below are the seed's, verbatim except for the import lines (each old import is
kept as a comment above its replacement).  ``Run.get_context()`` finds the store through
``SHAPSERVE_STORE_URL``, which the test points at the backend under test.
"""

from __future__ import annotations

import numpy as np
import pytest

TRAIN_EXPLAIN = """
# from azureml.interpret import ExplanationClient
from store import ExplanationClient
# from azureml.core.run import Run
from store import Run
# from interpret.ext.blackbox import TabularExplainer
from seed_names import TabularExplainer

run = Run.get_context()
client = ExplanationClient.from_run(run)

# write code to get and split your data into train and test sets here
# write code to train your model here

# explain predictions on your local machine
# "features" and "classes" fields are optional
explainer = TabularExplainer(model,
                             x_train,
                             features=feature_names,
                             classes=classes)

# explain overall model predictions (global explanation)
global_explanation = explainer.explain_global(x_test)

# uploading global model explanation data for storage or visualization in webUX
# the explanation can then be downloaded on any compute
# multiple explanations can be uploaded
client.upload_model_explanation(global_explanation, comment='global explanation: all features')
# or you can only upload the explanation object with the top k feature info
#client.upload_model_explanation(global_explanation, top_k=2, comment='global explanation: Only top 2 features')
"""

DOWNLOAD = """
# from azureml.interpret import ExplanationClient
from store import ExplanationClient

client = ExplanationClient.from_run(run)

# get model explanation data
explanation = client.download_model_explanation()
# or only get the top k (e.g., 4) most important features with their importance values
explanation = client.download_model_explanation(top_k=4)

global_importance_values = explanation.get_ranked_global_values()
global_importance_names = explanation.get_ranked_global_names()
print('global importance values: {}'.format(global_importance_values))
print('global importance names: {}'.format(global_importance_names))
"""


@pytest.fixture(scope="module")
def seed_model():
    """The seed's data and model, as its first steps build them (``random_state=0`` on the SVC only
    makes its Platt scaling reproducible)."""
    import warnings

    from sklearn import svm
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    breast_cancer_data = load_breast_cancer()
    classes = breast_cancer_data.target_names.tolist()
    x_train, x_test, y_train, y_test = train_test_split(
        breast_cancer_data.data, breast_cancer_data.target, test_size=0.2, random_state=0
    )
    clf = svm.SVC(gamma=0.001, C=100.0, probability=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9 deprecates probability=True
        model = clf.fit(x_train, y_train)
    return {
        "model": model,
        "x_train": x_train,
        "x_test": x_test,
        "feature_names": [str(f) for f in breast_cancer_data.feature_names],
        "classes": classes,
    }


def test_seed_remote_run_snippet(store_url, seed_model, monkeypatch, capsys):
    monkeypatch.setenv("SHAPSERVE_STORE_URL", store_url)
    ns = dict(seed_model)
    exec(compile(TRAIN_EXPLAIN, "train_explain.py", "exec"), ns)
    exec(compile(DOWNLOAD, "notebook.py", "exec"), ns)
    printed = capsys.readouterr().out.splitlines()

    glob = ns["global_explanation"]
    assert glob.n_rows == 114 and glob.output_space == "raw" and glob.classes == ["malignant", "benign"]
    names4, values4 = glob.get_ranked_global_names(4), glob.get_ranked_global_values(4)
    assert printed == [f"global importance values: {values4}", f"global importance names: {names4}"]
    assert ns["global_importance_names"] == names4 and len(names4) == 4

    client = ns["client"]  # the download without top_k: every feature, ranked
    whole = client.download_model_explanation()
    assert whole.get_ranked_global_names() == glob.get_ranked_global_names()
    np.testing.assert_array_equal(whole.get_ranked_global_values(), glob.get_ranked_global_values())
    assert len(whole.get_ranked_global_names()) == 30
    (meta,) = client.list_model_explanations()
    assert (meta["comment"], meta["kind"], meta["classes"]) == (
        "global explanation: all features",
        "shap",
        ["malignant", "benign"],
    )
    # the commented-out line of the snippet: only the top 2 features are stored
    client.upload_model_explanation(glob, top_k=2, comment="global explanation: Only top 2 features")
    top2 = client.download_model_explanation(comment="global explanation: Only top 2 features")
    assert top2.get_ranked_global_names() == glob.get_ranked_global_names(2)
