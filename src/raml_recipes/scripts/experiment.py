"""Experiments that test the paper's claims with the recipes.

```bash
raml experiment support-size                     # k in {1, 2, 4, 8}, 3 seeds: held-out accuracy against k
raml experiment support-size --quick --out /tmp/support-size
# The pretrained arm: SmolLM2-135M-Instruct, k in {1, 8}, 3 seeds (about 52 minutes on 2 cores)
raml experiment support-size --recipe recipes/SmolLM2-135M-Instruct/sft/config_support_size.yaml \
    --ks 1 8 --train_questions 32 --eval_dtype bfloat16 --out outputs/support-size-smollm2
```
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raml_recipes.recipes import ArgumentParser

QUICK = dict(ks=[1, 2], seeds=[0, 1], train_questions=16, heldout_questions=8, num_samples=2, max_new_tokens=32,
             extra_train_args=["--num_train_epochs", "1"])  # fmt: skip
# Options that override the defaults (or --quick's) when given.
SETTINGS = ("ks", "seeds", "recipe", "train_questions", "heldout_questions", "num_samples", "eval_dtype")


def make_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiment", choices=["support-size"])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default outputs/<experiment>)")
    parser.add_argument(
        "--quick", action="store_true", help="a few questions, k in {1, 2}, 2 seeds (seconds)"
    )
    parser.add_argument("--ks", type=int, nargs="+", default=None, help="support sizes (default 1 2 4 8)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default 0 1 2)")
    parser.add_argument(
        "--recipe", default=None, help="the SFT recipe (default recipes/tiny/sft/config_support_size.yaml)"
    )
    parser.add_argument("--train_questions", type=int, default=None)
    parser.add_argument("--heldout_questions", type=int, default=None)
    parser.add_argument("--num_samples", type=int, default=None, help="n of the held-out avg@n (default 4)")
    parser.add_argument(
        "--eval_dtype", default=None, choices=["auto", "float32", "bfloat16"],
        help="weights dtype for the held-out evaluation (default auto: the model's own)",
    )  # fmt: skip
    return parser


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    from raml_recipes.experiments.support_size import SupportSizeExperiment, run_experiment

    args = make_parser(prog).parse_args(argv)
    settings = dict(QUICK) if args.quick else {}
    for name in SETTINGS:
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    out = args.out or Path("outputs") / (args.experiment + ("-quick" if args.quick else ""))
    result = run_experiment(SupportSizeExperiment(**settings), out)
    print((out / "results.md").read_text())
    print(f"Results in {out}: results.md, accuracy_vs_k.png, results.json ({len(result['runs'])} runs)")
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml experiment"))
