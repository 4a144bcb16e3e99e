"""Packaging time of this tree and of another commit's, side by side, and the artifacts compared.

``.venv/bin/python -m benchmarks.packaging_time [--models svc,knn] [--base main] [--rounds 1]``

Each model is packaged with ``cli.bento.package`` (the CLI's defaults) by the base commit's code (its
tree from ``git archive``, in a temporary folder) and by this tree's, alternately, each in a process of
its own with its own BentoML home and numba cache (so both compile their numba kernels: the seconds
include that).  The coalition runtime is fixed to the most preferred candidate in
both (``coalitions._preferred`` patched): it is chosen by wall time, which would let the load change
the artifact.  Prints each side's packaging and fidelity seconds, and whether the two artifacts are the
same: ``manifest.json`` with its clock fields left out (``created``, the explain times, the fidelity
step's seconds, and the files' checksums, which cover zip time stamps), ``background.json`` byte for
byte, and every array of ``explainer.npz`` byte for byte.  Exits 1 when an artifact differs.

Models: ``svc`` (the seed's SVC, margin), ``svc-prob`` (its probability default), ``bb-knn`` and
``bb-mlp`` (benchmarks/blackbox.py's KNN regressor and MLP classifier), ``fi-knn``, ``fi-mlp12``,
``fi-mlp11`` and ``fi-svc-prob`` (benchmarks/fidelity.py's 6-feature KNN, 12-feature MLP classifier,
11-feature MLP with the kernel scorer, 8-feature RBF SVC in probability space).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("svc", "svc-prob", "bb-knn", "bb-mlp", "fi-knn", "fi-mlp12", "fi-mlp11", "fi-svc-prob")
FIDELITY_NAMES = {
    "fi-knn": "KNN regressor",
    "fi-mlp12": "12-feature MLP classifier",
    "fi-mlp11": "11-feature MLP (kernel)",
    "fi-svc-prob": "RBF SVC (probability, anchored kernel)",
}
BLACKBOX_NAMES = {"bb-knn": "KNN regressor", "bb-mlp": "MLP classifier"}
CLOCK_FIELDS = {
    ("created",),
    ("files",),
    ("timings",),
    ("fidelity", "seconds"),
    ("checks", "explain_ms_per_row_single"),
    ("checks", "explain_ms_per_row_batch"),
}


def _model(name: str) -> tuple[Any, Any, dict[str, Any]]:
    """(fitted model, training rows, packaging keywords) of a model of ``MODELS``."""
    import pandas as pd

    if name in ("svc", "svc-prob"):
        from scorers.examples import breast_cancer_svc

        model, x_train, *_ = breast_cancer_svc()
        return model, x_train, ({"output_space": "probability"} if name == "svc-prob" else {})
    if name in BLACKBOX_NAMES:
        from benchmarks import blackbox

        _, model, x, kw = next(m for m in blackbox.models() if m[0] == BLACKBOX_NAMES[name])
        frame = pd.DataFrame(x[: blackbox.N_TRAIN], columns=[f"f{i}" for i in range(x.shape[1])])
        return model, frame, kw
    from benchmarks import fidelity

    _, model, x, _, kw = next(m for m in fidelity.models() if m[0] == FIDELITY_NAMES[name])
    return model, x.iloc[: fidelity.N_TRAIN].reset_index(drop=True), kw


def _child(name: str, out: Path) -> None:
    """Package ``name`` with the code on ``sys.path`` and write the timings and the artifact's path."""
    from cli.bento import package
    from scorers.runtimes import coalitions

    # the most preferred candidate, whatever the clock says (both sides the same)
    coalitions._preferred = lambda times, preference: next(p for p in preference if p in times)
    model, frame, kw = _model(name)
    t0 = time.perf_counter()
    package(model, frame, name="timed", progress=lambda _s: None, **kw)
    seconds = time.perf_counter() - t0
    home = Path(os.environ["BENTOML_HOME"])
    artifact = next((home / "models" / "timed").glob("*/artifact"))
    manifest = json.loads((artifact / "manifest.json").read_text())
    result = {"seconds": seconds, "fidelity_s": manifest["fidelity"]["seconds"], "artifact": str(artifact)}
    out.write_text(json.dumps(result))


