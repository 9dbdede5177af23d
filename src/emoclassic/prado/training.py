"""Train a projection network for multi-label emotion classification.

A plain PyTorch loop: the output layer's bias starts at each label's log
prior odds; AdamW with a short linear warm-up, then cosine decay; batches of
texts of similar length (shuffled within and between chunks, from the seed
and the epoch number); early stopping on the validation macro ROC-AUC, the
best epoch's weights kept. The weights are then rounded to
``weights_dtype``, and per-label thresholds are tuned on the validation
split's scores from those final weights with
:func:`emoclassic.thresholds.tune_thresholds`, the code every other model
uses. The test split is never touched.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emoclassic.datasets import EmotionDataset
from emoclassic.errors import DataError, require
from emoclassic.evaluation import evaluate_scores
from emoclassic.prado.checkpoint import load_checkpoint, run_key, save_checkpoint
from emoclassic.prado.encoder import make_network
from emoclassic.prado.model import (
    PradoEmotionModel,
    default_device,
    network_logits,
    sigmoid_scores,
    torch_threads,
)
from emoclassic.prado.projection import ProjectedTexts, TokenProjector
from emoclassic.prado.settings import PradoSettings
from emoclassic.thresholds import tune_thresholds
from emoclassic.transformer.losses import make_loss, pos_weight_from_counts

__all__ = ["fit_prado", "length_batches"]

logger = logging.getLogger(__name__)

#: Share of all steps spent warming the learning rate up from 0.
_WARMUP = 0.03
#: Batches per chunk of similar-length texts (see :func:`length_batches`).
_CHUNK = 32


def length_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffle rows into batches of texts of similar length, from the seed and epoch alone.

    The rows are shuffled, cut into chunks of ``32 * batch_size``, sorted by
    length within each chunk and cut into batches; the batches are shuffled.

    Examples
    --------
    >>> batches = length_batches(np.array([1, 5, 2, 6]), 2, seed=0, epoch=1)
    >>> sorted(sorted(b.tolist()) for b in batches)
    [[0, 2], [1, 3]]
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), _CHUNK * batch_size):
        chunk = order[start : start + _CHUNK * batch_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass
class _Record:
    """The run's history: epoch log, early-stopping state and the best epoch's weights."""

    epochs: list[dict] = field(default_factory=list)
    best_auc: float = -math.inf
    best_epoch: int | None = None
    since_best: int = 0
    best_state: dict | None = None

    def update(self, auc: float, network) -> bool:
        """Record an epoch's validation AUC; keep the weights when it is the best so far."""
        if not math.isnan(auc) and auc > self.best_auc:
            self.best_auc, self.best_epoch, self.since_best = auc, len(self.epochs) + 1, 0
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in network.state_dict().items()
            }
            return True
        self.since_best += 1
        return False


def fit_prado(
    dataset: EmotionDataset,
    settings: PradoSettings | None = None,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    checkpoint: str | Path | None = None,
) -> PradoEmotionModel:
    """Train on ``dataset.train``; stop early and tune thresholds on validation.

    Parameters
    ----------
    dataset : EmotionDataset
        Train and validation splits are used; test is never touched.
    settings : PradoSettings, optional
        Architecture and training parameters (defaults: :class:`PradoSettings`).
    on_epoch : callable, optional
        Called after each epoch with ``{"epoch", "train_loss",
        "val_macro_roc_auc", "best", "seconds"}``.
    checkpoint : str or Path, optional
        File written after every epoch (see :mod:`emoclassic.prado.checkpoint`).
        When it exists at the start, training resumes after its last epoch;
        other settings or data are refused. The caller deletes it once the
        model is saved.

    Returns
    -------
    PradoEmotionModel
        With the best epoch's weights, thresholds tuned on validation and a
        ``metadata`` dict (settings, architecture, epoch log, best epoch, fit
        seconds, validation F1 per label at its threshold, data provenance).

    Raises
    ------
    DataError
        ``dataset`` has an empty training or validation split.

    Examples
    --------
    >>> import numpy as np
    >>> from emoclassic.datasets import EmotionDataset, EmotionSplit
    >>> texts = ["so happy", "so sad", "happy day", "sad day"] * 4
    >>> split = EmotionSplit(texts, np.array([[1, 0], [0, 1]] * 8, dtype=np.uint8))
    >>> data = EmotionDataset(("joy", "sadness"), {"train": split, "validation": split})
    >>> settings = PradoSettings(feature_size=32, hidden_size=8, channels=4, epochs=2,
    ...                          progress=False, device="cpu")
    >>> model = fit_prado(data, settings)
    >>> model.metadata["thresholds_from"], model.predict_proba(["happy"]).shape
    ('validation', (1, 2))
    """
    torch = require("torch", "transformer")
    settings = settings or PradoSettings()
    for name in ("train", "validation"):
        if len(dataset.split(name)) == 0:
            raise DataError(f"{dataset.source}: the {name} split is empty")
    device = settings.device or default_device()
    with torch_threads(settings.threads):
        return _fit(torch, dataset, settings, device, on_epoch, checkpoint)


