"""``emoclassic fit prado``: train a PRADO/pQRNN-style projection network.

The ``fit`` command dispatches here for the recipes in :data:`PRADO_RECIPES`;
:func:`add_prado_arguments` adds their options to a parser that already has
the data arguments (:func:`emoclassic.cli._common.add_data_arguments`), and
:func:`run_prado` runs them. Every default comes from
:class:`~emoclassic.prado.settings.PradoSettings`; an option left out keeps
the library's default. Everything heavy is imported inside :func:`run_prado`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoclassic.cli._common import (
    MIN_TRAINING_ROWS,
    data_inputs,
    focal_alpha,
    integer,
    load_training_data,
    number,
    print_fit_report,
    seed,
    whole_number,
)
from emoclassic.prado.settings import ENCODERS, WEIGHTS_DTYPES, PradoSettings
from emoclassic.transformer.losses import LOSSES

__all__ = ["PRADO_RECIPES", "add_prado_arguments", "run_prado", "settings_from_args"]

PRADO_RECIPES = {
    "prado": "projection network: hashed ternary token projections, no vocabulary, "
    "under 1 MB (--encoder prado|qrnn; needs the 'transformer' extra)",
}

#: The library defaults the options show (and fall back to when left out).
DEFAULTS = PradoSettings.defaults()


#: The network's and the fit's options: (name, how argparse parses it, help). The
#: library checks every range (one rule, in one place); the parsers only read numbers.
_OPTIONS = (
    (
        "encoder",
        {"choices": ENCODERS},
        "prado: projected convolutions pooled by attention; qrnn: a bidirectional "
        "quasi-recurrent layer",
    ),
    ("feature_size", {"type": integer}, "ternary hash values per token"),
    (
        "char_ngram_range",
        {"type": integer, "nargs": 2, "metavar": ("MIN", "MAX")},
        "character n-gram lengths hashed into each token's projection",
    ),
    (
        "word_ngram_range",
        {"type": integer, "nargs": 2, "metavar": ("MIN", "MAX")},
        "token window widths (prado: a window map each; qrnn: the widest)",
    ),
    ("max_tokens", {"type": integer}, "tokens kept per text"),
    ("hidden_size", {"type": integer}, "width of the dense layer on each token's projection"),
    ("channels", {"type": integer}, "features per window width (prado) or direction (qrnn)"),
    ("dropout", {"type": number}, "dropout rate, in [0, 1)"),
    ("epochs", {"type": integer}, "maximum epochs"),
    ("batch_size", {"type": integer}, "training texts per step"),
    ("lr", {"type": number}, "peak AdamW learning rate"),
    ("weight_decay", {"type": number}, "AdamW weight decay"),
    ("loss", {"choices": LOSSES}, "training loss"),
    ("focal_gamma", {"type": number}, "focal loss gamma"),
    ("focal_alpha", {"type": focal_alpha}, "focal loss alpha, or 'none'"),
    ("max_pos_weight", {"type": number}, "cap of the pos_weight loss's weights"),
    ("patience", {"type": integer}, "epochs without a better validation macro ROC-AUC"),
    ("weights_dtype", {"choices": WEIGHTS_DTYPES}, "precision of the saved weights"),
    ("threads", {"type": integer}, "torch CPU threads during the fit"),
)


def _default(name: str) -> str:
    value = DEFAULTS[name]
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return "none" if value is None else str(value)


def _add(parser, *flags: str, **kwargs) -> None:
    """Add an option unless the parser has it already (a shared ``fit`` option such as --seed)."""
    try:
        parser.add_argument(*flags, **kwargs)
    except argparse.ArgumentError:
        pass


def add_prado_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fit prado`` to ``parser`` (each defaults to None: not given).

    Besides the network's options it adds the run's own (``--seed``,
    ``--limit``, ``--out``, ``--no-progress``, ``--device``) unless the parser
    already has them.

    Examples
    --------
    >>> from emoclassic.cli._common import add_data_arguments
    >>> parser = argparse.ArgumentParser()
    >>> add_data_arguments(parser)
    >>> add_prado_arguments(parser)
    >>> args = parser.parse_args(["--encoder", "qrnn", "--char-ngram-range", "3", "5"])
    >>> settings_from_args(args).encoder, settings_from_args(args).char_ngram_range
    ('qrnn', (3, 5))
    """
    group = parser.add_argument_group("projection network options (fit prado)")
    for name, parsing, text in _OPTIONS:
        help_text = f"{text} (default: {_default(name)})"
        _add(group, _flag(name), default=None, help=help_text, **parsing)
        if name == "char_ngram_range":
            _add(
                group,
                "--no-char-ngrams",
                action="store_true",
                help="hash each token alone, without its character n-grams",
            )
    _add(group, "--device", default=None, help="torch device (default: cuda if present)")
    _add(parser, "--seed", type=seed, default=42, help="random seed (default: 42)")
    _add(
        parser,
        "--limit",
        type=whole_number(MIN_TRAINING_ROWS),
        default=None,
        metavar="N",
        help=f"use only the first N training rows (at least {MIN_TRAINING_ROWS})",
    )
    _add(
        parser,
        "--out",
        default=None,
        help="model folder (default: models/prado; models/prado-qrnn with --encoder qrnn)",
    )
    _add(parser, "--no-progress", action="store_true", help="hide the progress bars")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def settings_from_args(args: argparse.Namespace) -> PradoSettings:
    """Build :class:`PradoSettings` from the options given; the rest keep the library default.

    Raises
    ------
    InvalidParameter
        A value the library refuses (the command line names its flag).
    """
    names = [name for name, _, _ in _OPTIONS] + ["device"]
    given = {name: getattr(args, name, None) for name in names}
    values = {name: value for name, value in given.items() if value is not None}
    for name in ("char_ngram_range", "word_ngram_range"):
        if name in values:
            values[name] = tuple(values[name])
    if getattr(args, "no_char_ngrams", False):
        values["char_ngram_range"] = None
    if values.get("focal_alpha") == "none":
        values["focal_alpha"] = None
    progress = False if getattr(args, "no_progress", False) else None
    return PradoSettings(**values, seed=getattr(args, "seed", 42), progress=progress)


