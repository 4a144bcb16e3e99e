"""Build one image per model runtime and print its size (deploy/README.md, "Image sizes").

usage: python deploy/scripts/runtime_image_sizes.py [RUNTIME ...]   (default: sklearn onnx lightgbm xgboost)

Each runtime's model is fitted on the breast-cancer data, packaged and built into a Bento
(``cli.bento.package``, whose requirements follow the model: scorers/runtime_packages.py), staged
(deploy/scripts/stage-bento.sh) and built with podman from the top-level Dockerfile as
``localhost/shapserve-size:RUNTIME``. The sizes are podman's, in MB (10^6 bytes); "above base" subtracts
the python:3.11-slim base the Dockerfile builds on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASE = "docker.io/library/python:3.11-slim"


def model(runtime: str) -> Any:
    from scorers.examples import breast_cancer_svc

    svc, x, *_ = breast_cancer_svc()
    if runtime == "sklearn":
        return svc, x
    y = svc.predict(x)  # the seed's data and the SVC's labels, for the other runtimes' models
    if runtime == "onnx":
        from skl2onnx import to_onnx
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(max_iter=5000).fit(x.to_numpy("float32"), y)
        return to_onnx(fitted, x.to_numpy("float32")[:1]).SerializeToString(), x
    if runtime == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=50, verbose=-1).fit(x, y), x
    if runtime == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=50).fit(x, (y == y[0]).astype(int)), x  # 0/1 labels
    raise SystemExit(f"unknown runtime {runtime!r}: sklearn, onnx, lightgbm or xgboost")


def size(image: str) -> int:
    out = subprocess.run(
        ["podman", "image", "inspect", image, "--format", "{{.Size}}"], capture_output=True, text=True
    )
    return int(out.stdout.strip())


def build(runtime: str) -> dict[str, Any]:
    from cli.bento import package

    fitted, x = model(runtime)
    out = package(fitted, x, name=f"size-{runtime}", build=True, progress=lambda msg: None)
    ctx = ROOT / "build" / f"bento-size-{runtime}"
    subprocess.run(
        ["bash", str(ROOT / "deploy/scripts/stage-bento.sh"), out["bento_tag"], str(ctx)], check=True
    )
    image = f"localhost/shapserve-size:{runtime}"
    cmd = [
        "podman",
        "build",
        "--pull=never",
        "--format",
        "docker",
        "-q",
        "-t",
        image,
        "-f",
        "Dockerfile",
        str(ctx),
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    total = size(image)
    return {
        "runtime": runtime,
        "image": image,
        "total_mb": round(total / 1e6),
        "above_base_mb": round((total - size(BASE)) / 1e6),
    }


if __name__ == "__main__":
    for runtime in sys.argv[1:] or ["sklearn", "onnx", "lightgbm", "xgboost"]:
        print(json.dumps(build(runtime)), flush=True)
