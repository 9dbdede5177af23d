"""A fine-tuned Hugging Face encoder as an :class:`~emoclassic.model.EmotionModel`.

Scores are the sigmoid of the classification head's logits, computed in
batches with dynamic padding: the tokenizer's own ``pad`` pads each batch to
its longest text, and texts are sorted by length so that batches waste little
padding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from scipy.special import expit

from emoclassic.model import EmotionModel

__all__ = [
    "TransformerEmotionModel",
    "default_device",
    "length_batches",
    "quiet_transformers",
    "sigmoid",
]


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def quiet_transformers(*, keep_warnings: bool = False) -> Iterator[None]:
    """Silence transformers' load reports and file progress bars for a block.

    Loading an encoder under a new classification head prints a table of
    newly initialised weights, and saving or loading shows per-file bars;
    emoclassic reports what matters itself. The Trainer's own training bar is
    not a file bar and stays.

    Parameters
    ----------
    keep_warnings : bool, default=False
        Turn off the file bars only; keep transformers' warnings.

    Examples
    --------
    >>> from transformers.utils import logging as hf_logging
    >>> with quiet_transformers():
    ...     hf_logging.is_progress_bar_enabled()
    False
    """
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    if not keep_warnings:
        hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Elementwise logistic function in float64 (:func:`scipy.special.expit`).

    Unlike ``1 / (1 + exp(-x))`` it neither overflows nor warns for very
    negative logits.

    Parameters
    ----------
    logits : array-like
        Logits of any shape.

    Returns
    -------
    ndarray of float64
        Scores in [0, 1], the shape of ``logits``.

    Examples
    --------
    >>> sigmoid(np.array([0.0, np.log(3.0)])).tolist()
    [0.5, 0.75]
    """
    return expit(np.asarray(logits, dtype=np.float64))


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Yield row positions in batches of similar length, longest first.

    Examples
    --------
    >>> [b.tolist() for b in length_batches([3, 9, 1, 5], 2)]
    [[1, 3], [0, 2]]
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class TransformerEmotionModel(EmotionModel):
    """A sequence-classification transformer with per-label thresholds.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A ``*ForSequenceClassification`` model with one output per label.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer.
    label_names, thresholds, metadata
        See :class:`~emoclassic.model.EmotionModel`.
    max_length : int, default=128
        Texts are truncated to this many tokens.
    batch_size : int, default=64
        Texts per forward pass in :meth:`predict_proba`.
    device : str, optional
        torch device; default: the GPU when present, else the CPU.
    """

    kind = "transformer"

    def __init__(
        self,
        model,
        tokenizer,
        label_names: Sequence[str],
        thresholds: Iterable[float],
        metadata: dict | None = None,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        device: str | None = None,
    ):
        super().__init__(label_names, thresholds, metadata)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.to(device or default_device())

    def to(self, device: str) -> TransformerEmotionModel:
        """Move the network to ``device`` (for example ``"cpu"``); return self."""
        self.device = str(device)
        self.model.to(self.device)
        return self

    def use_cpu(self) -> TransformerEmotionModel:
        """Move the network to the CPU; return self."""
        return self.to("cpu")

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length``, without padding."""
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        return encoded["input_ids"]

    def logits(self, token_ids: Sequence[Sequence[int]], *, progress: bool | None = False):
        """Return the ``(n_texts, n_labels)`` logits (float32 numpy) of encoded texts."""
        import torch
        from tqdm.auto import tqdm

        out = np.zeros((len(token_ids), len(self.label_names)), dtype=np.float32)
        if not len(token_ids):
            return out
        batches = list(length_batches([len(ids) for ids in token_ids], self.batch_size))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for rows in tqdm(
                    batches,
                    desc="predict",
                    unit="batch",
                    disable=None if progress is None else not progress,
                ):
                    batch = self.tokenizer.pad(
                        {"input_ids": [token_ids[i] for i in rows]},
                        padding_side="right",
                        return_tensors="pt",
                    )
                    result = self.model(
                        input_ids=batch["input_ids"].to(self.device),
                        attention_mask=batch["attention_mask"].to(self.device),
                    )
                    out[rows] = result.logits.float().cpu().numpy()
        finally:
            self.model.train(was_training)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n_texts, n_labels)`` array of sigmoid scores in [0, 1]."""
        if len(texts) == 0:
            return np.zeros((0, len(self.label_names)))
        return sigmoid(self.logits(self.encode(texts)))
