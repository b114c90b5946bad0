"""Load canonical trajectory datasets from local files, `save_to_disk` folders or Hub dataset ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError
from .io import ROW_FORMATS, iter_rows
from .schema import validate_records


def looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or Path(name).suffix.lower() in ROW_FORMATS or Path(name).exists()


def iter_source_rows(
    name_or_path: str, *, split: str = "train", config: str | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield `(row_number, row)` from a local file, a `save_to_disk` folder, or a Hub dataset id."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        yield from iter_rows(path)
        return
    if looks_like_path(name_or_path) and not path.exists():
        # Fail here: a missing local path would otherwise be tried as a Hub id (slow, and a confusing error).
        raise DataError("no such file or folder", source=name_or_path)
    import datasets

    if path.is_dir() and (path / "dataset_dict.json").exists():
        dataset = datasets.load_from_disk(str(path))[split]
    elif path.is_dir() and (path / "state.json").exists():
        dataset = datasets.load_from_disk(str(path))
    else:
        try:
            dataset = datasets.load_dataset(name_or_path, config, split=split)
        except (ConnectionError, OSError, ValueError) as error:  # offline, no such repo, no such split
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            unavailable = DataError(
                f"no local file or folder of that name, and as a Hub dataset it could not be loaded ({first}); "
                "give a .jsonl/.json/.parquet file, a save_to_disk folder, or a Hub id reachable from here",
                source=name_or_path,
            )
            unavailable.hub_error = error  # for callers that know more about this dataset (gated sets)
            raise unavailable from None
    yield from enumerate(dataset, start=1)


def load_trajectories(
    name_or_path: str, *, split: str = "train", config: str | None = None, max_questions: int | None = None
):
    """Load and validate a canonical trajectory dataset; returns a `datasets.Dataset`, one row per question.

    Every row is checked (see `schema.validate_record`); the first bad one raises `DataError` naming
    the file, row and field. Fields beyond the canonical ones are kept.
    """
    import datasets

    source = str(name_or_path)
    records = []
    for record in validate_records(iter_source_rows(source, split=split, config=config), source=source):
        records.append(record)
        if max_questions is not None and len(records) >= max_questions:
            break
    if not records:
        raise DataError("no rows", source=source)
    # Columns from the union of keys: rows that carry extra fields keep them.
    columns = list(dict.fromkeys(key for record in records for key in record))
    return datasets.Dataset.from_dict({key: [record.get(key) for record in records] for key in columns})
