"""One text's scores from its n-gram columns, in one compiled call.

A linear model over hashed tf-idf features scores one text as
``x @ coef + intercept``, where ``x`` is the text's sublinear tf-idf row,
l2-normalised block by block (one block per vectorizer of a ``FeatureUnion``).
Done with NumPy, that is about thirty small array calls (sort, count, log,
idf, two norms, a gather and a product), and their fixed cost is most of a
single text's time. :func:`score_columns` does the same arithmetic in one
numba-compiled function, which counts with a scratch array instead of a sort.

The loop is plain Python over NumPy arrays, so it also runs, slowly but
identically, when numba is not installed: :func:`compiled_score_columns`
returns ``None`` there and callers keep their NumPy path.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["compiled_score_columns", "score_columns"]


def score_columns(columns, marks, block_ends, block_weights, idf, sublinear_tf, coef, intercept):
    """Decision values of one text from the columns of its n-gram occurrences.

    Occurrences are counted in ``marks``, a scratch array with one counter per
    feature, instead of by sorting: one pass finds the distinct columns, a
    second reads their counts and sets the counters back to zero.

    Parameters
    ----------
    columns : ndarray of int64
        The column of every kept n-gram occurrence, repeats included, in any order.
    marks : ndarray of int32 of shape (n_features,)
        All zero; used as scratch and left all zero. One per thread.
    block_ends : ndarray of int64
        End column of each feature block, increasing.
    block_weights : ndarray of float64
        Each block's ``FeatureUnion`` weight.
    idf : ndarray of float64
        Inverse document frequency of every column.
    sublinear_tf : bool
        Use ``1 + log(count)`` instead of the count.
    coef : ndarray of shape (n_features, n_labels)
        Weights, float32 or float64. Each feature value is rounded to this
        dtype, as scikit-learn's features are; the products are summed in
        float64 (so a float32 model's scores differ from scikit-learn's float32
        sums by those sums' rounding, about 1e-7 of a decision value).
    intercept : ndarray of float64 of shape (n_labels,)

    Returns
    -------
    ndarray of float64 of shape (n_labels,)
        ``x @ coef + intercept``, with ``x`` the l2-normalised (per block),
        weighted tf-idf row.

    Examples
    --------
    >>> coef = np.array([[1.0], [2.0], [4.0]])
    >>> marks = np.zeros(3, dtype=np.int32)
    >>> score_columns(np.array([2, 0, 2]), marks, np.array([2, 3]), np.ones(2),
    ...               np.ones(3), False, coef, np.zeros(1)).tolist()  # blocks {0}, {2}
    [5.0]
    >>> marks.tolist()
    [0, 0, 0]
    """
    distinct = np.empty(len(columns), dtype=np.int64)
    found = 0
    for column in columns:
        if marks[column] == 0:
            distinct[found] = column
            found += 1
        marks[column] += 1
    values = np.empty(found, dtype=np.float64)
    blocks = np.empty(found, dtype=np.int64)
    squares = np.zeros(len(block_ends), dtype=np.float64)
    for k in range(found):
        column = distinct[k]
        count = float(marks[column])
        marks[column] = 0
        value = (np.log(count) + 1.0 if sublinear_tf else count) * idf[column]
        block = 0
        while column >= block_ends[block]:
            block += 1
        blocks[k] = block
        squares[block] += value * value
        values[k] = value
    scales = np.zeros(len(block_ends), dtype=np.float64)
    for b in range(len(block_ends)):
        if squares[b] > 0:
            scales[b] = block_weights[b] / np.sqrt(squares[b])
    row = np.empty(found, dtype=coef.dtype)  # the feature values, rounded to coef's dtype
    scores = np.zeros(coef.shape[1], dtype=np.float64)
    for k in range(found):
        row[k] = values[k] * scales[blocks[k]]
        column = distinct[k]
        for label in range(coef.shape[1]):
            scores[label] += np.float64(row[k]) * np.float64(coef[column, label])
    return scores + intercept


@lru_cache(maxsize=1)
def compiled_score_columns():
    """Return :func:`score_columns` compiled by numba, or ``None`` without numba.

    The compiled code is cached on disk by numba, so only the first run on a
    machine pays the compilation (about a second).

    Examples
    --------
    >>> kernel = compiled_score_columns()
    >>> kernel is None or callable(kernel)
    True
    """
    try:
        import numba
    except ImportError:
        return None
    try:
        return numba.njit(cache=True, nogil=True)(score_columns)
    except RuntimeError:  # no writable cache folder: compile in memory each run
        return numba.njit(nogil=True)(score_columns)
