"""SageMaker (bring your own container): ``GET /ping`` and ``POST /invocations``.

``/ping`` is open (SageMaker's health check carries no key) and answers 200 once the model is loaded
(503 before, like every route).  ``/invocations`` also answers at ``/endpoints/{name}/invocations``,
the SageMaker runtime's own path, so a ``sagemaker-runtime`` client (boto3's ``invoke_endpoint``) can be
pointed at shapserve directly with ``endpoint_url``.  The entrypoint takes ``serve`` and port 8080.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from scorers.errors import InputError

from ..json_codec import dumps
from ..protocols import sagemaker
from ..routing import Call, RouteSpec


def ping(call: Call) -> dict[str, Any]:
    return {"status": "ok", "model": call.core.name}


def invocations(call: Call) -> Response:
    request: sagemaker.Invocation = call.body
    core = call.core
    rows, options = request.rows(core.explainer.features)
    if options and (request.clarify is not None or request.accept == sagemaker.CSV):
        raise InputError(
            "error_estimate and max_error come with the JSON answer (Accept: application/json, no "
            "X-Amzn-SageMaker-Enable-Explanations)",
            field=next(iter(options)),
        )
    if request.clarify is not None:
        answer = core.explain(rows, cancel=call.cancel.is_set) if request.clarify else core.predict(rows)
        body = sagemaker.clarify(answer, request.accept, explained=request.clarify)
        return Response(dumps(body), media_type=sagemaker.JSON)
    if request.accept == sagemaker.CSV:
        return Response(sagemaker.predictions_csv(core.predict(rows)), media_type=sagemaker.CSV)
    answer = core.explain(rows, cancel=call.cancel.is_set, **options)
    return Response(dumps(answer), media_type=sagemaker.JSON)


_TAGS = ("sagemaker",)
_SUMMARY = (
    "SageMaker: JSON or CSV rows -> the /explain answer (Accept: application/json), predictions "
    "(text/csv), or SageMaker Clarify's online explainability shape (X-Amzn-SageMaker-Enable-Explanations)"
)


def _invocations(path: str) -> RouteSpec:
    return RouteSpec(
        path,
        "POST",
        invocations,
        _SUMMARY,
        body=sagemaker.InvocationsRequest,
        scoring=True,
        tags=_TAGS,
        media_types=(sagemaker.JSON, sagemaker.CSV, ""),
        parse=sagemaker.parse,
    )


ROUTES = (
    RouteSpec("/ping", "GET", ping, "SageMaker: health check", open=True, blocking=False, tags=_TAGS),
    _invocations("/invocations"),
    _invocations("/endpoints/{name}/invocations"),
)
