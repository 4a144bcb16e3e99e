"""``Explanation.ranked`` (``/explain``'s ``top_k``): every row's top-k features by |value| for its output,
in the order of a stable sort of that row alone (ties keep feature order), the values as JSON floats."""

from __future__ import annotations

from typing import Any

import numpy as np

from scorers.explanation_objects import Explanation


def _one_row_at_a_time(exp: Explanation, top_k: int, output_index: list[int]) -> list[dict[str, Any]]:
    out = []
    for i, k in enumerate(output_index):
        v = exp.values[i, k]
        order = np.argsort(-np.abs(v), kind="stable")[:top_k]
        out.append({"names": [exp.features[j] for j in order], "values": [float(v[j]) for j in order]})
    return out


def test_ranked_is_each_row_sorted_alone() -> None:
    rng = np.random.default_rng(3)
    features = [f"f{j}" for j in range(12)]
    for n in (1, 2, 9):
        values = rng.normal(size=(n, 3, 12))
        values[:, :, 4] = values[:, :, 9]  # ties: the earlier feature first
        values[:, :, 5] = -values[:, :, 2]  # equal |value|, opposite signs
        values[0, :, 7], values[0, :, 8] = 0.0, -0.0
        exp = Explanation(values, np.zeros(3), values.sum(axis=2), features, ["a", "b", "c"], "raw", "t")
        index = [int(k) for k in rng.integers(0, 3, size=n)]
        for top_k in (1, 4, 12):
            got = exp.ranked(top_k, index)
            assert got == _one_row_at_a_time(exp, top_k, index)
            assert all(len(r["names"]) == top_k and all(type(x) is float for x in r["values"]) for r in got)
    assert (
        Explanation(np.zeros((0, 3, 12)), np.zeros(3), np.zeros((0, 3)), features, None, "raw", "t").ranked(
            2, []
        )
        == []
    )
