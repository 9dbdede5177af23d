"""``emoclassic explain MODEL TEXT``: which n-grams pushed each emotion up or down."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoclassic.cli._common import check_utf8, file_path, positive_int, print_json, whole_number

#: Most LIME perturbations: each is one more text to score, held in memory at once.
MAX_LIME_SAMPLES = 100_000


def add_parser(subparsers) -> None:
    """Register the ``explain`` subcommand."""
    parser = subparsers.add_parser(
        "explain",
        help="explain a prediction (exact for linear models, LIME otherwise)",
        description="For a linear model, list each n-gram's exact contribution (tf-idf value "
        "x coefficient) to each predicted emotion's decision value (log-odds), with the "
        "intercept; they add up to the decision value. Other models are explained with LIME "
        "(the 'explain' extra). --global lists the strongest features of every emotion.",
    )
    parser.add_argument("model", type=Path, help="saved model")
    parser.add_argument("text", nargs="?", default=None, help="text to explain")
    parser.add_argument(
        "--global",
        dest="global_",
        action="store_true",
        help="list the strongest features per emotion instead of explaining a text",
    )
    parser.add_argument(
        "--emotion",
        action="append",
        default=None,
        metavar="LABEL",
        help="explain this emotion (repeatable; default: the predicted ones)",
    )
    parser.add_argument("--all", action="store_true", help="explain every emotion")
    parser.add_argument("--top", type=positive_int, default=10, help="features shown (10)")
    parser.add_argument(
        "--method",
        choices=["auto", "linear", "lime"],
        default="auto",
        help="auto (default): exact for linear models, LIME otherwise",
    )
    parser.add_argument(
        "--num-samples",
        type=whole_number(1, MAX_LIME_SAMPLES),
        default=1000,
        help=f"LIME perturbations, 1 to {MAX_LIME_SAMPLES:,} (default: 1000)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--html", type=file_path, default=None, help="write highlighted HTML here")
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load a model saved with another scikit-learn minor version",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Explain and print."""
    from emoclassic.errors import UsageError
    from emoclassic.explain import explain_lime, explain_linear, global_features, write_html
    from emoclassic.persistence import load_model

    if args.global_ == (args.text is not None):
        raise UsageError("give a TEXT to explain, or --global (not both)")
    if args.text is not None and not args.text.strip():
        raise UsageError("the text is empty")
    if args.global_ and args.html is not None:
        raise UsageError("--html explains a text; it does not combine with --global")
    if args.text is not None:
        check_utf8([args.text])
    if args.html is not None:
        from emoclassic.atomic import check_not_foreign, check_output_file

        check_output_file(args.html)
        check_not_foreign(args.html, b"<!DOCTYPE html", "an HTML page")
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    if args.global_:
        return _print_global(global_features(model, args.top), args.json)
    labels = "all" if args.all else args.emotion
    method = args.method
    if method == "auto":
        method = "linear" if model.explains_exactly else "lime"
    if method == "linear":
        explanation = explain_linear(model, args.text, labels)
    else:
        explanation = explain_lime(
            model, args.text, labels, num_features=args.top, num_samples=args.num_samples
        )
    if args.html is not None:
        write_html(explanation, args.html, args.top)
    if args.json:
        print_json(explanation.to_dict())
    else:
        _print_table(explanation, args.top)
    if args.html is not None and not args.json:
        print(f"wrote {args.html}")
    return 0


def _print_table(explanation, k: int) -> None:
    unit = "log-odds" if explanation.method == "linear" else "LIME, probability units"
    for n, emotion in enumerate(explanation.emotions):
        if n:
            print()
        mark = "predicted" if emotion.predicted else "not predicted"
        print(
            f"{emotion.label}: score {emotion.score:.4f} (threshold {emotion.threshold:.4f}, "
            f"{mark}); decision {emotion.decision:+.4f} = intercept {emotion.intercept:+.4f} "
            f"+ features {sum(c.contribution for c in emotion.contributions):+.4f} ({unit})"
        )
        positive, negative = emotion.top(k)
        if not positive and not negative:
            print("  (no known feature in the text)")
            continue
        width = max(len(c.feature) for c in positive + negative)
        width = max(width, len("feature"))
        print(f"  {'feature':<{width}}  {'value':>8}  {'weight':>9}  {'contribution':>12}")
        for c in positive + negative:
            print(
                f"  {c.feature:<{width}}  {c.value:>8.4f}  {c.weight:>+9.4f}  "
                f"{c.contribution:>+12.4f}"
            )


def _print_global(strongest: dict, as_json: bool) -> int:
    if as_json:
        print_json(
            {
                label: {
                    side: [{"feature": f, "weight": w} for f, w in pairs]
                    for side, pairs in d.items()
                }
                for label, d in strongest.items()
            }
        )
        return 0
    for label, sides in strongest.items():
        up = ", ".join(f"{f} {w:+.2f}" for f, w in sides["positive"]) or "-"
        down = ", ".join(f"{f} {w:+.2f}" for f, w in sides["negative"]) or "-"
        print(f"{label}\n  + {up}\n  - {down}")
    return 0
