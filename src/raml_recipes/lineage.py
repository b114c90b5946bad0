"""How a trained model was made: each run's `raml_run.json`, nested through the models it started from.

A run folder records its stage, the exact recipe text, the command-line overrides and the model it
started from. When that model is itself a local run folder with a record, the record is copied in as
`parent`, so a GRPO run started from an SFT run carries the whole chain even if the SFT folder is
later deleted or never uploaded. `read_lineage` flattens the chain, oldest stage first.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from .data.io import write_json

RUN_RECORD = "raml_run.json"

# `checkpoint-<N>` folders are written by the Trainer inside a run folder and carry no record.
CHECKPOINT_DIR = re.compile(r"^checkpoint-\d+$")

_CORE_KEYS = (
    "stage", "recipe_path", "recipe_yaml", "overrides", "model_name_or_path", "dataset_name",
    "support_size", "prompt", "raml_recipes_version", "created", "parent",
)  # fmt: skip
# The prompt settings a run trained with, as the run saw them (defaults and overrides applied): an
# evaluation of the model uses them unless its recipe says otherwise.
PROMPT_KEYS = ("prompt_template", "system_prompt", "chat_template_path")


def find_run_record(model_dir: str | Path) -> Path | None:
    """The record describing `model_dir`: its own, or its run folder's when it is a `checkpoint-N` folder."""
    model_dir = Path(model_dir)
    own = model_dir / RUN_RECORD
    if own.is_file():
        return own
    run = model_dir.parent / RUN_RECORD
    if CHECKPOINT_DIR.match(model_dir.name) and run.is_file():
        return run
    return None


def _version() -> str:
    try:
        return importlib.metadata.version("raml-recipes")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _overrides(argv: list[str]) -> list[str]:
    """argv without `--config PATH` / `--config=PATH`: what the command line changed on top of the recipe."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("--config="):
            kept.append(arg)
    return kept


def _record_of(model_name_or_path: str) -> dict | None:
    # Only a local folder can have a record; a Hub id or `embedded:` name starts a lineage.
    try:
        candidate = Path(model_name_or_path)
        if not candidate.is_dir():
            return None
    except (OSError, ValueError):
        return None
    path = find_run_record(candidate)
    return json.loads(path.read_text(encoding="utf-8")) if path else None


def write_run_record(
    output_dir: str | Path,
    *,
    stage: str,
    recipe_path: str | None,
    argv: list[str],
    model_name_or_path: str,
    dataset_name: str,
    support_size: int | None,
    prompt: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write `<output_dir>/raml_run.json` (atomically) and return its path.

    `recipe_yaml` is the recipe file's exact text, so the card shows what ran even if the file
    changes afterwards. `extra` adds keys; it may not replace the recorded ones.
    """
    extra = dict(extra or {})
    clashes = sorted(set(extra) & set(_CORE_KEYS))
    if clashes:
        raise ValueError(f"extra keys {clashes} would replace recorded fields of {RUN_RECORD}")
    recipe_yaml = None
    if recipe_path is not None:
        recipe_yaml = Path(recipe_path).read_text(encoding="utf-8")
    record = {
        "stage": stage,
        "recipe_path": None if recipe_path is None else str(recipe_path),
        "recipe_yaml": recipe_yaml,
        "overrides": _overrides(list(argv)),
        "model_name_or_path": str(model_name_or_path),
        "dataset_name": dataset_name,
        "support_size": support_size,
        "prompt": prompt,
        "raml_recipes_version": _version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
        "parent": _record_of(str(model_name_or_path)),
    }
    return write_json(Path(output_dir) / RUN_RECORD, record)


def recorded_prompt(model_name_or_path: str) -> dict | None:
    """The prompt settings (PROMPT_KEYS) the model's run trained with, or None (no record, or an older one)."""
    record = _record_of(str(model_name_or_path))
    return None if record is None else record.get("prompt")


def read_lineage(model_dir: str | Path) -> list[dict]:
    """The stages that made `model_dir`, oldest first, each without its `parent`; [] when there is no record."""
    path = find_run_record(model_dir)
    if path is None:
        return []
    stages = []
    record = json.loads(path.read_text(encoding="utf-8"))
    while record:
        stages.append({key: value for key, value in record.items() if key != "parent"})
        record = record.get("parent")
    return stages[::-1]


def describe_stage(stage: dict) -> str:
    """'SFT(k=8)'; `k=all` when the stage used every trajectory / completion."""
    k = stage.get("support_size")
    return f"{str(stage['stage']).upper()}(k={'all' if k is None else k})"


def describe_lineage(stages: list[dict], with_base: bool = True) -> str:
    """'Qwen/Qwen2.5-7B -> SFT(k=8) -> GRPO(k=4)'; the base is the oldest stage's starting model."""
    if not stages:
        return ""
    parts = [describe_stage(stage) for stage in stages]
    if with_base:
        parts.insert(0, str(stages[0]["model_name_or_path"]))
    return " -> ".join(parts)


def recipe_path_of(argv: list[str]) -> str | None:
    """The `--config` file of a command line, if any."""
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def record_training_run(stage: str, argv: list[str], script_args, training_args, model_args, sources=None) -> None:
    """A training script's `write_run_record`, on the main process, before training starts; `sources`:
    a mixture's sources with the questions each gave (raml_recipes.data.mixture)."""
    if training_args.process_index != 0:
        return
    write_run_record(
        training_args.output_dir,
        stage=stage,
        recipe_path=recipe_path_of(argv),
        argv=argv,
        model_name_or_path=model_args.model_name_or_path,
        dataset_name=script_args.dataset_name or "mixture: " + ", ".join(s["path"] for s in sources or []),
        support_size=getattr(training_args, "support_size", None),
        prompt={key: getattr(script_args, key, None) for key in PROMPT_KEYS},
        extra={"data_sources": sources} if sources else None,
    )
