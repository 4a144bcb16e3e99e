"""SageMaker's container contract (bring your own container): ``/invocations`` bodies and answers.

In: ``application/json`` (``{"instances": rows}``, a list of rows, or any ``DataFrame.to_json()``
orient, as ``/score`` reads them) or ``text/csv`` (one row per line in feature order, no header;
a first line equal to the feature names is read as a header and skipped).
``{"instances": rows}`` may carry ``/explain``'s ``error_estimate`` and ``max_error`` beside the rows.
Out, by ``Accept`` (``*/*`` or none: JSON): ``application/json`` is ``/explain``'s answer;
``text/csv`` is one line per row: the prediction, then each class's probability (classifiers).
With ``X-Amzn-SageMaker-Enable-Explanations`` (``InvokeEndpoint``'s ``EnableExplanations``), the answer
is SageMaker Clarify's online explainability shape (``clarify``), as AWS documents it; the exact shape
is in docs/protocols.md.  No HTTP here: ``service/routes/sagemaker.py`` calls these.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ConfigDict, RootModel

from scorers.errors import InputError

from ..errors import InvalidJsonError, NotAcceptableError
from ..parsing import load_json
from . import pandas_json

JSON = "application/json"
CSV = "text/csv"
ANSWERS = (JSON, CSV)
EXPLANATIONS_HEADER = "x-amzn-sagemaker-enable-explanations"
EXPLAIN_OPTIONS = ("error_estimate", "max_error")  # /explain's, beside "instances" in a JSON object


@dataclass(frozen=True)
class Invocation:
    """A decoded ``/invocations`` request: its raw body and the headers that choose the answer."""

    raw: bytes
    content_type: str
    accept: str
    clarify: bool | None  # None: no EnableExplanations; True/False: Clarify's shape, explained or not

    def rows(self, features: list[str]) -> tuple[list[Any], dict[str, Any]]:
        """The rows, and ``/explain``'s options sent beside ``instances`` in a JSON object
        (``error_estimate``, ``max_error``: checked by ``ScoringService.explain``)."""
        if self.content_type == CSV:
            return csv_rows(self.raw, features), {}
        try:
            body = load_json(self.raw)  # the rules of every JSON body (service.parsing)
        except InvalidJsonError as exc:
            raise InvalidJsonError(exc.detail, field=exc.field or "body") from None
        if isinstance(body, dict) and "instances" in body and set(body) <= {"instances", *EXPLAIN_OPTIONS}:
            options = {k: v for k, v in body.items() if k != "instances"}
            return body["instances"], options  # checked by ScoringService like /explain's instances
        return pandas_json.decode(body, features)[0], {}


def parse(raw: bytes, headers: Mapping[str, str]) -> Invocation:
    """The route's body parser: the body stays raw until the handler knows the model's features."""
    ctype = headers.get("content-type", "").split(";")[0].strip().lower() or JSON
    return Invocation(raw, ctype, accepted(headers.get("accept", "")), enable_explanations(headers))


def accepted(accept: str) -> str:
    """The first media type of ``Accept`` we answer in (JSON for none or ``*/*``), else 406."""
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    for media in wanted or ["*/*"]:
        if media in ("*/*", "application/*"):
            return JSON
        if media == "text/*":
            return CSV
        if media in ANSWERS:
            return media
    raise NotAcceptableError(f"Accept '{accept}': this endpoint answers in {' or '.join(ANSWERS)}")


def enable_explanations(headers: Mapping[str, str]) -> bool | None:
    """``EnableExplanations`` as a JMESPath literal: ``true`` or ``false`` (backquoted or not)."""
    value = headers.get(EXPLANATIONS_HEADER)
    if value is None:
        return None
    literal = value.strip().strip("`").strip().lower()
    if literal not in ("true", "false"):
        raise InputError(
            f"EnableExplanations '{value}': shapserve takes the literals `true` or `false`, not an expression",
            field="X-Amzn-SageMaker-Enable-Explanations",
        )
    return literal == "true"


def csv_rows(raw: bytes, features: list[str]) -> list[list[Any]]:
    """CSV lines -> rows in feature order: numbers where a cell reads as one, empty cells missing."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the CSV body is not UTF-8", field="body") from None
    lines = [cells for cells in csv.reader(io.StringIO(text)) if cells]
    if lines and [c.strip() for c in lines[0]] == features:
        lines = lines[1:]
    for i, cells in enumerate(lines):
        if len(cells) != len(features):
            raise InputError(
                f"CSV row {i} has {len(cells)} values; the model takes {len(features)}, in the order "
                f"of /metadata's features",
                row=i,
                field="body",
            )
    return [[_cell(c) for c in cells] for cells in lines]


def _cell(text: str) -> Any:
    cell = text.strip()
    if cell == "":
        return None
    try:
        return float(cell)
    except ValueError:
        return cell


def predictions_csv(answer: Mapping[str, Any]) -> str:
    """One line per row: the prediction, then each class's probability (classifiers)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    probabilities = answer.get("probabilities")
    for i, label in enumerate(answer["predictions"]):
        writer.writerow([label, *(repr(float(p)) for p in probabilities[i])] if probabilities else [label])
    return out.getvalue()


def predictions_json(answer: Mapping[str, Any]) -> str:
    keys = ("predictions", "probabilities", "classes")
    return json.dumps({k: answer[k] for k in keys if answer.get(k) is not None}, allow_nan=False)


def clarify(answer: Mapping[str, Any], accept: str, explained: bool) -> dict[str, Any]:
    """SageMaker Clarify's online explainability answer from ``/explain``'s (``ScoringService.explain``).

    ``predictions``: the container's own answer in the ``Accept`` type (``content_type``, ``data``);
    ``explanations.kernel_shap[row][feature]``: ``feature_header`` and ``attributions``, one per
    explained output (``label_header`` the class for classifiers), each ``attribution`` a one-value list.
    """
    data = predictions_csv(answer) if accept == CSV else predictions_json(answer)
    content_type = "text/csv; charset=utf-8" if accept == CSV else JSON
    out: dict[str, Any] = {"version": "1.0", "predictions": {"content_type": content_type, "data": data}}
    if not explained:
        out["explanations"] = {}
        return out
    features = answer["features"]
    classes = answer.get("classes")
    values = np.asarray(answer["local_importance_values"], dtype=np.float64)
    if classes is None:
        values = values[:, None, :]  # [row][feature] -> [row][1][feature]
    records = []
    for row in values:
        record = []
        for j, name in enumerate(features):
            attributions: list[dict[str, Any]]
            if classes is None:
                attributions = [{"attribution": [float(row[0, j])]}]
            else:
                attributions = [
                    {"label_header": str(c), "attribution": [float(row[k, j])]} for k, c in enumerate(classes)
                ]
            record.append({"feature_header": name, "attributions": attributions})
        records.append(record)
    out["explanations"] = {"kernel_shap": records}
    return out


class InvocationsRequest(RootModel[Any]):
    """What ``/docs.json`` shows for ``/invocations``; the body is read by ``parse``, not this model."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": 'application/json: {"instances": rows}, a list of rows or any DataFrame.to_json() '
            "orient; text/csv: one row per line in feature order. Accept: application/json (the /explain "
            "answer) or text/csv (prediction, then class probabilities). X-Amzn-SageMaker-Enable-"
            "Explanations: `true` answers in SageMaker Clarify's online explainability shape.",
            "examples": [{"instances": [[13.4, 20.52]]}],
        }
    )
