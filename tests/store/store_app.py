"""A small Starlette app serving ``store.api``'s handlers the way the service will mount them: the
``/explanations`` routes behind a bearer key, errors answered by their ``status`` with the body every
shapserve route uses, blocking database work in the thread pool.

``python -m uvicorn store_app:app_from_env --factory`` serves it as a real process (the server-kill
test); ``SHAPSERVE_STORE_TEST_HANG=1`` makes it stop inside the upload transaction, saying so on stdout.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scorers.errors import ShapserveError
from store import ExplanationStore, api

KEY = "s3cret"
MAX = 200_000


def make_app(store: ExplanationStore, max_bytes: int = MAX) -> Starlette:
    async def answer(fn: Any, *args: Any) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(fn, *args))
        except ShapserveError as exc:  # the service maps errors by their status, in one place
            body = {
                "error": str(exc),
                "kind": exc.kind,
                "row": getattr(exc, "row", None),
                "field": getattr(exc, "field", None),
            }
            return JSONResponse(body, status_code=exc.status)

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            return await answer(api.upload, store, await request.json(), max_bytes)
        q = request.query_params
        return await answer(
            api.list_,
            store,
            q.get("comment"),
            q.get("kind"),
            q.get("raw"),
            q.get("engineered"),
            q.get("source"),
            q.get("limit"),
        )

    async def item(request: Request) -> Response:
        eid = request.path_params["id"]
        if request.method == "DELETE":
            return await answer(api.delete, store, eid)
        return await answer(api.get, store, eid, request.query_params.get("top_k"))

    class Bearer(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> Response:
            if request.headers.get("authorization") != f"Bearer {KEY}":
                body = {"error": "unauthorized", "kind": "unauthorized", "row": None, "field": None}
                return JSONResponse(body, 401)
            return await call_next(request)  # type: ignore[no-any-return]

    return Starlette(
        routes=[
            Route("/explanations", collection, methods=["GET", "POST"]),
            Route("/explanations/{id}", item, methods=["GET", "DELETE"]),
        ],
        middleware=[Middleware(Bearer)],
    )


def app_from_env() -> Starlette:
    store = ExplanationStore()  # SHAPSERVE_STORE_URL
    if os.environ.get("SHAPSERVE_STORE_TEST_HANG"):

        def inserted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO EXPLANATIONS "):
                conn.info["uploading"] = True

        def stop(conn: Any) -> None:  # only an upload's commit: reads commit too
            if conn.info.pop("uploading", False):
                print("IN-TRANSACTION", flush=True)
                time.sleep(3600)

        event.listen(store.engine, "after_cursor_execute", inserted)
        event.listen(store.engine, "commit", stop)
    return make_app(store, max_bytes=10**9)


@contextmanager
def served(url: str, *, hang: bool = False) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """This app under uvicorn as a real process on a free port: (process, base URL); killed on exit."""
    from pg_server import free_port

    port = free_port()
    env = {**os.environ, "SHAPSERVE_STORE_URL": url}
    if hang:
        env["SHAPSERVE_STORE_TEST_HANG"] = "1"
    cmd = [sys.executable, "-m", "uvicorn", "store_app:app_from_env", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        cmd, cwd=Path(__file__).parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {proc.stderr.read()[-3000:]}") from None  # type: ignore[union-attr]
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not listen within 60 s") from None
                time.sleep(0.1)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def read_line(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """The process's next stdout line, failing instead of hanging when it says nothing in time."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        if not sel.select(timeout):
            raise AssertionError(f"the process said nothing in {timeout} s")
    return proc.stdout.readline().strip()  # type: ignore[union-attr]
