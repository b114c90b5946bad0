"""Build a GRPO prompt set: `{id, problem, answer, source}` rows, decontaminated against the evaluation sets.

    # The demo's arithmetic prompts (a small model gets some right, so the reward has variance)
    python data_prep/build_grpo_prompts.py --source arithmetic:256 --output data/grpo/arithmetic.jsonl
    # MATH train + past AIME problems with integer answers (signs and separators allowed)
    python data_prep/build_grpo_prompts.py --source math_train aime_1983_2023 --integer_answers \
        --output data/grpo/math_int.jsonl
    # The paper's RL prompts: the filtered ORZ questions, digits-only answers (data_process_grpo.py);
    # evaluation problems are removed too (the official script keeps them: add a bare --decontaminate)
    python data_prep/build_grpo_prompts.py --source jnanliu/orz-math-filtered --integer_answers paper \
        --output data/grpo/orz_math_filtered.jsonl

Sources: arithmetic:COUNT[:SEED], gsm8k_train, math_train, aime_1983_2023, a benchmark name, or any
.jsonl/.json/.parquet file, save_to_disk folder or Hub id with problem|question and
answer|gold|final_answer|solution. Rows without a gold answer are dropped and counted.
"""

from __future__ import annotations

import argparse
import json
import sys

from raml_recipes.data.benchmarks import BENCHMARK_NAMES, DECONTAMINATION_SETS
from raml_recipes.data.grpo_prompts import build_prompt_set
from raml_recipes.data.io import write_jsonl
from raml_recipes.errors import DataError
from raml_recipes.recipes import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", nargs="+", required=True, help="one or more prompt sources (see above)")
    parser.add_argument("--output", required=True, help=".jsonl file to write")
    parser.add_argument(
        "--integer_answers", nargs="?", const="any", default=None, choices=["any", "paper"],
        help="keep only integer gold answers: any (signs, separators; the default) or paper (the official "
        "data_process_grpo.py filter, str.isdigit: non-negative digits only)",
    )
    parser.add_argument("--decontaminate", nargs="*", default=list(DECONTAMINATION_SETS), metavar="BENCHMARK",
                        help="evaluation sets whose questions are removed, by 8-gram overlap (default: every one "
                        f"the project names, {' '.join(DECONTAMINATION_SETS)}; one not readable here is skipped "
                        "and listed; give no names to skip the step)")  # fmt: skip
    parser.add_argument("--max_prompts", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None, help="shuffle the prompts with this seed")
    args = parser.parse_args(argv)
    unknown = [name for name in args.decontaminate if name not in BENCHMARK_NAMES]
    if unknown:
        parser.error(f"--decontaminate: unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARK_NAMES)}")
    try:
        decontaminate = args.decontaminate
        rows, report = build_prompt_set(
            args.source,
            integer_answers_only=args.integer_answers or False,
            decontaminate=decontaminate,
            max_prompts=args.max_prompts,
            seed=args.seed,
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not rows:
        print(f"error: no prompts left: {json.dumps(report.as_dict())}", file=sys.stderr)
        return 1
    write_jsonl(args.output, rows)
    print(json.dumps({"output": args.output, "decontaminated_against": decontaminate, **report.as_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
