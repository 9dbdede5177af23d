"""``emoclassic predict MODEL TEXT...``: emotions above the threshold, with scores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoclassic.cli._common import (
    check_utf8,
    file_path,
    input_file,
    n_jobs,
    positive_int,
    print_json,
    threshold,
)
from emoclassic.corpus.readers import DEFAULT_BATCH_SIZE


def add_parser(subparsers) -> None:
    """Register the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the emotions of texts",
        description="Print, for each text, the emotions above the threshold, highest first, "
        "for example 'gratitude 0.93  approval 0.41'. Texts come from the arguments, "
        "--file or standard input. A file or standard input holds one text per line (UTF-8; "
        "a line ends at \\n or \\r\\n, nowhere else) and every line gets exactly one "
        "output line, in order: a blank line gives '(blank line)' (in --json, an empty "
        "emotion list) and a warning. To score a corpus file in bounded memory, "
        "give --data INPUT --out OUTPUT instead.",
    )
    parser.add_argument(
        "model", type=Path, help="saved model: a .joblib or .skops file, or a transformer folder"
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    parser.add_argument(
        "--file",
        type=input_file,
        default=None,
        help="regular file with one text per line; one output line per line",
    )
    parser.add_argument("--top-k", type=positive_int, default=None, help="at most K emotions")
    parser.add_argument(
        "--threshold",
        type=threshold,
        default="tuned",
        help="'tuned' (per-label, default) or one cut-off for every label (0 lists all)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    corpus = parser.add_argument_group(
        "scoring a corpus",
        "Read --data in batches, write --out (.parquet, .jsonl or .csv) with each row's id, "
        "its emotions and optionally every score. An interrupted run resumes from the "
        "finished batches kept in OUTPUT.partial/.",
    )
    corpus.add_argument(
        "--data",
        type=Path,
        default=None,
        help="corpus: .csv, .tsv, .jsonl, .parquet (or a folder of them), .txt (one text per line)",
    )
    corpus.add_argument("--out", type=file_path, default=None, help="output file")
    corpus.add_argument("--text-column", default="text", help="column of the texts (default: text)")
    corpus.add_argument(
        "--id-column", default=None, help="column carried through as the id (default: row number)"
    )
    corpus.add_argument("--scores", action="store_true", help="also write every label's score")
    corpus.add_argument(
        "--bad-rows",
        choices=("fail", "skip", "empty"),
        default="fail",
        help="a row with a missing, blank or non-string text: stop (default), leave it out, "
        "or score it as the empty text; always counted",
    )
    corpus.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per batch (default: {DEFAULT_BATCH_SIZE})",
    )
    corpus.add_argument(
        "--n-jobs", type=n_jobs, default=1, help="processes scoring batches (-1: one per CPU)"
    )
    corpus.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load a model saved with another scikit-learn minor version",
    )
    parser.set_defaults(run=run)


#: What the text output prints for a blank input line (JSON: an empty emotion list).
BLANK_ROW = "(blank line)"


def read_texts(args: argparse.Namespace) -> list[str]:
    """Collect texts from the arguments, or the lines of ``--file`` or standard input.

    Lines are returned one for one, blank ones included (as they are), so that
    each gets one output row; see :func:`split_lines`.
    """
    from emoclassic.atomic import read_input_file
    from emoclassic.errors import DataError, UsageError

    if args.texts and args.file is not None:
        raise UsageError("give texts as arguments or with --file, not both")
    if args.texts:
        blank = [i for i, text in enumerate(args.texts, 1) if not text.strip()]
        if blank:
            raise UsageError(f"text {blank[0]} is empty")
        check_utf8(args.texts)
        return list(args.texts)
    if args.file is not None:
        return split_lines(read_input_file(args.file), where=str(args.file))
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no texts: pass TEXT arguments, --file or standard input")
    try:
        data = sys.stdin.buffer.read()
    except OSError as exc:
        raise DataError(f"standard input: cannot be read ({exc.strerror or exc})") from None
    return split_lines(data, where="standard input")


