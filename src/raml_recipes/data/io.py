"""Read rows from JSON, JSON Lines and Parquet files; write JSON Lines atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import DataError

ROW_FORMATS = (".jsonl", ".json", ".parquet")


def iter_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield `(row_number, row)` from a .jsonl, .json (a list of objects) or .parquet file.

    Row numbers start at 1 (the line number for JSON Lines). A malformed file raises `DataError`
    naming the file and the row.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataError("file not found", source=source)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with open(path, "rb") as handle:  # bytes, decoded per line: a bad byte is located to its row
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise DataError(
                        f"not valid UTF-8 (byte {raw[error.start:error.start + 1]!r} at column {error.start + 1}); "
                        "re-save the file as UTF-8",
                        source=source,
                        row=number,
                    ) from None
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(
                        f"not valid JSON ({error.msg} at column {error.colno})", source=source, row=number
                    ) from None
                yield number, _expect_object(row, source, number)
    elif suffix == ".json":
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except json.JSONDecodeError as error:
            raise DataError(f"not valid JSON ({error.msg} at line {error.lineno})", source=source) from None
        except UnicodeDecodeError as error:
            raise DataError(f"not valid UTF-8 (at byte {error.start}); re-save the file as UTF-8", source=source) from None
        if not isinstance(data, list):
            raise DataError(
                f"expected a JSON list of row objects, got a {type(data).__name__} (use .jsonl for one row per line)",
                source=source,
            )
        for number, row in enumerate(data, start=1):
            yield number, _expect_object(row, source, number)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as error:  # pyarrow raises several types for a non-Parquet file
            raise DataError(f"not a readable Parquet file ({error})", source=source) from None
        number = 0
        for batch in parquet.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    else:
        raise DataError(
            f"unsupported file type {suffix or '(none)'!r}; expected one of {', '.join(ROW_FORMATS)}",
            source=source,
        )


def _expect_object(row, source: str, number: int) -> dict:
    if not isinstance(row, dict):
        raise DataError(f"expected a JSON object, got {type(row).__name__}", source=source, row=number)
    return row


def read_rows(path: str | Path) -> list[dict]:
    return [row for _, row in iter_rows(path)]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | Path):
    """Open `path` for writing through a temporary file that replaces it only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write rows as JSON Lines; a failure part-way leaves no partial file."""
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return Path(path)


def write_json(path: str | Path, obj) -> Path:
    """Write one indented JSON document atomically."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")
    return Path(path)
