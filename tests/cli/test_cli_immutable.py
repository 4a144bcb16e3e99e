"""``shapserve package --immutable a,b`` hands the list to packaging (``scorers.fit(immutable=...)``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cli.cmd_package as cmd_package


def test_the_cli_passes_immutable_to_packaging(tmp_path: Path, monkeypatch: Any) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(cmd_package, "load_model_file", lambda *a, **k: "model")
    monkeypatch.setattr(cmd_package, "package", lambda model, data, **kw: seen.update(kw) or {})
    parser = argparse.ArgumentParser()
    cmd_package.add_parser(parser.add_subparsers(dest="command"))
    argv = ["package", "m.skops", "--data", "d.csv", "--immutable", "age,region"]
    assert cmd_package.run(parser.parse_args(argv)) == 0
    assert seen["immutable"] == ["age", "region"]
    assert cmd_package.run(parser.parse_args(argv[:-2])) == 0
    assert seen["immutable"] == ()
