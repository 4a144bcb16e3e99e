"""Regenerate the docs that are read off the code: ``python docs/generate.py [--check]`` (``make docs``).

- ``docs/scorers.md``: the scorer kinds, from the registry (``scorers.kinds``);
- ``docs/manifest.schema.json``: the JSON Schema of ``manifest.json``, from ``scorers.manifest``.
``--check`` exits 1 when a file is stale (the test suite runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent

SCORERS_HEAD = """# Scorer kinds

Generated from the registry (`scorers/kinds/`) by `make docs`; do not edit by hand.

`auto` tries the kinds in auto-rank order and takes the first that explains the model exactly in the
requested output space. A named kind that lacks the requested space falls back to the first black-box
kind that has it, and the manifest says so (`scorer.fallback`). Adding a kind is one new module in
`scorers/kinds/` (see docs/architecture.md).

"""


def expected() -> dict[Path, str]:
    from scorers.kinds import markdown_table
    from scorers.manifest import json_schema

    return {
        DOCS / "scorers.md": SCORERS_HEAD + markdown_table(),
        DOCS / "manifest.schema.json": json.dumps(json_schema(), indent=2) + "\n",
    }


def main(argv: list[str]) -> int:
    stale = [path for path, text in expected().items() if not path.is_file() or path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"stale: {path.relative_to(DOCS.parent)} (run make docs)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
