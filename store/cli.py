"""``shapserve explanations``: upload, download, list and delete stored explanations.

    shapserve explanations upload FILE.json [--comment C] [--top-k K] [--model NAME[:VERSION]]
    shapserve explanations download [ID] [--top-k K] [--comment C] [--out FILE]
    shapserve explanations list [--comment C] [--kind K] [--source upload|recorded|all] [--json]
    shapserve explanations delete ID

Every command takes ``--url`` (a database URL or a served model's ``http(s)://`` URL; default
``SHAPSERVE_STORE_URL`` or the default SQLite file) and ``--api-key`` for a served model.  FILE.json
holds an ``/explain`` or ``/explain_global`` answer, or a ``POST /explanations`` body; ``-`` is stdin.
The ``shapserve`` command mounts this with :func:`add_subparser` (alias ``add_parser``, the ``cli``
package's convention) and :func:`run`; ``python -m
store.cli explanations ...`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from scorers.errors import ShapserveError

from .client import ExplanationClient

COMMAND = "explanations"


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explanations`` on the ``shapserve`` command's subparsers; dispatch with :func:`run`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        COMMAND,
        help="upload, download, list and delete stored explanations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the usage lines stay lines
    )
    parser.set_defaults(handler=run, run=run)  # cli.main dispatches on args.run
    sub = parser.add_subparsers(dest="explanations_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--url", help="store URL (default: SHAPSERVE_STORE_URL or the SQLite default)")
        p.add_argument("--api-key", help="bearer key for a served model (default: SHAPSERVE_API_KEY)")
        return p

    up = common(sub.add_parser("upload", help="store an explanation from a JSON file"))
    up.add_argument("file", help="JSON file (an /explain or /explain_global answer); '-' for stdin")
    up.add_argument("--comment")
    up.add_argument("--top-k", type=int)
    up.add_argument("--model", help="NAME[:VERSION] of the explained model")

    down = common(sub.add_parser("download", help="print a stored explanation as JSON (default: the newest)"))
    down.add_argument("id", nargs="?")
    down.add_argument("--top-k", type=int)
    down.add_argument("--comment", help="the newest with this comment")
    down.add_argument("--out", help="write to this file instead of stdout")

    ls = common(sub.add_parser("list", help="list stored explanations, newest first"))
    ls.add_argument("--comment")
    ls.add_argument("--kind", help="local, shap, pfi or mimic")
    ls.add_argument("--source", default="upload", help="upload (default), recorded or all")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")

    rm = common(sub.add_parser("delete", help="delete a stored explanation"))
    rm.add_argument("id")
    return parser


add_parser = add_subparser  # the name the cli package's command modules use


def _client(args: argparse.Namespace) -> ExplanationClient:
    from .client import Run

    run = Run.get_context(args.url, args.api_key)
    return ExplanationClient.from_run(run)


def _read(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShapserveError(f"{path}: not JSON ({exc})") from None


def _upload(client: ExplanationClient, args: argparse.Namespace) -> None:
    data = _read(args.file)
    body = data if isinstance(data, dict) and "explanation" in data else {"explanation": data}
    eid = client.upload_model_explanation(
        body["explanation"],
        top_k=args.top_k if args.top_k is not None else body.get("top_k"),
        comment=args.comment if args.comment is not None else body.get("comment"),
        model=args.model or body.get("model"),
        true_ys=body.get("true_ys"),
        engineered=body.get("engineered"),
    )
    print(eid)


def _download(client: ExplanationClient, args: argparse.Namespace) -> None:
    exp = client.download_model_explanation(args.id, top_k=args.top_k, comment=args.comment)
    text = json.dumps({"meta": exp.metadata(), "explanation": exp.to_json()})
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        print(text)


def _list(client: ExplanationClient, args: argparse.Namespace) -> None:
    rows = client.list_model_explanations(args.comment, kind=args.kind, source=args.source)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'id':32}  {'created':25}  {'kind':5}  {'rows':>6}  {'features':>8}  comment")
    for r in rows:
        print(
            f"{r['id']:32}  {r['created'][:25]:25}  {r['kind']:5}  {r['n_rows']:>6}  {r['n_features']:>8}  "
            f"{r['comment'] or ''}"
        )


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``explanations`` command; 0 on success, 1 with a message on stderr otherwise."""
    actions = {"upload": _upload, "download": _download, "list": _list, "delete": _delete}
    try:
        with _client(args) as client:
            actions[args.explanations_command](client, args)
    except (ShapserveError, OSError, SQLAlchemyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _delete(client: ExplanationClient, args: argparse.Namespace) -> None:
    client.delete_model_explanation(args.id)
    print(f"deleted {args.id}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.cli")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
