"""Fine-tune a Hugging Face encoder for multi-label emotion classification.

Training runs on :class:`transformers.Trainer`
(:mod:`~emoclassic.transformer.trainer`): a new classification head whose bias
starts at each label's log prior odds; the Trainer's AdamW with a linear
warmup/decay schedule and gradient clipping; dynamic padding by
``DataCollatorWithPadding``; the loss of :mod:`~emoclassic.transformer.losses`
through a ``compute_loss`` override; one evaluation per epoch with the
validation macro ROC-AUC as ``metric_for_best_model``, ``EarlyStoppingCallback``
and ``load_best_model_at_end`` (the best epoch's weights are kept). Per-label
thresholds are then tuned on the validation split with
:func:`emoclassic.thresholds.tune_thresholds`, the same code the classical
models use. On a GPU it trains in bf16 (or fp16 with loss scaling) through
``TrainingArguments``; on the CPU in float32. Launched with ``torchrun`` or
``accelerate launch``, the same code trains on several GPUs or machines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoclassic.datasets import EmotionDataset
from emoclassic.errors import InvalidParameter, ModelError, first_line, require
from emoclassic.thresholds import tune_thresholds
from emoclassic.transformer.checkpoint import (
    ResumePoint,
    open_run_folder,
    run_key,
    start_run_folder,
)
from emoclassic.transformer.losses import (
    DEFAULT_FOCAL_ALPHA,
    DEFAULT_FOCAL_GAMMA,
    LOSSES,
    MAX_POS_WEIGHT,
    make_loss,
    pos_weight_from_counts,
)
from emoclassic.transformer.model import (
    TransformerEmotionModel,
    default_device,
    quiet_transformers,
    sigmoid,
)

__all__ = [
    "DEFAULT_MODEL",
    "TransformerSettings",
    "fit_transformer",
    "is_main_process",
    "load_pretrained",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "distilroberta-base"

#: Environment variables in which launchers give a process its global rank.
_RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")

#: Device kinds the Trainer can be pointed at (a GPU is picked with CUDA_VISIBLE_DEVICES).
DEVICES = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class TransformerSettings:
    """Hyperparameters of a fine-tuning run.

    Parameters
    ----------
    model : str, default="distilroberta-base"
        Hugging Face model id or local folder of any encoder.
    epochs : int, default=5
        Maximum epochs.
    batch_size : int, default=16
        Training texts per step (per device).
    lr : float, default=2e-5
        Peak AdamW learning rate.
    weight_decay : float, default=0.01
        AdamW weight decay (not applied to biases and LayerNorm weights).
    warmup_ratio : float, default=0.1
        Share of the steps with a linear warmup from 0; the rest decays
        linearly to 0.
    loss : {"bce", "pos_weight", "focal"}, default="bce"
        See :mod:`emoclassic.transformer.losses`.
    focal_gamma, focal_alpha : float, default=2.0 and 0.25
        Focal-loss parameters (``focal_alpha=None``: no alpha weighting).
    max_pos_weight : float, default=30.0
        Upper bound of the ``pos_weight`` loss's weights.
    max_length : int, default=128
        Tokens kept per text.
    patience : int, default=3
        Early stopping: epochs without a better validation macro ROC-AUC.
    seed : int, default=42
        Seeds the head's initialisation, dropout and the shuffling.
    eval_batch_size : int, default=64
        Texts per forward pass when scoring.
    max_grad_norm : float, default=1.0
        Gradient clipping.
    device : {"cpu", "cuda", "mps"}, optional
        Where to train; default: the GPU when present, else the CPU. Pick
        one of several GPUs with ``CUDA_VISIBLE_DEVICES``.
    progress : bool or None, default=None
        Progress bars; ``None`` shows them only on a terminal.

    Raises
    ------
    InvalidParameter
        A value out of its range, named by its parameter.

    Examples
    --------
    >>> TransformerSettings(epochs=2, lr=1e-4).epochs
    2
    >>> TransformerSettings(lr=0)
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: lr must be positive, got 0
    """

    model: str = DEFAULT_MODEL
    epochs: int = 5
    batch_size: int = 16
    lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    loss: str = "bce"
    focal_gamma: float = DEFAULT_FOCAL_GAMMA
    focal_alpha: float | None = DEFAULT_FOCAL_ALPHA
    max_pos_weight: float = MAX_POS_WEIGHT
    max_length: int = 128
    patience: int = 3
    seed: int = 42
    eval_batch_size: int = 64
    max_grad_norm: float = 1.0
    device: str | None = None
    progress: bool | None = None

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise InvalidParameter(
                "loss", f"{self.loss!r} is an unknown loss; choose from {', '.join(LOSSES)}"
            )
        for name in ("epochs", "batch_size", "max_length", "patience", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise InvalidParameter(name, f"must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InvalidParameter("lr", f"must be positive, got {self.lr}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise InvalidParameter("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if self.focal_gamma < 0:
            raise InvalidParameter("focal_gamma", f"must be at least 0, got {self.focal_gamma}")
        if self.focal_alpha is not None and not 0.0 <= self.focal_alpha <= 1.0:
            raise InvalidParameter(
                "focal_alpha", f"must be between 0 and 1, got {self.focal_alpha}"
            )
        if self.device is not None and self.device not in DEVICES:
            raise InvalidParameter(
                "device",
                f"must be one of {', '.join(DEVICES)}, got {self.device!r} (pick one of "
                "several GPUs with CUDA_VISIBLE_DEVICES)",
            )


def load_pretrained(model_id: str, label_names: Sequence[str], *, seed: int = 42):
    """Load a tokenizer and a fresh multi-label classification head on an encoder.

    Parameters
    ----------
    model_id : str
        Hub id or local folder.
    label_names : sequence of str
        Becomes ``id2label``/``label2id``; the head has one output per label.
    seed : int, default=42
        Seeds the new head's initialisation.

    Returns
    -------
    model, tokenizer
        The tokenizer pads on the right.

    Raises
    ------
    ModelError
        When the model or tokenizer cannot be loaded (unknown id, no network,
        not a model folder), or the tokenizer has no padding token.

    Examples
    --------
    >>> load_pretrained("/nonexistent/encoder", ["joy"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: cannot load the encoder '/nonexistent/encoder' (...); ...
    """
    transformers = require("transformers", "transformer")
    transformers.set_seed(seed)
    names = list(label_names)
    try:
        with quiet_transformers():
            tokenizer = transformers.AutoTokenizer.from_pretrained(model_id)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                model_id,
                num_labels=len(names),
                problem_type="multi_label_classification",
                id2label=dict(enumerate(names)),
                label2id={name: i for i, name in enumerate(names)},
                ignore_mismatched_sizes=True,
            )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"cannot load the encoder {model_id!r} ({first_line(exc)}); offline, give the path "
            "of a local model folder instead of a Hub id"
        ) from None
    logger.info("loaded %s with a new %d-label classification head", model_id, len(names))
    if tokenizer.pad_token_id is None:
        raise ModelError(f"{model_id}: the tokenizer has no padding token")
    tokenizer.padding_side = "right"
    return model, tokenizer


def is_main_process() -> bool:
    """Whether this is the main process of a (possibly distributed) run.

    Under ``torchrun`` or ``accelerate launch`` every process runs
    :func:`fit_transformer`; only the main one should print and save. Once
    ``torch.distributed`` is set up its rank decides; before, the rank the
    launcher puts in the environment (``RANK``, or the MPI equivalents).

    Examples
    --------
    >>> is_main_process()  # a plain Python process
    True
    """
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        return distributed.get_rank() == 0
    for name in _RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name]) == 0
    return True


def fit_transformer(
    dataset: EmotionDataset,
    settings: TransformerSettings | None = None,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    checkpoint: str | Path | None = None,
    training_args: Mapping[str, Any] | None = None,
    callbacks: Sequence[Any] = (),
) -> TransformerEmotionModel:
    """Fine-tune on ``dataset.train``; stop early and tune thresholds on validation.

    Parameters
    ----------
    dataset : EmotionDataset
        Train and validation splits are used; test is never touched.
    settings : TransformerSettings, optional
        Hyperparameters.
    on_epoch : callable, optional
        Called after each epoch, once its checkpoint is written, with
        ``{"epoch", "train_loss", "val_macro_roc_auc", "best", "seconds"}``
        (the CLI prints it). ``train_loss`` is the mean of the epoch's step losses.
    checkpoint : str or Path, optional
        Folder for the Trainer's per-epoch checkpoints (see
        :mod:`emoclassic.transformer.checkpoint`). When it holds a finished
        epoch of this run, training resumes after the latest one; a folder of
        a run with other settings or data is refused. The caller deletes it
        once the model is saved. Without it, checkpoints (weights only) go to
        a temporary folder that is removed at the end; a distributed run
        should give a folder that every process sees.
    training_args : mapping, optional
        More ``transformers.TrainingArguments`` (``gradient_accumulation_steps``,
        ``report_to``, ``bf16``, ``optim``...). Those that the settings or the
        early stopping and resuming determine are refused.
    callbacks : sequence of transformers.TrainerCallback, optional
        More Trainer callbacks.

    Returns
    -------
    TransformerEmotionModel
        With the best epoch's weights, tuned thresholds and a ``metadata`` dict
        (training settings, precision, best epoch, validation AUC per epoch,
        fit seconds including the per-epoch validation scoring that early
        stopping needs, data fingerprint, ``resumed_after_epoch``).

    Raises
    ------
    ModelError
        The encoder cannot be loaded, or the checkpoint folder is unreadable.
    UsageError
        The checkpoint folder belongs to another run.
    InvalidParameter
        ``training_args`` sets an argument emoclassic sets itself, or the
        device asked for is not available.

    Examples
    --------
    Fine-tune ``distilroberta-base`` (downloaded from the Hub) on GoEmotions;
    rerunning the same call after an interruption resumes it:

    >>> from emoclassic.datasets import load_goemotions
    >>> settings = TransformerSettings(epochs=1, batch_size=32)
    >>> model = fit_transformer(  # doctest: +SKIP
    ...     load_goemotions(), settings, checkpoint="models/run.checkpoint", on_epoch=print
    ... )
    >>> model.metadata["best_epoch"]  # doctest: +SKIP
    1
    """
    from emoclassic.transformer.trainer import check_training_args

    settings = settings or TransformerSettings()
    check_training_args(training_args)
    device = _resolve_device(settings.device)
    model, tokenizer = load_pretrained(settings.model, dataset.label_names, seed=settings.seed)
    emotion_model = TransformerEmotionModel(
        model,
        tokenizer,
        dataset.label_names,
        np.full(len(dataset.label_names), 0.5),
        max_length=settings.max_length,
        batch_size=settings.eval_batch_size,
        device=device,
    )
    _init_head_bias(model, dataset.label_counts("train"), len(dataset.train))
    key = run_key(settings, dataset.fingerprint(), training_args)
    resume = open_run_folder(checkpoint, key) if checkpoint is not None else None
    with contextlib.ExitStack() as stack:
        if checkpoint is not None:
            output_dir = Path(checkpoint)
        else:  # the Trainer needs checkpoints to reload the best epoch
            scratch = tempfile.TemporaryDirectory(prefix="emoclassic-trainer-")
            output_dir = Path(stack.enter_context(scratch))
        trainer, log = _make_trainer(
            emotion_model, dataset, settings, device, output_dir,
            resume=resume, resumable=checkpoint is not None, on_epoch=on_epoch,
            training_args=training_args, callbacks=callbacks,
        )  # fmt: skip
        if checkpoint is not None and resume is None and trainer.args.should_save:
            start_run_folder(output_dir, key)
        with quiet_transformers(keep_warnings=True):  # no bar per checkpoint file
            trainer.train(resume_from_checkpoint=str(resume.checkpoint) if resume else None)
    emotion_model.to(str(trainer.args.device))
    return _finish(emotion_model, dataset, settings, trainer, log, resume, key)


def _resolve_device(device: str | None) -> str:
    """Return the device to train on: the one asked for if available, else GPU or CPU."""
    require("torch", "transformer")
    resolved = device or default_device()
    if resolved == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InvalidParameter("device", "is 'cuda' but torch sees no GPU")
    return resolved


def _make_trainer(
    emotion_model: TransformerEmotionModel,
    dataset: EmotionDataset,
    settings: TransformerSettings,
    device: str,
    output_dir: Path,
    *,
    resume: ResumePoint | None,
    resumable: bool,
    on_epoch: Callable[[dict], None] | None,
    training_args: Mapping[str, Any] | None,
    callbacks: Sequence[Any],
):
    """Build the :class:`~emoclassic.transformer.trainer.EmotionTrainer` and its epoch log."""
    transformers = require("transformers", "transformer")
    from emoclassic.transformer import trainer as parts

    progress = settings.progress if settings.progress is not None else sys.stderr.isatty()
    args = parts.training_arguments(
        settings, output_dir, device=device, progress=progress, resumable=resumable,
        overrides=training_args,
        # A run interrupted after early stopping only reloads its best epoch.
        max_steps=resume.global_step if resume is not None and resume.finished else None,
    )  # fmt: skip
    log = parts.EpochLog(
        resume.epochs if resume else (), resume.fit_seconds if resume else 0.0, on_epoch
    )
    train, validation = dataset.train, dataset.validation
    trainer = parts.EmotionTrainer(
        model=emotion_model.model,
        args=args,
        train_dataset=parts.labelled_rows(emotion_model.encode(train.texts), train.labels),
        eval_dataset=parts.labelled_rows(emotion_model.encode(validation.texts), validation.labels),
        data_collator=transformers.DataCollatorWithPadding(emotion_model.tokenizer),
        processing_class=emotion_model.tokenizer,
        compute_metrics=parts.macro_auc_metric(dataset.label_names),
        callbacks=[transformers.EarlyStoppingCallback(settings.patience), log, *callbacks],
        loss_fn=_make_loss(settings, dataset),
    )
    # The epoch entries replace the log dicts the Trainer would print under its bar.
    trainer.remove_callback(transformers.PrinterCallback)
    if trainer.pop_callback(transformers.ProgressCallback) is not None:
        trainer.add_callback(parts.BarOnlyProgress)
    return trainer, log


def _finish(
    emotion_model: TransformerEmotionModel,
    dataset: EmotionDataset,
    settings: TransformerSettings,
    trainer,
    log,
    resume: ResumePoint | None,
    key: dict[str, Any],
) -> TransformerEmotionModel:
    """Tune thresholds on the kept weights' validation scores; fill in the metadata."""
    validation = dataset.validation
    val_scores = sigmoid(emotion_model.logits(emotion_model.encode(validation.texts)))
    thresholds, threshold_f1 = tune_thresholds(validation.labels, val_scores)
    emotion_model.thresholds = thresholds
    epochs = log.epochs
    best = [entry["epoch"] for entry in epochs if entry["best"]]
    args = trainer.args
    training = asdict(settings) | {"device": emotion_model.device.split(":")[0]}
    if "training_args" in key:  # as JSON, like the run key
        training["training_args"] = key["training_args"]
    emotion_model.metadata = {
        "recipe": "transformer",
        "base_model": settings.model,
        "training": training,
        "precision": "bfloat16" if args.bf16 else "float16" if args.fp16 else "float32",
        "best_epoch": best[-1] if best else len(epochs),  # no defined AUC: the last epoch
        "stopped_early": len(epochs) < settings.epochs,
        "epochs": epochs,
        "val_macro_roc_auc_per_epoch": [entry["val_macro_roc_auc"] for entry in epochs],
        "fit_seconds": round(log.fit_seconds(), 3),
        "resumed_after_epoch": len(resume.epochs) if resume else 0,
        "decision_rule": "per-label thresholds tuned on the validation split (max F1 per label)",
        "threshold_validation_f1": [round(float(v), 6) for v in threshold_f1],
        "seed": settings.seed,
        "data": dataset.provenance(),
    }
    if args.world_size > 1:
        emotion_model.metadata["world_size"] = args.world_size
    return emotion_model


def _init_head_bias(model, positives, n_rows: int) -> None:
    """Start the output layer's bias at each label's log prior odds.

    A fresh head predicts 0.5 for every label, and with 28 rare labels the
    first hundreds of steps would only push the scores down to the base rates.
    Starting from ``log(p_j / (1 - p_j))``, with ``p_j`` the label's training
    frequency clipped to [1e-4, 1 - 1e-4], spends those steps on the text
    instead. The output layer is the last ``Linear`` with one output per label.
    """
    import torch

    n_labels = len(positives)
    heads = [
        module
        for module in model.modules()
        if isinstance(module, torch.nn.Linear) and module.out_features == n_labels
    ]
    if not heads or heads[-1].bias is None:
        return
    prior = np.clip(np.asarray(positives, dtype=np.float64) / max(n_rows, 1), 1e-4, 1 - 1e-4)
    with torch.no_grad():
        heads[-1].bias.copy_(torch.as_tensor(np.log(prior / (1 - prior))))


def _make_loss(settings: TransformerSettings, dataset: EmotionDataset) -> Callable:
    """Return the run's loss; ``pos_weight`` comes from the training label counts."""
    import torch

    pos_weight = None
    if settings.loss == "pos_weight":
        weights = pos_weight_from_counts(
            dataset.label_counts("train"), len(dataset.train), settings.max_pos_weight
        )
        pos_weight = torch.as_tensor(weights, dtype=torch.float32)
    return make_loss(
        settings.loss, pos_weight=pos_weight, gamma=settings.focal_gamma, alpha=settings.focal_alpha
    )
