"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emoclassic.reporting import FitReport


def whole_number(minimum: int | None, maximum: int | None = None) -> Callable[[str], int]:
    """Make an argparse type for a whole number from ``minimum`` to ``maximum`` (inclusive).

    Parameters
    ----------
    minimum : int or None
        Smallest value allowed; ``None``: no lower bound (the library checks
        the range, so the rule lives in one place).
    maximum : int or None, default=None
        Largest value allowed; ``None``: no upper bound.

    Returns
    -------
    callable
        ``parse(text) -> int`` raising :class:`argparse.ArgumentTypeError`.

    Examples
    --------
    >>> whole_number(1, 100_000)("5000")
    5000
    >>> whole_number(1, 100_000)("99999999999")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be between 1 and 100000, got 99999999999
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be between {minimum} and {maximum}, got {value}"
            )
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = whole_number(1)
positive_int.__doc__ = "Argparse type: an integer of at least 1."
integer = whole_number(None)
integer.__doc__ = "Argparse type: any integer; the library checks the range of its parameter."


def file_path(text: str) -> Path:
    """Argparse type: a file to write (``Path`` would drop a trailing slash; this refuses it)."""
    from emoclassic.atomic import names_a_folder

    if names_a_folder(text):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder; give a file path")
    return Path(text)


def input_file(text: str) -> Path:
    """Argparse type: an existing regular file to read.

    A folder, a FIFO, a socket or a device (``/dev/zero``) is refused while the
    arguments are parsed, before any work: reading one would fail late, hang
    or never end. The rule is :func:`emoclassic.atomic.check_input_file`, which
    the readers apply again when they open the file.
    """
    from emoclassic.atomic import check_input_file
    from emoclassic.errors import DataError

    try:
        check_input_file(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def seed(text: str) -> int:
    """Argparse type: a random seed numpy and scikit-learn accept (0 to 2**32 - 1)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 4294967295, got {value}")
    return value


