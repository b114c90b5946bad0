"""Evaluate a model on math benchmarks with n samples per question: pass@k, mG-pass@k, avg@n, maj@k.

```bash
raml evaluate --config recipes/SmolLM2-135M-Instruct/evaluate/config_gsm8k.yaml
raml evaluate --model_name_or_path embedded:smollm2-135m --benchmarks gsm8k math500 \
    --num_samples 4 --ks 1 4 --max_questions 20 --output_dir outputs/eval/smollm2
```
An interrupted run continues where it stopped when started again with the same output_dir.
"""

from __future__ import annotations


def main(config) -> dict:
    from raml_recipes.evaluation.report import markdown_table
    from raml_recipes.evaluation.runner import evaluate

    summary = evaluate(config)
    print(markdown_table(summary["benchmarks"], config.num_samples, config.ks))
    print(f"Samples, summary and model-card results in {config.output_dir}")
    return summary


def make_parser(prog: str | None = None):
    from trl import TrlParser

    from raml_recipes.evaluation.config import EvaluationConfig

    return TrlParser((EvaluationConfig,), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    from raml_recipes.recipes import parse_recipe

    (config,) = parse_recipe(make_parser(prog), argv)
    main(config)
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml evaluate"))
