"""``top_k``: how many ranked features an answer keeps.  One rule and one message for every caller (the
service's JSON bodies and query strings, the jobs, the explanation store and its clients; docs/decisions.md):

- a JSON body (``source=JSON``): an integer, not a bool, a string or a float;
- a query string (``source=QUERY``): ASCII digits, leading zeros allowed (``"03"`` is 3); ``""`` is refused;
- a Python caller (``source=PYTHON``): any ``numbers.Integral`` (``np.int64`` included), not a bool;

and from 1 to ``m``, the number of features, where it is known (only ``>= 1`` where it is not, as in the
store, across models).  ``None`` is absent: every feature.
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

from .errors import InputError

Source = Literal["json", "query", "python"]
JSON: Source = "json"
QUERY: Source = "query"
PYTHON: Source = "python"


def parse_top_k(
    value: Any, m: int | None = None, *, source: Source = PYTHON, field: str = "top_k"
) -> int | None:
    """``value`` as a count from 1 to ``m`` (``m`` None: no upper bound), or None when absent; anything
    else raises ``InputError`` naming ``field``."""
    if value is None:
        return None
    k = _integer(value, source)
    if k is None or k < 1 or (m is not None and k > m):
        expected = "a positive integer" if m is None else f"an integer between 1 and {m}"
        raise InputError(f"expected {expected}, got {value!r}", field=field)
    return k


def _integer(value: Any, source: Source) -> int | None:
    """The integer ``value`` spells under the source's rule; None when it spells none."""
    if isinstance(value, bool):
        return None
    if source == QUERY:
        return query_integer(value)
    if source == JSON:
        return value if isinstance(value, int) else None
    return int(value) if isinstance(value, numbers.Integral) else None


def query_integer(value: Any) -> int | None:
    """The integer a query-string value spells under the rule above (ASCII digits, leading zeros allowed,
    no sign or space), else None: also for the counts of other query parameters (a job's ``offset``)."""
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None
