"""Resumable, shardable run folders: what evaluation, rollouts and summarization share.

- `parse_shard("i/n")`: this job's share of the work is every n-th item starting at i;
- `read_appended_rows(path)`: the rows a run has appended so far (a line cut short by a kill is
  dropped and the file repaired), which a rerun skips;
- `check_run_settings(output_dir, settings)`: a rerun must use the settings of the run that wrote
  the folder, or say which ones changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .data.io import atomic_open, write_json


def parse_shard(spec: str) -> tuple[int, int]:
    """'i/n' -> (i, n), with 0 <= i < n."""
    try:
        index, count = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects i/n (e.g. 0/4), got {spec!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard {spec}: need 0 <= i < n")
    return index, count


def read_appended_rows(path: Path, repair: bool = True) -> list[dict]:
    """Rows of an append-only JSON Lines file; a last line cut short by a kill is dropped (and, with
    `repair`, removed from the file). Read another job's file with repair=False: that job may be
    writing its line right now, and a repaired file would be a new file it no longer writes to."""
    path = Path(path)
    if not path.is_file():
        return []
    rows, intact = [], True
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            intact = False
    if not intact and repair:
        with atomic_open(path) as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return rows


def check_run_settings(output_dir: Path, settings: dict, **extra) -> None:
    """Record `settings` in output_dir/config.json, or fail if the folder was written with others."""
    path = Path(output_dir) / "config.json"
    if path.is_file():
        previous = json.loads(path.read_text()).get("settings", {})
        changed = sorted(key for key in settings if previous.get(key) != settings[key])
        if changed:
            raise ValueError(
                f"{output_dir} holds outputs made with other settings ({', '.join(changed)}); "
                "use another output_dir or restore the settings to resume"
            )
    write_json(path, {"settings": settings, **extra})
