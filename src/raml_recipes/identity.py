"""What an output folder was made from, and the check a rerun makes against it.

Each stage records its output folder's identity: the settings that shape the contents and a digest of
every input (model files, data files). A rerun with the same identity resumes or skips as before; with
another it stops before loading anything, naming what changed and the two ways on: another output
folder, or `--overwrite_output_dir true`.

Digests are cheap on purpose, so that a start costs milliseconds whatever the model's size: a file up
to 32 MiB is hashed whole (data files, configs, tokenizers); a larger one by its size and 16 blocks of
64 KiB spread over it (a retrained weight file differs in every block; a safetensors file's header,
which names every tensor's shape and offset, is its first block). A folder's digest covers its files'
names and digests, leaving out what a run writes beside its model (checkpoints, logs, plots, metrics).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .data.io import write_json
from .errors import OutputMismatch

IDENTITY_FILE = "raml_identity.json"
WHOLE_FILE_LIMIT = 32 * 2**20
BLOCK, BLOCKS = 64 * 2**10, 16
# What a run writes beside its model, and what a later stage adds to a model folder: not the model.
NOT_CONTENT = {IDENTITY_FILE, "metrics.json", "preempted.json", "training_curves.png", "README.md",
               "training_args.bin", "trainer_state.json"}  # fmt: skip
NOT_CONTENT_DIRS = ("checkpoint-", "runs", "wandb", ".")
OVERWRITE = "pass --overwrite_output_dir true to replace its contents"
OVERWRITE_HINT = f"use another output_dir, or {OVERWRITE}"


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of its size and 16 spread 64 KiB blocks above 32 MiB (module docstring)."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if size <= WHOLE_FILE_LIMIT:
            for chunk in iter(lambda: handle.read(2**20), b""):
                digest.update(chunk)
        else:
            digest.update(f"size={size}".encode())
            for index in range(BLOCKS):  # first block at 0, last ending at the end of the file
                handle.seek((size - BLOCK) * index // (BLOCKS - 1))
                digest.update(handle.read(BLOCK))
    return digest.hexdigest()[:16]


def _content_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(NOT_CONTENT_DIRS))
        files += [Path(root) / name for name in sorted(names) if name not in NOT_CONTENT]
    return files


def input_digest(name_or_path: str | os.PathLike | None) -> str | None:
    """A local file's or folder's digest; None for no input. A name that is not a local path (a Hub
    id, `embedded:NAME`) is its own identity: the name is compared, not the contents."""
    if name_or_path is None:
        return None
    path = Path(name_or_path)
    if path.is_file():
        return file_digest(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in _content_files(path):
            digest.update(f"{file.relative_to(path).as_posix()}={file_digest(file)}\n".encode())
        return digest.hexdigest()[:16]
    return f"name:{name_or_path}"


def make_identity(stage: str, settings: dict, inputs: dict[str, str | None]) -> dict:
    """The identity of one output: the stage, its settings (JSON values) and its inputs by role, each
    with the path or name given and its digest."""
    return {
        "stage": stage,
        "settings": json.loads(json.dumps(settings, default=str)),
        "inputs": {role: {"path": None if value is None else str(value), "digest": input_digest(value)}
                   for role, value in inputs.items()},  # fmt: skip
    }


def read_identity(output_dir: str | Path) -> dict | None:
    path = Path(output_dir) / IDENTITY_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def identity_changes(previous: dict, current: dict) -> list[str]:
    """What differs between two identities, one phrase each ("learning_rate 0.0001 -> 0.0002",
    "data (x.jsonl) has other contents"); [] when they are the same."""
    changes = []
    if previous.get("stage") != current.get("stage"):
        changes.append(f"stage {previous.get('stage')} -> {current.get('stage')}")
    old, new = previous.get("settings", {}), current.get("settings", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            changes.append(f"{key} {_short(old.get(key))} -> {_short(new.get(key))}")
    old, new = previous.get("inputs", {}), current.get("inputs", {})
    for role in sorted(set(old) | set(new)):
        before, after = old.get(role) or {}, new.get(role) or {}
        if before.get("path") != after.get("path"):
            changes.append(f"{role} {before.get('path')} -> {after.get('path')}")
        elif before.get("digest") != after.get("digest"):
            changes.append(f"{role} ({after.get('path')}) has other contents than when this folder was made")
    return changes


# Written before any output, or beside them: a folder holding nothing else holds no one's outputs.
NOT_OUTPUTS = {IDENTITY_FILE, "raml_run.json", "runs", "wandb"}


def holds_outputs(output_dir: str | Path) -> bool:
    output_dir = Path(output_dir)
    return output_dir.is_dir() and any(entry.name not in NOT_OUTPUTS for entry in output_dir.iterdir())


def check_identity(output_dir: str | Path, identity: dict, overwrite: bool = False, write: bool = True) -> bool:
    """Compare `identity` with the one `output_dir` records. Same, none recorded, or no outputs yet (a
    run that stopped before writing any, e.g. on a mistyped data path): record it and return False.
    Different: raise OutputMismatch naming the changes, unless `overwrite`, which returns True (the
    caller clears its old outputs) and records the new identity. `write=False` on every process of a
    launch but the main one."""
    output_dir = Path(output_dir)
    previous = read_identity(output_dir) if holds_outputs(output_dir) else None
    changes = [] if previous is None else identity_changes(previous, identity)
    if changes and not overwrite:
        raise OutputMismatch(f"{output_dir} was made from other settings or inputs ({'; '.join(changes)}): {OVERWRITE_HINT}")
    if write:
        write_json(output_dir / IDENTITY_FILE, identity)
    return bool(changes)
