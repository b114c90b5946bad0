"""Run the paper's probes on a model and write their JSON and figures.

- confidence: answer NLL along each thought (`confidence.json`, `confidence.png`);
- reflection: relative NLL change at reflection words vs all tokens (`reflection.json`, `.png`, `.md`);
- early_stop: forced-answer accuracy against how much of the thought is kept (`early_stop.json`, `.png`).
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from ..data.io import write_json
from ..models.loading import load_causal_lm, load_tokenizer
from ..plotting import figure, line_plot
from ..prompts import has_thinking_switch, render_prompt_text
from .confidence import FINAL_ANSWER_MARKER, answer_nll_curve, binned, ema, encode_probe, slope
from .config import ProbeConfig
from .early_stop import forced_answer_accuracy
from .reflection import paper_reflection_stats, reflection_stats
from .trajectories import probe_trajectories


def _confidence_curves(model, tokenizer, items, prompts, config: ProbeConfig, stride: int) -> list[dict]:
    curves = []
    for item, prompt in tqdm(
        list(zip(items, prompts, strict=True)), desc="Confidence probe", unit="trajectory"
    ):
        probe = encode_probe(tokenizer, prompt, item["thought"], item["answer"])
        if config.max_thought_tokens:
            probe.thought = probe.thought[: config.max_thought_tokens]
        positions = list(range(0, len(probe.thought) + 1, stride))
        if positions[-1] != len(probe.thought):
            positions.append(len(probe.thought))
        nll = answer_nll_curve(model, probe, positions, chunk=config.chunk)
        curves.append({
            "id": item["id"], "correct": item["correct"], "thought_tokens": len(probe.thought),
            "positions": positions, "nll": nll, "slope": slope(nll), "start": nll[0], "end": nll[-1],
            # Token texts and ids only where the reflection probe needs them; `tail` is what the official
            # notebook drops from the curve's end: len(marker + answer), tokenized together.
            "tokens": [tokenizer.decode([t]) for t in probe.thought] if config.probe == "reflection" else None,
            "ids": list(probe.thought) if config.probe == "reflection" else None,
            "tail": len(tokenizer(FINAL_ANSWER_MARKER + item["answer"], add_special_tokens=False)["input_ids"]),
        })  # fmt: skip
    return curves


def _group_summary(curves: list[dict]) -> dict:
    if not curves:
        return {"trajectories": 0}
    mean = lambda key: sum(c[key] for c in curves) / len(curves)  # noqa: E731
    return {
        "trajectories": len(curves),
        "mean_slope": mean("slope"),
        "mean_start_nll": mean("start"),
        "mean_end_nll": mean("end"),
        "falling_fraction": sum(c["end"] < c["start"] for c in curves) / len(curves),
    }


def confidence_figure(curves: list[dict], path: Path, alpha: float, bins: int = 20) -> Path:
    colors = {True: "tab:green", False: "tab:red"}
    with figure(path, (6.5, 4)) as ax:
        for curve in curves:
            n = len(curve["nll"])
            xs = [i / max(n - 1, 1) for i in range(n)]
            ax.plot(xs, ema(curve["nll"], alpha), color=colors[curve["correct"]], alpha=0.12, linewidth=0.8)
        for correct in (True, False):
            group = [binned(c["nll"], bins) for c in curves if c["correct"] is correct]
            if group:
                means = [sum(col) / len(col) for col in zip(*group, strict=True)]
                xs = [(b + 0.5) / bins for b in range(bins)]
                label = f"{'correct' if correct else 'incorrect'} (n={len(group)}, mean)"
                ax.plot(xs, means, color=colors[correct], linewidth=2.2, label=label)
        ax.set(
            xlabel="fraction of the thought",
            ylabel="NLL of the gold answer",
            title="Answer confidence along the thought",
        )
        ax.grid(alpha=0.3)
        ax.legend()
    return path


def reflection_figure(stats: dict, path: Path) -> Path:
    words = [w for w, row in stats["words"].items() if row["count"]]
    values = [stats["words"][w]["mean_relative_change"] for w in words]
    with figure(path, (6, 3.6)) as ax:
        ax.bar(
            ["all tokens", *words],
            [stats["average_relative_change"], *values],
            color=["gray"] + ["tab:blue"] * len(words),
        )
        ax.set(ylabel="mean |ΔL| / L", title="Answer-NLL change at reflection words")
        ax.grid(axis="y", alpha=0.3)
    return path


def run_probe(config: ProbeConfig) -> dict:
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(config.model_name_or_path, config.model_revision, config.chat_template_path,
                               trust_remote_code=config.trust_remote_code)  # fmt: skip
    model = load_causal_lm(config.model_name_or_path, config.dtype, config.model_revision,
                           trust_remote_code=config.trust_remote_code)  # fmt: skip
    items = probe_trajectories(config.data, config.max_trajectories, seed=config.seed)
    prompts = [
        render_prompt_text(tokenizer, i["problem"], config.prompt_template, config.system_prompt)
        for i in items
    ]
    meta = {"model": config.model_name_or_path, "data": config.data}

    if config.probe == "early_stop":
        correct = [(i, p) for i, p in zip(items, prompts, strict=True) if i["correct"]]
        no_thinking = None
        if has_thinking_switch(tokenizer):
            no_thinking = [
                render_prompt_text(tokenizer, i["problem"], config.prompt_template, config.system_prompt, False)
                for i, _ in correct
            ]
        result = {**meta, **forced_answer_accuracy(
            model, tokenizer, [i for i, _ in correct], [p for _, p in correct], config.fractions, config.budgets,
            config.batch_size, no_thinking_prompts=no_thinking,
        )}  # fmt: skip
        write_json(output_dir / "early_stop.json", result)
        series = {
            "forced answer": ([float(f) for f in result["by_fraction"]], list(result["by_fraction"].values()))
        }
        if result["no_thinking"] is not None:
            series["no-thinking prompt"] = ([0.0], [result["no_thinking"]])
        line_plot(
            output_dir / "early_stop.png",
            series,
            title="Early stopping",
            xlabel="fraction of the thought kept",
            ylabel="accuracy",
        )
        return result

    stride = 1 if config.probe == "reflection" else config.stride
    curves = _confidence_curves(model, tokenizer, items, prompts, config, stride)
    if config.probe == "reflection":
        if config.definition == "paper":
            word_ids = {w: tokenizer(w, add_special_tokens=False)["input_ids"] for w in config.reflection_words}
            computed = paper_reflection_stats([(c["nll"], c["ids"], c["tail"]) for c in curves], word_ids)
        else:
            computed = reflection_stats([(c["nll"], c["tokens"]) for c in curves], config.reflection_words)
        stats = {**meta, "definition": config.definition, **computed}
        write_json(output_dir / "reflection.json", stats)
        reflection_figure(stats, output_dir / "reflection.png")
        rows = [
            f"| {w} | {r['count']} | {r['mean_relative_change'] or 0:.3f} | {r['ratio_to_average'] or 0:.2f} |"
            for w, r in stats["words"].items()
        ]
        (output_dir / "reflection.md").write_text(
            f"| token | count | mean abs(ΔL)/L | x average |\n|---|---:|---:|---:|\n"
            f"| all tokens | {stats['tokens']} | {stats['average_relative_change']:.3f} | 1.00 |\n"
            + "\n".join(rows)
            + "\n"
        )
        return stats
    summary = {
        **meta,
        "stride": stride,
        "correct": _group_summary([c for c in curves if c["correct"]]),
        "incorrect": _group_summary([c for c in curves if not c["correct"]]),
    }
    write_json(
        output_dir / "confidence.json",
        {**summary, "curves": [{k: v for k, v in c.items() if k not in ("tokens", "ids", "tail")} for c in curves]},
    )
    confidence_figure(curves, output_dir / "confidence.png", config.ema_alpha)
    return summary
