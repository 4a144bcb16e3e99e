"""Scorer kinds: one module per kind, each registered with its own auto rule and defaults.

Importing this package registers every kind; ``REGISTRY`` maps names to classes and ``auto_order()``
lists the kinds ``auto`` tries.  ``python -m scorers.kinds`` prints the table the docs show.
"""

from __future__ import annotations

from . import exact, kernel, kernel_machine, linear, permutation, tree  # noqa: F401  (registration)
from .base import REGISTRY, FitContext, FitOptions, Scorer, auto_order, register


def markdown_table() -> str:
    """The kinds as a Markdown table, in ``auto`` order then the rest (docs/scorers.md is generated)."""
    order = auto_order() + sorted(set(REGISTRY) - set(auto_order()))
    lines = [
        "| kind | exact | auto rank | black box | default background | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for name in order:
        cls = REGISTRY[name]
        size, method = cls.default_background(10)
        lines.append(
            f"| `{name}` | {'yes' if cls.exact else 'no'} | {cls.auto_rank if cls.auto_rank is not None else '-'} "
            f"| {'yes' if cls.black_box else 'no'} | {size} rows, {method} (at 10 features) | {cls.summary} |"
        )
    return "\n".join(lines) + "\n"


__all__ = ["REGISTRY", "FitContext", "FitOptions", "Scorer", "auto_order", "markdown_table", "register"]
