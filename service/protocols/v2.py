"""Open Inference Protocol (KServe V2, Triton, MLServer): tensors in, tensors out.

Inputs, either of:

- one tensor ``[N, M]`` of any name that is not a feature's: the rows in the feature order of
  ``/metadata`` (FP64, FP32, FP16 or INT*/UINT*; BYTES only where every feature is a category);
- one tensor per raw column, named by the feature, shape ``[N]`` or ``[N, 1]``: numbers as FP64, FP32 or
  INT*, categories as ``BYTES``.

Tensor data is given in JSON (nested or flat, row-major; ``null`` is a missing value, as in /explain) or,
with Triton's binary tensor extension, as raw bytes after the JSON header (``parse_infer``); outputs go
back as binary data when asked (``binary_data_output`` in the request's parameters, ``binary_data`` in an
output's), else in JSON.  Elements
must match their datatype (numbers in numeric tensors, integers in INT tensors, strings in BYTES), and
the rows then go through the same schema checks as ``/explain``: nothing is coerced.

Outputs (all of them unless ``outputs`` names some): ``predictions`` ``[N]``, and for classifiers
``probabilities`` ``[N, K]`` FP64 and ``classes`` ``[K]``.  With the request parameter
``"explain": true``, or when ``outputs`` names one of them, also ``local_importance_values``
``[N, K, M]`` FP64 (``[N, M]`` for regressors), ``expected_values`` ``[K]`` (``[1]``),
``explained_outputs`` ``[N, K]`` (``[N]``) and ``features`` ``[M]`` BYTES; the response parameter
``output_space`` names the space they are additive in.  With the request parameter
``"error_estimate": true``, or when ``outputs`` names one of them, also each row's error estimate
(``/explain``'s ``error_estimate``): ``error_estimate`` ``[N]`` FP64 (the per-row sigma) and
``error_estimate_values`` shaped like ``local_importance_values`` (the per-value sigma).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scorers.errors import InputError
from scorers.input_schema import NanLiteral

if TYPE_CHECKING:
    from ..core import ScoringService

EXPLAIN = "explain"  # the request parameter that asks for the explanation tensors
PREDICTION_OUTPUTS = ("predictions", "probabilities", "classes")
EXPLANATION_OUTPUTS = ("local_importance_values", "expected_values", "explained_outputs", "features")
ERROR_ESTIMATE = "error_estimate"  # the request parameter that asks for the error estimate tensors
ERROR_OUTPUTS = ("error_estimate", "error_estimate_values")
_CLASSIFIER_ONLY = {"probabilities", "classes"}

_NUMERIC = {
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
}
DATATYPES = (*_NUMERIC, "BYTES", "BOOL")
_PARAM = "String, number or boolean values (the protocol's $parameters)."


# -- bodies -----------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RequestInput(_Strict):
    name: str
    shape: list[int]
    datatype: str = Field(description=f"One of {', '.join(DATATYPES)}.")
    parameters: dict[str, Any] | None = Field(None, description=_PARAM)
    data: list[Any] | None = Field(
        None, description="Row-major, nested or flat; absent when the tensor is sent as binary data."
    )


class RequestOutput(_Strict):
    name: str = Field(description=f"One of {', '.join(PREDICTION_OUTPUTS + EXPLANATION_OUTPUTS)}.")
    parameters: dict[str, Any] | None = Field(None, description=_PARAM)


class InferenceRequest(_Strict):
    id: str | None = Field(None, description="Echoed in the response.")
    model_name: str | None = Field(None, description="Sent by KServe's client; the URL names the model.")
    model_version: str | None = None
    parameters: dict[str, Any] | None = Field(
        None, description=f'"{EXPLAIN}": true also returns the explanation tensors. ' + _PARAM
    )
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None


class Tensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]


class MetadataTensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


# -- inputs -> rows ------------------------------------------------------------------------------------
def rows(request: InferenceRequest, features: Sequence[str]) -> list[Any]:
    """The request's rows: arrays in feature order (one [N, M] tensor) or objects keyed by column."""
    inputs = request.inputs
    if not inputs:
        raise InputError("expected at least one input tensor", field="inputs")
    known = set(features)
    if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].name not in known:
        tensor = inputs[0]
        n, m = tensor.shape
        if m != len(features):
            raise InputError(
                f"expected shape [N, {len(features)}] (columns in the order {list(features)}), "
                f"got {tensor.shape}",
                field=f"inputs.{tensor.name}",
            )
        flat = _elements(tensor)
        return [flat[i * m : (i + 1) * m] for i in range(n)]
    n_rows: int | None = None
    columns: dict[str, list[Any]] = {}
    for tensor in inputs:
        where = f"inputs.{tensor.name}"
        if tensor.name in columns:
            raise InputError("the same input twice", field=where)
        if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InputError(
                f"expected one tensor per column, shape [N] or [N, 1], or one [N, {len(features)}] tensor "
                f"not named after a feature; got shape {tensor.shape}",
                field=where,
            )
        if n_rows is not None and tensor.shape[0] != n_rows:
            raise InputError(
                f"expected {n_rows} rows like the first input, got {tensor.shape[0]}", field=where
            )
        n_rows = tensor.shape[0]
        columns[tensor.name] = _elements(tensor)
    return [{name: values[i] for name, values in columns.items()} for i in range(n_rows or 0)]


