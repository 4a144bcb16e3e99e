"""The dashboard: its page and static files (open: they hold no data) and its JSON data routes (behind
the API key like every other route; the page sends the key it is given as ``Authorization: Bearer``).

The computations live in ``service.dashboard`` (sources, cohorts, metrics, views); see
docs/dashboard.md for the page and docs/api.md for the routes' shapes.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..dashboard import assets, sources, views
from ..dashboard import interactions as dash_interactions
from ..dashboard.schemas import (
    CohortsBody,
    DependenceBody,
    ExploreBody,
    IceBody,
    ImportanceBody,
    InteractionsBody,
    PerformanceBody,
    RowBody,
    SourceBody,
)
from ..routing import Call, RouteSpec

TAGS = ("dashboard",)


def page(call: Call) -> Response:
    sources.warm(call.core)  # the data load in the background while the browser runs the page's files
    return assets.page()


def slash(call: Call) -> Response:
    # relative, so that it stays under a proxy's path prefix
    return Response(status_code=308, headers={"location": "../dashboard"})


def static(call: Call) -> Response:
    return assets.static(call.path["path"], call.query, call.headers)


def _data(view: Any, summary: str, body: type | None = None, *, scoring: bool = False) -> RouteSpec:
    name = view.__name__.replace("_counts", "s")
    if body is None:
        return RouteSpec(f"/dashboard/api/{name}", "GET", lambda call: view(call.core), summary, tags=TAGS)
    return RouteSpec(
        f"/dashboard/api/{name}",
        "POST",
        lambda call: view(call.core, call.body),
        summary,
        body=body,
        scoring=scoring,
        tags=TAGS,
    )


ROUTES = (
    RouteSpec(
        "/dashboard",
        "GET",
        page,
        "The dashboard page (open: it holds no data; its data routes need the key)",
        open=True,
        blocking=False,
        tags=TAGS,
    ),
    RouteSpec(
        "/dashboard/", "GET", slash, "Redirects to the dashboard page", open=True, blocking=False, tags=TAGS
    ),
    RouteSpec(
        "/dashboard/static/{path:path}",
        "GET",
        static,
        "The dashboard's scripts, styles and vendored plotting library (open, versioned, cached)",
        open=True,
        blocking=False,
        tags=TAGS,
    ),
    _data(
        views.packaged_sources,
        "The model and the data sets its artifact carries (evaluation rows, training sample): no store",
    ),
    _data(
        views.sources,
        "The data sets the dashboard can show: evaluation rows, training sample, stored explanations",
    ),
    _data(
        views.summary,
        "A data set's size, features and fields, output space, fidelity and SHAP sample",
        SourceBody,
    ),
    _data(
        views.cohort_counts,
        "How many rows each cohort (filters on features, prediction, label, error) holds",
        CohortsBody,
    ),
    _data(views.performance, "Prediction distribution and metrics per cohort (up to three)", PerformanceBody),
    _data(views.explore, "A scatter sample or histogram counts of any fields, per cohort", ExploreBody),
    _data(
        views.importance,
        "Aggregate feature importance (shap, pfi, mimic) per cohort and class",
        ImportanceBody,
    ),
    _data(
        views.dependence, "Feature value against its SHAP value, coloured by another field", DependenceBody
    ),
    _data(views.row, "One row: its values, prediction, label and local explanation", RowBody, scoring=True),
    _data(
        views.ice,
        "ICE curves of rows and the partial dependence over a cohort, predicted live",
        IceBody,
        scoring=True,
    ),
    RouteSpec(
        "/dashboard/api/interactions",
        "POST",
        lambda call: dash_interactions.interactions(call.core, call.body, cancel=call.cancel.is_set),
        "A cohort's mean |pairwise interaction| and a dependence plot coloured by the strongest partner",
        body=InteractionsBody,
        scoring=True,
        tags=TAGS,
    ),
)
