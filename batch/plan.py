"""The engine-independent plan of a run: its configuration, the output directory before and after.

Before: the directory is created, a previous ``_SUCCESS`` and ``_manifest.json`` are removed (so a
directory being rewritten never looks finished) and temporaries of a killed run are deleted.  After:
every part must be complete and numbered 0..n-1 without gaps; parts left over from a longer input are
deleted; then the global explanation, the manifest and ``_SUCCESS`` are written, in that order.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorers.input_schema import NUMBER
from scorers.manifest import read as read_manifest

from . import parts
from .aggregate import global_explanation
from .columns import LAYOUT_VERSION, output_columns
from .errors import BatchError, BatchInputError


def artifact_id(artifact_dir: str | Path) -> str:
    """sha256 of the artifact's manifest.json, which itself holds the sha256 of every artifact file."""
    path = Path(artifact_dir) / "manifest.json"
    if not path.is_file():
        raise BatchError(f"'{artifact_dir}' is not a shapserve artifact directory (no manifest.json)")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def numeric_features(artifact_dir: str | Path) -> list[str]:
    """Names of the number-typed features, from the artifact's manifest (the packaging contract)."""
    return [f.name for f in read_manifest(artifact_dir).features if f.dtype == NUMBER]


@dataclass(frozen=True)
class RunConfig:
    """What decides the content of a part: a part written under another configuration is recomputed."""

    artifact_dir: str
    artifact_id: str
    input_format: str
    rows_per_task: int = 10_000
    id_column: str | None = None
    trust_pickle: bool = False
    expected_sha256: str | None = None
    error_estimate: bool = False  # the per-row error estimate column

    @classmethod
    def of(cls, artifact_dir: str | Path, input_format: str, *options: Any) -> RunConfig:
        """A run's configuration over ``artifact_dir`` (resolved, identified by its manifest hash), with
        the options in field order from ``rows_per_task`` on."""
        return cls(str(Path(artifact_dir).resolve()), artifact_id(artifact_dir), input_format, *options)

    @property
    def key(self) -> str:
        ident: dict[str, Any] = {
            "layout": LAYOUT_VERSION,
            "artifact": self.artifact_id,
            "format": self.input_format,
            "rows_per_task": self.rows_per_task,
            "id_column": self.id_column,
        }
        if self.error_estimate:  # only then: the parts of runs without it keep their keys
            ident["error_estimate"] = True
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


@dataclass
class RunResult:
    """What a run did.  ``rows_per_second`` counts the rows computed in this run only."""

    output_dir: str
    engine: str
    n_rows: int
    n_parts: int
    computed_parts: int
    reused_parts: int
    computed_rows: int
    seconds: float
    global_path: str
    global_json: dict[str, Any] = field(repr=False)
    max_additivity_error: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.computed_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"explain-batch ({self.engine}): {self.n_rows} rows in {self.n_parts} parts "
            f"({self.computed_parts} computed, {self.reused_parts} reused) in {self.seconds:.1f} s, "
            f"{self.rows_per_second:.1f} rows/s computed; max additivity error "
            f"{self.max_additivity_error:.2e}; output {self.output_dir}; global {self.global_path}"
        )


def prepare(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BatchError(f"output '{out}' exists and is not a directory (the output is a directory of parts)")
    (out / parts.PARTS_DIR).mkdir(parents=True, exist_ok=True)
    for name in (parts.SUCCESS, parts.MANIFEST):
        (out / name).unlink(missing_ok=True)
    parts.remove_temporaries(out)
    return out


def check_columns(
    columns: list[str], id_column: str | None, explainer: Any, error_estimate: bool = False
) -> None:
    """Fail before any work on a missing feature, an unknown ``--id-column`` or a pass-through column
    named like an output column."""
    from .columns import check_clash

    missing = [f for f in explainer.features if f not in columns]
    if missing:
        raise BatchInputError(
            f"the input has no column '{missing[0]}'; the model's features are {list(explainer.features)}",
            None,
            missing[0],
        )
    if id_column is not None and id_column not in columns:
        raise BatchError(f"--id-column '{id_column}' is not a column of the input; columns: {columns}")
    passthrough = [id_column] if id_column is not None else columns
    check_clash(passthrough, output_columns(explainer, error_estimate))


def first_error(errors: list[BatchInputError]) -> BatchInputError:
    """The error of the earliest row (an engine may find several at once)."""
    return min(errors, key=lambda e: (e.row is None, e.row if e.row is not None else 0))


def _remove_stale(out: Path, n_parts: int) -> None:
    for d in (out, out / parts.PARTS_DIR):
        for p in d.glob("part-*"):
            idx = parts.part_index(p.name)
            if idx is not None and idx >= n_parts:
                p.unlink()


def finalize(
    out_dir: str | Path,
    cfg: RunConfig,
    explainer: Any,
    records: list[dict[str, Any]],
    *,
    input_path: str,
    engine: str,
    seconds: float,
) -> RunResult:
    """Check the parts, then write the global explanation, ``_manifest.json`` and ``_SUCCESS``."""
    out = Path(out_dir)
    records = sorted(records, key=lambda r: int(r["part"]))
    indices = [int(r["part"]) for r in records]
    if indices != list(range(len(records))):
        raise BatchError(f"parts are missing or repeated: got indices {indices[:20]}")
    first = 0
    for r in records:
        if int(r["first_row"]) != first or r.get("config_key") != cfg.key:
            raise BatchError(f"part {r['part']} does not continue the table at row {first}")
        first += int(r["rows"])
    _remove_stale(out, len(records))
    cols = output_columns(explainer, cfg.error_estimate)
    glob = global_explanation(explainer, [np.asarray(r["abs_sum"], dtype=np.float64) for r in records], first)
    glob_json = {**glob.to_json(), "artifact_sha256": cfg.artifact_id, "input": input_path}
    parts.write_json_atomic(out / parts.GLOBAL, glob_json)
    keep = ("part", "file", "first_row", "rows", "input_sha256", "output_sha256", "output_bytes")
    manifest = {
        "layout": LAYOUT_VERSION,
        "input": input_path,
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("trust_pickle", "expected_sha256")},
        "config_key": cfg.key,
        "n_rows": first,
        "output_space": explainer.output_space,
        **cols.metadata(explainer.output_space),
        "computed_columns": cols.computed,
        "global_explanation": parts.GLOBAL,
        "parts": [{k: r[k] for k in keep} for r in records],
    }
    parts.write_json_atomic(out / parts.MANIFEST, manifest)
    parts.write_atomic(out / parts.SUCCESS, b"")
    computed = [r for r in records if not r.get("skipped")]
    return RunResult(
        output_dir=str(out),
        engine=engine,
        n_rows=first,
        n_parts=len(records),
        computed_parts=len(computed),
        reused_parts=len(records) - len(computed),
        computed_rows=sum(int(r["rows"]) for r in computed),
        seconds=seconds,
        global_path=str(out / parts.GLOBAL),
        global_json=glob_json,
        max_additivity_error=max((float(r["max_additivity_error"]) for r in records), default=0.0),
    )


def stage_artifact(artifact_dir: str | Path, ident: str, root: str | Path) -> Path:
    """A copy of the artifact under a name unique to its content (Spark ships files by base name)."""
    dest = Path(root) / f"shapserve-artifact-{ident[:16]}"
    if not (dest / "manifest.json").is_file():
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(artifact_dir, tmp)
        tmp.replace(dest)
    return dest
