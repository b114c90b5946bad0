"""Drop the training questions that share a run of n words with an evaluation question (n-gram overlap,
8 by default, as open-r1's and s1's decontamination), for SFT trajectory sets and GRPO prompt sets alike.

    python data_prep/decontaminate.py --input data/orz_distill14b_trajectories.jsonl \
        --output data/orz_distill14b_trajectories.clean.jsonl --report decontamination.json
    python data_prep/decontaminate.py --input prompts.jsonl --output clean.jsonl --benchmarks math500 aime24 --ngram 13

Input: a .jsonl/.json/.parquet file, folder or Hub id with a problem column (`--problem_field`). The
benchmarks default to every one the project names; one that cannot be read here (a Hub-only set offline,
Minerva without the shared data) is skipped and listed. The report gives, per benchmark, the rows dropped
and, for the first 20, the matching n-gram and the benchmark question it came from
(raml_recipes.data.decontaminate). `data_prep/build_grpo_prompts.py` applies the same step.
"""

from __future__ import annotations

import argparse
import json
import sys

from raml_recipes.data.benchmarks import DECONTAMINATION_SETS, decontamination_index
from raml_recipes.data.decontaminate import NGRAM, decontaminate
from raml_recipes.data.io import write_json, write_jsonl
from raml_recipes.data.loaders import iter_source_rows
from raml_recipes.errors import DataError
from raml_recipes.recipes import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="rows to decontaminate: file, folder or Hub id")
    parser.add_argument("--output", required=True, help=".jsonl file of the rows kept")
    parser.add_argument("--benchmarks", nargs="+", default=list(DECONTAMINATION_SETS), metavar="BENCHMARK",
                        help=f"evaluation sets to check against (default: {' '.join(DECONTAMINATION_SETS)})")  # fmt: skip
    parser.add_argument("--ngram", type=int, default=NGRAM, help=f"n-gram size in tokens (default {NGRAM})")
    parser.add_argument("--problem_field", default="problem", help="column holding the question (default: problem)")
    parser.add_argument("--split", default="train", help="split of a folder or Hub dataset")
    parser.add_argument("--report", default=None, help="also write the report to this JSON file")
    args = parser.parse_args(argv)
    if args.ngram < 1:
        parser.error(f"--ngram must be a positive integer, got {args.ngram}")
    try:
        index, skipped = decontamination_index(args.benchmarks, args.ngram)
        rows = []
        for number, row in iter_source_rows(args.input, split=args.split):
            if args.problem_field not in row:
                raise DataError("missing", source=args.input, row=number, field=args.problem_field)
            rows.append(row)
        kept, report = decontaminate(rows, index, args.problem_field)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    summary = {"input": args.input, "output": args.output, **report.as_dict(), "skipped_benchmarks": skipped}
    write_jsonl(args.output, kept)
    if args.report:
        write_json(args.report, summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "examples"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
