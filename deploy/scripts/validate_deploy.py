#!/usr/bin/env python3
"""Offline checks of everything under deploy/ plus the Dockerfile (no cluster, no Azure account).

* hadolint on the Dockerfile (config deploy/hadolint.yaml);
* every Kubernetes manifest in deploy/k8s, and the kustomize renderings (the default one and the ones
  with the custom-metrics and shipped-postgres components), strictly against the Kubernetes schemas of 1.29 and of the
  latest version kubernetes-validate bundles. An unknown apiVersion/kind FAILS (the
  kubernetes-validate CLI only warns); the Prometheus Operator's ServiceMonitor and PrometheusRule
  are checked against deploy/schemas/servicemonitor-v1.schema.json and prometheusrule-v1.schema.json;
* the ACI container group, rendered with and without an API key, against the
  azure-mgmt-containerinstance models: types, required fields, enums, unknown keys.

Tools come from deploy/requirements-validate.txt (installed into the running interpreter's venv).
usage: validate_deploy.py [--dockerfile PATH]     exit code 1 if anything fails
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parent
ROOT = DEPLOY.parent
K8S = DEPLOY / "k8s"
MIN_K8S = "1.29.0"
sys.path.insert(0, str(HERE))


def tool(name: str) -> str:
    """A CLI installed beside the running interpreter (the venv), else on PATH."""
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: pip install -r {DEPLOY / 'requirements-validate.txt'}")
    return found


def k8s_versions() -> tuple[str, str]:
    import kubernetes_validate as kv

    return MIN_K8S, kv.latest_version()


# ------------------------------------------------------------------------------------------ Dockerfile
def hadolint(dockerfile: Path = ROOT / "Dockerfile") -> list[str]:
    proc = subprocess.run(
        [tool("hadolint"), "--config", str(DEPLOY / "hadolint.yaml"), "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [f"hadolint: rc={proc.returncode} {proc.stdout}{proc.stderr}"]
    out = [f"{dockerfile.name}:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings]
    if proc.returncode and not out:
        out.append(f"hadolint rc={proc.returncode}: {proc.stderr.strip()}")
    return out


# ------------------------------------------------------------------------------------------ Kubernetes
def manifest_files() -> list[Path]:
    """Kubernetes resources under deploy/k8s (not kustomizations, patches or Helm values)."""
    skip = {"kustomization.yaml", "hpa-metrics-patch.yaml", "prometheus-adapter-values.yaml"}
    return sorted(p for p in K8S.rglob("*.yaml") if p.name not in skip)


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([tool("kubectl"), "kustomize", str(directory)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"kubectl kustomize {directory} failed: {proc.stderr.strip()}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


VARIANTS_RENDERED = ("custom-metrics", "shipped-postgres")  # components rendered on top of the base


def kustomize_with(component: str) -> list[dict[str, Any]]:
    """Render deploy/k8s with ``variants/<component>`` enabled, as a user would: a copy of deploy/k8s
    with the component added to its kustomization.yaml (and, for shipped-postgres, the password file
    the user creates first)."""
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build, prefix=f"k8s-{component}-") as tmp:
        k8s = Path(tmp) / "k8s"
        shutil.copytree(K8S, k8s, ignore=shutil.ignore_patterns("postgres-password"))
        if component == "shipped-postgres":
            (k8s / "variants" / component / "postgres-password").write_text(os.urandom(24).hex() + "\n")
        with (k8s / "kustomization.yaml").open("a") as fh:
            fh.write(f"components:\n  - variants/{component}\n")
        return kustomize(k8s)


# the Prometheus Operator's CRDs (monitoring.coreos.com/v1): kind -> the strict subset of its schema
OPERATOR_SCHEMAS = {
    "ServiceMonitor": "servicemonitor-v1.schema.json",
    "PrometheusRule": "prometheusrule-v1.schema.json",
}


def operator_problems(doc: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = json.loads((DEPLOY / "schemas" / OPERATOR_SCHEMAS[doc["kind"]]).read_text())
    v = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(doc)]


def k8s_problems(doc: dict[str, Any], versions: Iterable[str] | None = None) -> list[str]:
    """Strict schema problems of one resource at each version ([] if valid)."""
    import kubernetes_validate as kv

    if doc.get("kind") in OPERATOR_SCHEMAS and str(doc.get("apiVersion", "")).startswith(
        "monitoring.coreos.com/"
    ):
        return operator_problems(doc)
    out = []
    for ver in versions or k8s_versions():
        try:
            kv.validate(doc, ver, strict=True)
        except kv.ValidationError as e:
            out.append(f"@{ver} {'.'.join(map(str, e.path)) or '<root>'}: {e.message}")
        except kv.SchemaNotFoundError:
            out.append(f"@{ver} no schema for apiVersion={doc.get('apiVersion')} kind={doc.get('kind')}")
        except kv.InvalidSchemaError as e:
            out.append(f"@{ver} invalid schema: {e}")
    return out


def validate_k8s() -> list[tuple[str, list[str]]]:
    """[(what, problems)] for each manifest file and each rendered resource."""
    results = []
    for path in manifest_files():
        for doc in load_docs(path):
            what = f"{path.relative_to(ROOT)} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            results.append((what, k8s_problems(doc)))
    renderings: list[tuple[str, Any]] = [("kustomize deploy/k8s", lambda: kustomize(K8S))]
    renderings += [(f"kustomize +{c}", lambda c=c: kustomize_with(c)) for c in VARIANTS_RENDERED]
    for label, render in renderings:
        try:
            docs = render()
        except RuntimeError as e:
            results.append((label, [str(e)]))
            continue
        for doc in docs:
            results.append((f"{label}: {doc.get('kind')}/{doc['metadata'].get('name')}", k8s_problems(doc)))
    return results


# ------------------------------------------------------------------------------------------ ACI
def _flatten(d: Any, prefix: str = "") -> set[str]:
    if isinstance(d, dict):
        return (
            set().union(*[_flatten(v, f"{prefix}.{k}" if prefix else k) for k, v in d.items()])
            if d
            else {prefix}
        )
    if isinstance(d, list):
        return set().union(*[_flatten(v, f"{prefix}[{i}]") for i, v in enumerate(d)]) if d else {prefix}
    return {prefix}


def _required_missing(m: Any, path: str) -> list[str]:
    """The SDK models carry `_validation` (required...) but no validate(): walk them."""
    from azure.mgmt.containerinstance._serialization import Model

    out = []
    for attr, rules in getattr(m, "_validation", {}).items():
        if rules.get("required") and not rules.get("readonly") and getattr(m, attr, None) is None:
            out.append(f"{path}.{attr} is required")
    for attr in getattr(m, "_attribute_map", {}):
        v = getattr(m, attr, None)
        for i, item in enumerate(v if isinstance(v, list) else [v]):
            if isinstance(item, Model):
                out += _required_missing(item, f"{path}.{attr}" + (f"[{i}]" if isinstance(v, list) else ""))
    return out


def aci_problems(doc: dict[str, Any]) -> list[str]:
    import azure.mgmt.containerinstance.models as M

    out = []
    if doc.get("type") != "Microsoft.ContainerInstance/containerGroups":
        out.append(f"type must be Microsoft.ContainerInstance/containerGroups, got {doc.get('type')!r}")
    if not doc.get("apiVersion"):
        out.append("apiVersion (the ARM API version az uses for the file) is missing")
    body = {k: v for k, v in doc.items() if k != "apiVersion"}  # apiVersion is read by az, not a model field
    try:
        cg = M.ContainerGroup.deserialize(body)
    except Exception as e:  # DeserializationError: wrong types; keep the innermost reason
        reasons = re.findall(r"(?:ValueError|TypeError): ([^\"\\]+)", str(e))
        return [*out, f"deserialize (wrong type): {reasons[0].strip() if reasons else str(e)[:300]}"]
    out += _required_missing(cg, "<group>")

    # the SDK's enums are open (unknown strings pass): check the ones used here
    def enum(value: Any, enum_cls: Any, where: str) -> None:
        allowed = {e.value.lower() for e in enum_cls}
        if value is not None and str(value).lower() not in allowed:
            out.append(f"{where}={value!r} not in {sorted(e.value for e in enum_cls)}")

    enum(cg.os_type, M.OperatingSystemTypes, "properties.osType")
    enum(cg.restart_policy, M.ContainerGroupRestartPolicy, "properties.restartPolicy")
    enum(cg.sku, M.ContainerGroupSku, "properties.sku")
    if cg.ip_address:
        enum(cg.ip_address.type, M.ContainerGroupIpAddressType, "properties.ipAddress.type")
        for p in cg.ip_address.ports or []:
            enum(p.protocol, M.ContainerGroupNetworkProtocol, "properties.ipAddress.ports[].protocol")
    for c in cg.containers or []:
        for p in c.ports or []:
            enum(p.protocol, M.ContainerNetworkProtocol, f"containers[{c.name}].ports[].protocol")
        for probe in (c.liveness_probe, c.readiness_probe):
            if probe and probe.http_get:
                enum(probe.http_get.scheme, M.Scheme, f"containers[{c.name}] probe scheme")
    # unknown keys (typos) do not survive a round trip through the models
    lost = sorted(_flatten(body) - _flatten(cg.serialize(keep_readonly=True)))
    out += [f"unknown or ignored key: {k}" for k in lost]
    return out


ACI_SAMPLE = {
    "IMAGE": "myregistry.azurecr.io/shapserve:0.1.0",
    "REGISTRY_SERVER": "myregistry.azurecr.io",
    "REGISTRY_USERNAME": "myregistry",
    "REGISTRY_PASSWORD": "not-a-real-password",
}


def validate_aci() -> list[tuple[str, list[str]]]:
    from render_aci import render

    results = []
    for label, extra in (("with API key", {"SHAPSERVE_API_KEY": "example-key"}), ("without API key", {})):
        doc = render({**ACI_SAMPLE, **extra})
        results.append((f"deploy/aci/container-group.yaml ({label})", aci_problems(doc)))
    doc = render({"IMAGE": "docker.io/example/shapserve:0.1.0"})
    results.append(("deploy/aci/container-group.yaml (public image, no key)", aci_problems(doc)))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offline checks of Dockerfile, deploy/k8s and deploy/aci")
    ap.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    a = ap.parse_args(argv)
    bad = 0
    print("== hadolint")
    for line in hadolint(a.dockerfile):
        bad += 1
        print("FAIL", line)
    print(f"== Kubernetes (strict, {' and '.join(k8s_versions())})")
    for section in (validate_k8s, validate_aci):
        if section is validate_aci:
            print("== Azure Container Instances (azure-mgmt-containerinstance models)")
        for what, problems in section():
            print(("FAIL " if problems else "ok   ") + what)
            for p in problems:
                print("     ", p)
            bad += bool(problems)
    print("== FAILED" if bad else "== all deploy checks passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
