"""``explanations upload | download | list | delete``: through the parser and ``run``, and as
``python -m store.cli``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_support import explain_answer, global_answer, iris

from store import cli


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="shapserve")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["explanations", *argv])
    assert args.handler is cli.run and args.run is cli.run
    return int(args.run(args))


def test_help_shows_one_usage_line_per_command(capsys):
    """``shapserve explanations --help`` printed its four usage lines run together into one paragraph."""
    parser = argparse.ArgumentParser(prog="shapserve")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["explanations", "--help"])
    lines = capsys.readouterr().out.splitlines()
    for command in ("upload FILE.json", "download [ID]", "list [--comment C]", "delete ID"):
        assert sum(line.startswith(f"    shapserve explanations {command}") for line in lines) == 1, command


def test_upload_list_download_delete(store_url, tmp_path, capsys):
    explainer, x = iris()
    local = tmp_path / "local.json"
    local.write_text(json.dumps(explain_answer(explainer, x.iloc[:4])))
    glob = tmp_path / "global.json"  # a POST /explanations body works too
    glob.write_text(
        json.dumps({"explanation": global_answer(explainer.explain_global(x)), "comment": "from body"})
    )

    assert _run("upload", str(local), "--comment", "run 7", "--model", "iris:1", "--url", store_url) == 0
    lid = capsys.readouterr().out.strip()
    assert _run("upload", str(glob), "--top-k", "2", "--url", store_url) == 0
    gid = capsys.readouterr().out.strip()

    assert _run("list", "--url", store_url, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["id"], m["comment"], m["top_k"]) for m in listed] == [
        (gid, "from body", 2),
        (lid, "run 7", None),
    ]
    assert _run("list", "--url", store_url, "--kind", "local") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["id", "created", "kind"] and len(table) == 2 and lid in table[1]

    assert _run("download", "--url", store_url) == 0  # the newest
    newest = json.loads(capsys.readouterr().out)
    assert newest["meta"]["id"] == gid and len(newest["explanation"]["ranked_names"]) == 2
    out = tmp_path / "down.json"
    assert _run("download", lid, "--top-k", "1", "--out", str(out), "--url", store_url) == 0
    down = json.loads(out.read_text())
    assert down["meta"]["model"] == {"name": "iris", "version": "1"}
    assert down["explanation"]["top_k"] == 1

    assert _run("delete", lid, "--url", store_url) == 0
    assert capsys.readouterr().out.strip() == f"deleted {lid}"
    assert _run("download", lid, "--url", store_url) == 1
    assert f"error: no stored explanation has the id '{lid}'" in capsys.readouterr().err


def test_errors_are_one_line_and_exit_1(store_url, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"features": ["a"], "output_space": "raw", "per_class": {"value": {"a": "x"}}, "n_rows": 3}
        )
    )
    assert _run("upload", str(bad), "--url", store_url) == 1
    assert capsys.readouterr().err.strip() == (
        "error: field 'explanation.per_class.value.a': input should be a valid number, got 'x'"
    )
    (tmp_path / "nojson.json").write_text("{")
    assert _run("upload", str(tmp_path / "nojson.json"), "--url", store_url) == 1
    assert "not JSON" in capsys.readouterr().err
    assert _run("upload", str(tmp_path / "missing.json"), "--url", store_url) == 1
    assert "No such file" in capsys.readouterr().err


def test_python_dash_m(tmp_path):
    """The module entry point (one backend: what is under test is the command, not the database)."""
    store_url = f"sqlite:///{tmp_path / 'm.db'}"
    explainer, x = iris()
    f = tmp_path / "e.json"
    f.write_text(json.dumps(explain_answer(explainer, x.iloc[:2])))
    root = Path(__file__).resolve().parents[2]

    def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "store.cli", "explanations", *argv, "--url", store_url]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=120, input=stdin)

    up = run("upload", "-", "--comment", "from stdin", stdin=f.read_text())
    assert up.returncode == 0, up.stderr
    listed = run("list", "--json")
    assert listed.returncode == 0
    assert [(m["id"], m["comment"]) for m in json.loads(listed.stdout)] == [(up.stdout.strip(), "from stdin")]


def test_against_a_served_model(tmp_path, capsys):
    """``--url http://...`` goes through the served model's routes, with ``--api-key``."""
    from store_app import KEY, served

    explainer, x = iris()
    f = tmp_path / "global.json"
    f.write_text(json.dumps(global_answer(explainer.explain_global(x))))
    with served(f"sqlite:///{tmp_path / 'served.db'}") as (_, base):
        assert _run("upload", str(f), "--comment", "over http", "--url", base, "--api-key", KEY) == 0
        eid = capsys.readouterr().out.strip()
        assert _run("download", "--top-k", "2", "--url", base, "--api-key", KEY) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["meta"]["id"] == eid and got["explanation"]["ranked_names"] == explainer.explain_global(
            x
        ).get_ranked_global_names(2)
        assert _run("list", "--url", base) == 1  # no key
        assert "error: unauthorized" in capsys.readouterr().err
