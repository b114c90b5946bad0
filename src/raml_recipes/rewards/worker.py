"""A grading worker: reads chunks of (gold, completion) as JSON lines on stdin, answers one line per item.

Protocol (one JSON document per line):
- worker -> parent, once, after the imports: `{"ready": true}`
- parent -> worker: `[[gold, answer_region, mode], ...]` (a chunk; the region is null when the thought
  never closed: only the answer part of a completion is ever sent)
- worker -> parent, per item, in order: `[correct, reason, extracted]`

math-verify's own signal timeouts are off: the parent enforces a hard deadline per item by killing
the worker, which also stops work that signals cannot interrupt. EOF on stdin ends the worker, so
it never outlives its parent.
"""

from __future__ import annotations

import json
import logging
import sys


def main() -> None:
    # "Timeout is disabled" warnings are expected here: the deadline is the parent's.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from raml_recipes.rewards.grading import grade_region

    grade_region("1", "\\boxed{1}", signal_timeouts=False)  # warm the imports before saying ready
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        for gold, region, mode in json.loads(line):
            try:
                verdict = grade_region(gold, region, signal_timeouts=False, mode=mode)
                answer = [verdict.correct, verdict.reason, verdict.extracted]
            except Exception as error:  # a math-verify bug on one input must not end the worker
                answer = [False, "incorrect", f"error: {type(error).__name__}"]
            out.write(json.dumps(answer) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
