#!/usr/bin/env python3
"""Render deploy/aci/container-group.yaml into a file for ``az container create --file``.

Every ``${NAME}`` in the template is replaced by the environment variable NAME (or ``--set NAME=VALUE``),
inside the parsed YAML strings, so values are never re-parsed as YAML. Optional parts are dropped:

* SHAPSERVE_API_KEY unset or empty  -> the secure environment variable is left out (no API key);
* REGISTRY_SERVER unset or empty    -> no imageRegistryCredentials (a public image).

Defaults: ACI_NAME=shapserve, AZURE_LOCATION=westeurope, ACI_DNS_LABEL=<ACI_NAME>. IMAGE is required.

usage: render_aci.py [--template PATH] [--out PATH|-] [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "aci" / "container-group.yaml"
DEFAULTS = {"ACI_NAME": "shapserve", "AZURE_LOCATION": "westeurope"}
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


class RenderError(ValueError):
    pass


def _subst(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _subst(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_subst(v, values) for v in node]
    if isinstance(node, str):
        missing = [m for m in _VAR.findall(node) if m not in values]
        if missing:
            raise RenderError(f"no value for {', '.join(missing)} (set it in the environment or with --set)")
        return _VAR.sub(lambda m: values[m.group(1)], node)
    return node


def render(values: dict[str, str], template: Path = TEMPLATE) -> dict[str, Any]:
    """The container group as a dict, ready for ``yaml.safe_dump``."""
    vals = {k: v for k, v in values.items() if v is not None}
    for k, v in DEFAULTS.items():
        vals.setdefault(k, v)
    vals.setdefault("ACI_DNS_LABEL", vals["ACI_NAME"])
    if not vals.get("IMAGE"):
        raise RenderError("IMAGE is required, e.g. IMAGE=myregistry.azurecr.io/shapserve:0.1.0")
    doc = yaml.safe_load(template.read_text())
    props = doc["properties"]
    if not vals.get("REGISTRY_SERVER"):
        props.pop("imageRegistryCredentials", None)
    for c in props["containers"]:
        envs = c["properties"].get("environmentVariables", [])
        if not vals.get("SHAPSERVE_API_KEY"):
            envs[:] = [e for e in envs if e.get("name") != "SHAPSERVE_API_KEY"]
    return _subst(doc, vals)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--template", type=Path, default=TEMPLATE)
    p.add_argument("--out", default="-", help="output file, '-' for stdout (default)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    a = p.parse_args(argv)
    values = dict(os.environ)
    for item in a.set:
        name, sep, value = item.partition("=")
        if not sep:
            p.error(f"--set needs NAME=VALUE, got {item!r}")
        values[name] = value
    try:
        doc = render(values, a.template)
    except RenderError as e:
        print(f"render_aci: {e}", file=sys.stderr)
        return 2
    text = yaml.safe_dump(doc, sort_keys=False)
    if a.out == "-":
        sys.stdout.write(text)
    else:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold secrets
        with os.fdopen(fd, "w") as f:
            f.write(text)
        print(a.out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
