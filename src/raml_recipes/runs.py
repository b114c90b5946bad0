"""Resumable, shardable run folders: what evaluation, rollouts and summarization share.

- a job's `shard: i/n` (`raml_recipes.configs.ShardArguments`): its share of the work is every n-th item starting at i;
- `read_appended_rows(path)`: the rows a run has appended so far (a line cut short by a kill is
  dropped and the file repaired), which a rerun skips;
- `check_run_settings(output_dir, stage, settings, inputs)`: a rerun must be made from the settings
  and inputs (by content) of the run that wrote the folder, or say which ones changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .data.io import atomic_open
from .identity import check_identity, make_identity


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


def check_run_settings(
    output_dir: Path,
    stage: str,
    settings: dict,
    inputs: dict | None = None,
    overwrite: bool = False,
    outputs: tuple[str, ...] = (),
) -> None:
    """A rerun (or another shard) must be made from what made the folder: the same settings and
    inputs with the same contents (`raml_recipes.identity`), or it stops naming what changed. With
    `overwrite`, a folder made from something else loses its `outputs` (glob patterns) first."""
    output_dir = Path(output_dir)
    current = make_identity(stage, settings, inputs or {})
    if check_identity(output_dir, current, overwrite=overwrite, write=False):
        removed = [path for pattern in outputs for path in sorted(output_dir.glob(pattern)) if path.is_file()]
        for path in removed:
            path.unlink()
        print(f"{output_dir}: --overwrite_output_dir: removed {len(removed)} file(s) of the earlier run", flush=True)
    check_identity(output_dir, current, overwrite=True)
