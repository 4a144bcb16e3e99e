"""The route table: every HTTP route of ours, in one tuple.

A new route is a ``RouteSpec`` in one of these modules (or a new module added here); the app serves
it, the guard protects it (behind the API key unless marked open), ``/metrics`` counts it and
``/docs.json`` documents it, with no other edit.
"""

from __future__ import annotations

from ..routing import RouteSpec
from . import azureml, dashboard, explanations, info, interactions, jobs, kserve_v1, oip_v2, scoring

ROUTES: tuple[RouteSpec, ...] = (
    *scoring.ROUTES,
    *interactions.ROUTES,
    *jobs.ROUTES,
    *info.ROUTES,
    *azureml.ROUTES,
    *kserve_v1.ROUTES,
    *oip_v2.ROUTES,
    *explanations.ROUTES,
    *dashboard.ROUTES,
)

__all__ = ["ROUTES", "RouteSpec"]
