"""Helpers of the dashboard tests (a plain module: tests/ is not a package): in-process clients, real
server processes, a path-prefix proxy in front of them, and headless Chromium through Playwright."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from serving_helpers import free_port, make_client, stop, wait_ready  # noqa: F401  (shared with every test folder)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PREFIX = "/models/x"


def serve(tag: str, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``shapserve serve TAG`` as a real process (the BentoML server) on 127.0.0.1:port."""
    full = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", **env}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "shapserve"), "serve", tag, "--port", str(port)],
            env=full,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class PrefixProxy:
    """What an ingress does: serves ``upstream`` under ``PREFIX`` (stripping it), 404 elsewhere.

    A request outside the prefix reaches nothing: a page that used an absolute URL breaks here.
    Bodies and encodings are passed through as they are (gzip stays gzip).
    """

    HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host"}

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        import httpx

        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if not path.startswith(PREFIX + "/"):
            await send(
                {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
            )
            await send({"type": "http.response.body", "body": b"outside the proxy's prefix"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in self.HOP]
        url = (
            self.upstream
            + path[len(PREFIX) :]
            + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        )
        async with httpx.AsyncClient(timeout=120) as client:
            request = client.build_request(scope["method"], url, headers=headers, content=body)
            response = await client.send(request, stream=True)
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            out = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower() not in self.HOP and k.lower() != "content-length"
            ]
            out.append((b"content-length", str(len(raw)).encode()))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            await send({"type": "http.response.body", "body": raw})
            await response.aclose()

    def start(self) -> PrefixProxy:
        import uvicorn

        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("proxy did not start")
            time.sleep(0.05)
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless, without any of its own network traffic (never a downloaded build)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def add_cohort(page: Any, name: str, field: str, op: str, value: str) -> None:
    """Define a cohort of one filter in the page's cohort editor and save it."""
    page.click("#cohort-new")
    page.fill("#cohort-name", name)
    page.click("#cohort-add-filter")
    row = page.locator("#cohort-editor .filter").first
    row.locator("select.field").select_option(field)
    row.locator("select.op").select_option(op)
    row.locator("input.value").fill(value)
    page.click("#cohort-save")


@contextmanager
def behind_prefix(tag: str, directory: Path, **env: str) -> Iterator[tuple[str, str]]:
    """``shapserve serve TAG`` with ``env`` and the prefix proxy in front of it: (the URL under the
    proxy's prefix, the server's own URL); the server's exit code is checked when the block ends."""
    port = free_port()
    proc = serve(tag, port, directory / "server.log", **env)
    direct = f"http://127.0.0.1:{port}"
    proxy = None
    try:
        wait_ready(direct, proc)
        proxy = PrefixProxy(direct).start()
        yield proxy.url, direct
    finally:
        if proxy is not None:
            proxy.close()
        code = stop(proc)
        assert code in (0, -15), (directory / "server.log").read_text()[-3000:]
