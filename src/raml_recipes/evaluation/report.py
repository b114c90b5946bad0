"""Turn graded samples into metrics: summary JSON, a Markdown table, model-card results, a chart."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..data.benchmarks import hub_dataset_of
from ..plotting import figure
from .metrics import avg_at_n, maj_at_k, mean_metric, mg_pass_at_k, pass_at_k


def summarize_benchmark(rows: list[dict], num_samples: int, ks: list[int]) -> dict:
    """Metrics (in %) over the questions of one benchmark; questions whose gold cannot be parsed are left out."""
    by_question: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_question[row["id"]].append(row)
    scored, unscored = {}, 0
    for qid, samples in by_question.items():
        samples.sort(key=lambda r: r["sample"])
        if all(s["correct"] is None for s in samples):
            unscored += 1
        else:
            scored[qid] = samples
    summary = {
        "questions": len(by_question),
        "scored_questions": len(scored),
        "unparseable_gold_questions": unscored,
        "samples_per_question": num_samples,
        "mean_tokens": round(mean_metric(r["num_tokens"] for r in rows), 1),
        "truncated_fraction": round(mean_metric(r["finish_reason"] == "length" for r in rows), 4),
    }
    if not scored:
        return summary
    counts = [(len(s), sum(bool(r["correct"]) for r in s)) for s in scored.values()]
    summary[f"avg@{num_samples}"] = round(100 * mean_metric(avg_at_n(n, c) for n, c in counts), 2)
    for k in ks:
        summary[f"pass@{k}"] = round(100 * mean_metric(pass_at_k(n, c, k) for n, c in counts), 2)
        summary[f"mg_pass@{k}"] = round(100 * mean_metric(mg_pass_at_k(n, c, k) for n, c in counts), 2)
        summary[f"maj@{k}"] = round(
            100
            * mean_metric(
                maj_at_k([r["extracted"] for r in s], [bool(r["correct"]) for r in s], k)
                for s in scored.values()
            ),
            2,
        )
    correct_tokens = [r["num_tokens"] for s in scored.values() for r in s if r["correct"]]
    summary["mean_tokens_correct"] = round(mean_metric(correct_tokens), 1) if correct_tokens else None
    return summary


def metric_columns(num_samples: int, ks: list[int]) -> list[str]:
    return [
        f"avg@{num_samples}",
        *(f"pass@{k}" for k in ks),
        *(f"mg_pass@{k}" for k in ks),
        *(f"maj@{k}" for k in ks),
    ]


def markdown_table(summaries: dict[str, dict], num_samples: int, ks: list[int]) -> str:
    columns = metric_columns(num_samples, ks)
    lines = [
        "| benchmark | questions | " + " | ".join(columns) + " | mean tokens |",
        "|---|---:|" + "---:|" * len(columns) + "---:|",
    ]
    for name, s in summaries.items():
        values = " | ".join(f"{s[c]:.2f}" if c in s else "–" for c in columns)
        lines.append(f"| {name} | {s['scored_questions']} | {values} | {s['mean_tokens']:.0f} |")
    return "\n".join(lines) + "\n"


def model_index(model_name: str, summaries: dict[str, dict], num_samples: int, ks: list[int]) -> list[dict]:
    """Results in the Hub model card's `model-index` format."""
    results = []
    for name, s in summaries.items():
        dataset = {"name": name, "type": hub_dataset_of(name) or name}
        metrics = [
            {"type": column, "value": s[column], "name": f"{column} (n={num_samples})"}
            for column in metric_columns(num_samples, ks)
            if column in s
        ]
        results.append(
            {
                "task": {"type": "text-generation", "name": "Math reasoning"},
                "dataset": dataset,
                "metrics": metrics,
            }
        )
    return [{"name": model_name, "results": results}]


def results_chart(path: Path, summaries: dict[str, dict], columns: list[str]) -> Path | None:
    """A grouped bar chart of the given metrics per benchmark."""
    names = [n for n, s in summaries.items() if any(c in s for c in columns)]
    if not names:
        return None
    width = 0.8 / len(columns)
    with figure(path, (max(5, 1.6 * len(names)), 3.8)) as ax:
        for offset, column in enumerate(columns):
            xs = [i + offset * width for i in range(len(names))]
            ax.bar(xs, [summaries[n].get(column, 0) for n in names], width, label=column)
        ax.set_xticks([i + width * (len(columns) - 1) / 2 for i in range(len(names))], names)
        ax.set(ylabel="%", ylim=(0, 100), title="Evaluation")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    return path