def _run(tree: Path, name: str, work: Path) -> dict[str, Any]:
    home = work / "bentoml"
    out = work / "result.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "BENTOML_HOME": str(home),
        "BENTOML_DO_NOT_TRACK": "true",
        # numba's cache in the run's own folder: both sides compile their kernels (none reads a cache
        # that a previous run of one tree left beside its sources)
        "NUMBA_CACHE_DIR": str(work / "numba"),
    }
    # the script by its path: ``sys.path`` then has the other tree's packages, not this one's
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", name, "--out", str(out)],
        env=env,
        check=True,
        cwd=work,
    )
    return dict(json.loads(out.read_text()))


def _strip(manifest: dict[str, Any]) -> dict[str, Any]:
    for path in CLOCK_FIELDS:
        parent: Any = manifest
        for key in path[:-1]:
            parent = parent.get(key) or {}
        parent.pop(path[-1], None)
    return manifest


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two artifacts (empty: the same), clock fields apart (module docstring)."""
    import numpy as np

    out = []
    ma = _strip(json.loads((a / "manifest.json").read_text()))
    mb = _strip(json.loads((b / "manifest.json").read_text()))
    if ma != mb:
        keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        out.append(f"manifest.json: {', '.join(keys)}")
    if (a / "background.json").read_bytes() != (b / "background.json").read_bytes():
        out.append("background.json")
    with np.load(a / "explainer.npz") as za, np.load(b / "explainer.npz") as zb:
        if set(za.files) != set(zb.files):
            out.append("explainer.npz: other arrays")
        for key in sorted(set(za.files) & set(zb.files)):
            x, y = za[key], zb[key]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                out.append(f"explainer.npz: {key}")
    return out


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.packaging_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="svc,fi-knn", help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--base", default="main", help="the commit whose tree is timed beside this one")
    parser.add_argument("--rounds", type=int, default=1, help="pairs per model (default 1)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, Path(args.out))
        return 0
    names = [m for m in args.models.split(",") if m]
    if unknown := set(names) - set(MODELS):
        parser.error(f"unknown model(s) {sorted(unknown)}: expected some of {list(MODELS)}")
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    same = True
    with tempfile.TemporaryDirectory(prefix="packaging_time.") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        tar = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=tar, check=True)
        commit = subprocess.run(
            ["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
        print(f"base {args.base} ({commit}) against {ROOT}; load average {_load()}", flush=True)
        print(
            "| model | round | base s | this s | this / base | base fidelity s | this fidelity s | artifacts |"
        )
        print("|---|---|---|---|---|---|---|---|", flush=True)
        for name in names:
            for r in range(args.rounds):
                sides = {}
                for side, tree in (("base", base), ("this", ROOT)):
                    work = Path(tmp) / f"{name}-{r}-{side}"
                    work.mkdir()
                    sides[side] = _run(tree, name, work)
                diff = differences(Path(sides["base"]["artifact"]), Path(sides["this"]["artifact"]))
                same = same and not diff
                b, t = sides["base"], sides["this"]
                print(
                    f"| {name} | {r + 1} | {b['seconds']:.1f} | {t['seconds']:.1f} | "
                    f"{t['seconds'] / b['seconds']:.2f} | {b['fidelity_s']:.1f} | {t['fidelity_s']:.1f} | "
                    f"{'same' if not diff else 'DIFFER: ' + '; '.join(diff)} |",
                    flush=True,
                )
        print(f"load average {_load()}", flush=True)
    return 0 if same else 1


if __name__ == "__main__":
    if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # run by its path (``_run``): the benchmarks' modules are not top-level ones
    sys.exit(main())
