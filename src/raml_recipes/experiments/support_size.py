"""The support-size experiment (the paper's Fig. 8 at CPU scale): held-out accuracy against k.

For each seed and each k, the SFT recipe trains the same initial model on the synthetic arithmetic
task (`raml_recipes.data.synthetic`) with k distinct trajectories per question and the same number
of samples per question (m = the largest k), hence the same steps. The support set is drawn once
for the whole run (`support_redraw fixed`): with a new draw each epoch, a k=1 run of two epochs
would see two trajectories of most questions. The evaluation module then scores the model on
held-out questions, greedy and with n samples, next to the run's memorization ceiling
(`fact_coverage`). Results: `results.json` (every run), `results.md` (mean ± std over seeds per k)
and `accuracy_vs_k.png` (error bars).

Each run leaves its folder under `runs/k<k>-seed<s>/`; a rerun skips the runs that finished.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data.io import read_rows, write_json, write_jsonl
from ..data.synthetic import build_split
from ..paths import project_root, recipe
from ..plotting import figure
from ..stages import run_script
from .fact_coverage import heldout_coverage, support_trajectories


@dataclass
class SupportSizeExperiment:
    ks: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    recipe: str = str(recipe("tiny", "sft", "config_support_size.yaml"))
    train_questions: int = 400
    heldout_questions: int = 100
    max_operand: int = 30
    data_seed: int = 0
    num_samples: int = 4  # avg@n on held-out questions, at the temperature below
    temperature: float = 0.7
    max_new_tokens: int = 160
    eval_dtype: str = "auto"  # bfloat16 generates ~2x faster than float32 on CPUs with AVX512-BF16
    extra_train_args: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive support sizes, got {self.ks}")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        for name in ("train_questions", "heldout_questions", "num_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def samples_per_question(self) -> int:
        """m: the same for every k (the largest k), so every run takes the same steps."""
        return max(self.ks)


def _run(module: str, args: list[str], log: Path) -> None:
    # The demo's runner (log file, stop with the parent), without echoing 12 runs' output here.
    run_script(module, args, log, echo=False)


def _accuracy(eval_dir: Path, key: str) -> float:
    benchmarks = json.loads((eval_dir / "summary.json").read_text())["benchmarks"]
    (metrics,) = benchmarks.values()
    return metrics[key]


def make_data(config: SupportSizeExperiment, data_dir: Path) -> tuple[Path, Path]:
    train_path, heldout_path = data_dir / "train.jsonl", data_dir / "heldout.jsonl"
    if not (train_path.is_file() and heldout_path.is_file()):
        train, heldout, stats = build_split(
            config.train_questions, config.heldout_questions, seed=config.data_seed,
            trajectories=config.samples_per_question, max_operand=config.max_operand,
        )  # fmt: skip
        write_jsonl(train_path, train)
        write_jsonl(heldout_path, heldout)
        write_json(data_dir / "stats.json", stats)
    return train_path, heldout_path


def run_one(
    config: SupportSizeExperiment,
    k: int,
    seed: int,
    train: Path,
    heldout: Path,
    run_dir: Path,
    records: tuple[list[dict], list[dict]],
) -> dict:
    """Train with support size k and seed, evaluate greedy and with n samples; skipped when done.

    `records` are the rows of `train` and `heldout`, read once for all runs.
    """
    result_path = run_dir / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    # Before training: what memorizing the run's own arithmetic could reach on the held-out set.
    train_records, heldout_records = records
    ceiling = heldout_coverage(
        support_trajectories(train_records, k, config.samples_per_question, seed), heldout_records
    )
    model_dir = run_dir / "model"
    _run(
        "raml_recipes.scripts.sft",
        ["--config", config.recipe, "--dataset_name", str(train), "--output_dir", str(model_dir),
         "--support_size", str(k), "--samples_per_question", str(config.samples_per_question),
         "--support_redraw", "fixed", "--seed", str(seed), "--data_seed", str(seed), "--disable_tqdm", "true",
         *config.extra_train_args],
        run_dir / "train.log",
    )  # fmt: skip
    n = config.num_samples

    def evaluate(name: str, num_samples: int, temperature: float) -> None:
        _run(
            "raml_recipes.scripts.evaluate",
            ["--model_name_or_path", str(model_dir), "--benchmarks", str(heldout),
             "--num_samples", str(num_samples), "--ks", "1", "--temperature", str(temperature),
             "--max_new_tokens", str(config.max_new_tokens), "--seed", str(seed), "--dtype", config.eval_dtype,
             "--output_dir", str(run_dir / name)],
            run_dir / f"evaluate-{name}.log",
        )  # fmt: skip

    evaluate("greedy", 1, 0)
    evaluate("sampled", n, config.temperature)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    result = {
        "k": k,
        "seed": seed,
        "steps": metrics["global_step"],
        # What the sampler really drew: k distinct trajectories per question, m samples per question.
        "distinct_per_question": metrics["support_set"]["support/distinct_per_question"],
        "distinct_seen_per_question": metrics["support_set"]["support/distinct_seen_per_question"],
        "samples_per_question": metrics["support_set"]["support/samples_per_question"],
        "train_loss": metrics["train"]["train_loss"],  # the mean over the run (logged whatever the length)
        "greedy": _accuracy(run_dir / "greedy", "pass@1"),
        f"avg@{n}": _accuracy(run_dir / "sampled", f"avg@{n}"),
        "memorization_ceiling": ceiling,
    }
    write_json(result_path, result)
    return result


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def aggregate(runs: list[dict], ks: list[int], n: int) -> list[dict]:
    rows = []
    for k in ks:
        mine = [run for run in runs if run["k"] == k]
        greedy, sampled = _mean_std([r["greedy"] for r in mine]), _mean_std([r[f"avg@{n}"] for r in mine])
        ceiling = _mean_std([r["memorization_ceiling"] for r in mine])
        rows.append({
            "k": k, "seeds": len(mine), "steps": sorted({r["steps"] for r in mine}),
            "greedy_mean": greedy[0], "greedy_std": greedy[1], f"avg@{n}_mean": sampled[0], f"avg@{n}_std": sampled[1],
            "ceiling_mean": ceiling[0], "ceiling_std": ceiling[1],
        })  # fmt: skip
    return rows


def markdown(rows: list[dict], n: int) -> str:
    lines = [
        f"| k | seeds | steps | greedy accuracy (%) | avg@{n} (%) | memorization ceiling (%) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['k']} | {row['seeds']} | {'/'.join(map(str, row['steps']))} | "
            f"{row['greedy_mean']:.1f} ± {row['greedy_std']:.1f} | {row[f'avg@{n}_mean']:.1f} ± {row[f'avg@{n}_std']:.1f} | "
            f"{row['ceiling_mean']:.1f} ± {row['ceiling_std']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], n: int, path: Path) -> Path:
    with figure(path) as ax:
        ks = [row["k"] for row in rows]
        for key, label, style in (
            ("greedy", "greedy", "-"), (f"avg@{n}", f"avg@{n}", "-"), ("ceiling", "memorization ceiling", "--"),
        ):  # fmt: skip
            ax.errorbar(
                ks, [row[f"{key}_mean"] for row in rows], yerr=[row[f"{key}_std"] for row in rows],
                marker="o", capsize=4, label=label, linestyle=style,
            )  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(title="Held-out accuracy against support size k", xlabel="k (distinct trajectories per question)",
               ylabel="accuracy (%)")  # fmt: skip
        ax.grid(alpha=0.3)
        ax.legend()
    return path


def run_experiment(config: SupportSizeExperiment, out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    train, heldout = make_data(config, out_dir / "data")
    records = read_rows(train), read_rows(heldout)
    runs = []
    total = len(config.ks) * len(config.seeds)
    for seed in config.seeds:
        for k in config.ks:
            print(f"[{len(runs) + 1}/{total}] k={k} seed={seed}", flush=True)
            run_dir = out_dir / "runs" / f"k{k}-seed{seed}"
            runs.append(run_one(config, k, seed, train, heldout, run_dir, records))
    n = config.num_samples
    rows = aggregate(runs, config.ks, n)
    (out_dir / "results.md").write_text(markdown(rows, n))
    plot(rows, n, out_dir / "accuracy_vs_k.png")
    settings = asdict(config)
    # The repository's own recipes by their repository path, so results.json reads the same anywhere.
    recipe_path, root = Path(config.recipe).resolve(), project_root()
    if recipe_path.is_relative_to(root):
        settings["recipe"] = str(recipe_path.relative_to(root))
    result = {"config": settings, "rows": rows, "runs": runs}
    write_json(out_dir / "results.json", result)
    return result