def _elements(tensor: RequestInput) -> list[Any]:
    """The tensor's elements, flat, each checked against the datatype."""
    where = f"inputs.{tensor.name}"
    if tensor.datatype not in DATATYPES:
        raise InputError(
            f"unknown datatype '{tensor.datatype}'; expected one of {list(DATATYPES)}", field=where
        )
    if any(d < 0 for d in tensor.shape):
        raise InputError(f"expected a shape of non-negative sizes, got {tensor.shape}", field=where)
    if tensor.data is None:
        raise InputError("no 'data' and no binary data for this input", field=where)
    flat = _flatten(tensor.data)
    size = math.prod(tensor.shape)
    if len(flat) != size:
        raise InputError(f"shape {tensor.shape} holds {size} elements, data has {len(flat)}", field=where)
    family = _family(tensor.datatype)
    accepts, expected = _ELEMENT_CHECKS[family]
    for i, v in enumerate(flat):
        if v is not None and not accepts(v):
            raise InputError(
                f"datatype {tensor.datatype} expects {expected}; element {i} is {type(v).__name__} {v!r:.40}",
                field=where,
            )
    if family == "FP" and any(type(v) is NanLiteral for v in flat):
        # NaN in a float tensor is a missing value here, in JSON as in binary data (docs/protocols.md)
        flat = [math.nan if type(v) is NanLiteral else v for v in flat]
    return flat


def _family(datatype: str) -> str:
    if datatype in ("BYTES", "BOOL"):
        return datatype
    return "INT" if "INT" in datatype else "FP"


_ELEMENT_CHECKS = {
    "FP": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "numbers"),
    "INT": (lambda v: isinstance(v, int) and not isinstance(v, bool), "integers"),
    "BYTES": (lambda v: isinstance(v, str), "strings"),
    "BOOL": (lambda v: isinstance(v, bool), "booleans"),
}


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(v, list) for v in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for v in stack[-1]:
            if isinstance(v, list):
                stack.append(iter(v))
                break
            out.append(v)
        else:
            stack.pop()
    return out