def _fit(torch, dataset, settings, device, on_epoch, checkpoint) -> PradoEmotionModel:
    """Run :func:`fit_prado` once the thread count is set."""
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    projector = TokenProjector(
        settings.feature_size, settings.char_ngram_range, settings.max_tokens
    )
    train_data = projector.project_texts(dataset.train.texts)
    val_data = projector.project_texts(dataset.validation.texts)
    network = make_network(settings, len(dataset.label_names)).to(device)
    _init_output_bias(torch, network, dataset.label_counts("train"), len(dataset.train))
    steps = settings.epochs * math.ceil(len(dataset.train) / settings.batch_size)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(steps))
    record = _Record()
    key = run_key(settings, dataset.fingerprint())
    state = load_checkpoint(checkpoint, key) if checkpoint is not None else None
    done = 0
    if state is not None:
        done, started = state["epoch"], time.perf_counter() - state["fit_seconds"]
        _restore(torch, state, network, optimizer, scheduler, record)
        logger.info("resuming from %s after epoch %d", checkpoint, done)
    step = _train_step(torch, network, optimizer, scheduler, _loss(torch, settings, dataset))
    targets = torch.as_tensor(dataset.train.labels, dtype=torch.float32)
    for epoch in range(done + 1, settings.epochs + 1):
        if record.since_best >= settings.patience:
            break
        epoch_started = time.perf_counter()
        loss = _train_epoch(torch, step, train_data, targets, settings, epoch, device)
        scores = sigmoid_scores(network_logits(network, val_data, device, settings.eval_batch_size))
        auc = _macro_auc(dataset, scores)
        improved = record.update(auc, network)
        entry = {
            "epoch": epoch,
            "train_loss": round(loss, 6),
            "val_macro_roc_auc": None if math.isnan(auc) else round(auc, 6),
            "best": improved,
            "seconds": round(time.perf_counter() - epoch_started, 3),
        }
        record.epochs.append(entry)
        logger.info("epoch %s", entry)
        if checkpoint is not None:
            elapsed = time.perf_counter() - started
            save_checkpoint(
                checkpoint,
                _state(torch, key, epoch, elapsed, network, optimizer, scheduler, record),
            )
        if on_epoch is not None:
            on_epoch(entry)
    return _finish(torch, network, record, settings, dataset, device, started, done)


def _finish(torch, network, record, settings, dataset, device, started, done) -> PradoEmotionModel:
    """Keep the best epoch's weights, round them, and tune the thresholds on validation."""
    if record.best_state is not None:
        network.load_state_dict(record.best_state)
    _round_weights(torch, network, settings.weights_dtype)
    projector = TokenProjector(
        settings.feature_size, settings.char_ngram_range, settings.max_tokens
    )
    n_labels = len(dataset.label_names)
    model = PradoEmotionModel(
        network,
        projector,
        dataset.label_names,
        np.full(n_labels, 0.5),
        batch_size=settings.eval_batch_size,
        device=device,
    )
    scores = model.predict_proba(dataset.validation.texts)  # exactly what the model gives
    thresholds, threshold_f1 = tune_thresholds(dataset.validation.labels, scores)
    model.thresholds = thresholds
    model.metadata = _metadata(settings, dataset, record, device, model, threshold_f1, started)
    model.metadata["resumed_after_epoch"] = done
    return model


def _train_epoch(torch, step, data: ProjectedTexts, targets, settings, epoch, device) -> float:
    """One pass over the training split; return the mean training loss."""
    from tqdm.auto import tqdm

    table = torch.from_numpy(data.table).to(device)
    targets = targets.to(device)
    batches = length_batches(data.lengths, settings.batch_size, settings.seed, epoch)
    total = 0.0
    bar = tqdm(
        batches,
        desc=f"epoch {epoch}/{settings.epochs}",
        unit="batch",
        disable=None if settings.progress is None else not settings.progress,
    )
    for rows in bar:
        ids = torch.from_numpy(data.batch(rows)).to(device)
        loss = step(table, ids, targets[torch.from_numpy(rows).to(device)])
        total += loss * len(rows)
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    bar.close()
    return total / len(data.ids)


