"""The command line (SPEC §3): run, sweep, compare, calibrate, validate, report, schema, init.

One module per command (``add_parser`` and ``command``); this package builds
the parser and maps outcomes to exit codes: 0 ok; 2 bad input (scenario or
flags, a busy or foreign ``--out``), with one line naming the file, key and
value; 1 an internal error, results that could not be written, or failed
replications (``--debug`` shows tracebacks); 130 interrupted (Ctrl-C) and
143 terminated (SIGTERM), after keeping what finished; 141 when the reader
of the output went away (``resim compare --json | head``): quietly, as
``cat`` does, not as an internal error. Nothing is written until the input
is known to be good.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from .. import __version__
from ..experiment.interrupts import Interrupted, stop_on_signals
from ..experiment.runfolder import WriteError
from ..scenario.errors import ScenarioError
from . import calibrate, compare, discover, init, report, run, schema, sensitivity, sweep, validate
from .options import Parser, UsageError

COMMANDS = {"run": run, "sweep": sweep, "compare": compare, "calibrate": calibrate, "sensitivity": sensitivity,
            "discover": discover, "validate": validate, "report": report, "schema": schema, "init": init}
#: Exit code when the output's reader has gone (128 + SIGPIPE, as a shell reports it).
BROKEN_PIPE = 141


def build_parser() -> Parser:
    p = Parser(prog="resim", description="Simulate rare-earth supply disruptions under export licensing.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    p.add_argument("--version", action="version", version=f"resim {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends as a one-line message and an exit
    code (no traceback reaches a user unless ``--debug`` asks for it)."""
    argv = _as_run(list(sys.argv[1:] if argv is None else argv))
    try:
        return _dispatch(argv)
    except Exception as e:  # noqa: BLE001 - no traceback reaches a user
        return _internal(e, "--debug" in argv)
    except (KeyboardInterrupt, Interrupted) as e:
        return _failed(e)


def _as_run(argv: list[str]) -> list[str]:
    """``python -m resim FILE`` means ``resim run FILE``."""
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        return ["run", *argv]
    return argv


def _dispatch(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    in_main = threading.current_thread() is threading.main_thread()
    with stop_on_signals() if in_main else nullcontext():
        code = COMMANDS[args.command].command(args, argv)
    sys.stdout.flush()  # piped output is buffered: a reader that left shows here, not at exit
    return code


def _broken_pipe(_: BaseException) -> int:
    _drop_stdout()
    return BROKEN_PIPE


#: What each expected failure prints and returns, most specific first.
FAILURES: tuple[tuple[type[BaseException], Callable[[Any], int]], ...] = (
    (ScenarioError, lambda e: _say(str(e), 2)),
    (UsageError, lambda e: _say(" ".join(str(e).split()), 2)),  # one line, whatever the flag held
    (Interrupted, lambda e: _say("resim: interrupted; nothing was written", e.exit_code)),
    (KeyboardInterrupt, lambda e: _say("resim: interrupted", 130)),
    (BrokenPipeError, _broken_pipe),
    (WriteError, lambda e: _say(f"resim: {e}", 1)),
)


def _say(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _failed(e: BaseException) -> int | None:
    """The exit code of an expected failure (its message printed), else None."""
    for kind, handle in FAILURES:
        if isinstance(e, kind):
            return handle(e)
    return None


def _internal(e: Exception, debug: bool) -> int:
    code = _failed(e)
    if code is not None:
        return code
    if debug:
        traceback.print_exc()
    return _say(f"resim: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", 1)


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not raise
    (and print) a second BrokenPipeError; the Python documentation's recipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


__all__ = ["BROKEN_PIPE", "COMMANDS", "build_parser", "main"]
