"""Reading 100,000 evaluation rows: eval.npz (what artifacts store now) against Parquet (before).

    python -m benchmarks.eval_rows

The same rows through ``scorers.evaluation``'s reader and through ``pd.read_parquet`` plus the same
typing; best of 3 each, with the file sizes (docs/decisions.md 30).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from scorers import evaluation
from scorers.examples import loan_data
from scorers.input_schema import Schema, infer_features

from .common import best_of

ROWS = 100_000


def compare(name: str, frame: pd.DataFrame, labels: np.ndarray) -> str:
    schema = Schema(infer_features(frame))
    frame = evaluation._typed(frame, schema)
    out = Path(tempfile.mkdtemp())
    np.savez(out / "eval.npz", **evaluation._row_arrays(frame, labels, schema))  # type: ignore[arg-type]
    frame.assign(label=labels).to_parquet(out / "eval.parquet", index=False)
    npz, (read, _) = best_of(lambda: evaluation._rows_of(out / "eval.npz", schema), 3)
    pq, _ = best_of(lambda: evaluation._typed(pd.read_parquet(out / "eval.parquet"), schema), 3)
    pd.testing.assert_frame_equal(read, frame)
    mb = {p.suffix: p.stat().st_size / 1e6 for p in out.iterdir()}
    return (
        f"{name}: {len(frame)} rows x {frame.shape[1]}: npz {npz:.3f} s ({mb['.npz']:.1f} MB), "
        f"parquet {pq:.3f} s ({mb['.parquet']:.1f} MB)"
    )


def main() -> None:
    from sklearn.datasets import load_breast_cancer

    x = load_breast_cancer(as_frame=True).data
    numbers = pd.concat([x] * (ROWS // len(x) + 1), ignore_index=True).iloc[:ROWS]
    print(compare("breast cancer (numbers)", numbers, np.arange(ROWS) % 2))
    lx, _ = loan_data()
    mixed = pd.concat([lx] * (ROWS // len(lx) + 1), ignore_index=True).iloc[:ROWS]
    print(compare("loan (mixed)", mixed, np.array(["approve", "deny"])[np.arange(ROWS) % 2]))


if __name__ == "__main__":
    main()
