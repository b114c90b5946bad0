"""Small matplotlib helpers: every figure is a PNG written next to the JSON it was drawn from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


@contextlib.contextmanager
def figure(path: str | Path, size: tuple[float, float] = (6, 4)) -> Iterator:
    """Yield the axes of a new figure; on exit it is laid out, saved as a PNG at `path` and closed."""
    import matplotlib

    matplotlib.use("Agg")  # no display on training nodes
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=size, dpi=120)
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def line_plot(
    path: str | Path,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
) -> Path:
    """Draw each `label -> (xs, ys)` as a line and save the figure as a PNG."""
    with figure(path) as ax:
        for label, (xs, ys) in series.items():
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=label)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend()
    return Path(path)


def training_curves(
    log_history: Sequence[dict],
    path: str | Path,
    keys: Sequence[str] = ("loss", "eval_loss"),
    ylabel: str = "loss",
) -> Path | None:
    """Plot the given keys of a Trainer log history against the step; None when nothing was logged."""
    series = {}
    for key in keys:
        points = [(entry["step"], entry[key]) for entry in log_history if key in entry and "step" in entry]
        if points:
            series[key] = tuple(zip(*points, strict=True))
    if not series:
        return None
    return line_plot(path, series, title=f"Training {ylabel}", xlabel="optimizer step", ylabel=ylabel)
