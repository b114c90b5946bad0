"""Bounded, parallel grading: a persistent pool of worker processes with a hard deadline per item.

math-verify can run for minutes on adversarial input (a power tower such as `5^{5^{5^{5^{5}}}}`,
50 KB of junk), and its SIGALRM timeouts work only in the main thread and cannot interrupt work in
C. So grading runs in worker processes (`raml_recipes.rewards.worker`), each item under a deadline:
a worker that overruns is killed, its item is graded incorrect with reason "timeout", a new worker
takes its place, and the batch goes on. Workers are plain subprocesses, not `multiprocessing`
children, so the pool also works from daemonic processes such as DataLoader workers, from threads
and from async code (no signals are involved on the calling side).

Each worker caches parsed gold answers; items are sent in chunks sorted by gold answer so a
group of completions for one question lands on one worker.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .grading import DEFAULT_MODE, MODES, Verdict, answer_region, grade_region

logger = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 5.0
_STARTUP_LIMIT_S = 120.0  # a worker that cannot import math-verify in this long is broken, not slow


def default_workers() -> int:
    return int(os.environ.get("RAML_GRADING_WORKERS", os.cpu_count() or 1))


def default_deadline() -> float:
    return float(os.environ.get("RAML_GRADING_DEADLINE", DEFAULT_DEADLINE_S))


@dataclass
class GradingCounters:
    """What grading has met so far in this pool (cumulative)."""

    graded: int = 0
    timeouts: int = 0
    slowest_item_s: float = 0.0
    unparseable_gold: int = 0
    worker_restarts: int = 0


@dataclass
class _Worker:
    process: subprocess.Popen
    stderr_path: str
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    buffer: bytes = b""
    chunk: list[int] = field(default_factory=list)  # unique-item indices sent and not yet answered
    item_started: float = 0.0

    @property
    def fd(self) -> int:
        return self.process.stdout.fileno()

    def send(self, items: list) -> None:
        self.process.stdin.write((json.dumps(items) + "\n").encode())
        self.process.stdin.flush()
        self.item_started = time.monotonic()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()
        os.unlink(self.stderr_path)

    def startup_error(self) -> str:
        with open(self.stderr_path, errors="replace") as handle:
            return handle.read()[-2000:]


class GradingPool:
    """Grades (gold, completion) pairs in `workers` processes, each item within `deadline` seconds.

    `workers=0` grades in the calling thread with no hard deadline (for debugging).
    """

    def __init__(self, workers: int | None = None, deadline: float | None = None):
        self.size = default_workers() if workers is None else int(workers)
        self.deadline = default_deadline() if deadline is None else float(deadline)
        if self.size < 0 or self.deadline <= 0:
            raise ValueError(f"workers must be >= 0 and deadline > 0, got {self.size} and {self.deadline}")
        self.counters = GradingCounters()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._unparseable_logged: set[str] = set()
        self._timed_out: dict[tuple, None] = {}  # (gold, answer region) that hit the deadline, oldest first

    # -- workers ---------------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        fd, stderr_path = tempfile.mkstemp(prefix="raml-grader-", suffix=".log")
        with os.fdopen(fd, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "raml_recipes.rewards.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return _Worker(process, stderr_path)

    def _fill(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(self._spawn())

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers[self._workers.index(worker)] = self._spawn()
        self.counters.worker_restarts += 1

    def start(self) -> GradingPool:
        """Start the workers and wait until each is ready (otherwise the first batch waits for them)."""
        with self._lock:
            self._fill()
            while not all(worker.ready for worker in self._workers):
                self._collect([], [], deque(), lambda index: None)
        return self

    def close(self) -> None:
        for worker in self._workers:
            worker.kill()
        self._workers = []

    # -- grading ---------------------------------------------------------------------------------
    def grade_many(
        self,
        pairs: Sequence[tuple[str, str]],
        progress: Callable[[int], None] | None = None,
        mode: str = DEFAULT_MODE,
    ) -> list[Verdict]:
        """Grade every (gold, completion) pair; the verdicts come back in the input order.

        `progress`, when given, is called with the number of pairs each time some are settled.
        `mode`: `math_verify` (math-verify's verdicts) or `lenient` (see `grading`).
        """
        if mode not in MODES:
            raise ValueError(f"grading mode must be one of {', '.join(MODES)}, got {mode!r}")
        if os.getpid() != self._pid:
            raise RuntimeError("a GradingPool cannot be used after fork; call get_pool() in the new process")
        # Only the answer part is graded, so completions that differ in their thought but end the
        # same way (common within a GRPO group) are graded once, and less text crosses the pipes.
        keys = [(str(gold), answer_region(str(completion)), mode) for gold, completion in pairs]
        copies = Counter(keys)
        unique = list(copies)

        def settled(index: int) -> None:  # progress counts input pairs, duplicates included
            if progress is not None:
                progress(copies[unique[index]])

        with self._lock:
            verdicts = self._grade_unique(unique, settled)
            self._count(unique, verdicts)
        by_key = dict(zip(unique, verdicts, strict=True))
        return [by_key[key] for key in keys]

    def _count(self, unique, verdicts) -> None:
        self.counters.graded += len(unique)
        for (gold, _, _), verdict in zip(unique, verdicts, strict=True):
            if verdict.reason == "unparseable_gold":
                self.counters.unparseable_gold += 1
                if gold not in self._unparseable_logged:
                    self._unparseable_logged.add(gold)
                    logger.warning(
                        "gold answer %r yields no expression: only a verbatim answer matches it, others get no score",
                        gold,
                    )

    def _grade_unique(self, unique: list[tuple], settled: Callable[[int], None]) -> list[Verdict]:
        results: list[Verdict | None] = [None] * len(unique)
        todo = []
        for index, pair in enumerate(unique):
            if pair in self._timed_out:  # the same input would only hit the deadline again
                results[index] = Verdict(False, "timeout")
                self.counters.timeouts += 1
                settled(index)
            else:
                todo.append(index)
        if not todo:
            return results
        if self.size == 0:
            for index in todo:
                gold, region, mode = unique[index]
                results[index] = grade_region(gold, region, mode=mode)
                settled(index)
            return results
        # Same gold answers together, so each worker's cache of parsed golds is reused.
        todo.sort(key=lambda index: unique[index][0])
        chunk_size = max(1, min(16, len(todo) // (4 * self.size) or 1))
        queue = deque(todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size))
        self._fill()
        remaining = len(todo)
        while remaining:
            for worker in self._workers:
                if worker.ready and not worker.chunk and queue:
                    worker.chunk = list(queue.popleft())
                    worker.send([list(unique[i]) for i in worker.chunk])
            remaining -= self._collect(unique, results, queue, settled)
        return results

    def _collect(self, unique, results, queue, settled) -> int:
        """Wait for answers (or a deadline) and file them; returns how many items were settled."""
        now = time.monotonic()
        waits = [w.item_started + self.deadline - now for w in self._workers if w.chunk]
        waits += [w.started + _STARTUP_LIMIT_S - now for w in self._workers if not w.ready]
        readable, _, _ = select.select(
            [w.fd for w in self._workers], [], [], max(0.0, min(waits, default=1.0))
        )
        count = 0
        for worker in list(self._workers):
            if worker.fd in readable:
                data = os.read(worker.fd, 1 << 16)
                if not data:  # the worker died (out of memory, a crash in C)
                    count += self._worker_died(worker, results, queue, settled)
                    continue
                worker.buffer += data
                *lines, worker.buffer = worker.buffer.split(b"\n")
                for line in lines:
                    if not worker.ready:
                        worker.ready = True
                        continue
                    correct, reason, extracted = json.loads(line)
                    index = worker.chunk.pop(0)
                    results[index] = Verdict(correct, reason, extracted)
                    finished = time.monotonic()
                    self._note_latency(finished - worker.item_started)
                    worker.item_started = finished
                    count += 1
                    settled(index)
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.chunk and now - worker.item_started > self.deadline:
                self._note_latency(now - worker.item_started)
                index = worker.chunk.pop(0)
                results[index] = Verdict(False, "timeout")
                self.counters.timeouts += 1
                self._remember_timeout(unique[index])
                logger.warning(
                    "grading exceeded the %.1f s deadline; worker replaced (answer %.80r)",
                    self.deadline,
                    unique[index][1],
                )
                if worker.chunk:
                    queue.appendleft(worker.chunk)
                worker.chunk = []
                self._replace(worker)
                count += 1
                settled(index)
            elif not worker.ready and now - worker.started > _STARTUP_LIMIT_S:
                raise RuntimeError(
                    f"a grading worker did not start in {_STARTUP_LIMIT_S:.0f} s:\n{worker.startup_error()}"
                )
        return count

    def _worker_died(self, worker: _Worker, results, queue, settled) -> int:
        if not worker.ready:
            worker.process.wait()
            raise RuntimeError(f"a grading worker failed to start:\n{worker.startup_error()}")
        count = 0
        if worker.chunk:
            index = worker.chunk.pop(0)
            results[index] = Verdict(False, "worker_crash")
            settled(index)
            count = 1
            if worker.chunk:
                queue.appendleft(worker.chunk)
            worker.chunk = []
        self._replace(worker)
        return count

    def _note_latency(self, seconds: float) -> None:
        self.counters.slowest_item_s = max(self.counters.slowest_item_s, round(seconds, 3))

    def _remember_timeout(self, pair: tuple) -> None:
        self._timed_out[pair] = None
        if len(self._timed_out) > 10_000:
            self._timed_out.pop(next(iter(self._timed_out)))


_pool: GradingPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> GradingPool:
    """The process-wide pool (started on first use; a forked child gets its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._pid != os.getpid():
            _pool = GradingPool()
        return _pool


def configure_grading(workers: int | None = None, deadline: float | None = None) -> GradingPool:
    """Replace the process-wide pool with one of the given size and deadline."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool._pid == os.getpid():
            _pool.close()
        _pool = GradingPool(workers, deadline)
        return _pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None and _pool._pid == os.getpid():
        _pool.close()


def grade(gold: str, completion: str, mode: str = DEFAULT_MODE) -> Verdict:
    """Grade one completion against its gold answer, within the pool's deadline."""
    return get_pool().grade_many([(gold, completion)], mode=mode)[0]


def grade_many(
    pairs: Sequence[tuple[str, str]], progress: Callable[[int], None] | None = None, mode: str = DEFAULT_MODE
) -> list[Verdict]:
    """Grade (gold, completion) pairs in parallel, each within the deadline; verdicts in input order."""
    return get_pool().grade_many(pairs, progress, mode)


async def grade_many_async(pairs: Sequence[tuple[str, str]], mode: str = DEFAULT_MODE) -> list[Verdict]:
    """`grade_many` for async code: the waiting happens in a thread, off the event loop."""
    return await asyncio.to_thread(grade_many, pairs, None, mode)
