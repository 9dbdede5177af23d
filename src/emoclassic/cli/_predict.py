"""``emoclassic predict MODEL TEXT...``: emotions above the threshold, with scores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoclassic.cli._common import positive_int, print_json, threshold


def add_parser(subparsers) -> None:
    """Register the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the emotions of texts",
        description="Print, for each text, the emotions above the threshold, highest first, "
        "for example 'gratitude 0.93  approval 0.41'. Texts come from the arguments, "
        "--file (one per line) or standard input.",
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
    return texts


def run(args: argparse.Namespace) -> int:
    """Predict and print."""
    from emoclassic.persistence import load_model

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