# -- binary tensor data (Triton's extension) ----------------------------------------------------------
def parse_infer(raw: bytes, headers: Mapping[str, str]) -> InferenceRequest:
    """The JSON request, or the JSON header of ``Inference-Header-Content-Length`` bytes followed by each
    input with a ``binary_data_size`` parameter as raw little-endian bytes (BYTES: 4-byte length, then
    UTF-8), in input order."""
    from ..app import parse_body

    length = headers.get("inference-header-content-length")
    if length is None:
        return _as_request(parse_body(raw, InferenceRequest))
    if not length.strip().isdigit() or int(length) > len(raw):
        raise InputError(
            f"Inference-Header-Content-Length {length!r} is not a size within the body of {len(raw)} bytes"
        )
    header = int(length)
    request = _as_request(parse_body(raw[:header], InferenceRequest))
    offset = header
    for tensor in request.inputs:
        size = (tensor.parameters or {}).get("binary_data_size")
        if size is None:
            continue
        where = f"inputs.{tensor.name}"
        if tensor.data is not None:
            raise InputError("both 'data' and binary data", field=where)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or offset + size > len(raw):
            raise InputError(f"binary_data_size {size!r} runs past the end of the body", field=where)
        tensor.data = _from_bytes(raw[offset : offset + size], tensor.datatype, where)
        offset += size
    if offset != len(raw):
        raise InputError(f"{len(raw) - offset} bytes after the last binary input")
    return request


def _as_request(body: BaseModel) -> InferenceRequest:
    assert isinstance(body, InferenceRequest)
    return body


def _from_bytes(buf: bytes, datatype: str, where: str) -> list[Any]:
    if datatype == "BYTES":
        out = []
        i = 0
        while i < len(buf):
            if i + 4 > len(buf):
                raise InputError("BYTES data ends inside a length prefix", field=where)
            n = int.from_bytes(buf[i : i + 4], "little")
            if i + 4 + n > len(buf):
                raise InputError("BYTES data ends inside an element", field=where)
            try:
                out.append(buf[i + 4 : i + 4 + n].decode("utf-8"))
            except UnicodeDecodeError:
                raise InputError(f"BYTES element {len(out)} is not UTF-8 text", field=where) from None
            i += 4 + n
        return out
    dtype = np.dtype(_NUMERIC.get(datatype, "?"))
    if len(buf) % dtype.itemsize:
        raise InputError(f"{len(buf)} bytes are not a whole number of {datatype} elements", field=where)
    values: list[Any] = np.frombuffer(buf, dtype=dtype).tolist()
    return values


# -- outputs ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    outputs: tuple[str, ...]  # the names to answer, in order
    explain: bool
    binary: frozenset[str] = frozenset()  # the outputs to send as binary tensor data
    error_estimate: bool = False  # the explanation with each row's error estimate


def plan(request: InferenceRequest, classifier: bool) -> Plan:
    """Which outputs to answer and whether they need the explanation (and its error estimate); unknown
    names are refused."""
    params = request.parameters or {}
    asked = bool(_flag(params, EXPLAIN, "parameters"))
    errors = bool(_flag(params, ERROR_ESTIMATE, "parameters"))
    available = [n for n in PREDICTION_OUTPUTS if classifier or n not in _CLASSIFIER_ONLY]
    available += EXPLANATION_OUTPUTS + ERROR_OUTPUTS
    every = _flag(params, "binary_data_output", "parameters")
    if request.outputs is None:
        wanted = (EXPLANATION_OUTPUTS if asked or errors else ()) + (ERROR_OUTPUTS if errors else ())
        names = tuple(n for n in available if n in PREDICTION_OUTPUTS or n in wanted)
        return Plan(names, asked or errors, frozenset(names) if every else frozenset(), errors)
    names = tuple(o.name for o in request.outputs)
    binary = set()
    for i, output in enumerate(request.outputs):
        if output.name not in available:
            raise InputError(
                f"unknown output '{output.name}'; this model has {available}", field=f"outputs.{i}.name"
            )
        own = _flag(output.parameters or {}, "binary_data", f"outputs.{i}.parameters")
        if own or (own is None and every):
            binary.add(output.name)
    errors = errors or any(n in ERROR_OUTPUTS for n in names)
    explain = asked or errors or any(n in EXPLANATION_OUTPUTS for n in names)
    return Plan(names, explain, frozenset(binary), errors)


