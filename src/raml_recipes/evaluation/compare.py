"""Long vs compressed students: accuracy against mean generated tokens, from evaluation outputs.

Each run is an `raml evaluate` output folder (its summary.json); per benchmark the table lists
pass@1 and avg@n with the mean number of generated tokens, and a scatter plots one against the other.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..data.io import write_json
from ..errors import DataError
from ..plotting import figure


def load_runs(runs: dict[str, Path]) -> dict[str, dict]:
    loaded = {}
    for label, folder in runs.items():
        path = Path(folder) / "summary.json"
        if not path.is_file():
            raise DataError(
                f"run {label!r} has no summary.json: expected an `raml evaluate` output_dir",
                source=str(folder),
            )
        loaded[label] = json.loads(path.read_text())
    return loaded


def comparison_rows(summaries: dict[str, dict]) -> list[dict]:
    rows = []
    for label, summary in summaries.items():
        for benchmark, metrics in summary["benchmarks"].items():
            n = metrics["samples_per_question"]
            rows.append({
                "run": label, "model": summary["model"], "benchmark": benchmark,
                "questions": metrics["questions"], "samples_per_question": n,
                "pass@1": metrics.get("pass@1"), f"avg@{n}": metrics.get(f"avg@{n}"),
                "mean_tokens": metrics["mean_tokens"], "truncated_fraction": metrics["truncated_fraction"],
            })  # fmt: skip
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| run | benchmark | pass@1 (%) | avg@n (%) | mean generated tokens | truncated |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for row in rows:
        n = row["samples_per_question"]
        avg = row.get(f"avg@{n}")
        lines.append(
            f"| {row['run']} | {row['benchmark']} | {_pct(row['pass@1'])} | {_pct(avg)} (n={n}) | "
            f"{row['mean_tokens']:.0f} | {100 * row['truncated_fraction']:.0f}% |"
        )
    return "\n".join(lines) + "\n"


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def scatter(path: Path, rows: list[dict]) -> Path:
    with figure(path) as ax:
        for benchmark in dict.fromkeys(row["benchmark"] for row in rows):
            points = [row for row in rows if row["benchmark"] == benchmark]
            ax.scatter(
                [r["mean_tokens"] for r in points], [r["pass@1"] or 0 for r in points], s=40, label=benchmark
            )
            for r in points:
                ax.annotate(
                    r["run"], (r["mean_tokens"], r["pass@1"] or 0), textcoords="offset points", xytext=(4, 4)
                )
        ax.set(title="Accuracy against generated tokens", xlabel="mean generated tokens", ylabel="pass@1 (%)")
        ax.grid(alpha=0.3)
        ax.legend()
    return path


def compression_section(summary: dict, histogram: str) -> str:
    """What the compressed students were trained on: a few lines from `raml summarize`'s summary.json."""
    kept = summary["kept"]
    how = (
        f"rules {', '.join(summary['rules'])} ({summary['granularity']})"
        if summary["rules"]
        else "model summarizer"
    )
    lines = [
        "## Compressed trajectories\n",
        f"- method: {how}; token counts with {summary['student_tokenizer']}",
        f"- verified: {summary['trajectories_kept']} kept, {summary['trajectories_rejected']} rejected "
        f"(preserved {100 * (summary['preserved'] or 0):.1f}%), {summary['questions_written']} questions written",
    ]
    if kept.get("trajectories"):
        lines.append(
            f"- kept trajectories: {kept['mean_long_tokens']:.0f} -> {kept['mean_short_tokens']:.0f} tokens on average, "
            f"median compression {kept['compression_ratio_median']:.2f}x"
        )
    return "\n".join(lines) + f"\n\n![length ratios]({histogram})\n\n"


def compare(runs: dict[str, Path], output_dir: Path, compression: Path | None = None) -> dict:
    """Write comparison.md (with the compression summary when `compression` names a summarize output_dir),
    comparison.json and accuracy_vs_tokens.png."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = comparison_rows(load_runs(runs))
    section = ""
    if compression is not None:
        summary = json.loads((Path(compression) / "summary.json").read_text())
        shutil.copyfile(summary["histogram"], output_dir / "length_ratios.png")  # a self-contained page
        section = compression_section(summary, "length_ratios.png")
    (output_dir / "comparison.md").write_text(
        "# Long vs compressed students\n\n"
        + section
        + "## Accuracy against generated tokens\n\nFrom each evaluation's summary.json.\n\n"
        + markdown(rows)
        + "\n![accuracy vs tokens](accuracy_vs_tokens.png)\n"
    )
    scatter(output_dir / "accuracy_vs_tokens.png", rows)
    result = {"runs": {label: str(path) for label, path in runs.items()}, "rows": rows,
              "table": str(output_dir / "comparison.md"), "figure": str(output_dir / "accuracy_vs_tokens.png")}  # fmt: skip
    write_json(output_dir / "comparison.json", result)
    return result
