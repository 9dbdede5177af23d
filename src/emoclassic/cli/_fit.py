"""``emoclassic fit RECIPE``: grid search, thresholds, metrics table, saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoclassic.cli._common import (
    MIN_TRAINING_ROWS,
    add_data_arguments,
    data_inputs,
    integer,
    load_training_data,
    number,
    print_fit_report,
    seed,
    whole_number,
)
from emoclassic.cli._fit_prado import PRADO_RECIPES, add_prado_arguments, run_prado
from emoclassic.cli._fit_transformer import (
    TRANSFORMER_RECIPES,
    add_transformer_arguments,
    run_transformer,
)


def add_parser(subparsers) -> None:
    """Register the ``fit`` subcommand, with one sub-parser (and option set) per recipe."""
    from emoclassic.pipelines import RECIPES

    parser = subparsers.add_parser(
        "fit",
        help="train a recipe, print its metrics and save the model",
        description="Train a recipe on the train split, tune per-label thresholds on held-out "
        "predictions, print metrics on validation and test, and save the model. Each recipe "
        "takes its own options: see emoclassic fit RECIPE --help.",
    )
    recipes = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for name, recipe in RECIPES.items():
        classical = recipes.add_parser(
            name,
            help=recipe.summary,
            description=f"{recipe.summary}. Grid-search the recipe on the train split (or fit "
            "its default parameters), tune per-label thresholds on the validation split or on "
            "out-of-fold predictions on train, print metrics and save the model.",
        )
        add_classical_arguments(classical)
        classical.set_defaults(run=run, parser=classical)
    for name, summary in TRANSFORMER_RECIPES.items():
        transformer = recipes.add_parser(name, help=summary, description=summary)
        add_data_arguments(transformer)
        _add_limit(transformer)
        transformer.add_argument("--seed", type=seed, default=42, help="random seed (default: 42)")
        transformer.add_argument(
            "--out", default=None, help=f"model folder (default: models/{name})"
        )
        transformer.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        add_transformer_arguments(transformer)
        transformer.set_defaults(run=run_transformer, parser=transformer)
    for name, summary in PRADO_RECIPES.items():
        prado = recipes.add_parser(name, help=summary, description=summary)
        add_data_arguments(prado)
        add_prado_arguments(prado)
        prado.set_defaults(run=run_prado, parser=prado)


def _add_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        type=whole_number(MIN_TRAINING_ROWS),
        default=None,
        metavar="N",
        help=f"use only the first N training rows (at least {MIN_TRAINING_ROWS}); a warning "
        "names the labels left without a positive example",
    )


def add_classical_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the scikit-learn recipes (``best``, ``lr``, ``nb``)."""
    add_data_arguments(parser)
    _add_limit(parser)
    _add_search_arguments(parser)
    _add_threshold_arguments(parser)
    parser.add_argument(
        "--n-jobs",
        type=integer,
        default=-1,
        help="parallel fits, not 0: grid-search candidates, or per-emotion fits when there is "
        "no grid (default: -1, all cores; 1: sequential)",
    )
    parser.add_argument("--seed", type=seed, default=42, help="random seed (default: 42)")
    _add_output_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scoring",
        default="f1_micro",
        choices=["f1_micro", "f1_macro", "f1_samples", "f1_weighted"],
        help="grid-search metric (default: f1_micro, as in the reference recipe)",
    )
    parser.add_argument(
        "--cv", type=integer, default=3, help="grid-search folds, at least 2 (default: 3)"
    )
    search = parser.add_mutually_exclusive_group()
    search.add_argument(
        "--search",
        dest="search",
        action="store_true",
        default=None,
        help="run the recipe's grid (default for lr and nb)",
    )
    search.add_argument(
        "--no-search",
        dest="search",
        action="store_false",
        help="fit the recipe's default parameters once (default for best)",
    )
    parser.add_argument(
        "--backend",
        choices=["loky", "dask"],
        default="loky",
        help="where the grid-search fits run: local processes (default) or a Dask cluster "
        "(needs the 'dask' extra)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with --backend dask: "
        "a local cluster on 127.0.0.1)",
    )


