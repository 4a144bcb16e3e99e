"""Reading 100,000 evaluation rows: the memory-mapped columns (what artifacts store now,
``scorers.eval_columns``) against Parquet (before).

    python -m benchmarks.eval_rows

Opening the columns (what the dashboard does), the same rows copied into a frame (``eval_data``) and
``pd.read_parquet`` plus the same typing; best of 3 each, with the files' sizes (docs/decisions.md 30).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from scorers import bulk, eval_columns, evaluation
from scorers.examples import loan_data
from scorers.input_schema import Schema, infer_features

from .common import best_of

ROWS = 100_000


def compare(name: str, frame: pd.DataFrame, labels: np.ndarray) -> str:
    schema = Schema(infer_features(frame))
    frame = evaluation._typed(frame, schema)
    out = Path(tempfile.mkdtemp())
    written = eval_columns.write(out, frame, schema, labels, bulk.check_rows(frame))
    frame.assign(label=labels).to_parquet(out / "eval.parquet", index=False)
    mapped, _ = best_of(lambda: eval_columns.read(out, schema), 3)
    rows, read = best_of(lambda: eval_columns.read(out, schema).rows(), 3)
    pq, _ = best_of(lambda: evaluation._typed(pd.read_parquet(out / "eval.parquet"), schema), 3)
    pd.testing.assert_frame_equal(read, frame)
    columns_mb = sum((out / f).stat().st_size for f in written) / 1e6
    return (
        f"{name}: {len(frame)} rows x {frame.shape[1]}: columns opened {mapped:.4f} s, "
        f"as a frame {rows:.3f} s ({columns_mb:.1f} MB), "
        f"parquet {pq:.3f} s ({(out / 'eval.parquet').stat().st_size / 1e6:.1f} MB)"
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
