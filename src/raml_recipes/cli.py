"""`raml <command> [args]`: one entry point for every stage.

Each command is also a module that runs on its own (`python -m raml_recipes.scripts.sft`), which is
the form `accelerate launch -m` and Slurm jobs use.
"""

from __future__ import annotations

import importlib
import sys

from .user_errors import run

COMMANDS = {
    "sft": ("raml_recipes.scripts.sft", "supervised fine-tuning with per-question support sets"),
    "grpo": ("raml_recipes.scripts.grpo", "GRPO with a support-set gradient (k of G completions)"),
    "summarize": (
        "raml_recipes.scripts.summarize",
        "compress trajectories (rules or a summarizer model), verified",
    ),
    "compare": (
        "raml_recipes.scripts.compare",
        "long vs compressed students: accuracy against generated tokens",
    ),
    "evaluate": ("raml_recipes.scripts.evaluate", "sample and score a model on math benchmarks"),
    "rollouts": ("raml_recipes.scripts.rollouts", "sample n rollouts per question from a teacher (sharded)"),
    "grade": ("raml_recipes.scripts.grade", "grade a file of completions against gold answers"),
    "probe": ("raml_recipes.scripts.probe", "the paper's probes: confidence, reflection, early_stop"),
    "publish": (
        "raml_recipes.scripts.publish",
        "model card and Hub upload of a trained model (or --dry_run)",
    ),
    "experiment": ("raml_recipes.scripts.experiment", "the paper's claims at CPU scale (support-size)"),
    "demo": ("raml_recipes.demo", "the end-to-end demo on the embedded model"),
}


def usage() -> str:
    lines = ["usage: raml <command> [args]   (raml <command> --help for its options)", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"raml: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return run(module.cli, f"raml {name}", rest)


if __name__ == "__main__":
    sys.exit(main())
