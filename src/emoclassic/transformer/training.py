"""Fine-tune a Hugging Face encoder for multi-label emotion classification.

A plain PyTorch loop: a new classification head whose bias starts at each
label's log prior odds, AdamW with a linear warmup/decay schedule, dynamic
padding, early stopping on the validation macro ROC-AUC (the best epoch's
weights are kept), then per-label thresholds tuned on the validation split
with :func:`emoclassic.thresholds.tune_thresholds`, the same code the
classical models use. On a GPU it trains in bf16 (or fp16 with loss scaling)
autocast; on the CPU in float32.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emoclassic.datasets import EmotionDataset
from emoclassic.errors import ModelError, UsageError, first_line, require
from emoclassic.evaluation import evaluate_scores
from emoclassic.thresholds import tune_thresholds
from emoclassic.transformer.checkpoint import load_checkpoint, run_key, save_checkpoint
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
    pad_batch,
    quiet_transformers,
    sigmoid,
)
from emoclassic.transformer.stopping import EarlyStopping

__all__ = ["DEFAULT_MODEL", "TransformerSettings", "fit_transformer", "load_pretrained"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "distilroberta-base"


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
        Training texts per step.
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
    device : str, optional
        torch device; default: GPU when present, else CPU.
    progress : bool or None, default=None
        Progress bars; ``None`` shows them only on a terminal.
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
            raise UsageError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        for name in ("epochs", "batch_size", "max_length", "patience", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise UsageError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.focal_gamma < 0:
            raise UsageError(f"--focal-gamma must be at least 0, got {self.focal_gamma}")
        if self.focal_alpha is not None and not 0.0 <= self.focal_alpha <= 1.0:
            raise UsageError(f"--focal-alpha must be between 0 and 1, got {self.focal_alpha}")


def load_pretrained(model_id: str, label_names, *, seed: int = 42):
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

    Raises
    ------
    ModelError
        When the model or tokenizer cannot be loaded (unknown id, no network,
        not a model folder).
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
        first = first_line(exc)
        raise ModelError(
            f"cannot load the encoder {model_id!r} ({first}); offline, pass --model with a "
            "local model folder"
        ) from None
    logger.info("loaded %s with a new %d-label classification head", model_id, len(names))
    if tokenizer.pad_token_id is None:
        raise ModelError(f"{model_id}: the tokenizer has no padding token")
    return model, tokenizer


def fit_transformer(
    dataset: EmotionDataset,
    settings: TransformerSettings | None = None,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    checkpoint: str | Path | None = None,
) -> TransformerEmotionModel:
    """Fine-tune on ``dataset.train``; stop early and tune thresholds on validation.

    Parameters
    ----------
    dataset : EmotionDataset
        Train and validation splits are used; test is never touched.
    settings : TransformerSettings, optional
        Hyperparameters.
    on_epoch : callable, optional
        Called after each epoch with ``{"epoch", "train_loss", "val_macro_roc_auc",
        "best", "seconds"}`` (the CLI prints it).
    checkpoint : str or Path, optional
        File written after every epoch (see
        :mod:`emoclassic.transformer.checkpoint`). When it exists at the start,
        training resumes after its last epoch; settings or data that differ
        from the checkpoint's are refused. The caller deletes it once the
        model is saved.

    Returns
    -------
    TransformerEmotionModel
        With the best epoch's weights, tuned thresholds and a ``metadata`` dict
        (training settings, best epoch, validation AUC per epoch, fit seconds
        including the per-epoch validation scoring that early stopping needs,
        data fingerprint, ``resumed_after_epoch``).
    """
    torch = require("torch", "transformer")
    transformers = require("transformers", "transformer")
    from tqdm.auto import tqdm

    settings = settings or TransformerSettings()
    device = settings.device or default_device()
    train, validation = dataset.train, dataset.validation
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
    _init_head_bias(model, dataset.label_counts("train"), len(train), torch)
    loss_fn = _make_loss(settings, dataset, torch)
    train_ids = emotion_model.encode(train.texts)
    val_ids = emotion_model.encode(validation.texts)
    targets = torch.as_tensor(train.labels, dtype=torch.float32)
    steps_per_epoch = math.ceil(len(train_ids) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(_parameter_groups(model, settings.weight_decay), lr=settings.lr)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )
    autocast_dtype = _autocast_dtype(device, torch)
    train_step = _make_train_step(
        model, optimizer, scheduler, loss_fn, device, autocast_dtype, settings.max_grad_norm
    )
    generator = torch.Generator().manual_seed(settings.seed)
    pad_id = tokenizer.pad_token_id
    stopper = EarlyStopping(settings.patience)
    best_state, best_val_scores, epochs_log = None, None, []
    key = run_key(settings, dataset.fingerprint())
    state = load_checkpoint(checkpoint, key) if checkpoint is not None else None
    done, seconds_before = 0, 0.0
    if state is not None:
        done, seconds_before = state["epoch"], state["fit_seconds"]
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        stopper.restore(state["stopper"])
        epochs_log = state["epochs"]
        val_scores = state["val_scores"].numpy()
        if state["best_is_last"]:
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best_val_scores = val_scores
        elif state["best_state"] is not None:
            best_state, best_val_scores = state["best_state"], state["best_val_scores"].numpy()
        logger.info("resuming from %s after epoch %d", checkpoint, done)
    started = time.perf_counter() - seconds_before
    for epoch in range(done + 1, settings.epochs + 1):
        if stopper.should_stop:
            break
        epoch_started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_ids), generator=generator).tolist()
        total_loss = 0.0
        bar = tqdm(
            range(0, len(order), settings.batch_size),
            desc=f"epoch {epoch}/{settings.epochs}",
            unit="batch",
            disable=None if settings.progress is None else not settings.progress,
        )
        for start in bar:
            rows = order[start : start + settings.batch_size]
            ids, mask = pad_batch([train_ids[i] for i in rows], pad_id)
            loss = train_step(ids, mask, targets[rows])
            total_loss += loss * len(rows)
            bar.set_postfix(loss=f"{loss:.4f}")
        bar.close()
        val_scores = sigmoid(emotion_model.logits(val_ids, progress=settings.progress))
        auc = evaluate_scores(validation.labels, val_scores, dataset.label_names, 0.5).overall[
            "macro_roc_auc"
        ]
        improved = stopper.update(auc)
        if improved:
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best_val_scores = val_scores
        entry = {
            "epoch": epoch,
            "train_loss": round(total_loss / len(order), 6),
            "val_macro_roc_auc": round(float(auc), 6),
            "best": improved,
            "seconds": round(time.perf_counter() - epoch_started, 3),
        }
        epochs_log.append(entry)
        logger.info("epoch %s", entry)
        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "key": key,
                    "epoch": epoch,
                    "fit_seconds": time.perf_counter() - started,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all()
                    if torch.cuda.is_available()
                    else None,
                    "stopper": stopper.state(),
                    "epochs": epochs_log,
                    "val_scores": torch.as_tensor(val_scores),
                    "best_is_last": improved,
                    "best_state": None if improved else best_state,
                    "best_val_scores": None
                    if improved or best_val_scores is None
                    else torch.as_tensor(best_val_scores),
                },
            )
        if on_epoch is not None:
            on_epoch(entry)
        if stopper.should_stop:
            break
    if best_state is None:  # every validation AUC was undefined: keep the last epoch
        best_val_scores, best_epoch = val_scores, len(epochs_log)
    else:
        model.load_state_dict(best_state)
        best_epoch = stopper.best_epoch
    fit_seconds = time.perf_counter() - started
    thresholds, threshold_f1 = tune_thresholds(validation.labels, best_val_scores)
    emotion_model.thresholds = thresholds
    emotion_model.metadata = {
        "recipe": "transformer",
        "base_model": settings.model,
        "training": asdict(settings) | {"device": device},
        "precision": str(autocast_dtype).replace("torch.", "") if autocast_dtype else "float32",
        "best_epoch": best_epoch,
        "stopped_early": stopper.should_stop and len(epochs_log) < settings.epochs,
        "epochs": epochs_log,
        "val_macro_roc_auc_per_epoch": [e["val_macro_roc_auc"] for e in epochs_log],
        "fit_seconds": round(fit_seconds, 3),
        "resumed_after_epoch": done,
        "decision_rule": "per-label thresholds tuned on the validation split (max F1 per label)",
        "threshold_validation_f1": [round(float(v), 6) for v in threshold_f1],
        "seed": settings.seed,
        "data": dataset.provenance(),
    }
    return emotion_model


def _make_train_step(
    model, optimizer, scheduler, loss_fn, device: str, autocast_dtype, max_grad_norm: float
) -> Callable:
    """Return ``step(input_ids, attention_mask, targets) -> loss``: one optimiser update.

    Under fp16 autocast the loss is scaled (``GradScaler``); bf16 and float32
    need no scaling. Gradients are clipped to ``max_grad_norm``.
    """
    import torch

    scaler = torch.amp.GradScaler("cuda") if autocast_dtype == torch.float16 else None
    device_type = device.split(":")[0]

    def step(ids, mask, targets) -> float:
        with torch.autocast(
            device_type=device_type,
            dtype=autocast_dtype or torch.float32,
            enabled=autocast_dtype is not None,
        ):
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        loss = loss_fn(logits.float(), targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        scheduler.step()
        return float(loss.item())

    return step


def _init_head_bias(model, positives, n_rows: int, torch) -> None:
    """Start the output layer's bias at each label's log prior odds.

    A fresh head predicts 0.5 for every label, and with 28 rare labels the
    first hundreds of steps would only push the scores down to the base rates.
    Starting from ``log(p_j / (1 - p_j))``, with ``p_j`` the label's training
    frequency clipped to [1e-4, 1 - 1e-4], spends those steps on the text
    instead. The output layer is the last ``Linear`` with one output per label.
    """
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


def _make_loss(settings: TransformerSettings, dataset: EmotionDataset, torch):
    pos_weight = None
    if settings.loss == "pos_weight":
        weights = pos_weight_from_counts(
            dataset.label_counts("train"), len(dataset.train), settings.max_pos_weight
        )
        pos_weight = torch.as_tensor(weights, dtype=torch.float32)
    return make_loss(
        settings.loss, pos_weight=pos_weight, gamma=settings.focal_gamma, alpha=settings.focal_alpha
    )


def _parameter_groups(model, weight_decay: float) -> list[dict]:
    """Apply weight decay to weight matrices only, not to biases and norms."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _autocast_dtype(device: str, torch):
    """bf16 on GPUs that support it, else fp16 on GPUs; None (float32) on the CPU."""
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
