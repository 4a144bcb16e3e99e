"""A separate process for the load and fault tests: uploads synthetic explanations to a store.

    python store_worker.py upload URL COUNT ROWS SEED      waits for a line on stdin, then uploads
                                                           COUNT explanations, printing each id
    python store_worker.py loop URL ROWS SEED              uploads until killed, printing each id
    python store_worker.py hang URL ROWS SEED POINT        stops forever mid-upload at POINT
                                                           (after-metadata | before-commit), saying so

Each explanation carries the sum of its values in ``info`` so that a reader can check it is whole.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sqlalchemy import event

import scorers
from store import DatabaseExplanationClient, ExplanationStore

FEATURES = 30
CLASSES = 3


def synthetic(rows: int, seed: int) -> scorers.Explanation:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, CLASSES, FEATURES))
    base = rng.normal(size=CLASSES)
    return scorers.Explanation(
        values=values,
        base_values=base,
        outputs=base + values.sum(axis=2),
        features=[f"f{j}" for j in range(FEATURES)],
        classes=["a", "b", "c"],
        output_space="raw",
        scorer="synthetic",
    )


def upload(client: DatabaseExplanationClient, rows: int, seed: int) -> str:
    exp = synthetic(rows, seed)
    record_info = {"checksum": float(exp.values.sum()), "seed": seed}
    from store import codec

    rec = codec.from_any(exp)
    rec = type(rec)(**{**rec.__dict__, "info": record_info})
    return client.upload_model_explanation(rec, comment=f"seed {seed}")


def hang_at(store: ExplanationStore, point: str) -> None:
    def stop() -> None:
        print("IN-TRANSACTION", flush=True)
        time.sleep(3600)

    if point == "before-commit":
        event.listen(store.engine, "commit", lambda conn: stop())
    else:

        def after(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
            if statement.lstrip().upper().startswith("INSERT INTO EXPLANATIONS "):
                stop()

        event.listen(store.engine, "after_cursor_execute", after)


def main(argv: list[str]) -> None:
    mode, url = argv[0], argv[1]
    store = ExplanationStore(url)
    client = DatabaseExplanationClient(store)
    if mode == "upload":
        count, rows, seed = (int(a) for a in argv[2:5])
        print("READY", flush=True)
        sys.stdin.readline()
        for i in range(count):
            print(upload(client, rows, seed * 1000 + i), flush=True)
    elif mode == "loop":
        rows, seed = int(argv[2]), int(argv[3])
        for i in range(10**6):
            print(upload(client, rows, seed * 1000 + i), flush=True)
    elif mode == "hang":
        rows, seed, point = int(argv[2]), int(argv[3]), argv[4]
        hang_at(store, point)
        upload(client, rows, seed)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
