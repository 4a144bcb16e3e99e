"""Triton's HTTP client (PyPI ``tritonclient[http]``) against a running shapserve's V2 routes.

Run with .venv-clients' python.  Reads a JSON spec on stdin (``url``, ``model``, ``key`` or null,
``tensors``: name, datatype, shape, nested data with null for NaN) and prints what the client returned,
as JSON.  The client builds every request itself, binary tensor data (its default) and JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def _array(tensor: dict[str, Any]) -> np.ndarray:
    if tensor["datatype"] == "BYTES":
        return np.asarray(tensor["data"], dtype=np.object_)
    dtype = {"FP64": np.float64, "FP32": np.float32, "INT64": np.int64}[tensor["datatype"]]
    return np.asarray([np.nan if v is None else v for v in np.ravel(tensor["data"])], dtype=dtype).reshape(
        tensor["shape"]
    )


def _inputs(spec: dict[str, Any], binary: bool) -> list[Any]:
    inputs = []
    for t in spec["tensors"]:
        tensor = httpclient.InferInput(t["name"], t["shape"], t["datatype"])
        tensor.set_data_from_numpy(_array(t), binary_data=binary)
        inputs.append(tensor)
    return inputs


def _result(result: Any, names: list[str]) -> dict[str, Any]:
    response = result.get_response()
    outputs = {}
    for o in response["outputs"]:
        arr = result.as_numpy(o["name"])
        data = [v.decode() if isinstance(v, bytes) else v for v in arr.ravel().tolist()]
        outputs[o["name"]] = {"datatype": o["datatype"], "shape": list(arr.shape), "data": data}
    assert list(outputs) == names or not names, (list(outputs), names)
    return {"id": response.get("id"), "parameters": response.get("parameters"), "outputs": outputs}


def main() -> None:
    spec = json.load(sys.stdin)
    auth = {"Authorization": f"Bearer {spec['key']}"} if spec["key"] else None

    def headers() -> dict[str, str] | None:
        # a fresh dict per call: the client's infer() adds Inference-Header-Content-Length to the dict
        # it is given, which a later JSON request would then carry with a body it does not describe
        return dict(auth) if auth else None

    model = spec["model"]
    client = httpclient.InferenceServerClient(url=spec["url"].removeprefix("http://"), network_timeout=120.0)
    out: dict[str, Any] = {
        "server_live": client.is_server_live(),
        "server_ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model, headers=headers()),
        "server_metadata": client.get_server_metadata(headers=headers()),
        "model_metadata": client.get_model_metadata(model, headers=headers()),
    }
    for binary in (True, False):  # the client's default is binary tensor data
        result = client.infer(
            model,
            _inputs(spec, binary),
            request_id=f"triton-{binary}",
            parameters={"explain": True},
            headers=headers(),
        )
        out["binary" if binary else "json"] = _result(result, [])
    wanted = ["local_importance_values", "predictions", "explained_outputs", "expected_values"]
    outputs = [httpclient.InferRequestedOutput(n, binary_data=(n == "predictions")) for n in wanted]
    result = client.infer(model, _inputs(spec, True), outputs=outputs, request_id="named", headers=headers())
    out["named"] = _result(result, wanted)
    try:
        client.infer("nope", _inputs(spec, True), headers=headers())
        out["not_found"] = {"status": 200}
    except InferenceServerException as exc:
        out["not_found"] = {"status": exc.status(), "message": exc.message()}
    if spec["key"]:
        try:
            client.infer(model, _inputs(spec, True))
            out["unauthorized"] = {"status": 200}
        except InferenceServerException as exc:
            out["unauthorized"] = {"status": exc.status(), "message": exc.message()}
    client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
