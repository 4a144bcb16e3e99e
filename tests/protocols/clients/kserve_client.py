"""KServe's Python SDK (PyPI ``kserve``) against a running shapserve: its REST client, V1 and V2.

Run with .venv-clients' python.  Reads a JSON spec on stdin (``url``, ``model``, ``key`` or null,
``rows`` for V1, ``tensors`` for V2: name, datatype, shape, nested data with null for NaN) and prints
what the SDK returned, as JSON.  Nothing here builds a request by hand: the SDK does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


def _array(tensor: dict[str, Any]) -> np.ndarray:
    if tensor["datatype"] == "BYTES":
        return np.asarray(tensor["data"], dtype=np.object_)
    dtype = {"FP64": np.float64, "FP32": np.float32, "INT64": np.int64}[tensor["datatype"]]
    return np.asarray([np.nan if v is None else v for v in np.ravel(tensor["data"])], dtype=dtype).reshape(
        tensor["shape"]
    )


def _tensors(response: Any) -> dict[str, Any]:
    return {
        "id": response.id,
        "parameters": response.parameters,
        "outputs": {
            o.name: {"datatype": o.datatype, "shape": list(o.shape), "data": o.as_numpy().ravel().tolist()}
            for o in response.outputs
        },
    }


async def _refused(call: Any) -> dict[str, Any]:
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return {"status": exc.response.status_code, "message": str(exc), "body": exc.response.json()}
    return {"status": 200}


async def v1(spec: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    url, model, rows = spec["url"], spec["model"], spec["rows"]
    async with InferenceRESTClient(RESTConfig(protocol="v1", timeout=60)) as client:
        out = {
            "model_ready": await client.is_model_ready(url, model, headers=headers),
            "predict": await client.infer(url, {"instances": rows}, model_name=model, headers=headers),
            "explain": await client.explain(url, model, {"instances": rows}, headers=headers),
            "not_found": await _refused(
                client.infer(url, {"instances": rows}, model_name="nope", headers=headers)
            ),
        }
        if spec["key"]:
            out["unauthorized"] = await _refused(client.infer(url, {"instances": rows}, model_name=model))
        return out


async def v2(spec: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    url, model = spec["url"], spec["model"]
    out: dict[str, Any] = {}
    async with InferenceRESTClient(RESTConfig(protocol="v2", timeout=60)) as client:
        out["server_live"] = await client.is_server_live(url)
        out["server_ready"] = await client.is_server_ready(url)
        out["model_ready"] = await client.is_model_ready(url, model, headers=headers)
        for binary in (False, True):
            inputs = []
            for t in spec["tensors"]:
                tensor = InferInput(t["name"], t["shape"], t["datatype"])
                tensor.set_data_from_numpy(_array(t), binary_data=binary)
                inputs.append(tensor)
            request = InferRequest(model, inputs, request_id=f"kserve-{binary}", parameters={"explain": True})
            response = await client.infer(url, request, model_name=model, headers=dict(headers))
            out["binary" if binary else "json"] = _tensors(response)
        # one output asked for by name, as binary tensor data, which the SDK reads back
        wanted = [RequestedOutput("predictions"), RequestedOutput("probabilities", {"binary_data": True})]
        request = InferRequest(model, inputs, request_id="named", request_outputs=wanted)
        out["named"] = _tensors(await client.infer(url, request, model_name=model, headers=dict(headers)))
        out["not_found"] = await _refused(
            client.infer(url, request, model_name="nope", headers=dict(headers))
        )
    return out


async def main() -> None:
    spec = json.load(sys.stdin)
    headers = {"Authorization": f"Bearer {spec['key']}"} if spec["key"] else {}
    print(json.dumps({"v1": await v1(spec, headers), "v2": await v2(spec, headers)}))


if __name__ == "__main__":
    asyncio.run(main())
