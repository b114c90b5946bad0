"""What a job script needs to know about a recipe, read with the stage's own parser.

```bash
eval "$(python -m raml_recipes.job_settings sft --processes 16 --config recipes/Qwen2.5-7B/sft/config_support8.yaml)"
echo "$output_dir $gradient_accumulation_steps"
```

Slurm scripts read settings this way instead of grepping the YAML: command-line overrides, defaults
and the dataclasses' own checks apply exactly as in the run, and a bad recipe fails here, in one
line, before any node starts. The output is `name=value` lines, shell-quoted, for `eval`.
`--processes N` (right after the stage) reads the recipe as a launch on N processes would: a recipe with
`global_batch_size` then gets the gradient accumulation steps of that launch.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys

# Per stage: the script whose parser reads the recipe, and the fields a job script uses.
STAGES = {
    "sft": ("raml_recipes.scripts.sft", ("output_dir", "gradient_accumulation_steps", "model_name_or_path")),
    "grpo": (
        "raml_recipes.scripts.grpo",
        (
            "output_dir",
            "gradient_accumulation_steps",
            "model_name_or_path",
            "use_vllm",
            "vllm_mode",
            "vllm_server_port",
            "vllm_server_timeout",
        ),
    ),
    "evaluate": ("raml_recipes.scripts.evaluate", ("output_dir", "model_name_or_path")),
    "summarize": ("raml_recipes.scripts.summarize", ("output_dir",)),
}


def _shell_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return shlex.quote("" if value is None else str(value))


def job_settings(stage: str, argv: list[str], processes: int | None = None) -> dict:
    """The stage's settings for `argv` (`--config RECIPE` and overrides), as a run on `processes`
    processes (default: this environment's) will see them."""
    from .errors import RecipeError
    from .recipes import parse_recipe
    from .training.batch import planned_world_size

    if stage not in STAGES:
        raise RecipeError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    module_name, fields = STAGES[stage]
    parser = importlib.import_module(module_name).make_parser()
    if processes is None:
        parsed = parse_recipe(parser, argv)
    else:
        with planned_world_size(processes):
            parsed = parse_recipe(parser, argv)
    settings = {}
    for name in fields:
        for dataclass_ in parsed:
            if hasattr(dataclass_, name):
                settings[name] = getattr(dataclass_, name)
                break
    return settings


def main(argv: list[str] | None = None) -> int:
    from .errors import RecipeError

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(
            f"usage: python -m raml_recipes.job_settings {{{'|'.join(STAGES)}}} [--processes N] --config RECIPE "
            "[overrides]"
        )
        return 0 if argv else 2
    # Libraries print on import (DeepSpeed's "[INFO] ..."): while the recipe is read, anything written
    # to stdout goes to stderr, so that stdout carries only the lines the job script evals.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    stage, rest, processes = argv[0], argv[1:], None
    if rest[:1] == ["--processes"]:
        if len(rest) < 2 or not rest[1].isdigit() or int(rest[1]) < 1:
            print("job_settings: error: --processes needs a positive integer", file=sys.stderr)
            return 2
        processes, rest = int(rest[1]), rest[2:]
    try:
        settings = job_settings(stage, rest, processes)
    except RecipeError as error:
        print(f"job_settings: error: {error}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    for name, value in settings.items():
        print(f"{name}={_shell_value(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
