"""The errors that are the user's to fix, in one place. Each is reported in one line without a traceback
(`user_errors.run`); each message names the field, file, row or path, what was expected, and the fix."""

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


class RecipeError(ValueError):
    """A recipe file or command line that cannot be used: an unknown key, a wrong value (`recipes.py`)."""


class OutputMismatch(ValueError):
    """An output folder made from other settings or inputs than this run's (`identity.py`)."""


class DiskFull(RuntimeError):
    """The disk under an output folder filled up while a run wrote to it (`training/preemption.py`)."""


class EmbeddedModelError(RuntimeError):
    """An `embedded:<name>` model that is unknown or not installed (`models/embedded.py`)."""


USER_ERRORS = (DataError, DiskFull, EmbeddedModelError, OutputMismatch, RecipeError)
