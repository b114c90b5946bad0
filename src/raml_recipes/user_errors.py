"""Errors that are the user's to fix, reported in one line without a traceback, by `raml <command>` and
by each script run as a module (`python -m` / `accelerate launch -m`, as Slurm jobs do): a bad
recipe, data row, model name, an output folder of another run, a full disk."""

from __future__ import annotations

import sys

from .errors import USER_ERRORS


def run(cli, prog: str, argv: list[str] | None = None) -> int:
    """`cli(argv, prog=prog)`, with a user error printed as `prog: error: ...` and exit status 1."""
    try:
        return cli(argv, prog=prog) or 0
    except USER_ERRORS as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
