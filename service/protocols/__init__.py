"""Codecs for the protocols clients already speak, between their bodies and ``ScoringService``.

- ``pandas_json``: ``DataFrame.to_json()`` in any orient and Azure ML's ``{"data": ...}`` -> rows.
- ``azureml``: the ``score.py`` answer (``predictions``, ``local_importance_values`` as Azure ML's
  scoring explainers returned them) plus our keys.
- ``v1``: KServe V1 bodies (``{"instances": [...]}``).
- ``v2``: Open Inference Protocol (KServe V2, Triton) tensors in and out, JSON and binary.

No HTTP here: the route modules (``service/routes/azureml.py``, ``kserve_v1.py``, ``oip_v2.py``) call
these and the service core.  Every refusal is a ``scorers`` error, mapped to our error shape in
``service.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..core import ScoringService


def check_model(core: ScoringService, name: str, version: str | None = None) -> None:
    """Refuse (404) a model name, or version, that is not the one this server serves."""
    if name != core.name:
        raise NotFoundError(f"model '{name}' not found; this server serves '{core.name}'")
    if version is not None and version != core.version:
        raise NotFoundError(
            f"version '{version}' of model '{name}' not found; this server serves version '{core.version}'"
        )