def _flag(params: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        raise InputError(f"expected true or false, got {value!r}", field=f"{where}.{key}")
    return value


def response(
    request: InferenceRequest, chosen: Plan, answer: Mapping[str, Any], name: str, version: str
) -> tuple[dict[str, Any], list[bytes]]:
    """The inference response of ``ScoringService.predict`` or ``.explain``'s answer, and the raw
    buffers of the outputs sent as binary tensor data (their JSON has ``binary_data_size``, no ``data``),
    to be sent after the JSON in output order."""
    outputs = [_tensor(n, _output(answer, n)) for n in chosen.outputs]
    buffers = []
    for tensor in outputs:
        if tensor["name"] in chosen.binary:
            raw = _to_bytes(tensor.pop("data"), tensor["datatype"])
            tensor["parameters"] = {"binary_data_size": len(raw)}
            buffers.append(raw)
    out: dict[str, Any] = {
        "model_name": name,
        "model_version": version,
        "id": request.id if request.id is not None else uuid.uuid4().hex,
        "outputs": outputs,
    }
    if chosen.explain:
        out["parameters"] = {"output_space": answer["output_space"]}
    return out, buffers


def _output(answer: Mapping[str, Any], name: str) -> Any:
    if name == "error_estimate":
        return answer["error_estimate"]["rows"]
    if name == "error_estimate_values":
        return answer["error_estimate"]["values"]
    return answer[name]


def _to_bytes(data: list[Any], datatype: str) -> bytes:
    if datatype == "BYTES":
        encoded = [str(v).encode("utf-8") for v in data]
        return b"".join(len(e).to_bytes(4, "little") + e for e in encoded)
    dtype = {"FP64": "<f8", "INT64": "<i8", "BOOL": "?"}[datatype]
    return np.asarray(data, dtype=dtype).tobytes()


def _tensor(name: str, value: Any) -> dict[str, Any]:
    if name in ("predictions", "classes", "features"):
        values = list(value)
        return {"name": name, "datatype": label_datatype(values), "shape": [len(values)], "data": values}
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    return {"name": name, "datatype": "FP64", "shape": list(arr.shape), "data": arr.ravel().tolist()}


def label_datatype(values: Sequence[Any]) -> str:
    if all(isinstance(v, str) for v in values):
        return "BYTES"
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    return "FP64"


# -- metadata -----------------------------------------------------------------------------------------------
def metadata(core: ScoringService) -> dict[str, Any]:
    features = core.manifest.features
    classes = core.explainer.classes
    m = len(features)
    per_row: list[int] = [-1] if classes is None else [-1, len(classes)]
    outputs = [{"name": "predictions", "datatype": label_datatype(classes or [0.5]), "shape": [-1]}]
    if classes is not None:
        outputs += [
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]},
            {"name": "classes", "datatype": label_datatype(classes), "shape": [len(classes)]},
        ]
    outputs += [
        {"name": "local_importance_values", "datatype": "FP64", "shape": [*per_row, m]},
        {"name": "expected_values", "datatype": "FP64", "shape": [len(classes) if classes else 1]},
        {"name": "explained_outputs", "datatype": "FP64", "shape": per_row},
        {"name": "features", "datatype": "BYTES", "shape": [m]},
        {"name": "error_estimate", "datatype": "FP64", "shape": [-1]},
        {"name": "error_estimate_values", "datatype": "FP64", "shape": [*per_row, m]},
    ]
    return {
        "name": core.name,
        "versions": [core.version],
        "platform": f"shapserve_{core.manifest.model.format}",
        "inputs": [
            {"name": f.name, "datatype": "FP64" if f.dtype == "number" else "BYTES", "shape": [-1]}
            for f in features
        ],
        "outputs": outputs,
    }