def split_lines(data: bytes, *, where: str) -> list[str]:
    r"""Split UTF-8 text into lines at ``\n`` (and ``\r\n``) only, keeping blank lines.

    ``str.splitlines`` would also split at U+2028, U+2029, U+0085, form feeds
    and other separators inside a text, and dropping blank lines would shift
    every later output row; neither happens here. The final line break ends
    the last line (it does not start an empty one), and a leading byte-order
    mark is dropped.

    Raises
    ------
    DataError
        The input is empty, has no text on any line, holds a NUL byte (a binary
        file), or a line is not valid UTF-8 (naming the line, 1-based).

    Examples
    --------
    >>> split_lines(b"so happy\xe2\x80\xa8really\r\n\nso sad\n", where="f.txt")
    ['so happy\u2028really', '', 'so sad']
    """
    from emoclassic.errors import DataError

    if b"\x00" in data:
        raise DataError(f"{where}: a binary file, not text")
    lines = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise DataError(f"{where}: no texts (it is empty)")
    if not any(line.strip() for line in lines):
        raise DataError(f"{where}: no texts (every line is blank)")
    check_utf8(lines, what=f"{where}: line")
    return lines


def _warn_about_blank_lines(texts: list[str]) -> None:
    """Print one warning naming the blank lines, which get an empty row."""
    from emoclassic.cli._common import warn

    blank = [number for number, text in enumerate(texts, 1) if not text.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:5])) + (", ..." if len(blank) > 5 else "")
        plural = "s" if len(blank) > 1 else ""
        warn(f"{len(blank)} blank line{plural} (line{plural} {shown}): an empty row each")


def run(args: argparse.Namespace) -> int:
    """Predict and print, or score a corpus file."""
    from emoclassic.persistence import load_model

    if args.data is not None or args.out is not None:
        return score_file(args)
    texts = read_texts(args)
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    _warn_about_blank_lines(texts)
    predictions = _predict_lines(model, texts, args)
    if args.json:
        print_json(
            [
                {
                    "text": text,
                    "emotions": [{"label": lab, "score": round(s, 6)} for lab, s in pairs],
                }
                for text, pairs in zip(texts, predictions, strict=True)
            ]
        )
        return 0
    for text, pairs in zip(texts, predictions, strict=True):
        line = "  ".join(f"{label} {score:.2f}" for label, score in pairs)
        print(line or (BLANK_ROW if not text.strip() else "(no emotion above the threshold)"))
    return 0


def _predict_lines(model, texts: list[str], args: argparse.Namespace) -> list[list]:
    """Predict the non-blank texts; a blank one gets no emotion (one row per text)."""
    scored = [i for i, text in enumerate(texts) if text.strip()]
    found = model.predict_emotions(
        [texts[i] for i in scored], threshold=args.threshold, top_k=args.top_k
    )
    predictions: list[list] = [[] for _ in texts]
    for i, pairs in zip(scored, found, strict=True):
        predictions[i] = pairs
    return predictions


def score_file(args: argparse.Namespace) -> int:
    """Score ``--data`` into ``--out`` with :func:`emoclassic.corpus.score_corpus`."""
    from emoclassic.corpus import BadRowError, score_corpus
    from emoclassic.corpus.readers import check_source
    from emoclassic.corpus.tables import output_format
    from emoclassic.errors import DataError, UsageError
    from emoclassic.persistence import load_model

    if args.data is None or args.out is None:
        raise UsageError("--data and --out go together")
    if args.texts or args.file is not None or args.json:
        raise UsageError("--data scores a file into --out; drop TEXT, --file and --json")
    check_source(args.data)  # every argument is checked before the model loads
    output_format(args.out)
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    try:
        summary = score_corpus(
            model,
            args.data,
            args.out,
            text_column=args.text_column,
            id_column=args.id_column,
            threshold=args.threshold,
            top_k=args.top_k,
            scores=args.scores,
            bad_rows=args.bad_rows,
            batch_size=args.batch_size,
            n_jobs=args.n_jobs,
            progress=False if args.no_progress else None,
        )
    except BadRowError as exc:
        raise DataError(
            f"{args.data}: row {exc.row}: {exc.reason} (--bad-rows skip or empty goes on; "
            "finished batches are kept and the next run resumes)"
        ) from None
    rate = (summary.rows - summary.resumed_rows) / max(summary.seconds, 1e-9)
    plural = "s" if summary.bad_rows != 1 else ""
    bad = f", {summary.bad_rows:,} bad row{plural} ({args.bad_rows})" if summary.bad_rows else ""
    resumed = f", {summary.resumed_rows:,} from the interrupted run" if summary.resumed_rows else ""
    print(
        f"scored {summary.rows:,} rows{bad}{resumed} in {summary.seconds:.1f} s "
        f"({rate:,.0f} rows/s) -> {summary.output}"
    )
    return 0
