"""The hook to the explanation store (``store/``, built elsewhere): ``--upload-global URL``.

The store package is optional here and imported only when the flag is given.  The interface assumed is
``store.ExplanationClient(url).upload_global(global_json)``, with ``global_json`` the content of
``_global_explanation.json`` (``scorers.GlobalExplanation.to_json()`` plus ``artifact_sha256`` and
``input``).  If the store names it otherwise, this module is the one place to change.
"""

from __future__ import annotations

from typing import Any

from .errors import BatchError


def upload_global(url: str, global_json: dict[str, Any]) -> Any:
    """Send a run's global explanation to the explanation store at ``url``; returns the store's answer."""
    try:
        from store import ExplanationClient  # type: ignore[import-not-found]
    except ImportError as exc:
        raise BatchError(
            f"--upload-global needs the explanation store package 'store' (store.ExplanationClient), "
            f"which is not installed here ({exc}); the global explanation is in the output directory's "
            "_global_explanation.json"
        ) from None
    client = ExplanationClient(url)
    return client.upload_global(global_json)
