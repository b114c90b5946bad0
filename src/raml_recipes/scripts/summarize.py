"""Compress a trajectory dataset: rule-based compressors or the paper's model summarizer, verified.

```bash
raml summarize --config recipes/SmolLM2-135M-Instruct/summarize/config_demo.yaml
raml summarize --config recipes/Qwen2.5-32B-Instruct/summarize/config_paper.yaml --shard 3/16   # one job of 16
```
A rerun continues where the last one stopped; the last shard to finish writes the dataset.
"""

from __future__ import annotations

import json


def main(config) -> dict | None:
    from raml_recipes.summarize.runner import summarize

    summary = summarize(config)
    if summary is not None:
        print(json.dumps(summary, indent=1))
        print(f"Compressed trajectories in {summary['dataset']}")
    return summary


def make_parser(prog: str | None = None):
    from trl import TrlParser

    from raml_recipes.summarize.config import SummarizeConfig

    return TrlParser((SummarizeConfig,), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    from raml_recipes.recipes import parse_recipe

    (config,) = parse_recipe(make_parser(prog), argv)
    main(config)
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml summarize"))
