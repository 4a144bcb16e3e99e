"""The drift alerts of deploy/k8s/prometheusrule.yaml, checked and unit-tested by promtool.

The PrometheusRule's schema is checked with the other manifests (test_deploy_manifests.py); here Debian's
`promtool` (package `prometheus`, installed by `make promtool`) parses the PromQL (`check rules`) and runs
the rules on synthetic series of the real gauges (`test rules`): drift in a full window fires, drift in
a window below the minimum rows or below the threshold does not. The thresholds must be the server's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import DEPLOY, ROOT

from scorers.monitoring.drift import ATTRIBUTION_THRESHOLD, INPUT_THRESHOLD, MIN_ROWS, NDCG_THRESHOLD

RULE = DEPLOY / "k8s" / "prometheusrule.yaml"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make promtool` installs Debian's prometheus package"
    return path


def groups() -> dict[str, Any]:
    """The rule file promtool reads: the PrometheusRule's spec (its `groups`)."""
    return yaml.safe_load(RULE.read_text())["spec"]


def rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in groups()["groups"] for r in g["rules"]}


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)


def write_rules(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_promtool_checks_the_rules(promtool, tmp_path: Path):
    proc = run(promtool, "check", "rules", str(write_rules(tmp_path, groups())))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 2 rules found" in proc.stdout


def test_promtool_negative_control(promtool, tmp_path: Path):
    spec = groups()
    spec["groups"][0]["rules"][0]["expr"] = "shapserve_monitoring_score{score=} > 0.25"
    proc = run(promtool, "check", "rules", str(write_rules(tmp_path, spec)))
    assert proc.returncode != 0 and "parse error" in proc.stdout + proc.stderr


def test_thresholds_are_the_servers():
    attribution = rules()["ShapserveAttributionDrift"]["expr"]
    inputs = rules()["ShapserveInputDrift"]["expr"]

    def number(expr: str, pattern: str) -> float:
        (found,) = re.findall(pattern, expr)
        return float(found)

    assert number(attribution, r'score="attribution_drift"\}\s*>\s*([0-9.]+)') == ATTRIBUTION_THRESHOLD
    assert number(attribution, r'score="attribution_ndcg"\}\s*<\s*([0-9.]+)') == NDCG_THRESHOLD
    assert number(inputs, r'score="input_drift"\}\s*>\s*([0-9.]+)') == INPUT_THRESHOLD
    for expr in (attribution, inputs):
        assert number(expr, r"shapserve_monitoring_window_rows\s*>=\s*([0-9]+)") == MIN_ROWS


def test_rules_use_the_real_gauges_and_labels():
    metrics = (ROOT / "service" / "metrics.py").read_text()
    workers = (ROOT / "service" / "monitoring" / "workers.py").read_text()
    for name in ("shapserve_monitoring_score", "shapserve_monitoring_window_rows"):
        assert f'name="{name}"' in metrics
    assert (
        'labelnames=[*_LABELS, "window", "score"]' in metrics and '_LABELS = ["model", "version"]' in metrics
    )
    for score in ("attribution_drift", "attribution_ndcg", "input_drift"):
        assert f'("{score}", ' in workers  # the score label values the worker publishes
    for rule in rules().values():
        for score in re.findall(r'score="([a-z_]+)"', rule["expr"]):
            assert score in {"attribution_drift", "attribution_ndcg", "input_drift"}


def series(pod: str, window_rows: int, **scores: float) -> list[dict[str, str]]:
    """Synthetic scrapes of one pod's `rows` window, constant for 30 minutes."""
    labels = f'namespace="shapserve", pod="{pod}", model="m", version="v1", window="rows"'
    out = [{"series": f"shapserve_monitoring_window_rows{{{labels}}}", "values": f"{window_rows}x30"}]
    for score, value in scores.items():
        out.append(
            {"series": f'shapserve_monitoring_score{{{labels}, score="{score}"}}', "values": f"{value}x30"}
        )
    return out


def alert(kind: str, pod: str, score: str, value: float) -> dict[str, Any]:
    """The alert promtool must produce: labels and rendered annotations."""
    labels = {"namespace": "shapserve", "pod": pod, "model": "m", "version": "v1", "window": "rows"}
    return {
        "exp_labels": {**labels, "score": score, "severity": "warning"},
        "exp_annotations": {
            "summary": f"{kind} drift on m v1 (rows window)",
            "description": f"{score} = {value:.3f} on pod {pod}; its GET /monitoring names the features "
            "(docs/monitoring.md)",
        },
    }


def test_alerts_fire_on_drift_in_a_full_window_only(promtool, tmp_path: Path):
    rules_file = write_rules(tmp_path, groups())
    quiet = dict(attribution_drift=0.05, attribution_ndcg=0.999, input_drift=0.05)
    input_series = [
        *series("drifted", 500, attribution_drift=0.4, attribution_ndcg=0.999, input_drift=0.3),
        *series("reranked", 500, attribution_drift=0.05, attribution_ndcg=0.8, input_drift=0.05),
        *series("young", MIN_ROWS - 1, attribution_drift=0.9, attribution_ndcg=0.5, input_drift=0.9),
        *series("quiet", 500, **quiet),
    ]
    attribution = [
        alert("Attribution", "drifted", "attribution_drift", 0.4),
        alert("Attribution", "reranked", "attribution_ndcg", 0.8),
    ]
    inputs = [alert("Input", "drifted", "input_drift", 0.3)]

    def expected(name: str, at: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {"eval_time": at, "alertname": name, "exp_alerts": alerts}

    test = {
        "interval": "1m",
        "input_series": input_series,
        "alert_rule_test": [
            # before the `for: 10m`, nothing fires; after it, exactly the full windows above the thresholds
            expected("ShapserveAttributionDrift", "5m", []),
            expected("ShapserveInputDrift", "5m", []),
            expected("ShapserveAttributionDrift", "15m", attribution),
            expected("ShapserveInputDrift", "15m", inputs),
        ],
    }
    tests_file = tmp_path / "tests.yaml"
    tests_file.write_text(
        yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": [test]})
    )
    proc = run(promtool, "test", "rules", str(tests_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout

    # negative control: the same test fails when an alert is expected on the window below MIN_ROWS
    test["alert_rule_test"][3]["exp_alerts"].append(alert("Input", "young", "input_drift", 0.9))
    tests_file.write_text(
        yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": [test]})
    )
    proc = run(promtool, "test", "rules", str(tests_file))
    assert proc.returncode != 0 and "young" in proc.stdout + proc.stderr
