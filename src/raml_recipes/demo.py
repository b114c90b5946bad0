"""`raml demo`: the RaML pipeline end to end on the embedded model, offline, on a CPU.

Stages (each one skipped on a rerun once it has completed):
1. data:     GSM8K training solutions -> canonical trajectory records, three renderings per question;
2. sft:      support-set SFT of SmolLM2-135M-Instruct (k=2 of 3 trajectories per question);
3. grpo:     GRPO from the SFT model on arithmetic prompts, the paper's reward, gradient from k=2 of G=4;
4. summarize: rule-based compression of the SFT trajectories, each compression verified;
5. student:  the same SFT recipe on the compressed trajectories (the compressed-trajectory student);
6. evaluate: the base, SFT, GRPO and student models on GSM8K test questions (pass@k, mG-pass@k, maj@k);
7. probe:    the paper's confidence probe on the SFT model, correct vs perturbed solutions;
8. report:   report.md (evaluation table, training, compression, confidence; figures beside it), every
             number read from the stages' outputs and kept in summary.json.

`--quick` runs the same stages on the tiny random model in about a minute. A rerun skips the completed
stages; a training stage cut short resumes from its last checkpoint if it saved one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .data.gsm8k import build_gsm8k_trajectories
from .data.io import write_json, write_jsonl
from .paths import recipe, shipped_data

STAGE_NAMES = ("data", "sft", "grpo", "summarize", "student", "evaluate", "probe", "report")


@dataclass
class Stage:
    name: str
    description: str
    run: Callable[[], dict]  # returns the stage's outputs (paths and numbers) for the summary


class StageFailed(RuntimeError):
    pass


def run_stages(stages: list[Stage], out_dir: Path) -> dict:
    """Run stages in order; a completed stage leaves a marker and is skipped on the next run."""
    markers = out_dir / ".stages"
    results = {}
    for number, stage in enumerate(stages, start=1):
        marker = markers / f"{stage.name}.json"
        header = f"[{number}/{len(stages)}] {stage.name}: {stage.description}"
        if marker.is_file():
            results[stage.name] = json.loads(marker.read_text())
            print(f"{header} (done in an earlier run, skipped)", flush=True)
            continue
        print(header, flush=True)
        start = time.monotonic()
        try:
            outputs = stage.run()
        except Exception as error:
            raise StageFailed(f"stage {stage.name!r} failed: {error}") from error
        results[stage.name] = {"elapsed_s": round(time.monotonic() - start, 1), **outputs}
        write_json(marker, results[stage.name])
        print(
            f"[{number}/{len(stages)}] {stage.name}: done in {results[stage.name]['elapsed_s']} s", flush=True
        )
    return results


def _stop_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook: the child gets SIGTERM when the demo process dies, however it dies (SIGKILL too).

    Otherwise a killed demo leaves its stage running, and the rerun starts the same stage into the
    same folder beside it. The training scripts checkpoint on SIGTERM. Linux only (prctl); libc is
    loaded here, in the parent, so that the child runs no import between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def run_script(module: str, args: list[str], log_path: Path, echo: bool = True) -> None:
    """Run a stage script in its own process (memory is returned between stages), its output written to
    a log and, with `echo`, to this process's stdout as it comes."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", module, *args]
    # Appended, each attempt under its command line: a rerun keeps the log of the attempt it follows.
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(command)}  # {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_stop_with_parent_hook()
        )
        # Bytes as they come, so progress bars redraw in place ("\r") instead of printing a line each.
        for chunk in iter(lambda: process.stdout.read1(65536), b""):
            log.write(chunk)
            if echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        code = process.wait()
    if code != 0:
        raise StageFailed(f"{' '.join(command)} exited with status {code}; see {log_path}")


