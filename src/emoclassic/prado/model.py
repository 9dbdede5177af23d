"""A projection network as an :class:`~emoclassic.model.EmotionModel`.

Scores are the sigmoid of the network's logits. Texts are projected
(:class:`~emoclassic.prado.projection.TokenProjector`), sorted by length and
scored in batches, so that batches waste little padding; the scores come back
in the texts' order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from scipy.special import expit

from emoclassic.errors import require
from emoclassic.model import EmotionModel
from emoclassic.prado.projection import ProjectedTexts, TokenProjector

__all__ = [
    "CHUNK",
    "PradoEmotionModel",
    "default_device",
    "network_logits",
    "sigmoid_scores",
    "torch_threads",
]


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    torch = require("torch", "transformer")
    return "cuda" if torch.cuda.is_available() else "cpu"


#: Texts projected and scored together by :meth:`PradoEmotionModel.logits`.
CHUNK = 8192


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` torch CPU threads in the block (``None``: leave them), then restore.

    torch's thread count is global to the process: use it around work that
    nothing else runs beside.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    torch = require("torch", "transformer")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sigmoid_scores(logits: np.ndarray) -> np.ndarray:
    """Return the sigmoid of ``logits`` in float64: the scores of every projection network.

    Examples
    --------
    >>> sigmoid_scores(np.array([[0.0, np.log(3.0)]], dtype=np.float32)).round(6).tolist()
    [[0.5, 0.75]]
    """
    return expit(np.asarray(logits, dtype=np.float64))


def network_logits(
    network, projected: ProjectedTexts, device: str, batch_size: int = 512
) -> np.ndarray:
    """Score projected texts with ``network`` in evaluation mode; return float32 logits.

    Parameters
    ----------
    network : ProjectionNetwork
        The network (its training mode is restored afterwards).
    projected : ProjectedTexts
        The texts.
    device : str
        Where ``network`` is.
    batch_size : int, default=512
        Texts per forward pass (sorted by length first).

    Returns
    -------
    ndarray of float32 of shape (n_texts, n_labels)
    """
    torch = require("torch", "transformer")
    n_labels = network.output.out_features
    out = np.zeros((len(projected.ids), n_labels), dtype=np.float32)
    if not len(projected.ids):
        return out
    table = torch.from_numpy(projected.table).to(device)
    order = np.argsort(-projected.lengths, kind="stable")
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                ids = torch.from_numpy(projected.batch(rows)).to(device)
                out[rows] = network(table, ids).float().cpu().numpy()
    finally:
        network.train(was_training)
    return out


class PradoEmotionModel(EmotionModel):
    """A trained projection network with per-label thresholds.

    Parameters
    ----------
    network : ProjectionNetwork
        The trained network (:mod:`emoclassic.prado.encoder`).
    projector : TokenProjector
        Turns texts into the network's input.
    label_names, thresholds, metadata
        See :class:`~emoclassic.model.EmotionModel`; ``metadata["architecture"]``
        records the settings that rebuild the network.
    batch_size : int, default=512
        Texts per forward pass in :meth:`predict_proba`.
    device : str, optional
        torch device; default: the GPU when present, else the CPU.
    """

    kind = "prado"

    def __init__(
        self,
        network,
        projector: TokenProjector,
        label_names: Sequence[str],
        thresholds: Iterable[float],
        metadata: dict | None = None,
        *,
        batch_size: int = 512,
        device: str | None = None,
    ):
        super().__init__(label_names, thresholds, metadata)
        self.network = network
        self.projector = projector
        self.batch_size = batch_size
        self.to(device or default_device())

    def to(self, device: str) -> PradoEmotionModel:
        """Move the network to ``device`` (for example ``"cpu"``); return self."""
        self.device = str(device)
        self.network.to(self.device)
        return self

    def use_cpu(self) -> PradoEmotionModel:
        """Move the network to the CPU; return self."""
        return self.to("cpu")

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Return the ``(n_texts, n_labels)`` float32 logits of ``texts``.

        Texts are projected and scored :data:`CHUNK` at a time, so the table
        of token projections stays small however many texts come in.
        """
        texts = list(texts)
        parts = [
            network_logits(
                self.network,
                self.projector.project_texts(texts[start : start + CHUNK]),
                self.device,
                self.batch_size,
            )
            for start in range(0, len(texts), CHUNK)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.label_names)), np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n_texts, n_labels)`` array of sigmoid scores in [0, 1]."""
        if len(texts) == 0:
            return np.zeros((0, len(self.label_names)))
        return sigmoid_scores(self.logits(texts))

    def n_parameters(self) -> int:
        """Return the number of weights in the network."""
        return sum(int(p.numel()) for p in self.network.parameters())
