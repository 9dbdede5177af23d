"""Minority selection: the labels whose share of training rows is under a threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoclassic.errors import InvalidParameter, UsageError

__all__ = [
    "MinorityLabel",
    "format_minority_table",
    "require_minority_labels",
    "select_minority_labels",
]


@dataclass(frozen=True)
class MinorityLabel:
    """One label selected for augmentation.

    Parameters
    ----------
    index : int
        Column of the label in the dataset's label matrix.
    name : str
        Label name.
    count : int
        Training rows carrying the label.
    share : float
        ``count`` divided by the number of training rows.
    """

    index: int
    name: str
    count: int
    share: float


def select_minority_labels(
    labels: np.ndarray, label_names: Sequence[str], threshold: float
) -> list[MinorityLabel]:
    """Return the labels carried by fewer than ``threshold`` of the training rows.

    Parameters
    ----------
    labels : ndarray of shape (n_rows, n_labels)
        0/1 training label matrix.
    label_names : sequence of str
        Names of the label columns.
    threshold : float
        Share in (0, 1); a label with ``count / n_rows < threshold`` is a
        minority label.

    Returns
    -------
    list of MinorityLabel
        In label order (may be empty).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0, 0]] * 97 + [[0, 1, 0]] * 2 + [[1, 0, 1]], dtype=np.uint8)
    >>> [(m.name, m.count, m.share) for m in select_minority_labels(y, "abc", 0.015)]
    [('c', 1, 0.01)]
    """
    if not 0.0 < threshold < 1.0:
        raise InvalidParameter("threshold", f"must be a share between 0 and 1, got {threshold}")
    n_rows = labels.shape[0]
    if n_rows == 0:
        raise UsageError("the training split is empty")
    counts = np.asarray(labels, dtype=np.int64).sum(axis=0)
    return [
        MinorityLabel(int(j), str(label_names[j]), int(counts[j]), float(counts[j] / n_rows))
        for j in range(len(label_names))
        if counts[j] / n_rows < threshold
    ]


def require_minority_labels(
    labels: np.ndarray, label_names: Sequence[str], threshold: float
) -> list[MinorityLabel]:
    """Like :func:`select_minority_labels`, but refuse a threshold that selects no label.

    Raises
    ------
    InvalidParameter
        No label is that rare; the message names the rarest label and its share.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0]] * 90 + [[0, 1]] * 10, dtype=np.uint8)
    >>> [m.name for m in require_minority_labels(y, "ab", 0.2)]
    ['b']
    >>> require_minority_labels(y, "ab", 0.05)
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: threshold 0.05 selects no label: the rarest label, 'b', has share 0.1000
    """  # noqa: E501
    minority = select_minority_labels(labels, label_names, threshold)
    if not minority:
        shares = np.asarray(labels, dtype=np.int64).sum(axis=0) / labels.shape[0]
        j = int(np.argmin(shares))
        raise InvalidParameter(
            "threshold",
            f"{threshold:g} selects no label: the rarest label, "
            f"{label_names[j]!r}, has share {shares[j]:.4f}",
        )
    return minority


def format_minority_table(minority: Sequence[MinorityLabel], n_rows: int, threshold: float) -> str:
    """Format the selected labels as a table: label, count, share.

    Examples
    --------
    >>> print(format_minority_table([MinorityLabel(3, "grief", 77, 0.0018)], 43410, 0.015))
    minority labels (share of 43,410 training rows < 1.50%):
    label             count    share
    --------------------------------
    grief                77    0.18%
    """
    lines = [
        f"minority labels (share of {n_rows:,} training rows < {threshold:.2%}):",
        f"{'label':<15} {'count':>7} {'share':>8}",
        "-" * 32,
    ]
    lines += [f"{m.name:<15} {m.count:>7,} {m.share:>8.2%}" for m in minority]
    return "\n".join(lines)
