"""Grade a file of completions against gold answers, in parallel, each item within a deadline.

```bash
raml grade --data samples.jsonl --answers completion            # one completion per row
raml grade --data rollouts.jsonl --answers completions --gold answer --workers 8 --deadline 5
```
Writes `<data>.graded.jsonl` (each row with `verdict` or `verdicts`) and `<data>.grading.json`
(counts, accuracy, speed), or the paths given by --output / --summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from raml_recipes.recipes import ArgumentParser


def main(args: argparse.Namespace) -> dict:
    from raml_recipes.data.io import iter_rows, write_json, write_jsonl
    from raml_recipes.rewards import configure_grading
    from raml_recipes.rewards.batch import grade_rows

    data = Path(args.data)
    output = Path(args.output or data.with_name(data.stem + ".graded.jsonl"))
    summary_path = Path(args.summary or data.with_name(data.stem + ".grading.json"))
    configure_grading(workers=args.workers, deadline=args.deadline)
    graded, summary = grade_rows(
        iter_rows(data), answers=args.answers, gold=args.gold, source=str(data), mode=args.grading
    )
    write_jsonl(output, graded)
    write_json(summary_path, {"data": str(data), "output": str(output), **summary})
    print(json.dumps(summary))
    return summary


def make_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help=".jsonl / .json / .parquet file of rows")
    parser.add_argument(
        "--answers", required=True, help="column with the completion (text, messages, or a list)"
    )
    parser.add_argument("--gold", default="answer", help="column with the gold answer (default: answer)")
    parser.add_argument("--output", default=None, help="graded rows (.jsonl); default <data>.graded.jsonl")
    parser.add_argument("--summary", default=None, help="summary JSON; default <data>.grading.json")
    parser.add_argument("--workers", type=int, default=None, help="grading processes (default: CPU cores)")
    parser.add_argument("--deadline", type=float, default=None, help="seconds allowed per item (default 5)")
    parser.add_argument(
        "--grading", default="math_verify", choices=["math_verify", "lenient"],
        help="math_verify: math-verify's verdicts (default); lenient: also units, times, rounded decimals, identities",
    )
    return parser


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = make_parser(prog)
    args = parser.parse_args(argv)
    # Checked here, in argparse's one-line form: a zero deadline would fail every item as a timeout.
    if args.deadline is not None and not args.deadline > 0:
        parser.error(f"--deadline must be a number of seconds greater than 0, got {args.deadline}")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be a positive integer, got {args.workers}")
    main(args)
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml grade"))