def _add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--thresholds-from",
        choices=["validation", "cross-validation"],
        default=None,
        help="where the per-label thresholds are tuned: the validation split, or "
        "out-of-fold predictions on train (fits the pipeline --threshold-folds more times; "
        "the validation split then stays an unbiased check). Default: cross-validation for "
        "best, validation for lr and nb",
    )
    parser.add_argument(
        "--threshold-folds",
        type=integer,
        default=None,
        help="folds of the out-of-fold threshold predictions, at least 2 (default: 5)",
    )
    parser.add_argument(
        "--synthetic-weight",
        type=number,
        default=None,
        metavar="W",
        help="weight of the generated rows of an augmented dataset (--data from "
        "`emoclassic augment`) in every fit, 0 or more; 0 drops them (default: 1)",
    )


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default=None,
        help="model file (default: models/RECIPE.joblib, or .skops with --format skops); its "
        "sidecar NAME.json goes beside it. Neither may be a data file or lie directly in the "
        "--data folder (a sub-folder is fine), nor take another model's sidecar",
    )
    parser.add_argument(
        "--format",
        choices=["joblib", "skops"],
        default=None,
        help="model file format: joblib (default; pickle, load only files you trust) or "
        "skops (loads an allow-list of types only; needs the 'skops' extra)",
    )


def run(args: argparse.Namespace) -> int:
    """Fit a classical recipe, report and save."""
    from emoclassic.persistence import check_label_names, check_model_path, save_model
    from emoclassic.pipelines import get_recipe
    from emoclassic.reporting import report_fit
    from emoclassic.training import FitSettings, fit_model

    settings = FitSettings(
        scoring=args.scoring,
        cv=args.cv,
        n_jobs=args.n_jobs,
        seed=args.seed,
        search=args.search,
        progress=False if args.no_progress else None,
        backend=None if args.backend == "loky" else args.backend,
        scheduler=args.scheduler,
        thresholds_from=args.thresholds_from,
        **({} if args.threshold_folds is None else {"threshold_folds": args.threshold_folds}),
        **({} if args.synthetic_weight is None else {"synthetic_weight": args.synthetic_weight}),
    )
    from emoclassic.atomic import names_a_folder

    if args.out is not None and names_a_folder(args.out):
        from emoclassic.errors import UsageError

        raise UsageError(f"{args.out!r} names a folder; give a model file path")
    out = (
        Path(args.out) if args.out else Path("models") / f"{args.recipe}.{args.format or 'joblib'}"
    )
    if args.format == "skops" or out.suffix == ".skops":
        from emoclassic.errors import require

        require("skops.io", "skops")  # fail before the fit, not after
    files, folders = data_inputs(args.data)
    # Fail now, not after the fit: a bad path, another model's sidecar, the data itself.
    check_model_path(out, args.format, input_files=files, input_folders=folders)
    dataset = load_training_data(args)
    check_label_names(dataset.label_names, dataset.source)
    if dataset.train.has_synthetic:
        n_synthetic = int(dataset.train.synthetic.sum())
        weight = settings.synthetic_weight
        print(
            f"{n_synthetic:,} generated training rows: "
            + ("dropped" if weight == 0 else f"weight {weight:g}, grouped with their sources")
        )
    elif args.synthetic_weight is not None:
        print("--synthetic-weight: the training split has no generated rows; nothing to weight")
    recipe = get_recipe(args.recipe)
    if settings.searches(recipe):
        print(f"fitting recipe {args.recipe!r} (grid scored by {args.scoring}, {args.cv}-fold CV)")
    else:
        print(f"fitting recipe {args.recipe!r} with its default parameters (no grid search)")
    if settings.threshold_source(recipe) == "cross-validation":
        folds = settings.threshold_folds
        print(
            f"per-label thresholds: {folds}-fold out-of-fold predictions on train "
            f"({folds} extra fits)"
        )
    else:
        print("per-label thresholds: the validation split")
    sys.stdout.flush()
    model = fit_model(args.recipe, dataset, settings)
    search = model.metadata["search"]
    if search["searched"]:
        print(
            f"best parameters: {search['best_params']}  "
            f"(CV {args.scoring} {search['best_score']:.4f})"
        )
    print(f"fit time: {model.metadata['fit_seconds']:.1f} s")

    report = report_fit(model, dataset)
    print_fit_report(report)
    model.metadata["metrics"] = report.metrics
    sidecar = save_model(model, out, file_format=args.format)
    print(f"saved {out} (sidecar {sidecar})")
    return 0
