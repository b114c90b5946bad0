"""Data mixtures for the SFT and GRPO recipes: several sources, each with a weight or a cap.

A recipe names its sources under `datasets:`, TRL 1.16's own mixture entries (`trl.scripts.utils.
DatasetConfig`: `path`, `name`, `split`, `fraction`, ...) with two keys added here: `max_questions`
(a cap on the questions a source gives) and `prompt_template` (when a source is worded differently).
`fraction` keeps TRL's meaning: shares normalised to one, the mixture as large as it can be without
repeating a source's questions, the first `round(share x size)` questions of each taken. With
`mixture_seed` each source is shuffled (by that seed and its path) before the cap and the share take
their questions; without it the sources' own order is kept, as TRL does.

The questions of all sources share one id space: the support-set sampler groups trajectories by
question id, so an id found in two sources is refused, naming both, instead of merging two questions.
The run record lists each source and the questions it gave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from trl.scripts.utils import DatasetConfig

from ..errors import DataError
from ..seeds import stable_seed


@dataclass
class MixtureSource(DatasetConfig):
    """One source of a mixture: TRL's DatasetConfig, a question cap and its own prompt template."""

    max_questions: int | None = None
    prompt_template: str | None = None


def parse_sources(entries: list) -> list[MixtureSource]:
    """The recipe's `datasets:` entries as MixtureSource, checked (one line per mistake)."""
    sources = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - set(MixtureSource.__dataclass_fields__))
            if unknown:
                raise ValueError(
                    f"datasets[{number}]: unknown key(s) {', '.join(unknown)}; a source takes "
                    f"{', '.join(MixtureSource.__dataclass_fields__)}"
                )
            entry = MixtureSource(**entry)
        elif not isinstance(entry, MixtureSource):
            entry = MixtureSource(**vars(entry))
        if not entry.path:
            raise ValueError(f"datasets[{number}]: `path` is required (a file, folder or Hub id)")
        if entry.max_questions is not None and (isinstance(entry.max_questions, bool) or entry.max_questions < 1):
            raise ValueError(f"datasets[{number}] ({entry.path}): max_questions must be a positive integer, got {entry.max_questions!r}")
        if entry.fraction is not None and not entry.fraction > 0:
            raise ValueError(f"datasets[{number}] ({entry.path}): fraction must be greater than 0, got {entry.fraction!r}")
        if entry.prompt_template is not None and "{problem}" not in entry.prompt_template:
            raise ValueError(f"datasets[{number}] ({entry.path}): prompt_template must contain {{problem}}")
        sources.append(entry)
    fractions = [source.fraction is not None for source in sources]
    if any(fractions) and not all(fractions):
        raise ValueError("datasets: set `fraction` for every source of the mixture or for none of them (TRL's rule)")
    return sources


def mixture_sizes(available: list[int], fractions: list[float] | None) -> list[int]:
    """Questions taken from each source: all of them, or TRL's shares (normalised; the largest total
    for which no source gives more questions than it has; the first round(share x total) of each)."""
    if fractions is None:
        return list(available)
    weights = [fraction / sum(fractions) for fraction in fractions]
    total = min(count / weight for count, weight in zip(available, weights, strict=True))
    return [min(count, round(weight * total)) for count, weight in zip(available, weights, strict=True)]


def mix(sources: list[MixtureSource], rows_per_source: list[list[dict]], seed: int | None, id_key: str = "id"):
    """Apply each source's shuffle, cap and share, refuse ids found in two sources; returns the rows of
    each source kept, and one summary per source (path, questions read, questions taken)."""
    chosen = []
    for source, rows in zip(sources, rows_per_source, strict=True):
        rows = list(rows)
        if seed is not None:
            random.Random(stable_seed(seed, "mixture", source.path)).shuffle(rows)
        chosen.append(rows[: source.max_questions] if source.max_questions else rows)
    fractions = [source.fraction for source in sources] if sources and sources[0].fraction is not None else None
    sizes = mixture_sizes([len(rows) for rows in chosen], fractions)
    chosen = [rows[:size] for rows, size in zip(chosen, sizes, strict=True)]
    owner: dict[str, str] = {}
    for source, rows in zip(sources, chosen, strict=True):
        for row in rows:
            key = str(row[id_key])
            if key in owner and owner[key] != source.path:
                raise DataError(
                    f"question id {key!r} is in two sources of the mixture, {owner[key]} and {source.path}: the "
                    "support sets group by id, so give the questions distinct ids (or drop the copy from one source)",
                    source=source.path,
                )
            owner[key] = source.path
    summary = [{"path": source.path, "split": source.split, "questions_read": len(rows), "questions": size,
                "fraction": source.fraction, "max_questions": source.max_questions,
                "prompt_template": source.prompt_template}
               for source, rows, size in zip(sources, rows_per_source, sizes, strict=True)]  # fmt: skip
    return chosen, summary


def sft_mixture(sources: list[MixtureSource], seed: int | None, prompt_template: str, system_prompt: str | None):
    """The SFT rows of a mixture: each source's trajectory records loaded and checked, mixed (`mix`),
    rendered with its own prompt template (or the recipe's); returns (dataset, stats, per-source summary)."""
    import datasets

    from .loaders import load_trajectories
    from .sft_format import SFTDataStats, build_sft_dataset

    records = [list(load_trajectories(s.path, split=s.split, config=s.name)) for s in sources]
    chosen, summary = mix(sources, records, seed)
    parts, stats = [], SFTDataStats()
    for source, rows, entry in zip(sources, chosen, summary, strict=True):
        dataset, part = build_sft_dataset(rows, source.prompt_template or prompt_template, system_prompt)
        parts.append(dataset)
        entry["trajectories"] = part.trajectories
        for key, value in part.as_dict().items():
            setattr(stats, key, getattr(stats, key) + value)
    return datasets.concatenate_datasets(parts), stats, summary


def grpo_mixture(sources: list[MixtureSource], seed: int | None, prompt_template: str, system_prompt: str | None):
    """The GRPO rows of a mixture: each source's prompts read (its own template, or the recipe's) and
    mixed (`mix`); returns (rows, per-source summary)."""
    from .grpo_prompts import to_grpo_rows

    rows = [to_grpo_rows(s.path, system_prompt=system_prompt, prompt_template=s.prompt_template or prompt_template,
                         split=s.split) for s in sources]  # fmt: skip
    chosen, summary = mix(sources, rows, seed)
    return [row for part in chosen for row in part], summary


def data_label(script_args) -> str:
    """What a run trained on, in one string: its dataset_name, or its mixture's sources."""
    if script_args.datasets:
        return "mixture: " + ", ".join(source.path for source in script_args.datasets)
    return script_args.dataset_name
