"""Compare students (long vs compressed trajectories): accuracy against mean generated tokens.

```bash
raml compare --run long=outputs/eval/sft --run compressed=outputs/eval/student \\
    --compression outputs/SmolLM2-135M-Instruct/summarize --output_dir outputs/compare
```
Each run is the output_dir of an `raml evaluate` run; writes comparison.md, comparison.json and
accuracy_vs_tokens.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raml_recipes.recipes import ArgumentParser


def _run(spec: str) -> tuple[str, Path]:
    label, sep, folder = spec.partition("=")
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(f"expected LABEL=EVALUATION_DIR, got {spec!r}")
    return label, Path(folder)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    from raml_recipes.evaluation.compare import compare

    parser = ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=_run, action="append", required=True, help="LABEL=EVALUATION_DIR (repeat)"
    )
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument(
        "--compression",
        type=Path,
        default=None,
        help="a `raml summarize` output_dir: its summary goes in the report",
    )
    args = parser.parse_args(argv)
    result = compare(dict(args.run), args.output_dir, args.compression)
    print(Path(result["table"]).read_text())
    print(f"Comparison in {args.output_dir}")
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml compare"))