def run_prado(args: argparse.Namespace) -> int:
    """Train, report and save; return the exit status."""
    from emoclassic.atomic import check_not_an_input, check_replaceable_folder
    from emoclassic.errors import require

    settings = settings_from_args(args)
    require("torch", "transformer")
    require("safetensors", "transformer")
    from emoclassic.compare import size_on_disk
    from emoclassic.persistence import check_label_names
    from emoclassic.prado.model import torch_threads
    from emoclassic.prado.saving import save_prado_model
    from emoclassic.prado.training import fit_prado
    from emoclassic.reporting import report_fit

    default_name = "prado" if settings.encoder == "prado" else f"prado-{settings.encoder}"
    out = Path(args.out) if getattr(args, "out", None) else Path("models") / default_name
    check_replaceable_folder(out)  # fail now, not after training
    checkpoint = out.with_name(out.name + ".checkpoint")
    files, folders = data_inputs(args.data)
    for target in (out, checkpoint):
        check_not_an_input(target, files=files, folders=folders)
    dataset = load_training_data(args)
    check_label_names(dataset.label_names, dataset.source)
    _print_plan(settings, checkpoint)
    model = fit_prado(dataset, settings, on_epoch=_print_epoch, checkpoint=checkpoint)
    print(
        f"best epoch: {model.metadata['best_epoch']}  device: {model.device}  "
        f"weights: {model.n_parameters():,} ({settings.weights_dtype})"
    )
    print(f"fit time: {model.metadata['fit_seconds']:.1f} s")
    with torch_threads(settings.threads):
        report = report_fit(model, dataset)
    print_fit_report(report)
    model.metadata["metrics"] = report.metrics
    sidecar = save_prado_model(model, out)
    checkpoint.unlink(missing_ok=True)  # the finished model replaces it
    print(f"saved {out} ({size_on_disk(out) / 1e6:.2f} MB; sidecar {sidecar})")
    return 0


def _print_plan(settings: PradoSettings, checkpoint: Path) -> None:
    """Say what is about to be trained, and where the checkpoint goes."""
    grams = settings.char_ngram_range
    print(
        f"training a projection network ({settings.encoder}): {settings.feature_size} ternary "
        f"features per token, character n-grams {'none' if grams is None else grams}, up to "
        f"{settings.epochs} epoch(s), batch {settings.batch_size}, lr {settings.lr:g}, loss "
        f"{settings.loss}; early stopping on validation macro ROC-AUC (patience "
        f"{settings.patience}); thresholds tuned on the validation split"
    )
    if checkpoint.exists():
        print(f"resuming from {checkpoint} (delete it to start over)")
    else:
        print(f"checkpoint after every epoch: {checkpoint} (rerun the command to resume)")
    sys.stdout.flush()


def _print_epoch(entry: dict) -> None:
    """Print one line per finished epoch."""
    mark = "  (best)" if entry["best"] else ""
    auc = entry["val_macro_roc_auc"]
    print(
        f"epoch {entry['epoch']}: train loss {entry['train_loss']:.4f}, validation macro "
        f"ROC-AUC {'undefined' if auc is None else f'{auc:.4f}'}, {entry['seconds']:.1f} s{mark}"
    )
    sys.stdout.flush()
