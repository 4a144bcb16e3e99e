#!/usr/bin/env python3
"""Turn the Deployment of deploy/k8s into a file ``podman kube play`` runs on one machine.

The pod spec is kept as it is (probes, resources, security context, read-only root filesystem,
emptyDir, env, preStop); only what a single host needs changes:

* only the Deployment is kept (podman ignores Service, HPA, PDB, ServiceMonitor), replicas=1;
* the image becomes IMAGE (a locally built tag), the namespace is dropped;
* each containerPort is published on 127.0.0.1:<HOST_PORT> only (podman 4.3 otherwise
  publishes it on 0.0.0.0:<containerPort>, which may clash with port 3000 on the host).

usage: kube_play.py IMAGE HOST_PORT OUT.yaml [--manifest deploy/k8s/deployment.yaml]
then:  podman kube play --replace OUT.yaml   ...   podman kube down OUT.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOYMENT = Path(__file__).resolve().parents[1] / "k8s" / "deployment.yaml"


def kube_play_docs(
    manifest: Path, image: str, host_port: int, name: str | None = None
) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") == "Deployment"]
    if len(docs) != 1:
        raise ValueError(f"{manifest}: expected exactly one Deployment, found {len(docs)}")
    dep = docs[0]
    dep["metadata"].pop("namespace", None)
    if name:
        dep["metadata"]["name"] = name
    dep["spec"]["replicas"] = 1
    port = host_port
    for c in dep["spec"]["template"]["spec"]["containers"]:
        c["image"] = image
        for p in c.get("ports", []):
            p["hostIP"], p["hostPort"] = "127.0.0.1", port
            port += 1
    return [dep]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("host_port", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--manifest", type=Path, default=DEPLOYMENT)
    ap.add_argument("--name", help="rename the Deployment (and so the pod)")
    a = ap.parse_args(argv)
    docs = kube_play_docs(a.manifest, a.image, a.host_port, a.name)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
