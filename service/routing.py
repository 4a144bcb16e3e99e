"""The route table's vocabulary: one ``RouteSpec`` per HTTP route of ours.

The table (``service.routes.ROUTES``) is the one list the app serves, the request guard protects and
limits, and the OpenAPI document describes.  A route is behind the API key unless it is marked
``open``; a route with a JSON ``body`` gets the body-size and content-type checks and one JSON parse
into its pydantic model (or its own ``parse``); a ``scoring`` route counts against the in-flight limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.routing import compile_path

if TYPE_CHECKING:
    from .core import ScoringService


@dataclass(frozen=True)
class Call:
    """What a handler receives: the loaded model's service, the validated body, query and path values."""

    # the request's cancellation token (keyword only): ``is_set`` once its client has gone or its time
    # budget is spent; handlers pass ``cancel.is_set`` to the engine (``explain(..., cancel=)``)
    cancel: threading.Event = field(default_factory=threading.Event, kw_only=True)
    core: ScoringService
    body: Any = None
    query: Mapping[str, str] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # the request's, lower-cased names


Handler = Callable[[Call], Any]
BodyParser = Callable[[bytes, Mapping[str, str]], Any]  # (raw body, request headers) -> the handler's body


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    open: bool = False  # served without the API key (probes, the API document)
    scoring: bool = False  # counted against the in-flight limit
    blocking: bool = True  # numeric or I/O work: runs in the thread pool, never on the event loop
    status: int = 200
    tags: tuple[str, ...] = ()
    # the Content-Types a body may come with ("" = no Content-Type header; Triton's client sends none)
    media_types: tuple[str, ...] = ("application/json",)
    # the route's own body decoder instead of one JSON parse into ``body`` (which the guard still needs
    # to apply the body limit and the OpenAPI document to describe), e.g. a JSON header + binary tensors
    parse: BodyParser | None = None
    # the settings field holding this route's body limit, when it is not ``max_body_bytes``
    body_limit: str = "max_body_bytes"
    # the settings field holding this route's time budget, when it is not ``request_timeout``
    timeout: str = "request_timeout"
    # the request's rows from its parsed body, before the handler runs (None: not known), which lets a
    # lone short request run on the event loop (``service.inline``); unset: always a handler thread
    rows: Callable[[Any], int | None] | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, path: str) -> bool:
        return _regex(self.path).match(path) is not None


@lru_cache(maxsize=256)
def _regex(path: str) -> Any:
    return compile_path(path)[0]


def route_for(routes: tuple[RouteSpec, ...], path: str, method: str | None = None) -> RouteSpec | None:
    """The route serving ``path`` (and ``method``, when given), else None (BentoML's own routes)."""
    for spec in routes:
        if spec.matches(path) and (method is None or spec.method == method):
            return spec
    return None