def _train_step(torch, network, optimizer, scheduler, loss_fn) -> Callable:
    """Return ``step(table, ids, targets) -> loss``: one optimizer update."""

    def step(table, ids, targets) -> float:
        network.train()
        loss = loss_fn(network(table, ids), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return float(loss.item())

    return step


def _schedule(steps: int) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up, then cosine decay to 0."""
    warmup = max(1, int(_WARMUP * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _loss(torch, settings: PradoSettings, dataset: EmotionDataset) -> Callable:
    """Return the training loss of ``settings`` (see :mod:`emoclassic.transformer.losses`)."""
    pos_weight = None
    if settings.loss == "pos_weight":
        weights = pos_weight_from_counts(
            dataset.label_counts("train"), len(dataset.train), settings.max_pos_weight
        )
        pos_weight = torch.as_tensor(weights, dtype=torch.float32)
    return make_loss(
        settings.loss, pos_weight=pos_weight, gamma=settings.focal_gamma, alpha=settings.focal_alpha
    )


def _init_output_bias(torch, network, positives, n_rows: int) -> None:
    """Start the output bias at each label's log prior odds (training frequency, clipped)."""
    prior = np.clip(np.asarray(positives, dtype=np.float64) / max(n_rows, 1), 1e-4, 1 - 1e-4)
    with torch.no_grad():
        network.output.bias.copy_(torch.as_tensor(np.log(prior / (1 - prior))))


def _macro_auc(dataset: EmotionDataset, scores: np.ndarray) -> float:
    """Return the validation macro ROC-AUC over labels with both classes (NaN if none)."""
    report = evaluate_scores(dataset.validation.labels, scores, dataset.label_names, 0.5)
    return float(report.overall["macro_roc_auc"])


def _round_weights(torch, network, dtype: str) -> None:
    """Round every weight to ``dtype`` precision (kept as float32 for scoring)."""
    if dtype == "float32":
        return
    with torch.no_grad():
        for tensor in network.state_dict().values():
            tensor.copy_(tensor.to(getattr(torch, dtype)).to(tensor.dtype))


def _state(torch, key, epoch, elapsed, network, optimizer, scheduler, record) -> dict:
    """Return what a checkpoint keeps after ``epoch`` (see :mod:`emoclassic.prado.checkpoint`)."""
    return {
        "key": key,
        "epoch": epoch,
        "fit_seconds": elapsed,
        "model": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "epochs": record.epochs,
        "best_auc": record.best_auc,
        "best_epoch": record.best_epoch,
        "since_best": record.since_best,
        "best_state": record.best_state,
    }


def _restore(torch, state, network, optimizer, scheduler, record: _Record) -> None:
    """Continue from a checkpoint made by :func:`_state`."""
    network.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    record.epochs = list(state["epochs"])
    record.best_auc, record.best_epoch = float(state["best_auc"]), state["best_epoch"]
    record.since_best, record.best_state = int(state["since_best"]), state["best_state"]


def _metadata(settings, dataset, record: _Record, device, model, threshold_f1, started) -> dict:
    """Return the fitted model's metadata (its sidecar's fields beside the fixed ones)."""
    stopped = record.since_best >= settings.patience and len(record.epochs) < settings.epochs
    return {
        "recipe": "prado" if settings.encoder == "prado" else "qrnn",
        "recipe_summary": f"projection network ({settings.encoder} encoder)",
        "architecture": settings.architecture(),
        "training": settings.as_dict() | {"device": device},
        "n_parameters": model.n_parameters(),
        "best_epoch": record.best_epoch,
        "stopped_early": stopped,
        "epochs": record.epochs,
        "val_macro_roc_auc_per_epoch": [e["val_macro_roc_auc"] for e in record.epochs],
        "fit_seconds": round(time.perf_counter() - started, 3),
        "decision_rule": "per-label thresholds tuned on the validation split (max F1 per label)",
        "thresholds_from": "validation",
        "threshold_validation_f1": [round(float(v), 6) for v in threshold_f1],
        "seed": settings.seed,
        "data": dataset.provenance(),
    }
