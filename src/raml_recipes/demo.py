"""`raml demo`: the RaML pipeline end to end on the embedded model, offline, on a CPU.

The task is one the 135M model can learn in minutes: short two-step arithmetic (`a + b * c` and a
two-step word problem, operands up to 9; `raml_recipes.data.arithmetic`), on which the base model is
right about one time in ten. Stages (each one skipped on a rerun once it has completed):
1. data:      training questions with three worked trajectories each, GRPO prompts, held-out questions
              (disjoint), and GSM8K for an external row;
2. sft:       support-set SFT of SmolLM2-135M-Instruct (k = 2 of 3 trajectories per question);
3. grpo:      GRPO from the SFT model on new training questions, the paper's reward, gradient from k = 2 of
              G = 4 completions; clipped completions logged and warned about;
4. summarize: rule-based compression of the SFT trajectories, each compression verified;
5. student:   the same SFT recipe on the compressed trajectories (the compressed-trajectory student);
6. evaluate:  base, SFT, GRPO and student on the held-out questions (greedy), base and SFT also sampled
              (avg@n), base and GRPO on GSM8K test (the external row);
7. lever:     GRPO optimizer-step time with the gradient from k of G against all G, on the demo's batches;
8. probe:     the paper's confidence probe on the SFT model, correct vs perturbed solutions;
9. report:    report.md: every number with its 95 % interval, the differences and whether they are
              outside the noise, figures; every number also in summary.json.

`--quick` runs the same stages on the tiny random model in a few minutes. A rerun skips the completed
stages; a training stage cut short resumes from its last checkpoint if it saved one. bf16 is used where
the CPU computes it natively (AVX512-BF16, AMX), float32 elsewhere, where bf16 is several times slower.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .data.io import write_json, write_jsonl
from .paths import recipe
from .recipes import ArgumentParser
from .stages import Stage, StageFailed, run_script, run_stages

STAGE_NAMES = ("data", "sft", "grpo", "summarize", "student", "evaluate", "lever", "probe", "report")


@dataclass(frozen=True)
class DemoPlan:
    """What one demo run trains and measures (the full run on SmolLM2, or --quick on the tiny model)."""

    recipes: str  # the recipes/ folder of the model
    base_model: str
    heldout: int  # held-out questions: 200 puts a 10-point change outside the noise (Wilson +-5-7)
    sft_questions: int
    grpo_prompts: int
    sampled_questions: int  # held-out questions sampled `samples` times for avg@n (base and SFT)
    samples: int
    gsm8k_questions: int
    gsm8k_max_new_tokens: int  # GSM8K solutions run longer than the demo task's
    probe_trajectories: int


FULL = DemoPlan("SmolLM2-135M-Instruct", "embedded:smollm2-135m", heldout=200, sft_questions=64, grpo_prompts=32,
                sampled_questions=32, samples=4, gsm8k_questions=20, gsm8k_max_new_tokens=192, probe_trajectories=16)  # fmt: skip
QUICK = DemoPlan("tiny", "embedded:tiny-llama", heldout=24, sft_questions=16, grpo_prompts=32,
                 sampled_questions=8, samples=2, gsm8k_questions=4, gsm8k_max_new_tokens=32, probe_trajectories=4)  # fmt: skip
# The demo task (chosen on a pilot split, disjoint from the held-out questions: docs/demo.md).
TASK = {"kinds": ("add_mul", "items"), "max_operand": 9, "seed": 0}
TASK_PROMPT = "{problem}\nPut the final answer in \\boxed{}."


def precision_args(kind: str) -> list[str]:
    """bf16 where the CPU computes it natively, float32 elsewhere (where bf16 is several times slower)."""
    from .models.loading import cpu_has_native_bf16

    native = cpu_has_native_bf16()
    if kind == "train":
        return ["--bf16", "true" if native else "false"]
    return ["--dtype", "bfloat16" if native else "float32"]


def build_stages(out_dir: Path, quick: bool) -> list[Stage]:
    plan = QUICK if quick else FULL
    data_dir = out_dir / "data"
    paths = {name: data_dir / f"{name}.jsonl" for name in ("trajectories", "grpo_prompts", "heldout", "pilot")}
    sft_dir, grpo_dir = out_dir / "sft", out_dir / "grpo"
    summarize_dir, student_dir = out_dir / "summarize", out_dir / "student"
    prompt = ["--prompt_template", TASK_PROMPT]

    def data() -> dict:
        from .data.arithmetic import demo_split

        train, heldout, pilot = demo_split(plan.sft_questions + plan.grpo_prompts, plan.heldout, pilot=100, **TASK)
        write_jsonl(paths["trajectories"], train[: plan.sft_questions])
        question = lambda row: {key: row[key] for key in ("id", "problem", "answer", "kind")}  # noqa: E731
        write_jsonl(paths["grpo_prompts"], [question(row) for row in train[plan.sft_questions :]])
        write_jsonl(paths["heldout"], [question(row) for row in heldout])
        write_jsonl(paths["pilot"], [question(row) for row in pilot])
        return {
            **{name: str(path) for name, path in paths.items()},
            "task": {**TASK, "kinds": list(TASK["kinds"])},
            "questions": {"sft": plan.sft_questions, "grpo": plan.grpo_prompts, "heldout": plan.heldout,
                          "pilot": len(pilot)},
        }  # fmt: skip

    def train(stage: str, recipe_path: Path, output_dir: Path, curve: str, *args: str) -> dict:
        """Run a training script; report its outputs and the first and last value of `curve`."""
        run_script(
            f"raml_recipes.scripts.{stage}",
            ["--config", str(recipe_path), "--output_dir", str(output_dir), "--resume_from_checkpoint", "auto",
             *prompt, *precision_args("train"), *args],
            out_dir / "logs" / f"{output_dir.name}.log",
        )  # fmt: skip
        metrics = json.loads((output_dir / "metrics.json").read_text())
        values = [entry[curve] for entry in metrics["log_history"] if curve in entry]
        return {
            "recipe": str(recipe_path),
            "checkpoint": str(output_dir),
            "metrics": str(output_dir / "metrics.json"),
            "curves": str(output_dir / "training_curves.png"),
            f"first_{curve}": values[0],
            f"last_{curve}": values[-1],
            "steps": metrics["global_step"],
            "support_set": metrics["support_set"],
        }

    sft_recipe = recipe(plan.recipes, "sft", "config_demo.yaml")
    grpo_recipe = recipe(plan.recipes, "grpo", "config_demo.yaml")

    def sft() -> dict:
        return train("sft", sft_recipe, sft_dir, "loss", "--dataset_name", str(paths["trajectories"]))

    def grpo() -> dict:
        return train("grpo", grpo_recipe, grpo_dir, "reward", "--model_name_or_path", str(sft_dir),
                     "--dataset_name", str(paths["grpo_prompts"]))  # fmt: skip

    def summarize() -> dict:
        run_script(
            "raml_recipes.scripts.summarize",
            ["--config", str(recipe(plan.recipes, "summarize", "config_demo.yaml")),
             "--dataset_name", str(paths["trajectories"]), "--output_dir", str(summarize_dir)],
            out_dir / "logs" / "summarize.log",
        )  # fmt: skip
        summary = json.loads((summarize_dir / "summary.json").read_text())
        return {"output_dir": str(summarize_dir), **summary}

    def student() -> dict:
        return train("sft", recipe(plan.recipes, "sft", "config_student.yaml"), student_dir, "loss",
                     "--dataset_name", str(summarize_dir / "trajectories.jsonl"))  # fmt: skip

    eval_recipe = recipe(plan.recipes, "evaluate", "config_demo.yaml")
    models = {"base": plan.base_model, "sft": str(sft_dir), "grpo": str(grpo_dir), "student": str(student_dir)}

    def evaluate_one(label: str, name: str, *args: str) -> dict:
        target = out_dir / "evaluate" / name
        run_script(
            "raml_recipes.scripts.evaluate",
            ["--config", str(eval_recipe), "--model_name_or_path", models[label], "--output_dir", str(target),
             *prompt, *precision_args("eval"), *args],
            out_dir / "logs" / f"evaluate-{name}.log",
        )  # fmt: skip
        (benchmark, summary), *_ = json.loads((target / "summary.json").read_text())["benchmarks"].items()
        return {"model": models[label], "output_dir": str(target), "benchmark": benchmark, **summary}

    def evaluate() -> dict:
        heldout = ["--benchmarks", str(paths["heldout"])]
        results = {label: evaluate_one(label, label, *heldout) for label in models}
        # avg@n: the same questions sampled; GSM8K: how the task transfers (a 135M model is not expected to).
        sampled = [*heldout, "--max_questions", str(plan.sampled_questions), "--num_samples", str(plan.samples),
                   "--ks", "1", str(plan.samples), "--temperature", "0.7", "--top_p", "1.0", "--top_k", "0"]  # fmt: skip
        for label in ("base", "sft"):
            results[f"{label}_sampled"] = evaluate_one(label, f"{label}-sampled", *sampled)
        gsm8k = ["--benchmarks", "gsm8k", "--max_questions", str(plan.gsm8k_questions), "--max_new_tokens",
                 str(plan.gsm8k_max_new_tokens)]  # fmt: skip
        for label in ("base", "grpo"):
            results[f"{label}_gsm8k"] = evaluate_one(label, f"{label}-gsm8k", *gsm8k)
        return results

    def lever() -> dict:
        target = out_dir / "lever.json"
        run_script(
            "raml_recipes.scripts.support_timing",
            ["--config", str(grpo_recipe), "--model_name_or_path", str(grpo_dir), "--dataset_name",
             str(paths["grpo_prompts"]), "--output_dir", str(out_dir / "lever"), "--output_json", str(target),
             *prompt, *precision_args("train")],
            out_dir / "logs" / "lever.log",
        )  # fmt: skip
        return json.loads(target.read_text())

    def probe() -> dict:
        target = out_dir / "probe"
        run_script(
            "raml_recipes.scripts.probe",
            ["confidence", "--model_name_or_path", str(sft_dir), "--data", "gsm8k",
             "--max_trajectories", str(plan.probe_trajectories), "--ema_alpha", "0.1", "--output_dir", str(target)],
            out_dir / "logs" / "probe.log",
        )  # fmt: skip
        summary = json.loads((target / "confidence.json").read_text())
        return {
            "figure": str(target / "confidence.png"),
            "correct": summary["correct"],
            "incorrect": summary["incorrect"],
        }

    def report() -> dict:
        from .demo_report import write_report

        # The earlier stages' records (times included), from the markers they left, in stage order.
        done = {
            name: json.loads((out_dir / ".stages" / f"{name}.json").read_text()) for name in STAGE_NAMES[:-1]
        }
        model = "the tiny random Llama (--quick)" if quick else "SmolLM2-135M-Instruct (embedded)"
        return write_report(out_dir, done, model)

    stages = [
        Stage("data", "two-step arithmetic: SFT questions, GRPO prompts, held-out questions (disjoint)", data),
        Stage("sft", f"support-set SFT ({sft_recipe.relative_to(recipe().parent)})", sft),
        Stage("grpo", f"GRPO, gradient from k of G ({grpo_recipe.relative_to(recipe().parent)})", grpo),
        Stage(
            "summarize", "rule-based compression of the SFT trajectories, verified by the grader", summarize
        ),
        Stage("student", "the same SFT recipe on the compressed trajectories", student),
        Stage("evaluate", f"held-out accuracy of base, SFT, GRPO, student; GSM8K ({eval_recipe.name})", evaluate),
        Stage("lever", "GRPO step time: gradient from k of G against all G, same rollouts", lever),
        Stage("probe", "answer confidence along correct and perturbed GSM8K solutions (SFT model)", probe),
        Stage("report", "report.md: numbers with 95% intervals, differences, figures", report),
    ]
    assert tuple(stage.name for stage in stages) == STAGE_NAMES
    return stages


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default outputs/demo or outputs/demo-quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="the tiny random model instead of SmolLM2 (seconds)"
    )
    args = parser.parse_args(argv)
    out_dir = (args.out or Path("outputs") / ("demo-quick" if args.quick else "demo")).resolve()
    start = time.monotonic()
    try:
        results = run_stages(build_stages(out_dir, args.quick), out_dir)
    except StageFailed as error:
        print(
            f"\nDemo stopped: {error}\nRerun the same command to resume from the failed stage.",
            file=sys.stderr,
        )
        return 1
    figures = results["report"]["figures"]
    summary = write_json(
        out_dir / "summary.json",
        # `comparisons` at the top: each difference with its 95 % interval, readable without the page.
        {"quick": args.quick, "comparisons": figures["comparisons"], "report": figures, "stages": results},
    )
    print(f"\nDemo finished in {time.monotonic() - start:.0f} s. Outputs in {out_dir}:")
    for label, row in figures["evaluation"].items():
        print(f"  {label:<8} held-out accuracy {100 * row['accuracy']:5.1f}% "
              f"[{100 * row['accuracy_low']:.1f}, {100 * row['accuracy_high']:.1f}], {row['mean_tokens']:.0f} tokens")  # fmt: skip
    for name, row in figures["comparisons"].items():
        print(f"  {name:<26} {row['difference']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]: {row['verdict']} "
              f"({'as expected' if row['as_expected'] else 'expected ' + row['expect']})")  # fmt: skip
    lever, signal = figures["lever"], figures["grpo_signal"]
    print(
        f"  GRPO step time, gradient from k={lever['support_size']} of G={lever['num_generations']}: "
        f"{lever['ratio']:.2f}x that of all G; completions cut at the budget: {100 * signal['clipped_mean']:.0f}%\n"
        f"  report  {results['report']['report']}  (tables and figures)\n"
        f"  summary {summary}  (every number; `comparisons` holds each difference with its interval)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
