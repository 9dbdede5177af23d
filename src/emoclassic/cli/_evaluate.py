"""``emoclassic evaluate MODEL``: the full metrics report on one split."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoclassic.cli._common import add_data_arguments, load_data, print_json, threshold


def add_parser(subparsers) -> None:
    """Register the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="print metrics of a saved model on a split",
        description="Subset accuracy, micro/macro precision, recall, F1 and ROC-AUC, and a "
        "per-emotion table, for a saved model on one split.",
    )
    parser.add_argument(
        "model", type=Path, help="saved model: a .joblib or .skops file, or a transformer folder"
    )
    add_data_arguments(parser)
    parser.add_argument("--split", default="test", help="split to evaluate (default: test)")
    parser.add_argument(
        "--threshold",
        type=threshold,
        default="tuned",
        help="'tuned' (the model's per-label thresholds, default) or one cut-off such as "
        "0.2 (the reference protocol)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--plots",
        type=Path,
        default=None,
        metavar="DIR",
        help="write per-emotion ROC curves and an F1 bar chart (PNG) to DIR",
    )
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load a model saved with another scikit-learn minor version",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print."""
    from emoclassic.errors import DataError
    from emoclassic.evaluation import evaluate_scores
    from emoclassic.persistence import load_model

    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    dataset = load_data(args)
    if tuple(dataset.label_names) != tuple(model.label_names):
        raise DataError(
            f"{dataset.source}: its labels differ from the model's "
            f"({len(dataset.label_names)} vs {len(model.label_names)} labels)"
        )
    if args.plots is not None:
        from emoclassic.errors import require
        from emoclassic.plots import check_plot_folder

        require("matplotlib", "plots")
        check_plot_folder(args.plots, model.label_names)
    split = dataset.split(args.split)
    scores = model.predict_proba(split.texts)
    rule = str(args.threshold)
    report = evaluate_scores(
        split.labels, scores, model.label_names, model.resolve_thresholds(args.threshold), rule=rule
    )
    if args.plots is not None:
        from emoclassic.plots import write_evaluation_plots

        written = write_evaluation_plots(split.labels, scores, report, args.plots)
    if args.json:
        payload = {"model": str(args.model), "split": args.split, **report.to_dict()}
        print_json(payload)
    else:
        print(f"model {args.model} on {dataset.source} [{args.split}]")
        print(report.format())
    if args.plots is not None and not args.json:
        print(f"wrote {len(written)} figures to {args.plots}")
    return 0
