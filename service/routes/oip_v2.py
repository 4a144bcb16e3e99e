"""Open Inference Protocol (V2): health, server and model metadata, and ``infer`` on the packaged model.

The server health routes are open, like ``/livez`` and ``/readyz`` (probes carry no key); everything
that names the model is behind the key.  Each model route also answers under ``/versions/{version}``.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.responses import Response

from ..protocols import check_model, v2
from ..routing import Call, RouteSpec


def live(call: Call) -> dict[str, Any]:
    return {"live": True}


def ready(call: Call) -> dict[str, Any]:
    return {"ready": call.core.ready}


def server_metadata(call: Call) -> dict[str, Any]:
    try:
        ours = version("shapserve")
    except PackageNotFoundError:  # running from a source tree that was never installed
        ours = "unknown"
    return {"name": "shapserve", "version": ours, "extensions": ["binary_tensor_data"]}


def model_metadata(call: Call) -> dict[str, Any]:
    check_model(call.core, call.path["name"], call.path.get("version"))
    return v2.metadata(call.core)


def model_ready(call: Call) -> dict[str, Any]:
    check_model(call.core, call.path["name"], call.path.get("version"))
    return {"name": call.core.name, "ready": call.core.ready}


def infer(call: Call) -> dict[str, Any] | Response:
    core = call.core
    check_model(core, call.path["name"], call.path.get("version"))
    request: v2.InferenceRequest = call.body
    rows = v2.rows(request, core.explainer.features)
    chosen = v2.plan(request, classifier=core.explainer.classes is not None)
    if chosen.explain:
        answer = core.explain(rows, cancel=call.cancel.is_set, error_estimate=chosen.error_estimate)
    else:
        answer = core.predict(rows)
    body, buffers = v2.response(request, chosen, answer, core.name, core.version)
    if not buffers:
        return body
    header = json.dumps(
        body, allow_nan=False
    ).encode()  # binary tensor data: the JSON, then the buffers in output order
    return Response(
        header + b"".join(buffers),
        media_type="application/octet-stream",
        headers={"inference-header-content-length": str(len(header))},
    )


_TAGS = ("open-inference-v2",)


def _model_routes(prefix: str) -> tuple[RouteSpec, ...]:
    return (
        RouteSpec(
            prefix,
            "GET",
            model_metadata,
            "V2: the model's inputs and outputs (names, datatypes, shapes)",
            response=v2.ModelMetadata,
            blocking=False,
            tags=_TAGS,
        ),
        RouteSpec(
            prefix + "/ready",
            "GET",
            model_ready,
            "V2: whether the model is ready",
            response=v2.ModelReady,
            blocking=False,
            tags=_TAGS,
        ),
        RouteSpec(
            prefix + "/infer",
            "POST",
            infer,
            "V2: predictions and probabilities; with parameters.explain, the local importances; with "
            "parameters.error_estimate, each row's error estimate too",
            body=v2.InferenceRequest,
            response=v2.InferenceResponse,
            scoring=True,
            tags=_TAGS,
            # Triton's client sends no Content-Type; its binary tensors come as application/octet-stream
            media_types=("application/json", "application/octet-stream", ""),
            parse=v2.parse_infer,
        ),
    )


ROUTES = (
    RouteSpec(
        "/v2/health/live",
        "GET",
        live,
        "V2: the server is live",
        response=v2.Live,
        open=True,
        blocking=False,
        tags=_TAGS,
    ),
    RouteSpec(
        "/v2/health/ready",
        "GET",
        ready,
        "V2: the model is loaded and warm",
        response=v2.Ready,
        open=True,
        blocking=False,
        tags=_TAGS,
    ),
    RouteSpec(
        "/v2",
        "GET",
        server_metadata,
        "V2: server metadata",
        response=v2.ServerMetadata,
        blocking=False,
        tags=_TAGS,
    ),
    *_model_routes("/v2/models/{name}"),
    *_model_routes("/v2/models/{name}/versions/{version}"),
)