def n_jobs(text: str) -> int:
    """Argparse type: joblib's n_jobs (a non-zero integer, -1 for all cores)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use -1 for all cores)")
    return value


def bounded_float(requirement: str, accept: Callable[[float], bool]) -> Callable[[str], float]:
    """Make an argparse type for a finite number that must satisfy ``accept``.

    Parameters
    ----------
    requirement : str
        What ``accept`` demands, for the error message ("above 0").
    accept : callable
        Returns whether a parsed number is allowed.

    Returns
    -------
    callable
        ``parse(text) -> float`` raising :class:`argparse.ArgumentTypeError`.

    Examples
    --------
    >>> bounded_float("above 0", lambda v: v > 0)("2.5")
    2.5
    >>> bounded_float("above 0", lambda v: v > 0)("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be above 0, got -1.0
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {value}")
        return value

    return parse


probability = bounded_float("between 0 and 1", lambda v: 0.0 <= v <= 1.0)
share = bounded_float("between 0 and 1 (exclusive)", lambda v: 0.0 < v < 1.0)
share_or_one = bounded_float("above 0 and at most 1", lambda v: 0.0 < v <= 1.0)
positive_float = bounded_float("above 0", lambda v: v > 0.0)
non_negative_float = bounded_float("0 or more", lambda v: v >= 0.0)
#: Any finite number; for flags whose range the library checks (one rule, in one place).
number = bounded_float("finite", lambda v: True)


def focal_alpha(text: str) -> float | str:
    """Argparse type: the focal loss's alpha, a number in [0, 1] or ``none`` (no weighting).

    Examples
    --------
    >>> focal_alpha("0.25"), focal_alpha("None")
    (0.25, 'none')
    """
    return "none" if text.lower() == "none" else probability(text)


def threshold(text: str) -> float | str:
    """Argparse type: ``tuned`` or a probability cut-off in [0, 1]."""
    return text if text == "tuned" else probability(text)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``, ``--text-column`` and ``--label-column`` to ``parser``."""
    parser.add_argument(
        "--data",
        default=None,
        help="dataset: a folder of split files, a single file, a datasets save_to_disk "
        "folder or hub:OWNER/NAME[:CONFIG] (default: the bundled GoEmotions)",
    )
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument(
        "--label-column",
        default=None,
        help="column with a list of label ids or names per row (default: 'labels' if "
        "present, else one 0/1 column per label)",
    )


def load_data(args: argparse.Namespace):
    """Load the dataset named by the data arguments."""
    from emoclassic.datasets import load_dataset

    return load_dataset(
        args.data,
        text_column=args.text_column,
        label_column=args.label_column,
        seed=getattr(args, "seed", 42),
    )


def data_inputs(data: str | None) -> tuple[list[Path], list[Path]]:
    """List the files and folders that ``--data`` reads, which no output of the run may hit.

    Parameters
    ----------
    data : str or None
        The ``--data`` argument.

    Returns
    -------
    (files, folders) : tuple of list of Path
        A single data file: itself. A folder of split files: its folder and the
        files directly in it (split files, ``labels.txt``). A ``save_to_disk``
        folder: its folder and every file under it. The bundled GoEmotions
        copy: its package folder and files. A ``hub:`` dataset lives in the
        Hugging Face cache, not among the user's files: nothing. A path that
        does not exist: nothing (loading it fails later with its own message).

    Examples
    --------
    >>> data_inputs("hub:owner/name")
    ([], [])
    >>> data_inputs("no/such/folder")
    ([], [])
    """
    if data is None or data == "goemotions":
        from importlib import resources

        bundled = resources.files("emoclassic.resources.goemotions")
        if not isinstance(bundled, Path):  # a zipped install: nothing to overwrite
            return [], []
        path = bundled
    elif data.startswith("hub:"):
        return [], []
    else:
        path = Path(data)
    try:
        if path.is_file():
            return [path], []
        if not path.is_dir():
            return [], []
        markers = ("dataset_dict.json", "dataset_info.json")
        saved_dataset = any((path / marker).exists() for marker in markers)
        found = path.rglob("*") if saved_dataset else path.iterdir()
        return [item for item in found if item.is_file()], [path]
    except (OSError, ValueError):  # a name too long, a folder that cannot be listed
        return [], []  # loading the data reports the problem in its own words


#: Library parameters whose command-line flag is not ``--`` plus the name with dashes.
PARAMETER_FLAGS = {
    "random_state": "--seed",
    "seed": "--seed",
    "n_rows": "--limit",
    "limit": "--limit",
    "text": "the text",  # a positional argument
}


def flag_for(param: str) -> str:
    """Return the command-line flag that sets a library parameter.

    The one place where the CLI translates the library's parameter names
    (which :class:`~emoclassic.errors.InvalidParameter` carries) into flags.

    Parameters
    ----------
    param : str
        The parameter's name in the library.

    Returns
    -------
    str
        The flag, for example ``"--threshold-folds"``.

    Examples
    --------
    >>> flag_for("threshold_folds")
    '--threshold-folds'
    >>> flag_for("random_state")
    '--seed'
    """
    return PARAMETER_FLAGS.get(param, "--" + param.replace("_", "-"))


#: Fewest training rows a fit accepts once ``--limit`` has cut the split.
MIN_TRAINING_ROWS = 2


def load_training_data(args: argparse.Namespace):
    """Load the data for ``fit``: apply ``--limit``, print the summary and any notes.

    Raises
    ------
    UsageError
        ``--limit`` leaves fewer than :data:`MIN_TRAINING_ROWS` training rows.
    """
    from emoclassic.errors import UsageError

    dataset = load_data(args)
    if args.limit is not None:
        rows = min(args.limit, len(dataset.train))
        if rows < MIN_TRAINING_ROWS:  # before limit_train warns about the labels it leaves
            raise UsageError(
                f"--limit {args.limit} leaves {rows} training row{'s' if rows != 1 else ''}; "
                f"a fit needs at least {MIN_TRAINING_ROWS}"
            )
        dataset = dataset.limit_train(args.limit)
    print(dataset.summary())
    for note in dataset.notes:
        print(f"note: {note}")
    return dataset


def print_fit_report(report: FitReport) -> None:
    """Print a fit's metrics table, its decision-rule note and the test macro-F1.

    Parameters
    ----------
    report : FitReport
        What :func:`emoclassic.reporting.report_fit` returned.
    """
    print()
    print(report.overview())
    print()
    print(report.rule_note())
    test_f1 = report.macro_f1("test", "tuned")
    if test_f1 is not None:
        print(f"test macro-F1 (default rule): {test_f1:.4f}")


def warn(message: str) -> None:
    """Report a problem that does not stop the command: one ``emoclassic: warning:`` line.

    It goes through logging, which :func:`emoclassic.cli.main.configure_logging`
    formats like every other warning of the command.
    """
    import logging

    logging.getLogger("emoclassic.cli").warning("%s", message)


def print_json(payload) -> None:
    """Print ``payload`` as indented, strictly valid UTF-8 JSON on stdout.

    JSON has no infinity or NaN: such numbers (the log-odds of a label that was
    constant in training is infinite) are written as ``null``. The text is
    UTF-8 whatever the terminal's encoding (JSON's interchange encoding), and
    undecodable bytes of a file name (lone surrogates) are written as U+FFFD,
    so the output always parses.
    """
    text = json.dumps(_finite(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    data = LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


#: How Python keeps an undecodable byte of a file name or argument in a str.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def check_utf8(texts: Sequence[str], what: str = "text") -> None:
    r"""Refuse a text that carries undecodable bytes (from the command line or stdin).

    Python keeps bytes that are not UTF-8 as lone surrogates; they cannot be
    printed, written or sent anywhere as text, so they are refused up front, as
    ``--file`` refuses a file that is not UTF-8.

    Examples
    --------
    >>> check_utf8(["fine", "café"])
    >>> check_utf8(["fine", b"caf\xe9".decode("utf-8", "surrogateescape")])
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: text 2 is not valid UTF-8 (undecodable byte 0xe9 at character 4)
    """
    from emoclassic.errors import DataError

    for number, text in enumerate(texts, 1):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(text[exc.start]) & 0xFF
            raise DataError(
                f"{what} {number} is not valid UTF-8 "
                f"(undecodable byte 0x{byte:02x} at character {exc.start + 1})"
            ) from None


def _finite(value):
    """``value`` with every non-finite float (in nested dicts, lists, tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
