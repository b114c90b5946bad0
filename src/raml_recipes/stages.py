"""Pipelines of stages (the demo, the experiments): each stage runs once, in order, its script in its own
process; a completed stage leaves a marker and a rerun skips it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .data.io import write_json


@dataclass
class Stage:
    name: str
    description: str
    run: Callable[[], dict]  # returns the stage's outputs (paths and numbers) for the summary


class StageFailed(RuntimeError):
    pass


def run_stages(stages: list[Stage], out_dir: Path) -> dict:
    """Run stages in order; a completed stage leaves a marker and is skipped on the next run."""
    markers = out_dir / ".stages"
    results = {}
    for number, stage in enumerate(stages, start=1):
        marker = markers / f"{stage.name}.json"
        header = f"[{number}/{len(stages)}] {stage.name}: {stage.description}"
        if marker.is_file():
            results[stage.name] = json.loads(marker.read_text())
            print(f"{header} (done in an earlier run, skipped)", flush=True)
            continue
        print(header, flush=True)
        start = time.monotonic()
        try:
            outputs = stage.run()
        except Exception as error:
            raise StageFailed(f"stage {stage.name!r} failed: {error}") from error
        results[stage.name] = {"elapsed_s": round(time.monotonic() - start, 1), **outputs}
        write_json(marker, results[stage.name])
        print(
            f"[{number}/{len(stages)}] {stage.name}: done in {results[stage.name]['elapsed_s']} s", flush=True
        )
    return results


def _stop_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook: the child gets SIGTERM when the demo process dies, however it dies (SIGKILL too).

    Otherwise a killed demo leaves its stage running, and the rerun starts the same stage into the
    same folder beside it. The training scripts checkpoint on SIGTERM. Linux only (prctl); libc is
    loaded here, in the parent, so that the child runs no import between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def run_script(module: str, args: list[str], log_path: Path, echo: bool = True) -> None:
    """Run a stage script in its own process (memory is returned between stages), its output written to
    a log and, with `echo`, to this process's stdout as it comes."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", module, *args]
    # Appended, each attempt under its command line: a rerun keeps the log of the attempt it follows.
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(command)}  # {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_stop_with_parent_hook()
        )
        # Bytes as they come, so progress bars redraw in place ("\r") instead of printing a line each.
        for chunk in iter(lambda: process.stdout.read1(65536), b""):
            log.write(chunk)
            if echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
        code = process.wait()
    if code != 0:
        raise StageFailed(f"{' '.join(command)} exited with status {code}; see {log_path}")
