"""A trajectory's anatomy: the thought that may be compressed, and the answer part that must not be.

    <think>\n  THOUGHT  \n\n**Final Answer**\n... \\boxed{..}  </think>  FINAL
    `head`     `thought`  `tail` (kept byte for byte: the "**Final Answer**" part, `</think>`, FINAL)

Following the paper (DESIGN.md §1), the thought is the text before `</think>`, cut before
"**Final Answer**". A trajectory without `</think>` has no thought to compress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rewards.grading import THINK_CLOSE, THINK_OPEN

FINAL_ANSWER_MARK = "**Final Answer**"


@dataclass(frozen=True)
class TrajectoryParts:
    head: str  # "<think>\n" (or nothing when the prompt opened the thought)
    thought: str  # the reasoning, without surrounding whitespace
    tail: str  # whitespace after the thought + the final-answer part + "</think>" + the final text

    def with_thought(self, thought: str) -> str:
        return self.head + thought + self.tail

    def text(self) -> str:
        return self.with_thought(self.thought)


def split_trajectory(text: str) -> TrajectoryParts | None:
    """Split a trajectory into head, thought and tail; None when it has no closed thought."""
    if THINK_CLOSE not in text:
        return None
    inside, after = text.rsplit(THINK_CLOSE, 1)
    opening = re.match(r"\s*" + re.escape(THINK_OPEN) + r"\s*", inside)
    start = opening.end() if opening else len(inside) - len(inside.lstrip())
    mark = inside.find(FINAL_ANSWER_MARK, start)
    end = mark if mark >= 0 else len(inside)
    thought = inside[start:end].rstrip()
    if not thought:
        return None
    return TrajectoryParts(inside[:start], thought, inside[start + len(thought) :] + THINK_CLOSE + after)


def compressed_trajectory(parts: TrajectoryParts, thought: str) -> str:
    """The trajectory with its thought replaced: the answer part is kept as it was."""
    return parts.with_thought(thought.strip())
