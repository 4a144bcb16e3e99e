"""The OpenAPI document of the route table, from the routes' pydantic models.

Served at ``/docs.json`` (in place of BentoML's, which knows only BentoML APIs), so BentoML's own index
page and any OpenAPI client see the real request and response shapes.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .routing import RouteSpec
from .schemas import ErrorResponse

_REF = "#/components/schemas/{model}"


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)", spec.path)
    ]
    if spec.query is not None:
        for name, info in spec.query.model_fields.items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": info.is_required(),
                    "description": info.description or "",
                    "schema": {"type": "string"},
                }
            )
    return params


def document(routes: tuple[RouteSpec, ...], title: str, version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorResponse}
    for spec in routes:
        models.update(m for m in (spec.body, spec.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    mapping, defs = models_json_schema([(m, "validation") for m in ordered], ref_template=_REF)
    ref = {m: mapping[(m, "validation")] for m in ordered}
    error = {"description": "error", "content": {"application/json": {"schema": ref[ErrorResponse]}}}
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        op: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": re.sub(r"\W+", "_", f"{spec.method}{spec.path}").strip("_").lower(),
            "tags": list(spec.tags),
            "parameters": _parameters(spec),
            "responses": {
                str(spec.status): {
                    "description": "success",
                    "content": {
                        "application/json": {
                            "schema": ref[spec.response] if spec.response else {"type": "object"}
                        }
                    },
                },
                "4XX": error,
            },
        }
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref[spec.body]}},
            }
        if not spec.open:
            op["security"] = [{"bearer": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
