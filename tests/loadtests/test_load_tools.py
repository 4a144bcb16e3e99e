"""The load-test tooling without a server: summary statistics, SLO exit codes, the loopback guard."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from load_helpers import ROOT

SUMMARY = ROOT / "loadtests" / "load_summary.py"
RUN = ROOT / "loadtests" / "run_load.py"


def _run_dir(tmp_path: Path, rows: list[tuple[float, str, int, float, int, str, str]]) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    with (out / "requests.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", "name", "status", "ms", "stage", "retry_after", "error"])
        w.writerows(rows)
    meta = {"elapsed_s": 10.0, "scenario": "explain1", "stages": [[5.0, 10.0], [5.0, 20.0]]}
    (out / "run.json").write_text(json.dumps(meta))
    return out


def _summarize(out: Path, *slo: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, str(SUMMARY), str(out), *slo], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, json.loads((out / "summary.json").read_text())


def test_percentiles_status_counts_and_stages(tmp_path: Path) -> None:
    rows = [(i * 0.05, "/explain [1 row]", 200, float(i + 1), 0, "", "") for i in range(100)]
    rows += [
        (6.0, "/explain [1 row]", 429, 1.0, 1, "1", "HTTP 429"),
        (7.0, "/predict [1 row]", 503, 2.0, 1, "", ""),
    ]
    rows += [
        (8.0, "/explain [1 row]", 0, 5.0, 1, "", "ConnectionError"),
        (9.0, "/explain [1 row]", 200, 9.0, 1, "", "bad body"),
    ]
    code, s = _summarize(_run_dir(tmp_path, rows))
    assert code == 0  # no threshold given
    t = s["total"]
    assert t["requests"] == 104 and t["failures"] == 4
    assert t["status_counts"] == {"200": 100, "200_bad_body": 1, "429": 1, "503": 1, "conn_error": 1}
    assert (
        t["latency_ok_ms"]["p50"] == 50
        and t["latency_ok_ms"]["p99"] == 99
        and t["latency_ok_ms"]["max"] == 100
    )
    assert t["shed_without_retry_after"] == 1 and t["server_errors_5xx"] == 1
    assert t["ok_rps"] == 10.0
    assert [st["all"]["requests"] for st in s["stages"]] == [100, 4]
    assert set(s["by_name"]) == {"/explain [1 row]", "/predict [1 row]"}


def test_slo_thresholds_fail_the_run(tmp_path: Path) -> None:
    rows = [(i * 0.1, "/explain [1 row]", 200, 10.0 + i, 0, "", "") for i in range(50)]
    rows.append((6.0, "/explain [1 row]", 500, 3.0, 0, "", "HTTP 500"))
    out = _run_dir(tmp_path, rows)
    assert _summarize(out, "--slo-p99-ms", "100")[0] == 0
    code, s = _summarize(out, "--slo-no-5xx")
    assert code == 1 and s["slo"]["passed"] is False
    assert _summarize(out, "--slo-max-fail-rate", "0")[0] == 1
    assert _summarize(out, "--slo-max-fail-rate", "0.05")[0] == 0
    assert _summarize(out, "--slo-p99-ratio", "1.8")[0] == 0  # p99 59 / p50 34, the 500 left out
    assert _summarize(out, "--slo-p99-ratio", "1.7")[0] == 1
    assert _summarize(out, "--slo-p50-ms", "20")[0] == 1


def test_run_load_refuses_a_non_loopback_target() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--host", "http://10.1.2.3:3000", "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "non-loopback" in proc.stderr
