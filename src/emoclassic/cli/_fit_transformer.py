"""``emoclassic fit distilroberta``: fine-tune a transformer comparator.

The ``fit`` command dispatches here for the recipes in
:data:`TRANSFORMER_RECIPES`; this module adds their options to the ``fit``
parser and runs them. Everything heavy is imported inside :func:`run_transformer`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from emoclassic.cli._common import (
    data_inputs,
    focal_alpha,
    load_training_data,
    positive_float,
    positive_int,
    print_fit_report,
)

TRANSFORMER_RECIPES = {
    "distilroberta": "fine-tuned transformer comparator (default distilroberta-base; "
    "--model takes any encoder id or folder; needs the 'transformer' extra)",
}

DEFAULTS = {
    "model": "distilroberta-base",
    "epochs": 5,
    "batch_size": 16,
    "lr": 2e-5,
    "loss": "bce",
    "focal_gamma": 2.0,
    "focal_alpha": 0.25,
    "max_pos_weight": 30.0,
    "max_length": 128,
    "patience": 3,
    "device": None,
}


def add_transformer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the transformer recipes (all default to None = not given)."""
    group = parser.add_argument_group("transformer options")
    group.add_argument(
        "--model",
        default=None,
        help=f"Hugging Face encoder id or local folder (default: {DEFAULTS['model']})",
    )
    group.add_argument("--epochs", type=positive_int, default=None, help="maximum epochs (5)")
    group.add_argument("--batch-size", type=positive_int, default=None, help="batch size (16)")
    group.add_argument("--lr", type=positive_float, default=None, help="AdamW peak lr (2e-5)")
    group.add_argument(
        "--loss",
        choices=["bce", "pos_weight", "focal"],
        default=None,
        help="bce (default), pos_weight (neg/pos per label, capped) or focal",
    )
    group.add_argument("--focal-gamma", type=float, default=None, help="focal loss gamma (2.0)")
    group.add_argument(
        "--focal-alpha", type=focal_alpha, default=None, help="focal loss alpha or 'none' (0.25)"
    )
    group.add_argument(
        "--max-pos-weight", type=positive_float, default=None, help="pos_weight cap (30)"
    )
    group.add_argument(
        "--max-length", type=positive_int, default=None, help="tokens kept per text (128)"
    )
    group.add_argument(
        "--patience",
        type=positive_int,
        default=None,
        help="stop after this many epochs without a better validation macro ROC-AUC (3)",
    )
    group.add_argument(
        "--device",
        default=None,
        help="cpu, cuda or mps (default: cuda if present; pick a GPU with CUDA_VISIBLE_DEVICES)",
    )


def settings_from_args(args: argparse.Namespace):
    """Build :class:`~emoclassic.transformer.training.TransformerSettings` from the options."""
    from emoclassic.transformer.training import TransformerSettings

    values = {name: getattr(args, name) for name in DEFAULTS}
    values = {name: DEFAULTS[name] if v is None else v for name, v in values.items()}
    if values["focal_alpha"] == "none":
        values["focal_alpha"] = None
    return TransformerSettings(
        **values, seed=args.seed, progress=False if args.no_progress else None
    )


def run_transformer(args: argparse.Namespace) -> int:
    """Fine-tune, report and save.

    Under ``torchrun`` or ``accelerate launch`` every process trains; only the
    main one prints, saves the model and removes the checkpoint folder.
    """
    from emoclassic.atomic import check_not_an_input, check_replaceable_folder

    _require_transformer_extra()
    from emoclassic.persistence import check_label_names
    from emoclassic.reporting import report_fit
    from emoclassic.transformer.saving import save_transformer_model
    from emoclassic.transformer.training import fit_transformer, is_main_process

    settings = settings_from_args(args)
    out = Path(args.out) if args.out else Path("models") / args.recipe
    check_replaceable_folder(out)  # fail now, not after training
    checkpoint = out.with_name(out.name + ".checkpoint")
    files, folders = data_inputs(args.data)
    for target in (out, checkpoint):
        check_not_an_input(target, files=files, folders=folders)
    main_process = is_main_process()
    say = _printer(main_process)
    dataset = load_training_data(args) if main_process else _quietly(load_training_data, args)
    check_label_names(dataset.label_names, dataset.source)
    say(
        f"fine-tuning {settings.model!r}: up to {settings.epochs} epoch(s), batch "
        f"{settings.batch_size}, lr {settings.lr:g}, loss {settings.loss}, max_length "
        f"{settings.max_length}, early stopping on validation macro ROC-AUC "
        f"(patience {settings.patience})"
    )
    if checkpoint.exists():
        say(f"resuming from {checkpoint} (delete it to start over)")
    else:
        say(f"checkpoint after every epoch: {checkpoint} (rerun the command to resume)")
    model = fit_transformer(dataset, settings, on_epoch=_print_epoch, checkpoint=checkpoint)
    if not main_process:
        return 0
    say(
        f"best epoch: {model.metadata['best_epoch']}  device: {model.device} "
        f"({model.metadata['precision']})"
    )
    say(f"fit time: {model.metadata['fit_seconds']:.1f} s")
    report = report_fit(model, dataset)
    print_fit_report(report)
    model.metadata["metrics"] = report.metrics
    sidecar = save_transformer_model(model, out)
    shutil.rmtree(checkpoint, ignore_errors=True)  # the finished model replaces it
    say(f"saved {out} (sidecar {sidecar})")
    return 0


def _require_transformer_extra() -> None:
    """Raise the one-line install hint when torch or transformers is missing."""
    from emoclassic.errors import require

    require("torch", "transformer")
    require("transformers", "transformer")


def _printer(main_process: bool):
    """``print`` with a flush on the main process; nothing on the others."""

    def say(text: str) -> None:
        if main_process:
            print(text, flush=True)

    return say


def _quietly(function, *args):
    """Call ``function`` with its standard output discarded."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args)


def _print_epoch(entry: dict) -> None:
    """Print one epoch (``fit_transformer`` calls it on the main process only)."""
    mark = "  (best)" if entry["best"] else ""
    print(
        f"epoch {entry['epoch']}: train loss {entry['train_loss']:.4f}, validation macro "
        f"ROC-AUC {entry['val_macro_roc_auc']:.4f}, {entry['seconds']:.1f} s{mark}",
        flush=True,
    )
