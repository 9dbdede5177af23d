"""What :func:`~emoclassic.transformer.training.fit_transformer` hands to ``transformers.Trainer``.

- :class:`EmotionTrainer`: a ``Trainer`` whose ``compute_loss`` applies one of
  emoclassic's multi-label losses (:mod:`~emoclassic.transformer.losses`:
  BCE, ``pos_weight`` BCE, focal) to the logits.
- :class:`EpochLog`: a callback that keeps one entry per epoch (train loss,
  validation macro ROC-AUC, whether it is the best so far, seconds), marks each
  finished checkpoint complete (:mod:`~emoclassic.transformer.checkpoint`) and
  then calls the caller's ``on_epoch``.
- :class:`BarOnlyProgress`: the Trainer's tqdm bar without its printed log dicts.
- :func:`training_arguments`, :func:`macro_auc_metric`, :func:`labelled_rows`:
  the ``TrainingArguments``, ``compute_metrics`` and datasets of a run.

transformers is imported on first use: the classes are built when first
looked up (module ``__getattr__``), so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoclassic.errors import InvalidParameter, require

__all__ = [
    "METRIC",
    "BarOnlyProgress",
    "EmotionTrainer",
    "EpochLog",
    "check_training_args",
    "labelled_rows",
    "macro_auc_metric",
    "training_arguments",
]

# Built on first lookup by the module ``__getattr__`` (they subclass transformers classes).
EmotionTrainer: type
EpochLog: type
BarOnlyProgress: type

#: The validation metric that picks the best epoch and drives early stopping.
METRIC = "macro_roc_auc"

#: ``TrainingArguments`` that emoclassic sets itself: from the settings, or because
#: the per-epoch evaluation, early stopping, best-model loading and resuming need them.
RESERVED_ARGUMENTS = frozenset(
    {
        "output_dir",
        "num_train_epochs",
        "max_steps",
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "learning_rate",
        "weight_decay",
        "warmup_steps",
        "max_grad_norm",
        "seed",
        "use_cpu",
        "disable_tqdm",
        "eval_strategy",
        "save_strategy",
        "logging_strategy",
        "eval_on_start",
        "metric_for_best_model",
        "greater_is_better",
        "load_best_model_at_end",
        "save_only_model",
        "restore_callback_states_from_checkpoint",
    }
)


def training_arguments(
    settings,
    output_dir: str | Path,
    *,
    device: str,
    progress: bool,
    resumable: bool,
    overrides: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
):
    """Build the run's ``transformers.TrainingArguments``.

    One evaluation, log and checkpoint per epoch; the best epoch by validation
    macro ROC-AUC is reloaded at the end; the best and the latest checkpoints are
    kept. On a GPU, bf16 where it is supported, else fp16; float32 on the CPU.

    Parameters
    ----------
    settings : TransformerSettings
        Epochs, batch sizes, learning rate, weight decay, warmup share, gradient
        clipping and seed.
    output_dir : str or Path
        Where the Trainer writes its checkpoints.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"mps"``.
    progress : bool
        Show the Trainer's progress bars.
    resumable : bool
        Save optimizer, scheduler and random-number states too, so that the run
        can resume; ``False`` saves the weights only.
    overrides : mapping, optional
        More ``TrainingArguments`` (for example ``gradient_accumulation_steps``,
        ``report_to="tensorboard"``, ``bf16=False``), applied last.
    max_steps : int, optional
        End training at this optimizer step instead of after ``settings.epochs``
        (a resumed run that had already stopped early: no step is left).

    Returns
    -------
    transformers.TrainingArguments

    Raises
    ------
    InvalidParameter
        ``overrides`` sets an argument listed in :data:`RESERVED_ARGUMENTS`.

    Examples
    --------
    >>> from emoclassic.transformer.training import TransformerSettings
    >>> args = training_arguments(
    ...     TransformerSettings(epochs=2), "run", device="cpu", progress=False, resumable=True
    ... )
    >>> args.num_train_epochs, args.metric_for_best_model, args.load_best_model_at_end
    (2, 'macro_roc_auc', True)
    >>> training_arguments(
    ...     TransformerSettings(), "run", device="cpu", progress=False, resumable=True,
    ...     overrides={"learning_rate": 1.0},
    ... )
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: training_args sets learning_rate, which emoclassic sets itself (from the settings or for early stopping and resuming)
    """  # noqa: E501
    transformers = require("transformers", "transformer")
    check_training_args(overrides)
    values = {
        "output_dir": str(output_dir),
        "num_train_epochs": settings.epochs,
        "per_device_train_batch_size": settings.batch_size,
        "per_device_eval_batch_size": settings.eval_batch_size,
        "learning_rate": settings.lr,
        "weight_decay": settings.weight_decay,  # the Trainer spares biases and norms
        "warmup_steps": settings.warmup_ratio,  # a float below 1 is a share of the steps
        "lr_scheduler_type": "linear",
        "max_grad_norm": settings.max_grad_norm,
        "seed": settings.seed,
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "logging_strategy": "epoch",
        "metric_for_best_model": METRIC,
        "greater_is_better": True,
        "load_best_model_at_end": True,
        "save_total_limit": 1,  # with load_best_model_at_end: the best and the latest
        "save_only_model": not resumable,
        "restore_callback_states_from_checkpoint": True,  # the early-stopping counter
        "disable_tqdm": not progress,
        "report_to": "none",
        "use_cpu": device == "cpu",
        "max_steps": -1 if max_steps is None else max_steps,
    } | _mixed_precision(device)
    return transformers.TrainingArguments(**(values | dict(overrides or {})))


def check_training_args(overrides: Mapping[str, Any] | None) -> None:
    """Refuse extra ``TrainingArguments`` that emoclassic sets itself.

    Raises
    ------
    InvalidParameter
        ``overrides`` names one of :data:`RESERVED_ARGUMENTS`.

    Examples
    --------
    >>> check_training_args({"gradient_accumulation_steps": 4, "report_to": "tensorboard"})
    >>> check_training_args({"seed": 1, "output_dir": "x"})
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: training_args sets output_dir, seed, which emoclassic sets itself (from the settings or for early stopping and resuming)
    """  # noqa: E501
    clash = sorted(RESERVED_ARGUMENTS & set(overrides or {}))
    if clash:
        raise InvalidParameter(
            "training_args",
            f"sets {', '.join(clash)}, which emoclassic sets itself (from the settings or for "
            "early stopping and resuming)",
        )


def _mixed_precision(device: str) -> dict[str, bool]:
    """bf16 on GPUs that support it, else fp16 on GPUs; neither (float32) elsewhere."""
    if device != "cuda":
        return {}
    import torch

    return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}


def macro_auc_metric(label_names: Sequence[str]) -> Callable[[Any], dict[str, float]]:
    """Return a ``compute_metrics`` function: macro ROC-AUC of the sigmoid scores.

    The AUC is :func:`emoclassic.evaluation.evaluate_scores`'s, the one every
    model's report uses (NaN when no label has both classes).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> metric = macro_auc_metric(["a", "b"])
    >>> logits = np.array([[2.0, -1.0], [-1.0, 0.5], [0.0, 3.0]])
    >>> labels = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> metric(SimpleNamespace(predictions=logits, label_ids=labels))
    {'macro_roc_auc': 1.0}
    """
    from emoclassic.evaluation import evaluate_scores
    from emoclassic.transformer.model import sigmoid

    names = list(label_names)

    def compute(eval_pred) -> dict[str, float]:
        logits = eval_pred.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        labels = (np.asarray(eval_pred.label_ids) > 0.5).astype(np.uint8)
        report = evaluate_scores(labels, sigmoid(logits), names, 0.5)
        return {METRIC: float(report.overall[METRIC])}

    return compute


def labelled_rows(token_ids: Sequence[Sequence[int]], labels: np.ndarray) -> list[dict]:
    """Pair each text's token ids with its 0/1 label row (as floats) for the Trainer.

    ``DataCollatorWithPadding`` pads the ids, adds the attention mask and
    stacks the labels into a float tensor.

    Examples
    --------
    >>> labelled_rows([[0, 7, 2]], np.array([[1, 0]], dtype=np.uint8))
    [{'input_ids': [0, 7, 2], 'labels': [1.0, 0.0]}]
    """
    rows = np.asarray(labels, dtype=np.float32).tolist()
    return [
        {"input_ids": list(ids), "labels": row} for ids, row in zip(token_ids, rows, strict=True)
    ]


@functools.cache
def _emotion_trainer() -> type:
    transformers = require("transformers", "transformer")

    class EmotionTrainer(transformers.Trainer):
        """A ``Trainer`` with an emoclassic multi-label loss on the logits.

        Parameters
        ----------
        *args, **kwargs
            Those of ``transformers.Trainer``.
        loss_fn : callable
            ``loss(logits, targets) -> scalar`` (see
            :func:`emoclassic.transformer.losses.make_loss`): a mean over the
            batch, which the Trainer divides by the gradient accumulation steps.
        """

        def __init__(self, *args, loss_fn: Callable, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_fn = loss_fn
            self.loss_is_scaled_for_ga = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            """Apply ``loss_fn`` to the float32 logits and the float targets."""
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits.float()
            loss = self.loss_fn(logits, labels.to(device=logits.device, dtype=logits.dtype))
            return (loss, outputs) if return_outputs else loss

    return EmotionTrainer


@functools.cache
def _epoch_log() -> type:
    transformers = require("transformers", "transformer")
    from emoclassic.transformer.checkpoint import record_epochs

    class EpochLog(transformers.TrainerCallback):
        """Record each epoch, mark its checkpoint complete, then call ``on_epoch``.

        Parameters
        ----------
        epochs : list of dict
            Entries of the epochs already trained (when resuming).
        seconds_before : float
            Fit time spent before this process (when resuming).
        on_epoch : callable, optional
            Called with each new entry once its checkpoint is complete, on the
            main process only.
        """

        def __init__(self, epochs=(), seconds_before=0.0, on_epoch=None):
            self.epochs = [dict(entry) for entry in epochs]
            self.on_epoch = on_epoch
            self.started = time.perf_counter() - seconds_before
            self._epoch_started = time.perf_counter()
            self._loss = math.nan

        def fit_seconds(self) -> float:
            """Seconds of fitting so far, across resumed runs."""
            return time.perf_counter() - self.started

        def on_epoch_begin(self, args, state, control, **kwargs):
            self._epoch_started = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:  # the mean training loss of the epoch's steps
                self._loss = float(logs["loss"])

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            # Called before the Trainer updates state.best_metric with this epoch.
            auc = float(metrics[f"eval_{METRIC}"])
            best = not math.isnan(auc) and (state.best_metric is None or auc > state.best_metric)
            self.epochs.append(
                {
                    "epoch": round(state.epoch),
                    "train_loss": round(self._loss, 6),
                    "val_macro_roc_auc": round(auc, 6),
                    "best": best,
                    "seconds": round(time.perf_counter() - self._epoch_started, 3),
                }
            )

        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero or not self.epochs:
                return
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            record_epochs(folder, self.epochs, self.fit_seconds())
            if self.on_epoch is not None:
                self.on_epoch(dict(self.epochs[-1]))

    return EpochLog


@functools.cache
def _bar_only_progress() -> type:
    transformers = require("transformers", "transformer")

    class BarOnlyProgress(transformers.ProgressCallback):
        """The Trainer's tqdm bars, without writing each log dict under them.

        The epoch entries (:class:`EpochLog`) report what the dicts would.
        """

        def on_log(self, args, state, control, logs=None, **kwargs):
            return None

    return BarOnlyProgress


_LAZY_CLASSES = {
    "EmotionTrainer": _emotion_trainer,
    "EpochLog": _epoch_log,
    "BarOnlyProgress": _bar_only_progress,
}


def __getattr__(name: str):
    if name in _LAZY_CLASSES:
        return _LAZY_CLASSES[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
