"""Fast inference for linear text models: one coefficient matrix instead of 28 estimators.

A fitted ``Pipeline(vectorizer, OneVsRestClassifier(LogisticRegression))``
scores a text through 28 separate binary models, each validating its input
again; for one text that overhead is almost all of the time. :func:`fold_linear`
folds the binary models into a single ``(n_features, n_labels)`` matrix ``W``
and intercept vector ``b``, so that the scores are ``expit(x @ W + b)`` with
``x`` the text's tf-idf row. The numbers are kept in float64 and the formula
is scikit-learn's, so the scores agree with ``predict_proba`` to rounding.

Recognised structures (anything else returns ``None`` and callers keep the
scikit-learn path):

- features: one ``TfidfVectorizer``/``CountVectorizer``/
  :class:`~emoclassic.hashed_tfidf.HashedTfidfVectorizer`, or a ``FeatureUnion``
  of them (with optional ``transformer_weights``), optionally followed by
  :class:`~emoclassic.features.SortedCSR` (which only reorders indices);
- classifier: a multi-label ``OneVsRestClassifier`` of binary
  ``LogisticRegression`` or :class:`~emoclassic.nblr.NBLogisticBlend`
  (decision value = log-odds) or ``MultinomialNB`` (decision value = log-odds
  of the two classes), with constant labels (``_ConstantPredictor``) kept
  exact as an infinite intercept;
- optionally wrapped in a :class:`~emoclassic.thresholds.PerLabelThresholdClassifier`.

The folded matrix keeps the binary models' dtype: float64 for
``LogisticRegression``, float32 for ``NBLogisticBlend`` (whose float32
features and weights scikit-learn multiplies in float32), so the product is
computed exactly as scikit-learn computes it.

Single texts skip scikit-learn's sparse-matrix machinery where that is exact
(float64 tf-idf): tokens are counted in a dict and weighted with the
vectorizer's own analyzer, idf and norm. A ``HashedTfidfVectorizer`` gives a
single text's row itself (``transform_one``, the same numbers as its
``transform``). Other float32 features go through the vectorizers' own
``transform``. When every block is hashed, single texts after the first are
scored by one compiled call (:mod:`emoclassic.single_text_kernel`): counting,
tf-idf, the block norms and the product, with the products summed in float64.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

__all__ = ["LinearTextModel", "fold_linear"]

#: Batches up to this size are vectorised in pure Python (no sparse matrices).
SMALL_BATCH = 8
#: Texts per thread task when hashed features score a large batch on several cores.
THREAD_CHUNK = 1024


@dataclass(frozen=True)
class _Block:
    """One vectorizer's slice of the feature space."""

    name: str
    vectorizer: object
    offset: int
    weight: float
    fast: bool  # one text's row comes exactly from the dict path or transform_one
    width: int


