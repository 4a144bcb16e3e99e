"""``shapserve serve`` prints a request to try that fits the served model: a ``shapserve demo`` model its own
example request (``shapserve-loan`` the loan rows, not the breast cancer ones), any other model
``GET /metadata``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.bento import PROJECT_ROOT, package, try_line


@pytest.fixture(scope="module")
def tags() -> dict[str, str]:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
    model = LogisticRegression().fit(x, x["a"] > 0)
    said: list[str] = []
    loan = package(model, x, name="cli-hint-loan", labels={"example": "loan"}, progress=said.append)
    plain = package(model, x, name="cli-hint-plain", progress=said.append)
    return {"loan": loan["model_tag"], "plain": plain["model_tag"]}


def test_a_demo_model_gets_its_own_example_request(
    tags: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    line = try_line(tags["loan"], "0.0.0.0", 3100)
    assert line == (
        "try: curl -s -X POST http://127.0.0.1:3100/explain -H 'Content-Type: application/json' "
        "-d @examples/loan_request.json"
    )
    assert (PROJECT_ROOT / "examples" / "loan_request.json").is_file()


def test_the_request_file_is_found_from_any_directory(
    tags: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = try_line(tags["loan"], "127.0.0.1", 3000)
    assert line.endswith(f"-d @{PROJECT_ROOT / 'examples' / 'loan_request.json'}")


def test_another_model_is_pointed_at_its_metadata(tags: dict[str, str]) -> None:
    line = try_line(tags["plain"], "127.0.0.1", 3000)
    assert line.startswith("try: curl -s http://127.0.0.1:3000/metadata ")
    assert "breast_cancer" not in line
