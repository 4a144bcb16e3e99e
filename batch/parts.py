"""Part files on disk: names, atomic writes, the per-part record and the completeness rule.

Layout of an output directory ``OUT.parquet/``::

    part-00000.parquet ...      one file per input partition (readers see only these)
    _parts/part-00000.json      the record of each part, written after its part file
    _manifest.json, _SUCCESS    written last, when every part is complete
    _global_explanation.json    mean |SHAP| per class per feature over all rows

Readers (pyarrow, pandas, Spark) skip names that start with ``_`` or ``.``; temporary files start with
``.`` and are renamed into place with ``os.replace``, so a reader or a rerun never sees half a file.
A part is *complete* when its record names the same run configuration and the same input checksum and
its file still has the checksum the record gives; anything else is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

PARTS_DIR = "_parts"
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
GLOBAL = "_global_explanation.json"


def part_name(part: int) -> str:
    return f"part-{part:05d}.parquet"


def record_path(out_dir: Path, part: int) -> Path:
    return out_dir / PARTS_DIR / f"part-{part:05d}.json"


def part_index(name: str) -> int | None:
    """The index in a part file or record name, or None for any other name."""
    stem = name.split(".", 1)[0]
    if not stem.startswith("part-"):
        return None
    digits = stem[len("part-") :]
    return int(digits) if digits.isdigit() else None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temp_path(final: Path) -> Path:
    """A hidden name beside ``final`` (same directory, so ``os.replace`` is an atomic rename)."""
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(final: Path, data: bytes) -> None:
    tmp = temp_path(final)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(final: Path, obj: Any) -> None:
    write_atomic(final, (json.dumps(obj, indent=1) + "\n").encode())


def read_record(out_dir: Path, part: int) -> dict[str, Any] | None:
    path = record_path(out_dir, part)
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record


def complete_record(out_dir: Path, part: int, config_key: str, input_sha256: str) -> dict[str, Any] | None:
    """The part's record if the part is complete for this configuration and input, else None."""
    record = read_record(out_dir, part)
    if record is None:
        return None
    if record.get("config_key") != config_key or record.get("input_sha256") != input_sha256:
        return None
    path = out_dir / str(record.get("file", ""))
    try:
        if path.stat().st_size != record.get("output_bytes"):
            return None
    except OSError:
        return None
    if file_sha256(path) != record.get("output_sha256"):
        return None
    return record


def remove_temporaries(out_dir: Path) -> None:
    """Temporary files left by a killed run (one run per output directory at a time)."""
    for d in (out_dir, out_dir / PARTS_DIR):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                p.unlink(missing_ok=True)
