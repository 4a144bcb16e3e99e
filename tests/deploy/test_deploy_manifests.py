"""Offline checks of the Dockerfile, deploy/k8s and deploy/aci (no cluster, no Azure, no podman).

Schema validity is checked with the real validators (hadolint, kubernetes-validate strict at 1.29 and the
latest bundled version, kubectl kustomize, the azure-mgmt-containerinstance models), each with a negative
control showing the validator rejects a broken copy. The policy tests pin what the issue asks of the
manifests (probes, resources, security context, scraping, autoscaling, disruption budget).
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import DEPLOY, ROOT

pytestmark = pytest.mark.usefixtures("validate_tools")
K8S = DEPLOY / "k8s"


@pytest.fixture(scope="module")
def vd():
    import validate_deploy

    return validate_deploy


def load(rel: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((K8S / rel).read_text()) if d]
    assert len(docs) == 1, rel
    return docs[0]


def pod_spec() -> dict[str, Any]:
    return load("deployment.yaml")["spec"]["template"]["spec"]


def container() -> dict[str, Any]:
    (c,) = pod_spec()["containers"]
    return c


# ------------------------------------------------------------------------------------------ Dockerfile
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def final_stage() -> str:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[-1]


def test_hadolint_passes(vd):
    assert vd.hadolint() == []


def test_hadolint_negative_control(vd, tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN cd /tmp && echo x\nCMD python -m http.server\n")
    problems = vd.hadolint(bad)
    assert any("DL3003" in p for p in problems), problems  # `cd` in RUN: the linter really runs
    assert any("DL3025" in p for p in problems), problems  # shell-form CMD


def test_dockerfile_contract():
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim$", DOCKERFILE)
    assert DOCKERFILE.count("FROM ${PYTHON_IMAGE}") == 2, "builder and final stage both on python:3.11-slim"
    final = final_stage()
    assert "apt-get" not in final and "gcc" not in final, "no toolchain or apt installs in the final stage"
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert re.search(r"(?m)^EXPOSE 3000 8080$", final), (
        "3000 by default, 8080 when SageMaker starts it with serve"
    )
    assert re.search(r"(?m)^USER \$\{SHAPSERVE_UID\}", final) and "ARG SHAPSERVE_UID=10001" in final
    assert "BENTOML_DO_NOT_TRACK=true" in final and "SHAPSERVE_WORKERS=cpu_count" in final
    hc = re.search(r"(?ms)^HEALTHCHECK .*?\n  CMD (\[.*?\])$", final)
    assert hc and "/readyz" in hc.group(1)
    assert isinstance(ast.literal_eval(hc.group(1)), list), "HEALTHCHECK must use the JSON (exec) form"
    assert re.search(r'(?m)^ENTRYPOINT \["/usr/local/bin/shapserve-entrypoint"\]$', final)


def test_image_uid_matches_manifests():
    uid = int(re.search(r"ARG SHAPSERVE_UID=(\d+)", DOCKERFILE).group(1))
    assert pod_spec()["securityContext"]["runAsUser"] == uid
    assert container()["securityContext"]["runAsUser"] == uid


def test_dockerignore_keeps_what_the_image_needs():
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for needed in ("bento.yaml", "src", "models", "env/python", "env"):
        assert needed not in patterns
    assert "env/docker" in patterns and "**/__pycache__" in patterns


# ------------------------------------------------------------------------------------------ Kubernetes schemas
MANIFESTS = sorted(
    str(p.relative_to(K8S))
    for p in K8S.rglob("*.yaml")
    if p.name not in {"kustomization.yaml", "hpa-metrics-patch.yaml", "prometheus-adapter-values.yaml"}
)


def test_every_resource_file_is_covered(vd):
    assert sorted(str(p.relative_to(K8S)) for p in vd.manifest_files()) == MANIFESTS
    assert {load(m)["kind"] for m in MANIFESTS} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
    }


@pytest.mark.parametrize("rel", MANIFESTS)
def test_manifest_strictly_valid(vd, rel):
    assert vd.k8s_versions()[0] == "1.29.0"
    assert vd.k8s_problems(load(rel)) == []


def test_kustomize_renders_the_whole_app(vd):
    docs = vd.kustomize(K8S)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        [
            "Namespace",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ServiceMonitor",
            "PrometheusRule",
        ]
    )
    for d in docs:
        assert vd.k8s_problems(d) == [], d["kind"]
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == "shapserve"
        assert d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shapserve"
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "myregistry.azurecr.io/shapserve:0.1.0"
    # the selector must not pick up the added label (immutable selectors)
    assert dep["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "shapserve"}


@pytest.mark.parametrize(
    ("rel", "mutate", "expect"),
    [
        (
            "deployment.yaml",
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(protocl="TCP"),
            "protocl",
        ),
        ("deployment.yaml", lambda d: d["spec"].pop("selector"), "selector"),
        ("hpa.yaml", lambda d: d.update(apiVersion="autoscaling/v2beta2"), "no schema"),
        ("pdb.yaml", lambda d: d["spec"].update(minAvailable=[1]), "minAvailable"),
        ("servicemonitor.yaml", lambda d: d["spec"]["endpoints"][0].update(intervl="15s"), "intervl"),
        (
            "servicemonitor.yaml",
            lambda d: d["spec"]["endpoints"][0].update(interval="15 seconds"),
            "interval",
        ),
        ("prometheusrule.yaml", lambda d: d["spec"]["groups"][0]["rules"][0].update(fro="10m"), "fro"),
        (
            "prometheusrule.yaml",
            lambda d: d["spec"]["groups"][0]["rules"][0].update(**{"for": "10 min"}),
            "10 min",
        ),
        ("prometheusrule.yaml", lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr"), "expr"),
    ],
)
def test_validation_negative_controls(vd, rel, mutate, expect):
    doc = copy.deepcopy(load(rel))
    mutate(doc)
    problems = vd.k8s_problems(doc)
    assert problems and any(expect in p for p in problems), problems


# ------------------------------------------------------------------------------------------ Kubernetes policy
def test_probes():
    c = container()
    port = c["ports"][0]["containerPort"]
    assert port == 3000
    assert c["startupProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": port}
    startup_budget = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
    assert startup_budget >= 120, "model load and warm-up get at least 2 minutes"


def test_resources_requests_and_limits():
    r = container()["resources"]
    for part in ("requests", "limits"):
        assert set(r[part]) == {"cpu", "memory"}, part
    assert r["requests"]["cpu"] == "1" and r["limits"]["cpu"] == "2"
    assert r["requests"]["memory"] == "1Gi" and r["limits"]["memory"] == "2Gi"


def test_security_context():
    spec, c = pod_spec(), container()
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert spec["automountServiceAccountToken"] is False
    # the read-only root needs a writable /tmp (BENTOML_HOME=/tmp/bentoml in the image)
    (mount,) = c["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    assert {"name": mount["name"], "emptyDir": {"sizeLimit": "512Mi"}} in spec["volumes"]
    assert "BENTOML_HOME=/tmp/bentoml" in final_stage()


def test_graceful_termination():
    spec, c = pod_spec(), container()
    sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    timeout = 60  # the service's request timeout (traffic.timeout)
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    drain = float(env.get("SHAPSERVE_DRAIN_SECONDS") or 0)  # served on after SIGTERM (service/drain.py)
    assert spec["terminationGracePeriodSeconds"] >= sleep + drain + timeout
    strategy = load("deployment.yaml")["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_env_workers_and_optional_api_key():
    env = {e["name"]: e for e in container()["env"]}
    assert env["SHAPSERVE_WORKERS"]["value"] == "cpu_count"
    ref = env["SHAPSERVE_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True and ref["name"] == "shapserve-api-key"


def test_jobs_are_refused_without_a_shared_database():
    # several replicas: a job accepted on one pod's directory would be lost with it (docs/reliability.md)
    env = {e["name"]: e for e in container()["env"]}
    assert env["SHAPSERVE_JOBS_REQUIRE_SHARED"]["value"] == "true"
    assert load("deployment.yaml")["spec"]["replicas"] > 1
    variant = (K8S / "variants/postgres-store/kustomization.yaml").read_text()
    assert "SHAPSERVE_STORE_URL" in variant  # the variant gives the jobs their shared database


def test_service_hpa_pdb_servicemonitor_point_at_the_deployment():
    dep = load("deployment.yaml")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    svc, hpa, pdb, sm = load("service.yaml"), load("hpa.yaml"), load("pdb.yaml"), load("servicemonitor.yaml")
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == container()["ports"][0]["name"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "shapserve",
    }
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < dep["spec"]["replicas"] <= hpa["spec"]["minReplicas"]
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"


def test_prometheus_annotations():
    ann = load("deployment.yaml")["spec"]["template"]["metadata"]["annotations"]
    assert ann == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "3000",
        "prometheus.io/path": "/metrics",
    }
    assert load("service.yaml")["metadata"]["annotations"] == ann


def test_custom_metrics_variant(vd):
    docs = vd.kustomize_with("custom-metrics")
    for d in docs:
        assert vd.k8s_problems(d) == [], d["kind"]
    (hpa,) = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    pods_metrics = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
    assert pods_metrics == {"shapserve_inflight_requests", "shapserve_explain_latency_p95_seconds"}
    # the adapter rules publish exactly these names, from series the service exports
    values = yaml.safe_load((K8S / "variants/custom-metrics/prometheus-adapter-values.yaml").read_text())
    rules = values["rules"]["custom"]
    assert {r["name"]["as"] for r in rules} == pods_metrics
    series = {re.match(r"\s*(\w+)", r["seriesQuery"]).group(1) for r in rules}
    assert series == {"bentoml_service_request_in_progress", "shapserve_explain_seconds_bucket"}
    assert "shapserve_explain_seconds" in (ROOT / "service" / "metrics.py").read_text()
    # not enabled by default
    assert all(
        len(d["spec"]["metrics"]) == 1 for d in vd.kustomize(K8S) if d["kind"] == "HorizontalPodAutoscaler"
    )


def test_shipped_postgres_variant(vd):
    """variants/shipped-postgres: a PostgreSQL StatefulSet with a PVC, its Service and a generated Secret,
    strictly valid, wired to SHAPSERVE_STORE_URL (which the jobs follow), selectors kept apart."""
    docs = vd.kustomize_with("shipped-postgres")
    for d in docs:
        assert vd.k8s_problems(d) == [], d["kind"]
        assert d["metadata"].get("namespace", "shapserve") == "shapserve"
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    (sts,), (secret,), (dep,) = by_kind["StatefulSet"], by_kind["Secret"], by_kind["Deployment"]
    (db_svc,) = [s for s in by_kind["Service"] if s["metadata"]["name"] == "shapserve-postgres"]
    (app_svc,) = [s for s in by_kind["Service"] if s["metadata"]["name"] == "shapserve"]
    # the generated Secret (name with kustomize's content hash) holds the password both sides read
    assert secret["metadata"]["name"].startswith("shapserve-postgres-") and set(secret["data"]) == {
        "password"
    }
    pod = sts["spec"]["template"]["spec"]
    (pg,) = pod["containers"]
    pg_env = {e["name"]: e for e in pg["env"]}
    assert pg_env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert sts["spec"]["replicas"] == 1 and sts["spec"]["serviceName"] == "shapserve-postgres"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/var/lib/postgresql/data"} in pg["volumeMounts"]
    assert pg_env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")
    assert "pg_isready" in pg["readinessProbe"]["exec"]["command"]
    # the app composes its URL from the same Secret, the variable defined before the URL that expands it
    names = [e["name"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert names.index("SHAPSERVE_STORE_PASSWORD") < names.index("SHAPSERVE_STORE_URL")
    assert env["SHAPSERVE_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    url = env["SHAPSERVE_STORE_URL"]["value"]
    port = db_svc["spec"]["ports"][0]["port"]
    assert (
        url
        == f"postgresql+psycopg://shapserve:$(SHAPSERVE_STORE_PASSWORD)@shapserve-postgres:{port}/shapserve"
    )
    assert pg_env["POSTGRES_USER"]["value"] == "shapserve" and pg_env["POSTGRES_DB"]["value"] == "shapserve"
    # selectors: the database Service reaches the database pod only; the app's Service and PDB never do
    pg_labels = sts["spec"]["template"]["metadata"]["labels"]
    app_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert db_svc["spec"]["selector"].items() <= pg_labels.items()
    assert not db_svc["spec"]["selector"].items() <= app_labels.items()
    (pdb,) = by_kind["PodDisruptionBudget"]
    for selector in (app_svc["spec"]["selector"], pdb["spec"]["selector"]["matchLabels"]):
        assert not selector.items() <= pg_labels.items()
    assert db_svc["spec"]["ports"][0]["targetPort"] == pg["ports"][0]["name"]
    # the password never sits in the repository (kustomize reads a file the user generates)
    rel = "deploy/k8s/variants/shipped-postgres/postgres-password"
    assert subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", rel]).returncode == 0
    assert all(len(d["spec"]["metrics"]) == 1 for d in docs if d["kind"] == "HorizontalPodAutoscaler")


def test_drain_fits_disruption_and_job_handover():
    """A rolling update or a drain never takes the last ready replica, and the grace period covers the
    preStop sleep plus the longest request; running jobs are handed back at SIGTERM (not waited out)."""
    dep, pdb = load("deployment.yaml"), load("pdb.yaml")
    rolling = dep["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1
    assert 1 <= pdb["spec"]["minAvailable"] < dep["spec"]["replicas"]
    c = container()
    ready = c["readinessProbe"]
    assert ready["httpGet"]["path"] == "/readyz" and ready["periodSeconds"] * ready["failureThreshold"] <= 30
    assert "handed back to the queue at SIGTERM" in (K8S / "deployment.yaml").read_text()


# ------------------------------------------------------------------------------------------ ACI
def test_aci_valid_against_sdk_models(vd):
    results = vd.validate_aci()
    assert len(results) == 3
    for what, problems in results:
        assert problems == [], what


def test_aci_contents():
    from render_aci import render

    doc = render(
        {
            "IMAGE": "r.azurecr.io/shapserve:1",
            "REGISTRY_SERVER": "r.azurecr.io",
            "REGISTRY_USERNAME": "r",
            "REGISTRY_PASSWORD": "p",
            "SHAPSERVE_API_KEY": "k3y",
        }
    )
    assert "${" not in yaml.safe_dump(doc)
    props = doc["properties"]
    (c,) = props["containers"]
    cp = c["properties"]
    assert cp["resources"]["requests"] == {"cpu": 1.0, "memoryInGB": 1.0}
    assert cp["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert cp["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert [p["port"] for p in cp["ports"]] == [p["port"] for p in props["ipAddress"]["ports"]] == [3000]
    env = {e["name"]: e for e in cp["environmentVariables"]}
    assert env["SHAPSERVE_API_KEY"] == {"name": "SHAPSERVE_API_KEY", "secureValue": "k3y"}
    assert env["SHAPSERVE_WORKERS"]["value"] == "1"  # 1 CPU -> one worker
    assert props["imageRegistryCredentials"][0]["server"] == "r.azurecr.io"
    bare = render({"IMAGE": "docker.io/x/shapserve:1"})
    assert "imageRegistryCredentials" not in bare["properties"]
    names = [e["name"] for e in bare["properties"]["containers"][0]["properties"]["environmentVariables"]]
    assert "SHAPSERVE_API_KEY" not in names


def test_aci_render_requires_image(tmp_path: Path):
    from render_aci import RenderError, main, render

    with pytest.raises(RenderError, match="IMAGE"):
        render({})
    out = tmp_path / "aci.yaml"
    assert main(["--out", str(out), "--set", "IMAGE=a/b:c", "--set", "SHAPSERVE_API_KEY=s"]) == 0
    assert out.stat().st_mode & 0o077 == 0, "the rendered file may hold secrets: owner-only"


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (lambda p: p.update(restartPolicy="Sometimes"), "restartPolicy"),
        (
            lambda p: p["containers"][0]["properties"]["resources"]["requests"].update(memoryInGb=1),
            "memoryInGb",
        ),
        (lambda p: p["containers"][0]["properties"].pop("resources"), "resources is required"),
        (lambda p: p["containers"][0]["properties"]["ports"][0].update(port="http"), "wrong type"),
    ],
)
def test_aci_negative_controls(vd, mutate, expect):
    from render_aci import render

    doc = render(dict(vd.ACI_SAMPLE))
    mutate(doc["properties"])
    problems = vd.aci_problems(doc)
    assert any(expect in p for p in problems), problems


# ------------------------------------------------------------------------------------------ README
def test_readme_commands():
    text = (DEPLOY / "README.md").read_text()
    for needle in (
        "podman build",
        "docker build",
        "bentoml containerize",
        "kubectl apply -k deploy/k8s",
        "az container create",
        "az container delete",
        "kubectl delete -k deploy/k8s",
        "requirements-validate.txt",
        "requests.post",
    ):
        assert needle in text, needle
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks and any("requests.post" in b for b in blocks)
    for b in blocks:
        compile(b, "deploy/README.md", "exec")
