"""Rule-based compression of whole trajectories, and the grader's verdict on what is retained."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .answers import concludes_with_answer, mark_answer_segments
from .rules import compose
from .segments import join_segments, split_segments
from .trajectory import TrajectoryParts, split_trajectory


@dataclass(frozen=True)
class RuleCompression:
    original: str
    parts: TrajectoryParts | None  # None: no closed thought, nothing was compressed
    thought: str  # the retained thought ("" without one)

    @property
    def text(self) -> str:
        return self.original if self.parts is None else self.parts.with_thought(self.thought)


def compress_with_rules(
    trajectories: Sequence[str], answers: Sequence[str], rules: Sequence[str], granularity: str = "paragraph"
) -> list[RuleCompression]:
    """Apply the named rules (in order) to each trajectory's thought; the answer part stays as it was."""
    compressor = compose(rules)
    parts = [split_trajectory(text) for text in trajectories]
    segment_lists = [split_segments(p.thought, granularity) if p else [] for p in parts]
    mark_answer_segments(segment_lists, list(answers))
    return [
        RuleCompression(text, p, join_segments(compressor(segments)) if p else "")
        for text, p, segments in zip(trajectories, parts, segment_lists, strict=True)
    ]


def answer_follows(thoughts: Sequence[str], answers: Sequence[str]) -> list[bool]:
    """The rule-based verdict: does the retained thought alone (the final-answer part left out) end
    by stating the answer? A thought cut before its answer, or one whose conclusion was dropped, fails."""
    return concludes_with_answer(thoughts, answers)
