"""Multi-label losses on logits: BCE, BCE with per-label positive weights, focal.

Each loss is a small pure function of ``logits`` and 0/1 ``targets`` (float
tensors of one shape ``(n_rows, n_labels)``) that returns the mean over every
element. torch is imported inside the functions, so importing this module is
cheap.

Formulas, with ``p = sigmoid(x)`` for a logit ``x`` and target ``y``:

- ``bce``: ``-[y log p + (1 - y) log(1 - p)]``.
- ``pos_weight``: ``-[w_j y log p + (1 - y) log(1 - p)]`` for label ``j``, with
  ``w_j`` from :func:`pos_weight_from_counts`.
- ``focal`` (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log(p_t)`` where
  ``p_t = p`` and ``alpha_t = alpha`` for ``y = 1``, ``p_t = 1 - p`` and
  ``alpha_t = 1 - alpha`` for ``y = 0``; ``alpha=None`` means
  ``alpha_t = 1``. ``gamma=0, alpha=None`` is plain BCE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "DEFAULT_FOCAL_ALPHA",
    "DEFAULT_FOCAL_GAMMA",
    "LOSSES",
    "MAX_POS_WEIGHT",
    "bce_loss",
    "focal_loss",
    "make_loss",
    "pos_weight_from_counts",
]

LOSSES = ("bce", "pos_weight", "focal")
MAX_POS_WEIGHT = 30.0
DEFAULT_FOCAL_GAMMA = 2.0
DEFAULT_FOCAL_ALPHA = 0.25


def bce_loss(logits, targets, pos_weight=None):
    """Mean binary cross-entropy on logits, optionally weighting positives.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_rows, n_labels)
        Raw model outputs.
    targets : torch.Tensor of shape (n_rows, n_labels)
        0/1 labels as floats.
    pos_weight : torch.Tensor of shape (n_labels,), optional
        Factor ``w_j`` on the positive term of label ``j``.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import math, torch
    >>> x = torch.tensor([[0.0, math.log(3.0)]])  # p = 0.5 and 0.75
    >>> y = torch.tensor([[1.0, 0.0]])
    >>> round(bce_loss(x, y).item() / math.log(2), 6)  # (ln 2 + ln 4) / 2
    1.5
    """
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(
        logits, targets.to(logits.dtype), pos_weight=pos_weight, reduction="mean"
    )


def focal_loss(logits, targets, gamma: float = DEFAULT_FOCAL_GAMMA, alpha=DEFAULT_FOCAL_ALPHA):
    """Mean sigmoid focal loss: ``-alpha_t (1 - p_t)^gamma log(p_t)``.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_rows, n_labels)
        Raw model outputs.
    targets : torch.Tensor of shape (n_rows, n_labels)
        0/1 labels as floats.
    gamma : float, default=2.0
        Focusing parameter; 0 turns off the down-weighting of easy elements.
    alpha : float in [0, 1] or None, default=0.25
        Weight of the positive term (``1 - alpha`` on the negative term);
        ``None`` weights both terms by 1.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import math, torch
    >>> x = torch.tensor([[0.0, math.log(3.0)]])
    >>> y = torch.tensor([[1.0, 0.0]])
    >>> round(focal_loss(x, y, gamma=0.0, alpha=None).item(), 6) == round(bce_loss(x, y).item(), 6)
    True
    """
    import torch
    import torch.nn.functional as F

    targets = targets.to(logits.dtype)
    # -log(p_t), computed stably from the logits.
    cross_entropy = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = torch.exp(-cross_entropy)
    loss = (1.0 - p_t) ** gamma * cross_entropy
    if alpha is not None:
        alpha_t = alpha * targets + (1.0 - alpha) * (1.0 - targets)
        loss = alpha_t * loss
    return loss.mean()


def pos_weight_from_counts(
    positives: Sequence[int], n_rows: int, max_weight: float = MAX_POS_WEIGHT
) -> np.ndarray:
    """Per-label positive weights ``w_j = clip((n_rows - P_j) / P_j, 1, max_weight)``.

    ``P_j`` is the number of training rows carrying label ``j``. A label with
    no positive row gets ``max_weight``; positives are never down-weighted
    (the lower bound 1).

    Parameters
    ----------
    positives : sequence of int
        Positive rows per label.
    n_rows : int
        Training rows.
    max_weight : float, default=30.0
        Upper bound, so that a label seen a handful of times does not dominate.

    Returns
    -------
    ndarray of shape (n_labels,)

    Examples
    --------
    >>> pos_weight_from_counts([1, 3, 0, 2], 4, max_weight=10.0).tolist()
    [3.0, 1.0, 10.0, 1.0]
    """
    positives = np.asarray(positives, dtype=np.float64)
    with np.errstate(divide="ignore"):
        ratio = np.where(positives > 0, (n_rows - positives) / np.maximum(positives, 1), np.inf)
    return np.clip(ratio, 1.0, max_weight)


def make_loss(
    name: str,
    *,
    pos_weight=None,
    gamma: float = DEFAULT_FOCAL_GAMMA,
    alpha: float | None = DEFAULT_FOCAL_ALPHA,
) -> Callable:
    """Return ``loss(logits, targets)`` for a loss name in :data:`LOSSES`.

    Parameters
    ----------
    name : {"bce", "pos_weight", "focal"}
        The loss.
    pos_weight : torch.Tensor of shape (n_labels,), optional
        Required for ``"pos_weight"``.
    gamma, alpha
        Focal-loss parameters.

    Returns
    -------
    callable

    Examples
    --------
    >>> import torch
    >>> loss = make_loss("bce")
    >>> round(loss(torch.zeros(1, 2), torch.ones(1, 2)).item(), 4)
    0.6931
    """
    if name == "bce":
        return bce_loss
    if name == "pos_weight":
        if pos_weight is None:
            raise ValueError("the pos_weight loss needs per-label weights")
        return lambda logits, targets: bce_loss(logits, targets, pos_weight.to(logits.device))
    if name == "focal":
        return lambda logits, targets: focal_loss(logits, targets, gamma=gamma, alpha=alpha)
    raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
