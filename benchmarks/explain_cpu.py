"""CPU ms per 1-row in-process explain of the seed's SVC (the CLI's defaults): this tree against ``--base``,
side by side in one run, alternating (issue 23).

``.venv/bin/python -m benchmarks.explain_cpu [--base main] [--rounds 4] [--passes 5]``

Packages the model once (``cli.bento.package``, this tree), exports ``--base`` (``git archive``) and starts
one process per code, each loading the same artifact (one BLAS thread, freed memory kept, as a server
does) and explaining 16 test rows once to warm up.  Then, ``--rounds`` times, base and this in turn
(the order flipped every round) each explain the 16 rows one at a time ``--passes`` times and report
``getrusage`` CPU (user + system) ms per row.  Also printed, per code: the scorer's ``_values`` alone and
what the explain spends outside it.  CPU time, not wall time; on a shared machine it still moves with the
load, so read the ratios of one round, with the load average beside.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import load_average, say, section
from .request_path import _export

ROOT = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, resource, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import bentoml, pandas as pd
import scorers
from cli.bento import ARTIFACT_DIR
from scorers.allocator import keep_freed_memory
from scorers.examples import breast_cancer_svc
from scorers.threads import limit_threads

limit_threads(1)
keep_freed_memory()
explainer = scorers.load(Path(bentoml.models.get(sys.argv[1]).path) / ARTIFACT_DIR, trust_pickle=True)
rows = breast_cancer_svc()[2].to_numpy()[:16]
frames = [pd.DataFrame(rows[i : i + 1], columns=list(explainer.features)) for i in range(len(rows))]
encoded = [explainer.masking.encode(explainer.validate(f)) for f in frames]

def cpu_ms(fn, items, passes):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(passes):
        for item in items:
            fn(item)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return 1000 * (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / (passes * len(items))

explain = lambda f: explainer.explain(f, error_estimate=False)
cpu_ms(explain, frames, 1)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    passes = int(line)
    out = {"explain": cpu_ms(explain, frames, passes), "values": cpu_ms(explainer.scorer._values, encoded, passes)}
    print(json.dumps(out), flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="main", help="the git revision to compare with")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--passes", type=int, default=5, help="passes over the 16 rows per round")
    opts = p.parse_args(argv)
    section(f"1-row in-process explain, CPU ms per row: this tree against {opts.base}, alternating")
    say(f"load average at start: {load_average()}")
    scratch = Path(tempfile.mkdtemp(prefix="explain-cpu-"))
    os.environ["BENTOML_HOME"] = str(scratch / "home")
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    from cli.bento import package
    from scorers.examples import breast_cancer_svc

    model, x_train, *_ = breast_cancer_svc()
    tag = package(model, x_train, name="explain-cpu", progress=lambda _m: None)["model_tag"]
    code = {"base": _export(opts.base, Path(tempfile.mkdtemp(dir=scratch))), "this": ROOT}
    procs = {}
    for name, where in code.items():
        env = {**os.environ, "PYTHONPATH": str(where), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", _WORKER, tag],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(where),
        )
    try:
        for proc in procs.values():
            assert proc.stdout is not None
            json.loads(proc.stdout.readline())
        say("| round | load | base explain | this explain | this / base | base _values | this _values |")
        say("|---|---|---|---|---|---|---|")
        ratios = []
        for r in range(opts.rounds):
            got = {}
            for name in ("base", "this") if r % 2 == 0 else ("this", "base"):
                proc = procs[name]
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{opts.passes}\n")
                proc.stdin.flush()
                got[name] = json.loads(proc.stdout.readline())
            ratio = got["this"]["explain"] / got["base"]["explain"]
            ratios.append(ratio)
            say(
                f"| {r + 1} | {load_average()} | {got['base']['explain']:.2f} | {got['this']['explain']:.2f} | "
                f"{ratio:.2f} | {got['base']['values']:.2f} | {got['this']['values']:.2f} |"
            )
        say(
            f"this / base, explain CPU per row: {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} rounds"
        )
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(scratch, ignore_errors=True)
    say(f"load average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
