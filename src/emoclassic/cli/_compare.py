"""``emoclassic compare MODEL...``: saved models side by side on one split."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoclassic.cli._common import (
    add_data_arguments,
    file_path,
    load_data,
    positive_int,
    print_json,
)


def add_parser(subparsers) -> None:
    """Register the ``compare`` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="compare saved models: F1, ROC-AUC, size, speed and fit time",
        description="Score any number of saved models (classical .joblib files and transformer "
        "folders) on one split with the same evaluation: macro and micro F1 at each model's "
        "tuned thresholds and at 0.2, macro ROC-AUC, size on disk, predict throughput and "
        "single-text latency (median) measured now on this machine's CPU, and the fit time "
        "from the sidecar.",
    )
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL", help="saved models")
    add_data_arguments(parser)
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument(
        "--latency-samples",
        type=positive_int,
        default=20,
        help="single-text calls behind the median latency (default: 20)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--plot",
        type=file_path,
        default=None,
        metavar="FILE",
        help="write a per-emotion F1 chart (PNG)",
    )
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load models saved with other library versions",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, compare and print."""
    from emoclassic.compare import compare_models, format_comparison
    from emoclassic.errors import UsageError
    from emoclassic.persistence import load_model
    from emoclassic.plots import PNG_SIGNATURE

    names = [str(path) for path in args.models]
    if len(set(names)) != len(names):
        raise UsageError("a model is listed twice")
    if args.plot is not None:
        from emoclassic.atomic import check_not_foreign, check_output_file
        from emoclassic.errors import require

        require("matplotlib", "plots")
        if args.plot.suffix.lower() != ".png":
            raise UsageError(f"{args.plot}: the chart is a PNG; give a name ending in .png")
        check_output_file(args.plot)
        check_not_foreign(args.plot, PNG_SIGNATURE, "a PNG figure")
    models = {}
    for name, path in zip(names, args.models, strict=True):
        model = load_model(path, allow_version_mismatch=args.allow_version_mismatch)
        models[name] = model.use_cpu()  # every model is timed on the CPU
    dataset = load_data(args)
    rows = compare_models(
        models,
        dataset,
        args.split,
        paths=dict(zip(names, args.models, strict=True)),
        latency_samples=args.latency_samples,
    )
    if args.plot is not None:
        from emoclassic.plots import write_f1_comparison

        write_f1_comparison(rows, args.plot)
    if args.json:
        print_json(rows)
        return 0
    print(f"{dataset.source} [{args.split}], {rows[0]['n_texts']:,} texts; measured on the CPU")
    print(format_comparison(rows))
    print(
        "macF1/micF1: each model's tuned per-label thresholds; @.2: one 0.2 cut-off; "
        "speed: predict throughput relative to the first model; p50 ms: median single-text "
        "latency; fit s: from the sidecar"
    )
    if args.plot is not None:
        print(f"wrote {args.plot}")
    return 0
