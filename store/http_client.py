"""``ExplanationClient`` over HTTP: a served model's ``/explanations`` routes, with httpx.

Uploads are validated and encoded locally first (the same codec the server runs), so a malformed
explanation fails before it is sent, with the same message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from scorers.errors import InputError, ShapserveError
from scorers.top_k import parse_top_k

from . import api, codec
from .client import ExplanationClient
from .errors import ExplanationNotFound, ExplanationTooLarge, StoreUnavailable
from .repository import Meta
from .stored_explanations import StoredExplanation, wrap


def _labels(v: Any) -> Any:
    if v is None:
        return None
    items = v.tolist() if hasattr(v, "tolist") else list(v)
    return [x.item() if hasattr(x, "item") else x for x in items]


def _query(**params: Any) -> dict[str, Any]:
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}


class HttpExplanationClient(ExplanationClient, url_prefixes=("http://", "https://")):
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        """``http``: an httpx client to send through (a Starlette ``TestClient`` in tests)."""
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        if api_key:
            self.http.headers["Authorization"] = f"Bearer {api_key}"

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"{method} {self.http.base_url}{path} failed: {exc!r}") from exc
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {"error": resp.text[:500]}
            raise error_from_body(resp.status_code, body)
        return resp.json()

    def upload_model_explanation(
        self,
        explanation: Any,
        top_k: int | None = None,
        comment: str | None = None,
        model: Any = None,
        true_ys: Any = None,
        *,
        engineered: bool | None = None,
    ) -> str:
        name, version = api.parse_model(model)
        body: dict[str, Any] = {
            "explanation": codec.to_json(codec.from_any(explanation)),
            "comment": comment,
            "top_k": parse_top_k(top_k),
            "model": None if name is None else {"name": name, "version": version},
            "true_ys": _labels(true_ys),
            "engineered": engineered,
        }
        answer = self._call("POST", "/explanations", json={k: v for k, v in body.items() if v is not None})
        return str(answer["id"])

    def download_model_explanation(
        self,
        explanation_id: str | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
    ) -> StoredExplanation:
        if explanation_id is None:
            found = self._call(
                "GET",
                "/explanations",
                params=_query(comment=comment, raw=raw, engineered=engineered, limit=1),
            )
            if not found:
                raise ExplanationNotFound("no stored explanation matches the filters")
            explanation_id = found[0]["id"]
        answer = self._call(
            "GET",
            f"/explanations/{quote(str(explanation_id), safe='')}",
            params=_query(top_k=parse_top_k(top_k)),
        )
        return wrap(codec.from_json(answer["explanation"]), meta_from_json(answer["meta"]))

    def list_model_explanations(
        self,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
        *,
        kind: str | None = None,
        source: str = "upload",
    ) -> list[dict[str, Any]]:
        query = _query(comment=comment, raw=raw, engineered=engineered, kind=kind, source=source)
        return list(self._call("GET", "/explanations", params=query))

    def delete_model_explanation(self, explanation_id: str) -> None:
        self._call("DELETE", f"/explanations/{quote(str(explanation_id), safe='')}")


def error_from_body(status: int, body: Any) -> ShapserveError:
    """The typed error a server's ``{"error", "kind", "row", "field"}`` answer stands for."""
    body = body if isinstance(body, dict) else {}
    message = str(body.get("error") or f"HTTP {status}")
    field = body.get("field")
    exc: ShapserveError
    if status == 404:
        exc = ExplanationNotFound(message)
    elif status == 413:
        exc = ExplanationTooLarge(message)
    elif 400 <= status < 500:
        exc = InputError(message)
        exc.status = status
    else:
        exc = ShapserveError(message)
        exc.status = status
    exc.kind = str(body.get("kind") or exc.kind)
    exc.field = field  # type: ignore[attr-defined]
    return exc


def meta_from_json(d: dict[str, Any]) -> Meta:
    from datetime import datetime

    model = d.get("model") or {}
    return Meta(
        id=d["id"],
        created=datetime.fromisoformat(d["created"]),
        comment=d.get("comment"),
        kind=d["kind"],
        source=d.get("source", "upload"),
        request_id=d.get("request_id"),
        model_name=model.get("name"),
        model_version=model.get("version"),
        engineered=bool(d.get("engineered")),
        output_space=d["output_space"],
        scorer=d.get("scorer"),
        n_rows=int(d["n_rows"]),
        n_features=int(d["n_features"]),
        features=list(d["features"]),
        classes=d.get("classes"),
        top_k=d.get("top_k"),
        size_bytes=int(d["size_bytes"]),
    )
