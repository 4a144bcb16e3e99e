"""``--upload-global URL``: the run's global explanation into the explanation store (``store/``).

The store refuses unknown fields, so the upload carries the global explanation itself
(``scorers.GlobalExplanation.to_json()``); the run's provenance (the artifact's sha256 and the input)
goes into the comment.
"""

from __future__ import annotations

from typing import Any

from scorers import GlobalExplanation

from .errors import BatchError


def upload_global(url: str, global_json: dict[str, Any]) -> Any:
    """Send a run's global explanation to the store at ``url`` (database or served-model URL); its id."""
    try:
        from store import ExplanationClient
    except ImportError as exc:
        raise BatchError(
            f"--upload-global needs the explanation store package 'store' (store.ExplanationClient), "
            f"which is not installed here ({exc}); the global explanation is in the output directory's "
            "_global_explanation.json"
        ) from None
    explanation = GlobalExplanation.from_json(global_json).to_json()
    comment = f"explain-batch of {global_json.get('input', '?')} (artifact sha256 {str(global_json.get('artifact_sha256', '?'))[:12]})"
    return ExplanationClient.from_url(url).upload_model_explanation(explanation, comment=comment[:500])
