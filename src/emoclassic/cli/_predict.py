"""``emoclassic predict MODEL TEXT...``: emotions above the threshold, with scores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoclassic.cli._common import (
    check_utf8,
    file_path,
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
        "--file (one per line) or standard input. To score a corpus file in bounded memory, "
        "give --data INPUT --out OUTPUT instead.",
    )
    parser.add_argument(
        "model", type=Path, help="saved model: a .joblib or .skops file, or a transformer folder"
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    parser.add_argument("--file", type=Path, default=None, help="file with one text per line")
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


def read_texts(args: argparse.Namespace) -> list[str]:
    """Collect texts from the arguments, ``--file`` or standard input."""
    from emoclassic.errors import DataError, UsageError

    if args.texts and args.file is not None:
        raise UsageError("give texts as arguments or with --file, not both")
    if args.texts:
        texts = list(args.texts)
    elif args.file is not None:
        if not args.file.exists():
            raise DataError(f"{args.file}: no such file")
        if args.file.is_dir():
            raise DataError(f"{args.file}: is a folder; give a text file, one text per line")
        try:
            content = args.file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{args.file}: not UTF-8 text") from None
        except OSError as exc:
            raise DataError(f"{args.file}: cannot be read ({exc.strerror})") from None
        if "\x00" in content:
            raise DataError(f"{args.file}: a binary file, not text")
        texts = [line for line in content.splitlines() if line.strip()]
        if not texts:
            raise DataError(f"{args.file}: no texts (the file is empty)")
    elif not sys.stdin.isatty():
        texts = [line for line in sys.stdin.read().splitlines() if line.strip()]
    else:
        raise UsageError("no texts: pass TEXT arguments, --file or standard input")
    if not texts:
        raise UsageError("no texts to classify")
    blank = [i for i, text in enumerate(texts, 1) if not text.strip()]
    if blank:
        raise UsageError(f"text {blank[0]} is empty")
    check_utf8(texts)
    return texts


def run(args: argparse.Namespace) -> int:
    """Predict and print, or score a corpus file."""
    from emoclassic.persistence import load_model

    if args.data is not None or args.out is not None:
        return score_file(args)
    texts = read_texts(args)
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    predictions = model.predict_emotions(texts, threshold=args.threshold, top_k=args.top_k)
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
    for pairs in predictions:
        line = "  ".join(f"{label} {score:.2f}" for label, score in pairs)
        print(line or "(no emotion above the threshold)")
    return 0


def score_file(args: argparse.Namespace) -> int:
    """Score ``--data`` into ``--out`` with :func:`emoclassic.corpus.score_corpus`."""
    from emoclassic.corpus import BadRowError, score_corpus
    from emoclassic.corpus.readers import detect_format
    from emoclassic.corpus.tables import output_format
    from emoclassic.errors import DataError, UsageError
    from emoclassic.persistence import load_model

    if args.data is None or args.out is None:
        raise UsageError("--data and --out go together")
    if args.texts or args.file is not None or args.json:
        raise UsageError("--data scores a file into --out; drop TEXT, --file and --json")
    detect_format(args.data)  # every argument is checked before the model loads
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
