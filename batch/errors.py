"""Errors of a batch run.  Each carries the exit code the command line returns."""

from __future__ import annotations


class BatchError(Exception):
    """A run cannot start or finish (bad arguments, unreadable input, clashing columns): exit code 1."""

    exit_code = 1


class BatchInputError(BatchError):
    """A row of the input does not match the model's schema: exit code 2.

    ``row`` is the 0-based row number in the input table (CSV: the data row, not counting the header),
    ``field`` the offending column, ``part`` the partition it falls in.  Built from positional arguments
    only so that it survives pickling between processes.
    """

    exit_code = 2

    def __init__(
        self, detail: str, row: int | None = None, field: str | None = None, part: int | None = None
    ) -> None:
        where = []
        if row is not None:
            where.append(f"input row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = (", ".join(where) + ": ") if where else ""
        suffix = f" (partition {part})" if part is not None else ""
        super().__init__(prefix + detail + suffix)
        self.detail = detail
        self.row = row
        self.field = field
        self.part = part

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.detail, self.row, self.field, self.part))

    def to_json(self) -> dict[str, object]:
        return {"detail": self.detail, "row": self.row, "field": self.field, "part": self.part}
