"""Run one of the paper's probes on a model.

```bash
raml probe confidence --model_name_or_path embedded:smollm2-135m --data gsm8k --max_trajectories 100 \
    --ema_alpha 0.1 --output_dir outputs/probes/smollm2
raml probe reflection --model_name_or_path deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B --data r1_traces --output_dir ...
raml probe early_stop --model_name_or_path embedded:smollm2-135m --data gsm8k --budgets 16 32 64 --output_dir ...
```
"""

from __future__ import annotations

import json


def main(config) -> dict:
    from raml_recipes.probe.runner import run_probe

    result = run_probe(config)
    print(json.dumps(result, indent=1))
    print(f"Outputs in {config.output_dir}")
    return result


def make_parser(prog: str | None = None):
    from trl import TrlParser

    from raml_recipes.probe.config import ProbeConfig

    return TrlParser((ProbeConfig,), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    import sys

    from raml_recipes.probe.config import PROBES
    from raml_recipes.recipes import parse_recipe

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PROBES:  # `raml probe confidence ...` reads as `--probe confidence`
        argv = ["--probe", argv[0], *argv[1:]]
    (config,) = parse_recipe(make_parser(prog), argv)
    main(config)
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml probe"))
