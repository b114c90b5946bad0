"""The demo's report: `report.md` and its figures, every number read from the run's own JSON outputs.

`collect_figures` reads what the stages wrote (metrics.json of each training run, each evaluation's
samples and summary, the compression summary, the step timings, the confidence probe) into one dict,
with a 95 % interval for every accuracy (Wilson; a question bootstrap for avg@n) and, per comparison
the demo exists to show, the difference with its paired-bootstrap interval and whether it is outside
the noise (`comparisons`); `render` writes the page from that dict alone, so the demo's summary.json
holds every number the page shows.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from .evaluation.intervals import mean_interval, paired_difference, slope, verdict, wilson
from .plotting import line_plot

# Evaluated models, in the report's order: label -> demo folder of the model and its evaluation.
MODELS = {"base": "base", "SFT": "sft", "GRPO": "grpo", "student": "student"}
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


def _grpo_signal(run_dir: Path) -> dict:
    """The reward trend (least-squares slope per step, bootstrap interval) and the clipped completions."""
    history = _read(run_dir / "metrics.json")["log_history"]
    steps, rewards = _curve(history, "reward")
    _, clipped = _curve(history, "completions/clipped_ratio")
    trend = slope(steps, rewards) if len(steps) >= 3 else {"slope": None, "low": None, "high": None}
    return {
        "reward_slope_per_step": trend["slope"], "reward_slope_low": trend["low"], "reward_slope_high": trend["high"],
        "reward_first_half": sum(rewards[: len(rewards) // 2]) / max(1, len(rewards) // 2),
        "reward_second_half": sum(rewards[len(rewards) // 2 :]) / max(1, len(rewards) - len(rewards) // 2),
        "clipped_first": clipped[0] if clipped else None, "clipped_mean": sum(clipped) / len(clipped) if clipped else None,
        "clipped_last": clipped[-1] if clipped else None,
    }  # fmt: skip


def per_question(eval_dir: Path) -> dict[str, dict]:
    """Per question of an evaluation: accuracy over its samples and mean generated tokens."""
    found: dict[str, list[dict]] = {}
    for line in (eval_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            found.setdefault(row["id"], []).append(row)
    return {
        qid: {"accuracy": sum(bool(r["correct"]) for r in rows) / len(rows),
              "tokens": sum(r["num_tokens"] for r in rows) / len(rows)}
        for qid, rows in found.items()
    }  # fmt: skip


def _accuracy(eval_dir: Path) -> dict:
    summary = _read(eval_dir / "summary.json")
    (benchmark, metrics), *_ = summary["benchmarks"].items()
    questions = per_question(eval_dir)
    n = metrics["samples_per_question"]
    if n == 1:
        right = sum(round(q["accuracy"]) for q in questions.values())
        low, high = wilson(right, len(questions))
        accuracy = right / len(questions)
    else:  # avg@n: samples of one question are not independent, so the interval resamples questions
        interval = mean_interval([q["accuracy"] for q in questions.values()])
        accuracy, low, high = interval["mean"], interval["low"], interval["high"]
    return {
        "model": summary["model"], "benchmark": benchmark, "questions": len(questions), "samples_per_question": n,
        "accuracy": accuracy, "accuracy_low": low, "accuracy_high": high, "mean_tokens": metrics["mean_tokens"],
        "truncated_fraction": metrics["truncated_fraction"], "temperature": summary["settings"]["temperature"],
        "max_new_tokens": summary["settings"]["max_new_tokens"],
    }  # fmt: skip


def _compare(first: Path, second: Path, key: str, seed: int) -> dict:
    """second minus first, per question (paired), with its interval and verdict."""
    a, b = per_question(first), per_question(second)
    if set(a) != set(b):
        raise ValueError(f"{first} and {second} evaluated different questions")
    ids = sorted(a)
    interval = paired_difference([a[i][key] for i in ids], [b[i][key] for i in ids], seed=seed)
    return {**interval, "verdict": verdict(interval)}


def comparisons(evaluate_dir: Path, grpo: dict) -> dict:
    """The differences the demo exists to show, each with its 95 % interval and whether it is outside
    the noise (`verdict`: above zero, below zero, within the noise) and what it should be (`expect`)."""
    folder = lambda name: evaluate_dir / name  # noqa: E731
    found = {
        "sft_minus_base": {**_compare(folder("base"), folder("sft"), "accuracy", 1), "expect": "above zero"},
        "sft_minus_base_sampled": {
            **_compare(folder("base-sampled"), folder("sft-sampled"), "accuracy", 2), "expect": "above zero",
        },
        "grpo_minus_sft": {**_compare(folder("sft"), folder("grpo"), "accuracy", 3), "expect": "not below zero"},
        "student_minus_sft": {
            **_compare(folder("sft"), folder("student"), "accuracy", 4), "expect": "within the noise",
        },
        "student_minus_sft_tokens": {
            **_compare(folder("sft"), folder("student"), "tokens", 5), "expect": "below zero",
        },
    }  # fmt: skip
    if grpo["reward_slope_per_step"] is not None:
        trend = {"difference": grpo["reward_slope_per_step"], "low": grpo["reward_slope_low"],
                 "high": grpo["reward_slope_high"]}  # fmt: skip
        found["grpo_reward_trend"] = {**trend, "verdict": verdict(trend), "expect": "above zero"}
    for row in found.values():
        expect = row["expect"]
        row["as_expected"] = row["verdict"] != "below zero" if expect == "not below zero" else row["verdict"] == expect
    return found


def collect_figures(out_dir: Path, results: dict) -> dict:
    """Every number the report shows, from the files the stages wrote."""
    evaluate_dir = out_dir / "evaluate"
    evaluation = {label: _accuracy(evaluate_dir / folder) for label, folder in MODELS.items()}
    sampled = {label: _accuracy(evaluate_dir / f"{folder}-sampled") for label, folder in (("base", "base"),
                                                                                          ("SFT", "sft"))}  # fmt: skip
    gsm8k = {label: _accuracy(evaluate_dir / f"{folder}-gsm8k") for label, folder in (("base", "base"),
                                                                                      ("GRPO", "grpo"))}  # fmt: skip
    compression = _read(out_dir / "summarize" / "summary.json")
    probe = _read(out_dir / "probe" / "confidence.json")
    lever = _read(out_dir / "lever.json")
    grpo = _grpo_signal(out_dir / "grpo")
    stage_seconds = {name: stage["elapsed_s"] for name, stage in results.items() if "elapsed_s" in stage}
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine()},
        "finished": time.strftime("%Y-%m-%d %H:%M"),
        "confidence_level": 0.95,  # of every interval below
        "stage_seconds": stage_seconds,
        "total_seconds": round(sum(stage_seconds.values()), 1),
        "training": {label: _training(out_dir / folder, key) for label, (folder, key) in TRAINING.items()},
        "grpo_signal": grpo,
        "evaluation": evaluation,
        "sampled": sampled,
        "gsm8k": gsm8k,
        "comparisons": comparisons(evaluate_dir, grpo),
        "lever": {"support_size": lever["support_sizes"][0], "num_generations": lever["num_generations"],
                  "completions": lever["completions"], "completion_tokens": lever["completion_tokens"],
                  "step_s": lever["step_s"], "ratio": next(iter(lever["ratio"].values())),
                  "masked_ratio": next(iter(lever["masked_ratio"].values()))},  # fmt: skip
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


def accuracy_chart(figures: dict, path: Path) -> Path:
    """Held-out accuracy per model with its 95 % interval (error bars)."""
    from .plotting import figure

    rows = figures["evaluation"]
    labels = list(rows)
    values = [100 * rows[label]["accuracy"] for label in labels]
    errors = [
        [100 * (rows[label]["accuracy"] - rows[label]["accuracy_low"]) for label in labels],
        [100 * (rows[label]["accuracy_high"] - rows[label]["accuracy"]) for label in labels],
    ]
    with figure(path, (6, 3.8)) as ax:
        ax.bar(labels, values, yerr=errors, capsize=6, color=["gray", "tab:blue", "tab:green", "tab:orange"])
        ax.set(ylabel="held-out accuracy (%), 95% interval", title="Held-out accuracy (greedy)")
        ax.grid(axis="y", alpha=0.3)
    return path


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _interval(row: dict, key: str = "accuracy") -> str:
    return f"{_pct(row[key])} [{_pct(row[f'{key}_low'])}, {_pct(row[f'{key}_high'])}]"


SENTENCES = {
    "sft_minus_base": "SFT against the base model, held-out accuracy (greedy), percentage points",
    "sft_minus_base_sampled": "SFT against the base model, avg@n (sampled), percentage points",
    "grpo_minus_sft": "GRPO against SFT, held-out accuracy (greedy), percentage points",
    "student_minus_sft": "the student against SFT, held-out accuracy (greedy), percentage points",
    "student_minus_sft_tokens": "the student against SFT, generated tokens per held-out question",
    "grpo_reward_trend": "GRPO mean reward, least-squares slope per optimizer step",
}


def _difference(name: str, row: dict) -> str:
    scale = 100 if name.endswith(("base", "sft", "sampled")) and "tokens" not in name else 1
    digits = 1 if scale == 100 else 3 if name == "grpo_reward_trend" else 1
    value = f"{scale * row['difference']:+.{digits}f} [{scale * row['low']:+.{digits}f}, {scale * row['high']:+.{digits}f}]"
    outcome = "as expected" if row["as_expected"] else "not as expected"
    return f"| {SENTENCES[name]} | {value} | {row['verdict']} | {row['expect']} | {outcome} |"


def render(figures: dict, model: str) -> str:
    """report.md from `figures` only (paths of the figures relative to the report's folder)."""
    training, evaluation, sampled = figures["training"], figures["evaluation"], figures["sampled"]
    compression, probe, lever, grpo_signal = figures["compression"], figures["probe"], figures["lever"], figures["grpo_signal"]  # fmt: skip
    sft, grpo, student = training["SFT"], training["GRPO"], training["student"]
    first = next(iter(evaluation.values()))
    first_sampled = next(iter(sampled.values()))
    n = first_sampled["samples_per_question"]
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
        "## Does each lever do what it is for?",
        "",
        "Differences over the same held-out questions (second model minus first), each with a 95% interval "
        "from a paired bootstrap over questions: `above zero` or `below zero` when it excludes zero (outside "
        "the noise). The interval is the evaluation's noise for these trained models: it does not include how "
        "much a training run with another seed would differ.",
        "",
        "| comparison | difference [95% interval] | outcome | expected | |",
        "|---|---:|---|---|---|",
        *(_difference(name, row) for name, row in figures["comparisons"].items()),
        "",
        "## Held-out evaluation",
        "",
        f"Two-step arithmetic, {first['questions']} held-out questions (none trained on), greedy, up to "
        f"{first['max_new_tokens']} new tokens; accuracy in % with its Wilson 95% interval.",
        "",
        "| model | accuracy [95% interval] | mean generated tokens | truncated |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {_interval(row)} | {row['mean_tokens']:.1f} | {100 * row['truncated_fraction']:.0f}% |"
            for label, row in evaluation.items()
        ),
        "",
        f"Sampled (temperature {first_sampled['temperature']}), {first_sampled['questions']} of those questions, {n} samples "
        f"each: avg@{n} in % with a question-bootstrap 95% interval.",
        "",
        f"| model | avg@{n} [95% interval] |",
        "|---|---:|",
        *(f"| {label} | {_interval(row)} |" for label, row in sampled.items()),
        "",
        "![held-out accuracy](report/accuracy.png) ![accuracy against generated tokens](report/accuracy_vs_tokens.png)",
        "",
        f"External row: GSM8K test, {next(iter(figures['gsm8k'].values()))['questions']} questions, greedy. "
        "A 135M model trained for minutes on arithmetic is not expected to move it.",
        "",
        "| model | accuracy [95% interval] | mean generated tokens |",
        "|---|---:|---:|",
        *(f"| {label} | {_interval(row)} | {row['mean_tokens']:.1f} |" for label, row in figures["gsm8k"].items()),
        "",
        "## Training",
        "",
        f"- SFT: support set k = {sft['support_size']} trajectories per question, {sft['samples_per_question']:g} "
        f"samples per question, {sft['questions']} questions, {sft['steps']} steps: "
        f"loss {sft['first_loss']:.3f} -> {sft['last_loss']:.3f}.",
        f"- GRPO from the SFT model: gradient from k = {grpo['support_size']} of G = {grpo['num_generations']} "
        f"completions, {grpo['steps']} steps: mean reward {grpo['first_reward']:.3f} -> {grpo['last_reward']:.3f} "
        f"(first half {grpo_signal['reward_first_half']:.3f}, second half {grpo_signal['reward_second_half']:.3f}); "
        f"completions cut at the token budget: {_pct(grpo_signal['clipped_first'])}% at the first logged step, "
        f"{_pct(grpo_signal['clipped_mean'])}% on average.",
        f"- Student: the SFT recipe on the compressed trajectories, {student['steps']} steps: "
        f"loss {student['first_loss']:.3f} -> {student['last_loss']:.3f}.",
        "",
        "![loss curves](report/loss_curves.png) ![GRPO reward](grpo/training_curves.png)",
        "",
        "## The k-of-G lever: what a GRPO step costs",
        "",
        f"One generation batch of the demo ({lever['completions']} completions, {lever['completion_tokens']} tokens), "
        f"its optimizer step timed with the gradient from all G = {lever['num_generations']} completions, from "
        f"k = {lever['support_size']} as this trainer takes it (the others out of the batch), and from k the "
        f"paper's way (all through forward and backward, the others masked): step time "
        f"{lever['ratio']:.2f}x and {lever['masked_ratio']:.2f}x that of all G.",
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
    """report.md and its figures (report/*.png; comparison.md/json of accuracy against tokens)."""
    from .evaluation.compare import compare

    report_dir = out_dir / "report"
    runs = {label: out_dir / "evaluate" / folder for label, folder in MODELS.items()}
    compare(runs, report_dir, compression=out_dir / "summarize")
    loss_curves(out_dir, report_dir / "loss_curves.png")
    figures = collect_figures(out_dir, results)
    accuracy_chart(figures, report_dir / "accuracy.png")
    (out_dir / "report.md").write_text(render(figures, model))
    return {"report": str(out_dir / "report.md"), "figures": figures}
