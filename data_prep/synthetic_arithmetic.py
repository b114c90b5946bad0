"""Build the synthetic arithmetic task: train and held-out questions with structurally distinct trajectories.

    python data_prep/synthetic_arithmetic.py --train_questions 2000 --heldout_questions 200 \
        --trajectories 8 --seed 0 --output_dir data/synthetic

Writes train.jsonl and heldout.jsonl (canonical trajectory records, readable with
`raml_recipes.data.load_trajectories`) and stats.json (counts, distinct trajectories and value
orders per question, structures, verification results). Held-out questions share no
(structure, numbers) key and no problem text with the train questions. See
`raml_recipes.data.synthetic` for the structures and how trajectories differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from raml_recipes.data.io import write_json, write_jsonl
from raml_recipes.data.synthetic import DEFAULT_MAX_OPERAND, STRUCTURES, build_split
from raml_recipes.recipes import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_questions", type=int, default=2000)
    parser.add_argument("--heldout_questions", type=int, default=200)
    parser.add_argument("--trajectories", type=int, default=8, help="distinct trajectories per question")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max_operand",
        type=int,
        default=DEFAULT_MAX_OPERAND,
        help="largest drawn number (counts are capped lower)",
    )
    parser.add_argument(
        "--structures", nargs="+", default=None, choices=list(STRUCTURES), help="default: all"
    )
    parser.add_argument(
        "--output_dir", required=True, help="folder for train.jsonl, heldout.jsonl, stats.json"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        train, heldout, stats = build_split(
            args.train_questions,
            args.heldout_questions,
            seed=args.seed,
            trajectories=args.trajectories,
            max_operand=args.max_operand,
            structures=args.structures,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output = Path(args.output_dir)
    write_jsonl(output / "train.jsonl", train)
    write_jsonl(output / "heldout.jsonl", heldout)
    write_json(output / "stats.json", stats)
    checks = stats["verification"]
    print(
        f"wrote {len(train)} train / {len(heldout)} held-out questions "
        f"({stats['train']['trajectories']} / {stats['heldout']['trajectories']} trajectories, "
        f"{len(stats['structures'])} structures; {checks['checked']} checked, "
        f"{checks['grade_failures'] + checks['arithmetic_failures']} failed) to {output} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
