"""``shapserve serve``: verify a packaged model's artifact, then become the BentoML server."""

from __future__ import annotations

import argparse

from .bento import DEFAULT_NAME, serve


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("serve", help="serve a packaged model over HTTP")
    s.add_argument("name", nargs="?", help=f"model name or tag (default {DEFAULT_NAME})")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return serve(args.name, args.port, args.host)
