"""The dashboard's page and static files, served by the service itself (no CDN, nothing external).

Every URL in the page is relative (``dashboard/static/...``, ``dashboard/api/...``), so the page works
under any path prefix an ingress or proxy adds.  Static files are read once, gzipped once, and served
with a content hash in their URL (``?v=``): such a URL is immutable and cached for a year; the page
itself is never cached, so a new version is picked up at once.  The page's Content-Security-Policy
allows this origin only: a request to anywhere else is refused by the browser.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response

from ..errors import NotFoundError

STATIC = Path(__file__).parent / "static"
PAGE = "index.html"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
SECURITY = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    version: str


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """name (path under static/, with /) -> the file, read once per process."""
    out = {}
    for path in sorted(STATIC.rglob("*")):
        name = path.relative_to(STATIC).as_posix()
        if not path.is_file() or name == PAGE or path.suffix not in TYPES:
            continue
        body = path.read_bytes()
        packed = gzip.compress(body, compresslevel=6, mtime=0) if path.suffix != ".png" else None
        out[name] = Asset(body, packed, TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:16])
    return out


@lru_cache(maxsize=1)
def page_html() -> bytes:
    """index.html with each ``{{static:NAME}}`` replaced by its relative, versioned URL."""
    html = (STATIC / PAGE).read_text(encoding="utf-8")
    for name, asset in assets().items():
        html = html.replace("{{static:" + name + "}}", f"dashboard/static/{name}?v={asset.version}")
    if "{{static:" in html:
        raise RuntimeError("dashboard page names a static file that does not exist")
    return html.encode()


def page() -> Response:
    return Response(
        page_html(),
        media_type="text/html; charset=utf-8",
        headers={**SECURITY, "cache-control": "no-cache"},
    )


def static(name: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFoundError(f"no dashboard file {name!r}")
    cache = IMMUTABLE if query.get("v") == asset.version else "no-cache"
    out = {"cache-control": cache, "x-content-type-options": "nosniff", "vary": "accept-encoding"}
    body = asset.body
    if asset.gzipped is not None and "gzip" in headers.get("accept-encoding", ""):
        body = asset.gzipped
        out["content-encoding"] = "gzip"
    return Response(body, media_type=asset.content_type, headers=out)
