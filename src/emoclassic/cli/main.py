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
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from emoclassic import __version__
from emoclassic.cli import _augment, _compare, _evaluate, _explain, _fit, _predict, _serve
from emoclassic.cli._common import flag_for
from emoclassic.errors import EmoclassicError, InvalidParameter
from emoclassic.label_names import breaks_a_line

COMMANDS = (_fit, _evaluate, _predict, _augment, _explain, _serve, _compare)


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit 2).

    Every subcommand's parser is one too (``parser_class`` of the subparsers),
    so an error reads the same whichever parser found it.
    """

    #: The top-level parser's subcommand parsers by name (set by :func:`build_parser`).
    command_parsers: Mapping[str, argparse.ArgumentParser] = MappingProxyType({})

    def parse_args(self, args=None, namespace=None):
        """Parse as argparse does; an unrecognized argument is reported by its subcommand.

        argparse leaves arguments that no subcommand knows to the top-level
        parser, whose error would point at ``emoclassic --help``; the error
        names the subcommand's help instead.
        """
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # A parser with sub-parsers of its own (``fit RECIPE``) names the innermost one.
            owner = getattr(parsed, "parser", None) or self.command_parsers.get(
                getattr(parsed, "command", None), self
            )
            owner.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str):
        r"""Print ``emoclassic: error: MESSAGE (see PROG --help)`` and exit with status 2.

        The message is escaped with :func:`one_line`: it may quote an argument
        that holds a newline or a terminal escape sequence. The usage line is not
        printed (``--help`` shows it), so stderr stays one line.

        Examples
        --------
        >>> import contextlib, io
        >>> err = io.StringIO()
        >>> with contextlib.redirect_stderr(err):
        ...     try:
        ...         OneLineErrorParser(prog="emoclassic fit").error("bad: x\nyz")
        ...     except SystemExit as exc:
        ...         print(exc.code)
        2
        >>> err.getvalue()
        'emoclassic: error: bad: x\\nyz (see emoclassic fit --help)\n'
        """
        self.exit(2, f"emoclassic: error: {one_line(message)} (see {self.prog} --help)\n")


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
    parser.command_parsers = MappingProxyType(dict(subparsers.choices))
    return parser


class OneLineFormatter(logging.Formatter):
    r"""Format a log record as ``emoclassic: LEVEL: MESSAGE`` on one line.

    Every log line of the command reads like its errors and warnings, whichever
    library logged it (uvicorn, the augment cache, the training loop). A record
    with an exception (a bug somewhere) keeps its traceback after that line.

    Examples
    --------
    >>> record = logging.LogRecord("uvicorn", logging.WARNING, "", 0, "bad\nrequest", (), None)
    >>> OneLineFormatter().format(record)
    'emoclassic: warning: bad\\nrequest'
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record's one-line text (plus any traceback, on the lines below)."""
        level = record.levelname.lower()
        if record.levelno >= logging.ERROR:
            level = "error"
        line = f"emoclassic: {level}: {one_line(record.getMessage().strip())}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to ``sys.stderr`` as it is when a record comes.

    ``sys.stderr`` may be replaced after logging is configured (by a test
    capturing output, say); a plain ``StreamHandler`` would keep the old one.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        """Ignore: the stream is always the current ``sys.stderr``."""


def configure_logging(verbosity: int) -> None:
    """Send log records to stderr as ``emoclassic: LEVEL: ...`` lines; ``-v`` sets the level.

    No ``-v``: warnings and errors; ``-v``: info too; ``-vv``: debug. Calling
    it again replaces the handler it installed before (nothing is printed twice).
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(OneLineFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # HTTP client libraries log a line per request at INFO; show them only with -vv.
    for noisy in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbosity < 2 else logging.DEBUG)


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
    except InvalidParameter as exc:
        message = f"{flag_for(exc.param)} {exc.problem}"
        print(f"emoclassic: error: {one_line(message)}", file=sys.stderr)
        return exc.exit_code
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
