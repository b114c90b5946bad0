"""Build canonical trajectory records from GSM8K rows (three think-format renderings per question).

    python data_prep/build_gsm8k_trajectories.py --input data/gsm8k/train.jsonl \
        --output data/trajectories/gsm8k_train.jsonl --max_questions 200
"""

from __future__ import annotations

import argparse
import sys

from raml_recipes.data.gsm8k import VARIANTS, build_gsm8k_trajectories
from raml_recipes.data.io import write_jsonl
from raml_recipes.errors import DataError
from raml_recipes.recipes import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="GSM8K .jsonl file (question, answer)")
    parser.add_argument("--output", required=True, help="canonical trajectory .jsonl to write")
    parser.add_argument("--split", default="train", help="split name used in the record ids")
    parser.add_argument("--max_questions", type=int, default=None)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = parser.parse_args(argv)
    try:
        records = build_gsm8k_trajectories(
            args.input, split=args.split, max_questions=args.max_questions, variants=args.variants
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_jsonl(args.output, records)
    print(
        f"wrote {len(records)} questions, {sum(len(r['trajectories']) for r in records)} trajectories to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
