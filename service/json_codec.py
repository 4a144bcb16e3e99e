"""The JSON of our answers: orjson's speed with the standard library's rules (docs/decisions.md 57).

Every JSON answer our app makes (a handler's result, an error, a job's 202) is ``JSONAnswer``; a
route that builds its own ``Response`` (SageMaker's, OIP v2's binary extension) writes its own bytes.
orjson is 5-25x faster than ``json`` on a 1-row ``/explain`` answer (in a served worker about 15-18 us
against 90; docs/performance.md, "The request path, round 11"), but its rules differ in a few places, so ``dumps`` keeps the standard library's
outcome:

- orjson writes a non-finite float as ``null``, where the standard library with ``allow_nan=False``
  (Starlette's ``JSONResponse``) raises ``ValueError``: whenever orjson's text holds ``null`` (a
  ``None`` or a non-finite float), the standard library encodes the content too, and raises as before;
- what orjson refuses (an integer beyond 64 bits, a non-string key, a float subclass such as
  ``numpy.float64``, a dataclass or datetime, nesting deeper than 254) the standard library encodes,
  writing it or raising as before;
- numbers parse back to the same float64 either way; only an exponent's text may differ (orjson's
  ``2.2e-7`` for ``2.2e-07``).  Strings are the same UTF-8, keys keep their order.

What differs: orjson writes a ``uuid.UUID`` and a plain ``enum.Enum`` that the standard library refuses
(no handler returns either).  Bodies are still parsed by ``json.loads`` (``service.parsing``): orjson
reads an integer beyond 64 bits as a float and refuses ``1e400``, where ``json`` gives an int and inf.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse

# dataclasses and datetimes go to the standard library, which refuses them as it did before orjson
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _standard(content: Any) -> bytes:
    """Starlette's ``JSONResponse.render``: compact, UTF-8, non-finite floats refused."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON; ``ValueError`` for a non-finite float and ``TypeError`` for
    what JSON cannot hold, as the standard library raises them."""
    try:
        out = orjson.dumps(content, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return _standard(content)
    if b"null" in out:
        _standard(content)  # raises ValueError when a null was a non-finite float
    return out


class JSONAnswer(JSONResponse):
    """Starlette's ``JSONResponse`` with the body made by ``dumps``."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