def build_stages(out_dir: Path, quick: bool) -> list[Stage]:
    data_path = out_dir / "data" / "gsm8k_trajectories.jsonl"
    sft_dir = out_dir / "sft"
    sft_recipe = recipe("tiny" if quick else "SmolLM2-135M-Instruct", "sft", "config_demo.yaml")

    def data() -> dict:
        records = build_gsm8k_trajectories(
            shipped_data("gsm8k", "train.jsonl"), split="train", max_questions=200
        )
        write_jsonl(data_path, records)
        return {"trajectories": str(data_path), "questions": len(records)}

    def train(stage: str, recipe_path: Path, output_dir: Path, curve: str, *args: str) -> dict:
        """Run a training script; report its outputs and the first and last value of `curve`."""
        run_script(
            f"raml_recipes.scripts.{stage}",
            ["--config", str(recipe_path), "--output_dir", str(output_dir), "--resume_from_checkpoint", "auto",
             *args],
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

    def sft() -> dict:
        return train("sft", sft_recipe, sft_dir, "loss", "--dataset_name", str(data_path))

    model_name = "tiny" if quick else "SmolLM2-135M-Instruct"
    grpo_dir = out_dir / "grpo"
    grpo_recipe = recipe(model_name, "grpo", "config_demo.yaml")

    def grpo() -> dict:
        return train("grpo", grpo_recipe, grpo_dir, "reward", "--model_name_or_path", str(sft_dir))

    summarize_dir, student_dir = out_dir / "summarize", out_dir / "student"

    def summarize() -> dict:
        run_script(
            "raml_recipes.scripts.summarize",
            ["--config", str(recipe(model_name, "summarize", "config_demo.yaml")),
             "--dataset_name", str(data_path), "--output_dir", str(summarize_dir)],
            out_dir / "logs" / "summarize.log",
        )  # fmt: skip
        summary = json.loads((summarize_dir / "summary.json").read_text())
        return {"output_dir": str(summarize_dir), **summary}

    def student() -> dict:
        student_recipe = recipe(model_name, "sft", "config_student.yaml")
        return train(
            "sft",
            student_recipe,
            student_dir,
            "loss",
            "--dataset_name",
            str(summarize_dir / "trajectories.jsonl"),
        )

    eval_recipe = recipe(model_name, "evaluate", "config_demo.yaml" if quick else "config_gsm8k.yaml")
    base_model = "embedded:tiny-llama" if quick else "embedded:smollm2-135m"

    def evaluate() -> dict:
        results = {}
        models = (
            ("base", base_model),
            ("sft", str(sft_dir)),
            ("grpo", str(grpo_dir)),
            ("student", str(student_dir)),
        )
        for label, model in models:
            target = out_dir / "evaluate" / label
            run_script(
                "raml_recipes.scripts.evaluate",
                ["--config", str(eval_recipe), "--model_name_or_path", model, "--output_dir", str(target)],
                out_dir / "logs" / f"evaluate-{label}.log",
            )
            summary = json.loads((target / "summary.json").read_text())["benchmarks"]["gsm8k"]
            results[label] = {"model": model, "output_dir": str(target), **summary}
        return results

    def probe() -> dict:
        target = out_dir / "probe"
        run_script(
            "raml_recipes.scripts.probe",
            ["confidence", "--model_name_or_path", str(sft_dir), "--data", "gsm8k",
             "--max_trajectories", "8" if quick else "24", "--ema_alpha", "0.1", "--output_dir", str(target)],
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
        Stage("data", "GSM8K solutions -> trajectory records (3 per question)", data),
        Stage("sft", f"support-set SFT ({sft_recipe.relative_to(recipe().parent)})", sft),
        Stage("grpo", f"GRPO, gradient from k of G ({grpo_recipe.relative_to(recipe().parent)})", grpo),
        Stage(
            "summarize", "rule-based compression of the SFT trajectories, verified by the grader", summarize
        ),
        Stage("student", "the same SFT recipe on the compressed trajectories", student),
        Stage(
            "evaluate",
            f"base, SFT, GRPO and student models on GSM8K test ({eval_recipe.relative_to(recipe().parent)})",
            evaluate,
        ),
        Stage("probe", "answer confidence along correct and perturbed GSM8K solutions (SFT model)", probe),
        Stage("report", "report.md: evaluation, training, compression and confidence, with figures", report),
    ]
    assert tuple(stage.name for stage in stages) == STAGE_NAMES
    return stages


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
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
    summary = write_json(
        out_dir / "summary.json",
        {"quick": args.quick, "report": results["report"]["figures"], "stages": results},
    )
    sft, grpo, evaluation, probe = results["sft"], results["grpo"], results["evaluate"], results["probe"]
    compressed, student = results["summarize"], results["student"]
    k = "pass@1"
    print(
        f"\nDemo finished in {time.monotonic() - start:.0f} s. Outputs in {out_dir}:\n"
        f"  trajectories   {results['data']['trajectories']}\n"
        f"  checkpoint     {sft['checkpoint']}\n"
        f"  metrics        {sft['metrics']}  (loss {sft['first_loss']:.3f} -> {sft['last_loss']:.3f})\n"
        f"  curves         {sft['curves']}\n"
        f"  GRPO           {grpo['checkpoint']}  (mean reward {grpo['first_reward']:.2f} -> {grpo['last_reward']:.2f}, "
        f"k={grpo['support_set']['support_size']} of G={grpo['support_set']['num_generations']})\n"
        f"  compressed     {compressed['dataset']}  ({compressed['trajectories_kept']} kept, preserved "
        f"{100 * (compressed['preserved'] or 0):.0f}%; tokens {compressed['all']['mean_long_tokens']:.0f} -> "
        f"{compressed['all']['mean_short_tokens']:.0f})\n"
        f"  student        {student['checkpoint']}  (loss {student['first_loss']:.3f} -> {student['last_loss']:.3f})\n"
        f"  evaluation     {evaluation['base']['output_dir']}  (GSM8K {k}: base {evaluation['base'].get(k, 0):.1f}%, "
        f"SFT {evaluation['sft'].get(k, 0):.1f}%, GRPO {evaluation['grpo'].get(k, 0):.1f}%, "
        f"student {evaluation['student'].get(k, 0):.1f}%)\n"
        f"  report         {results['report']['report']}  (tables and figures; every number also in summary.json)\n"
        f"  confidence     {probe['figure']}  (mean NLL slope: correct {probe['correct']['mean_slope']:.2f}, "
        f"perturbed {probe['incorrect']['mean_slope']:.2f})\n"
        f"  summary        {summary}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
