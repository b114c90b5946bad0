"""The one error type for bad data: it names the file, the row and the field."""

from __future__ import annotations


class DataError(ValueError):
    """A data file or row that cannot be used, located as precisely as possible.

    Rows are numbered from 1; for JSON Lines files the row number is the line number.
    """

    def __init__(
        self, message: str, *, source: str | None = None, row: int | None = None, field: str | None = None
    ):
        self.source, self.row, self.field = source, row, field
        where = [part for part in (source, f"row {row}" if row is not None else None) if part]
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
