"""The demo's report: `report.md` and its figures, every number read from the run's own JSON outputs.

`collect_figures` reads what the stages wrote (metrics.json of each training run, each evaluation's
summary.json, the compression summary, the confidence probe) into one dict; `render` writes the page
from that dict alone, so the demo's summary.json holds every number the page shows.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from .plotting import line_plot

# Evaluated models, in the report's order: label -> demo folder.
MODELS = {"base": None, "SFT": "sft", "GRPO": "grpo", "student": "student"}
TRAINING = {"SFT": ("sft", "loss"), "GRPO": ("grpo", "reward"), "student": ("student", "loss")}


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _curve(history: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(entry["step"], entry[key]) for entry in history if key in entry]
    return [step for step, _ in points], [value for _, value in points]


def _training(run_dir: Path, key: str) -> dict:
    metrics = _read(run_dir / "metrics.json")
    _, values = _curve(metrics["log_history"], key)
    support, data = metrics.get("support_set") or {}, metrics.get("data") or {}
    return {
        "steps": metrics["global_step"],
        f"first_{key}": values[0],
        f"last_{key}": values[-1],
        # SFT logs its support set as `support/*` statistics; GRPO records its k of G settings.
        "support_size": support.get("support/k", support.get("support_size")),
        "num_generations": support.get("num_generations"),
        "samples_per_question": support.get("support/samples_per_question"),
        "questions": data.get("questions", data.get("prompts")),
    }


def collect_figures(out_dir: Path, results: dict) -> dict:
    """Every number the report shows, from the files the stages wrote."""
    evaluation = {}
    for label, folder in MODELS.items():
        name = folder or "base"
        summary = _read(out_dir / "evaluate" / name / "summary.json")
        (benchmark, metrics), *_ = summary["benchmarks"].items()
        n = metrics["samples_per_question"]
        evaluation[label] = {
            "model": summary["model"], "benchmark": benchmark, "questions": metrics["questions"],
            "samples_per_question": n, "pass@1": metrics["pass@1"], f"pass@{n}": metrics.get(f"pass@{n}"),
            f"avg@{n}": metrics[f"avg@{n}"], "mean_tokens": metrics["mean_tokens"],
            "truncated_fraction": metrics["truncated_fraction"],
        }  # fmt: skip
    compression = _read(out_dir / "summarize" / "summary.json")
    probe = _read(out_dir / "probe" / "confidence.json")
    stage_seconds = {name: stage["elapsed_s"] for name, stage in results.items() if "elapsed_s" in stage}
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine()},
        "finished": time.strftime("%Y-%m-%d %H:%M"),
        "stage_seconds": stage_seconds,
        "total_seconds": round(sum(stage_seconds.values()), 1),
        "training": {label: _training(out_dir / folder, key) for label, (folder, key) in TRAINING.items()},
        "evaluation": evaluation,
        "compression": {
            "trajectories": compression["all"]["trajectories"],
            "kept": compression["trajectories_kept"],
            "rejected": compression["trajectories_rejected"],
            "preserved": compression["preserved"],
            "mean_long_tokens": compression["all"]["mean_long_tokens"],
            "mean_short_tokens": compression["all"]["mean_short_tokens"],
            "compression_ratio_mean": compression["all"]["compression_ratio_mean"],
            "compression_ratio_median": compression["all"]["compression_ratio_median"],
        },
        "probe": {
            side: {
                key: probe[side][key]
                for key in ("trajectories", "mean_slope", "mean_start_nll", "mean_end_nll")
            }
            for side in ("correct", "incorrect")
        },
    }


def loss_curves(out_dir: Path, path: Path) -> Path:
    """SFT on long trajectories and the student on compressed ones, one axis: same recipe, other data."""
    series = {}
    for label, folder in (("SFT (long)", "sft"), ("student (compressed)", "student")):
        series[label] = _curve(_read(out_dir / folder / "metrics.json")["log_history"], "loss")
    return line_plot(path, series, title="Training loss", xlabel="optimizer step", ylabel="loss")


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def render(figures: dict, model: str) -> str:
    """report.md from `figures` only (paths of the figures relative to the report's folder)."""
    training, evaluation = figures["training"], figures["evaluation"]
    compression, probe = figures["compression"], figures["probe"]
    sft, grpo, student = training["SFT"], training["GRPO"], training["student"]
    first = next(iter(evaluation.values()))
    n = first["samples_per_question"]
    machine = figures["machine"]
    lines = [
        "# RaML demo report",
        "",
        f"{model}, offline, on {machine['cpus']} CPU cores ({machine['processor']}, {machine['platform']}); "
        f"finished {figures['finished']}; stages took {_minutes(figures['total_seconds'])} in all.",
        "",
        "| stage | time (s) |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in figures["stage_seconds"].items()),
        "",
        "## Evaluation",
        "",
        f"{first['benchmark']} test, {first['questions']} questions, {n} samples each (pass@k unbiased, %).",
        "",
        f"| model | pass@1 | pass@{n} | avg@{n} | mean generated tokens | truncated |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {row['pass@1']:.1f} | {row[f'pass@{n}']:.1f} | {row[f'avg@{n}']:.1f} | "
            f"{row['mean_tokens']:.1f} | {100 * row['truncated_fraction']:.0f}% |"
            for label, row in evaluation.items()
        ),
        "",
        "![accuracy against generated tokens](report/accuracy_vs_tokens.png)",
        "",
        "## Training",
        "",
        f"- SFT: support set k = {sft['support_size']} trajectories per question, {sft['samples_per_question']:g} "
        f"samples per question, {sft['questions']} questions, {sft['steps']} steps: "
        f"loss {sft['first_loss']:.3f} -> {sft['last_loss']:.3f}.",
        f"- GRPO from the SFT model: gradient from k = {grpo['support_size']} of G = {grpo['num_generations']} "
        f"completions, {grpo['steps']} steps: mean reward {grpo['first_reward']:.3f} -> {grpo['last_reward']:.3f}.",
        f"- Student: the SFT recipe on the compressed trajectories, {student['steps']} steps: "
        f"loss {student['first_loss']:.3f} -> {student['last_loss']:.3f}.",
        "",
        "![loss curves](report/loss_curves.png) ![GRPO reward](grpo/training_curves.png)",
        "",
        "## Trajectory compression",
        "",
        f"Rule-based compression, each result verified by the grader: {compression['kept']} of "
        f"{compression['trajectories']} trajectories kept ({compression['rejected']} rejected, preserved "
        f"{100 * compression['preserved']:.1f}%); mean tokens {compression['mean_long_tokens']:.1f} -> "
        f"{compression['mean_short_tokens']:.1f}, compression ratio mean {compression['compression_ratio_mean']:.3f}, "
        f"median {compression['compression_ratio_median']:.3f}.",
        "",
        "![compression: length ratios](summarize/length_ratios.png)",
        "",
        "## Confidence probe",
        "",
        "Answer NLL along the SFT model's reading of GSM8K solutions (lower: more confident), correct vs "
        "perturbed solutions.",
        "",
        "| solutions | trajectories | mean slope | start NLL | end NLL |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {side} | {row['trajectories']} | {row['mean_slope']:.3f} | {row['mean_start_nll']:.3f} | "
            f"{row['mean_end_nll']:.3f} |"
            for side, row in (("correct", probe["correct"]), ("perturbed", probe["incorrect"]))
        ),
        "",
        "![confidence along trajectories](probe/confidence.png)",
        "",
        "Every number here is in summary.json (`report`), read from the stages' own outputs.",
        "",
    ]
    return "\n".join(lines)


def write_report(out_dir: Path, results: dict, model: str) -> dict:
    """report.md, report/loss_curves.png and report/accuracy_vs_tokens.png (+ comparison.md/json)."""
    from .summarize.compare import compare

    report_dir = out_dir / "report"
    runs = {label: out_dir / "evaluate" / (folder or "base") for label, folder in MODELS.items()}
    compare(runs, report_dir, compression=out_dir / "summarize")
    loss_curves(out_dir, report_dir / "loss_curves.png")
    figures = collect_figures(out_dir, results)
    (out_dir / "report.md").write_text(render(figures, model))
    return {"report": str(out_dir / "report.md"), "figures": figures}
