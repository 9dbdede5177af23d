"""Entry point of the ``emoclassic`` command.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; this module wires them together, configures logging
from ``-v`` and turns user errors into one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from emoclassic import __version__
from emoclassic.cli import _augment, _compare, _evaluate, _explain, _fit, _predict, _serve
from emoclassic.errors import EmoclassicError
from emoclassic.label_names import breaks_a_line

COMMANDS = (_fit, _evaluate, _predict, _augment, _explain, _serve, _compare)


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str):
        """Print ``PROG: error: MESSAGE`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def one_line(message: str) -> str:
    r"""Escape line breaks and other control characters, so an error stays on one line.

    A file name or a value quoted in a message may carry a newline.

    Examples
    --------
    >>> one_line("no\nsuch.joblib: no such file")
    'no\\nsuch.joblib: no such file'
    """
    return "".join(
        char.encode("unicode_escape").decode("ascii") if breaks_a_line(char) else char
        for char in message
    )


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, ``emoclassic: warning: ...``, without the source line."""
    print(f"emoclassic: warning: {one_line(str(message))}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per command."""
    parser = OneLineErrorParser(
        prog="emoclassic",
        description="Fast, inspectable multi-label emotion classification.",
    )
    parser.add_argument("--version", action="version", version=f"emoclassic {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineErrorParser
    )
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def configure_logging(verbosity: int) -> None:
    """Map ``-v`` counts to log levels: warning, info, debug."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except EmoclassicError as exc:
        print(f"emoclassic: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("emoclassic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