class LinearTextModel:
    """Texts -> tf-idf -> ``expit(X @ coef + intercept)``, folded from a fitted pipeline.

    Build it with :func:`fold_linear`, which checks the structure.

    Parameters
    ----------
    blocks : list of _Block
        The vectorizers and their column offsets.
    coef : ndarray of shape (n_features, n_labels)
        Column ``j`` holds label ``j``'s weights (float64 or float32, C-contiguous).
    intercept : ndarray of shape (n_labels,)
        ``+inf``/``-inf`` for a label that was constant in training.
    kind : str
        ``"logistic_regression"`` or ``"multinomial_nb"``.
    n_threads : int or None, default=None
        Threads that score a batch of hashed features (whose NumPy work
        releases the GIL) in chunks of :data:`THREAD_CHUNK` texts; ``None``:
        one per CPU. Scores do not depend on it.

    Examples
    --------
    >>> from emoclassic.pipelines import make_lr_pipeline
    >>> texts, Y = ["so happy", "so sad", "happy day", "sad day"], [[1, 0], [0, 1]] * 2
    >>> pipe = make_lr_pipeline().fit(texts, Y)
    >>> fast = fold_linear(pipe)
    >>> fast.coef.shape
    (8, 2)
    >>> bool(np.allclose(fast.predict_proba(["happy"]), pipe.predict_proba(["happy"]),
    ...                  rtol=0, atol=1e-12))
    True
    """

    def __init__(
        self,
        blocks: list[_Block],
        coef: np.ndarray,
        intercept: np.ndarray,
        kind: str,
        n_threads: int | None = None,
    ):
        self.blocks = blocks
        self.n_threads = n_threads
        self.coef = np.ascontiguousarray(coef)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.kind = kind
        self._rows = [_row_function(block.vectorizer) for block in blocks]
        self._hashed = _hashed_layout(blocks)
        self._block_ends = np.array([block.offset + block.width for block in blocks])
        self._single_calls = 0
        self._scratch = threading.local()
        if self._hashed is not None:
            idf, sublinear, _ = self._hashed
            weights = np.array([block.weight for block in blocks], dtype=np.float64)
            ends = self._block_ends.astype(np.int64)
            self._kernel_args = (ends, weights, idf, sublinear, self.coef, self.intercept)

    @property
    def n_labels(self) -> int:
        """Number of labels (columns of the score matrix)."""
        return self.coef.shape[1]

    def feature_names(self) -> np.ndarray:
        """Names of the folded feature columns (``FeatureUnion``-style prefixes)."""
        names = []
        for block in self.blocks:
            own = np.asarray(block.vectorizer.get_feature_names_out(), dtype=str)
            names.append(own if not block.name else np.char.add(f"{block.name}__", own))
        return np.concatenate(names) if names else np.array([], dtype=object)

    def transform(self, texts: Sequence[str]):
        """Return the ``(n_texts, n_features)`` feature matrix the classifier sees."""
        texts = list(texts)
        if len(texts) <= SMALL_BATCH and all(block.fast for block in self.blocks):
            rows = [self._row(text) for text in texts]
            indptr = np.cumsum([0] + [len(idx) for idx, _ in rows])
            indices = np.concatenate([idx for idx, _ in rows]) if rows else []
            data = np.concatenate([val for _, val in rows]) if rows else []
            return sp.csr_matrix(
                (data, indices, indptr), shape=(len(texts), self.coef.shape[0]), dtype=np.float64
            )
        parts = []
        for block in self.blocks:
            part = block.vectorizer.transform(texts)
            parts.append(part * block.weight if block.weight != 1.0 else part)
        return sp.hstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Per-label decision values (log-odds): ``X @ coef + intercept``."""
        texts = list(texts)
        if len(texts) == 1 and all(block.fast for block in self.blocks):
            kernel = self._single_text_kernel()
            if kernel is not None:
                columns = self._hashed_columns(texts[0])
                return kernel(columns, self._marks(), *self._kernel_args)[None, :]
            idx, val = self._row(texts[0])
            return (val @ self.coef.take(idx, axis=0) + self.intercept)[None, :]
        threads = min(self.n_threads or os.cpu_count() or 1, len(texts) // THREAD_CHUNK)
        if self._hashed is None or threads < 2:
            return self._decision_batch(texts)
        chunks = [texts[k : k + THREAD_CHUNK] for k in range(0, len(texts), THREAD_CHUNK)]
        with ThreadPoolExecutor(threads) as pool:
            return np.vstack(list(pool.map(self._decision_batch, chunks)))

    def _decision_batch(self, texts: list[str]) -> np.ndarray:
        if len(texts) <= SMALL_BATCH or len(self.blocks) == 1:
            return np.asarray(self.transform(texts) @ self.coef) + self.intercept
        scores = np.zeros((len(texts), self.n_labels), dtype=self.coef.dtype)
        for block in self.blocks:  # block by block: no horizontal stacking
            part = block.vectorizer.transform(texts)
            if block.weight != 1.0:
                part = part * block.weight
            scores += part @ self.coef[block.offset : block.offset + block.width]
        return scores + self.intercept

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Per-label probabilities, as the folded pipeline's ``predict_proba``."""
        return expit(self.decision_function(texts))

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's non-zero feature indices and values, without scipy.sparse."""
        if self._hashed is not None:
            return self._hashed_row(text)
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for block, row in zip(self.blocks, self._rows, strict=True):
            idx, val = row(text)
            indices.append(idx + block.offset)
            values.append(val * block.weight if block.weight != 1.0 else val)
        if len(indices) == 1:
            return indices[0], values[0]
        return np.concatenate(indices), np.concatenate(values)

    def _single_text_kernel(self):
        """Return the compiled scorer of one hashed text, from the second single text on.

        A process that scores one text and exits (``emoclassic predict MODEL
        TEXT``) keeps the NumPy path and never pays numba's import; a server or
        a loop switches to :func:`~emoclassic.single_text_kernel.score_columns`
        (the same numbers, in one call) on its second text.
        """
        if self._hashed is None:
            return None
        if self._single_calls < 1:
            self._single_calls += 1
            return None
        return self._compiled_kernel

    @cached_property
    def _compiled_kernel(self):
        """Fetch the compiled scorer once per model (``None`` without numba)."""
        from emoclassic.single_text_kernel import compiled_score_columns

        return compiled_score_columns()

    def _single_text_kernel_ready(self) -> bool:
        """Whether the next single text goes to the compiled scorer."""
        return self._hashed is not None and self._single_calls >= 1

    def _marks(self) -> np.ndarray:
        """Return the calling thread's all-zero counter per feature (the kernel's scratch)."""
        marks = getattr(self._scratch, "marks", None)
        if marks is None:
            marks = self._scratch.marks = np.zeros(self.coef.shape[0], dtype=np.int32)
        return marks

    def _hashed_columns(self, text: str) -> np.ndarray:
        """Every block's n-gram columns of ``text``, offset into the folded feature space."""
        found = [block.vectorizer.ngram_columns(text) for block in self.blocks]
        for block, part in zip(self.blocks, found, strict=True):
            if block.offset:
                part += block.offset  # a fresh array (concatenated or built per call)
        return np.concatenate(found).astype(np.int64, copy=False)

    def _hashed_row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_row` for hashed blocks: one count and tf-idf pass over all blocks.

        Each block's values are those of its ``transform_one`` (the same float64
        operations on the same sorted columns), so the result is identical.
        """
        from emoclassic.hashed_tfidf import count_columns, normalize_row, tfidf_values

        idf, sublinear, dtype = self._hashed
        columns, counts = count_columns(self._hashed_columns(text))
        values = tfidf_values(counts, idf[columns], sublinear)
        ends = np.searchsorted(columns, self._block_ends)
        start = 0
        for block, end in zip(self.blocks, ends.tolist(), strict=True):
            part = values[start:end]
            normalize_row(part)
            if block.weight != 1.0:
                part *= block.weight
            start = end
        return columns, values.astype(dtype)


def _hashed_layout(blocks: list[_Block]):
    """``(idf, sublinear_tf, dtype)`` when every block is a HashedTfidfVectorizer alike."""
    vectorizers = [block.vectorizer for block in blocks]
    if not all(map(_is_hashed, vectorizers)):
        return None
    settings = {(bool(v.sublinear_tf), np.dtype(v.dtype)) for v in vectorizers}
    if len(settings) != 1:
        return None
    sublinear, dtype = settings.pop()
    return np.concatenate([v.idf_ for v in vectorizers]), sublinear, dtype


def _row_function(vectorizer):
    """``text -> (indices, values)`` of one vectorizer, without scipy.sparse."""
    if _is_hashed(vectorizer):
        return vectorizer.transform_one
    analyze, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_

    def row(text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for token in analyze(text):
            j = vocabulary.get(token)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        val = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return idx, _tfidf(vectorizer, idx, val)

    return row


def _tfidf(vectorizer, idx: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Apply a vectorizer's tf, idf and norm to one row, as ``transform`` does."""
    if vectorizer.binary:
        counts = np.minimum(counts, 1.0)
    tfidf = getattr(vectorizer, "_tfidf", None)
    if tfidf is None:  # a CountVectorizer
        return counts
    if tfidf.sublinear_tf:
        counts = np.log(counts) + 1.0
    if hasattr(tfidf, "idf_"):
        counts = counts * tfidf.idf_[idx]
    if tfidf.norm == "l2":
        norm = np.sqrt(np.dot(counts, counts))
    elif tfidf.norm == "l1":
        norm = np.abs(counts).sum()
    else:
        return counts
    return counts / norm if norm > 0 else counts


def fold_linear(estimator) -> LinearTextModel | None:
    """Fold a fitted linear text pipeline into a :class:`LinearTextModel`.

    Parameters
    ----------
    estimator : estimator object
        A fitted ``Pipeline(vectorizer-or-FeatureUnion, OneVsRestClassifier)``,
        possibly inside a ``PerLabelThresholdClassifier``.

    Returns
    -------
    LinearTextModel or None
        ``None`` when the structure is not one this module reproduces exactly.

    Examples
    --------
    >>> from sklearn.svm import LinearSVC
    >>> from emoclassic.pipelines import make_nb_pipeline
    >>> pipe = make_nb_pipeline().fit(["good day", "bad day"], [[1, 0], [0, 1]])
    >>> fold_linear(pipe).kind
    'multinomial_nb'
    >>> fold_linear(LinearSVC()) is None
    True
    """
    from sklearn.pipeline import Pipeline

    inner = getattr(estimator, "estimator_", None)
    if inner is not None and type(estimator).__name__ == "PerLabelThresholdClassifier":
        if getattr(estimator, "_binary", False):
            return None
        estimator = inner
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    (_, features), *middle, (_, classifier) = estimator.steps
    if not all(_is_step(step, "emoclassic.features", "SortedCSR") for _, step in middle):
        return None
    blocks = _feature_blocks(features)
    if blocks is None:
        return None
    n_features = blocks[-1].offset + blocks[-1].width
    folded = _fold_classifier(classifier, n_features)
    if folded is None:
        return None
    coef, intercept, kind = folded
    return LinearTextModel(blocks, coef, intercept, kind)


def _is_hashed(vectorizer) -> bool:
    """Whether ``vectorizer`` is a :class:`~emoclassic.hashed_tfidf.HashedTfidfVectorizer`."""
    return _is_step(vectorizer, "emoclassic.hashed_tfidf", "HashedTfidfVectorizer")


def _is_step(step, module: str, name: str) -> bool:
    """Match a class by module and name without importing the module."""
    return type(step).__name__ == name and type(step).__module__ == module


def _feature_blocks(features) -> list[_Block] | None:
    from sklearn.pipeline import FeatureUnion

    if isinstance(features, FeatureUnion):
        weights = features.transformer_weights or {}
        named = [
            (name, transformer, float(weights.get(name, 1.0)))
            for name, transformer in features.transformer_list
        ]
        prefix = features.verbose_feature_names_out
    else:
        named, prefix = [("", features, 1.0)], False
    blocks, offset = [], 0
    for name, vectorizer, weight in named:
        width = _width(vectorizer)
        if width is None:
            return None
        blocks.append(
            _Block(
                name if prefix else "",
                vectorizer,
                offset,
                weight,
                _dict_path_ok(vectorizer),
                width,
            )
        )
        offset += width
    return blocks or None


def _width(vectorizer) -> int | None:
    """Return the column count of a vectorizer this module folds, else ``None``."""
    from sklearn.feature_extraction.text import CountVectorizer

    if _is_hashed(vectorizer):
        return len(vectorizer.hashes_) if hasattr(vectorizer, "hashes_") else None
    if isinstance(vectorizer, CountVectorizer) and hasattr(vectorizer, "vocabulary_"):
        return len(vectorizer.vocabulary_)
    return None


def _dict_path_ok(vectorizer) -> bool:
    """Whether :meth:`LinearTextModel._row` reproduces ``vectorizer.transform`` exactly.

    Subclasses may override ``transform``, and a float32 tf-idf rounds
    differently, so only the two stock classes qualify (tf-idf in float64),
    plus ``HashedTfidfVectorizer``, whose ``transform`` of one text *is*
    ``transform_one``.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if _is_hashed(vectorizer):
        return True
    if type(vectorizer) is CountVectorizer:
        return True
    return type(vectorizer) is TfidfVectorizer and np.dtype(vectorizer.dtype) == np.float64


def _fold_classifier(classifier, n_features: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.naive_bayes import MultinomialNB

    from emoclassic._sklearn_compat import _ConstantPredictor

    if not isinstance(classifier, OneVsRestClassifier) or not getattr(
        classifier, "multilabel_", False
    ):
        return None
    estimators = classifier.estimators_
    dtypes = {np.asarray(e.coef_).dtype for e in estimators if hasattr(e, "coef_")}
    dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    coef = np.zeros((n_features, len(estimators)), dtype=dtype)
    intercept = np.zeros(len(estimators))
    kinds = set()
    for j, binary in enumerate(estimators):
        if isinstance(binary, _ConstantPredictor):
            intercept[j] = np.inf if float(np.ravel(binary.y_)[0]) > 0 else -np.inf
            continue
        if len(getattr(binary, "classes_", ())) != 2:
            return None
        if isinstance(binary, LogisticRegression) or _is_step(
            binary, "emoclassic.nblr", "NBLogisticBlend"
        ):
            w = binary.coef_
            w = w.toarray() if sp.issparse(w) else np.asarray(w)
            coef[:, j], intercept[j] = w[0], float(np.ravel(binary.intercept_)[0])
            kinds.add("logistic_regression")
        elif isinstance(binary, MultinomialNB):
            log_prob = binary.feature_log_prob_
            coef[:, j] = log_prob[1] - log_prob[0]
            intercept[j] = binary.class_log_prior_[1] - binary.class_log_prior_[0]
            kinds.add("multinomial_nb")
        else:
            return None
        if coef.shape[0] != binary.n_features_in_:
            return None
    if len(kinds) > 1 or (dtype == np.float32 and kinds != {"logistic_regression"}):
        return None
    return coef, intercept, kinds.pop() if kinds else "logistic_regression"
