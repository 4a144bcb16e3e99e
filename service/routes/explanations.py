"""The explanation store on the served model: upload, list, download and delete explanations.

The handlers are ``store.api``'s (framework-free); the store itself is opened once per worker, on
first use (``ScoringService.store``), from ``SHAPSERVE_STORE_URL`` (default: a SQLite file).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from store import api
from store.schemas import UploadBody

from ..routing import Call, RouteSpec


class ListQuery(BaseModel):
    comment: str | None = Field(None, description="Only explanations with this comment.")
    kind: str | None = Field(None, description="local, shap, pfi or mimic.")
    raw: str | None = Field(None, description="true: raw-feature explanations only.")
    engineered: str | None = Field(None, description="true: engineered-feature explanations only.")
    source: str | None = Field(
        None, description="upload (default), recorded (sampled /explain answers) or all."
    )
    limit: str | None = Field(None, description="At most this many, newest first.")


class ItemQuery(BaseModel):
    top_k: str | None = Field(None, description="Only the top-k ranked features (overall and per class).")


def upload(call: Call) -> dict[str, Any]:
    return api.upload(call.core.store, call.body, call.core.store_settings.store_max_upload_bytes)


def list_(call: Call) -> list[dict[str, Any]]:
    q = call.query
    keys = ("comment", "kind", "raw", "engineered", "source", "limit")
    return api.list_(call.core.store, *(q.get(k) for k in keys))


def get(call: Call) -> dict[str, Any]:
    return api.get(call.core.store, call.path["id"], call.query.get("top_k"))


def delete(call: Call) -> dict[str, Any]:
    return api.delete(call.core.store, call.path["id"])


ROUTES = (
    RouteSpec(
        "/explanations",
        "POST",
        upload,
        "Store an explanation (the shape /explain or /explain_global returns); answers its id",
        body=UploadBody,
        body_limit="max_upload_body_bytes",
        tags=("store",),
    ),
    RouteSpec(
        "/explanations",
        "GET",
        list_,
        "The stored explanations' metadata, newest first",
        query=ListQuery,
        tags=("store",),
    ),
    RouteSpec(
        "/explanations/{id}",
        "GET",
        get,
        "One stored explanation (top_k: only the top-k features)",
        query=ItemQuery,
        tags=("store",),
    ),
    RouteSpec("/explanations/{id}", "DELETE", delete, "Delete one stored explanation", tags=("store",)),
)
