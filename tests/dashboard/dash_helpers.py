"""Helpers of the dashboard tests (a plain module: tests/ is not a package): in-process clients, real
server processes, a path-prefix proxy in front of them, and headless Chromium through Playwright."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_client(tag: str, **env: str) -> Any:
    """A TestClient on the real service class, imported afresh for this model and settings."""
    for key, value in {"SHAPSERVE_MODEL": tag, **env}.items():
        os.environ[key] = value
    for mod in [m for m in sys.modules if m == "service.service"]:
        del sys.modules[mod]
    from prometheus_client import REGISTRY

    # each BentoML app registers its request metrics in the default registry: drop the previous app's
    for collector, names in list(REGISTRY._collector_to_names.items()):
        if any(n.startswith("bentoml_") for n in names):
            REGISTRY.unregister(collector)
    from service.settings import get_settings

    get_settings.cache_clear()
    from store.settings import get_settings as store_settings

    store_settings.cache_clear()
    from starlette.testclient import TestClient

    import service.service as svc_module

    return TestClient(svc_module.Shapserve.to_asgi())


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s")


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


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


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
