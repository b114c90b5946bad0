"""Grade a teacher's rollout file and write the canonical trajectory dataset (correct ones kept).

    python data_prep/build_trajectories.py --input rollouts.jsonl --output trajectories.jsonl
    # the paper's SFT data: its own labels decide which rollouts are correct (data_process_sft.py)
    python data_prep/build_trajectories.py --input jnanliu/orz-math-filtered-distill-14b-rollout \
        --labels labels --output data/orz_distill14b_trajectories.jsonl

Input: a .jsonl/.json/.parquet file, a `save_to_disk` folder or a Hub dataset id, with one row per
question and a list of completions, or one row per completion (see raml_recipes.data.rollouts).
Every row is checked before anything is written; a bad row stops the run and names the file, row
and field. Completions are graded in parallel, each within a deadline (a completion that hangs
math-verify counts as incorrect). Counts go to stdout and, with --stats, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys

from raml_recipes.data.io import write_json, write_jsonl
from raml_recipes.data.loaders import iter_source_rows
from raml_recipes.data.rollouts import rollouts_to_trajectories
from raml_recipes.errors import DataError
from raml_recipes.recipes import ArgumentParser
from raml_recipes.rewards import configure_grading


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", required=True, help="rollout file, folder or Hub dataset id")
    parser.add_argument("--output", required=True, help="trajectory .jsonl to write")
    parser.add_argument("--split", default="train", help="split of a folder or Hub dataset")
    parser.add_argument("--config", default=None, help="configuration name of a Hub dataset")
    parser.add_argument(
        "--keep_incorrect", action="store_true", help="keep every completion, with its verdict"
    )
    parser.add_argument(
        "--labels", default=None, metavar="FIELD",
        help="take each completion's verdict from this list of 0/1 flags instead of grading it (the paper's "
        "rollout sets carry `labels`, and its SFT data script selects by them)",
    )
    parser.add_argument(
        "--grading", default="math_verify", choices=["math_verify", "lenient"],
        help="math_verify: math-verify's verdicts (default); lenient: also units, times, rounded decimals, identities",
    )
    parser.add_argument("--stats", default=None, help="also write the counts to this JSON file")
    parser.add_argument("--workers", type=int, default=None, help="grading processes (default: CPU cores)")
    parser.add_argument(
        "--deadline", type=float, default=None, help="seconds allowed per completion (default 5)"
    )
    args = parser.parse_args(argv)
    configure_grading(workers=args.workers, deadline=args.deadline)
    try:
        rows = iter_source_rows(args.input, split=args.split, config=args.config)
        records, stats = rollouts_to_trajectories(
            rows, source=args.input, keep_incorrect=args.keep_incorrect, labels_field=args.labels,
            mode=args.grading,
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not records:
        print(f"error: {args.input}: no question has a correct completion; nothing written", file=sys.stderr)
        return 1
    write_jsonl(args.output, records)
    if args.stats:
        write_json(args.stats, stats.as_dict())
    print(json.dumps(stats.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
