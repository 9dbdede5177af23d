r"""Vectorised n-gram hashing: scikit-learn's ``word`` and ``char_wb`` analyzers in NumPy.

scikit-learn builds every n-gram as a Python string and looks it up in a
dictionary, one at a time; for character n-grams that loop is nearly all of
the ``best`` recipe's prediction time. This module produces the *same
n-grams* as whole-array operations: a batch of texts becomes one array of
code points, and each n-gram becomes a 64-bit hash computed from prefix
sums. No Python code runs per n-gram.

Two analyzers are reproduced exactly (after ``str.lower``):

``"word"``
    Tokens of :data:`TOKEN_PATTERN` (runs of ``\w``, and
    every other non-space character on its own), then n-grams of
    consecutive tokens, as ``TfidfVectorizer(token_pattern=TOKEN_PATTERN)``.
``"char_wb"``
    Character n-grams inside whitespace-separated words padded with one
    space on each side, as ``TfidfVectorizer(analyzer="char_wb")`` (n >= 2).

Hashing is polynomial: a string ``s`` of code points hashes to
``sum((s[k] + 1) * P**k) mod 2**64``, mixed with its n-gram order; a word
n-gram folds its tokens' hashes. :func:`string_hash` and
:func:`word_ngram_hash` compute the same values for single strings, so
stored n-gram names can be hashed again after loading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

__all__ = [
    "ANALYZERS",
    "TOKEN_PATTERN",
    "NgramBatch",
    "check_ngram_range",
    "hash_ngrams",
    "string_hash",
    "word_ngram_hash",
]

#: The analyzers this module reproduces.
ANALYZERS = ("word", "char_wb")

#: Words (one character or more) plus every punctuation mark or emoji as its own
#: token, so "!!!", ":(" and "😂" become features. Re-exported by
#: :mod:`emoclassic.features`; the ``word`` hashing below reproduces it.
TOKEN_PATTERN = r"(?u)\b\w+\b|[^\w\s]"

_MASK = (1 << 64) - 1
_P = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_P_INVERSE = pow(_P, -1, 1 << 64)
_FOLD = 0xD6E8FEB86659FD93  # odd multiplier that folds token hashes into an n-gram hash

_UNKNOWN, _SPACE, _WORD, _OTHER = 0, 1, 2, 3
_CLASSES = np.zeros(0x110000, dtype=np.uint8)  # filled on demand, one code point at a time
_WORD_CHAR = re.compile(r"\w")
_SPACE_CHAR = re.compile(r"\s")


@dataclass
class NgramBatch:
    """Every n-gram occurrence of a batch of texts.

    Attributes
    ----------
    rows : ndarray of int64
        The text each occurrence comes from.
    hashes : ndarray of uint64
        The occurrence's n-gram hash.
    """

    rows: np.ndarray
    hashes: np.ndarray
    _text: str | np.ndarray  # code points are decoded on the first name()
    _starts: np.ndarray
    _ends: np.ndarray
    _token_starts: np.ndarray | None = None
    _token_ends: np.ndarray | None = None

    def name(self, k: int) -> str:
        """Spell occurrence ``k``'s n-gram as scikit-learn's analyzer does."""
        start, end = int(self._starts[k]), int(self._ends[k])
        if not isinstance(self._text, str):
            self._text = self._text.tobytes().decode("utf-32-le", "surrogatepass")
        if self._token_starts is None:
            return self._text[start:end]
        return " ".join(
            self._text[self._token_starts[t] : self._token_ends[t]] for t in range(start, end)
        )


def hash_ngrams(
    texts: Sequence[str],
    analyzer: str = "word",
    ngram_range: tuple[int, int] = (1, 2),
    *,
    lowercase: bool = True,
) -> NgramBatch:
    """Hash every n-gram of every text.

    Parameters
    ----------
    texts : sequence of str
        The texts.
    analyzer : {"word", "char_wb"}, default="word"
        Which scikit-learn analyzer to reproduce.
    ngram_range : tuple of int, default=(1, 2)
        Smallest and largest n (``char_wb`` needs n >= 2).
    lowercase : bool, default=True
        Lower-case the texts first, as scikit-learn does by default.

    Returns
    -------
    NgramBatch
        One row index and one hash per occurrence.

    Examples
    --------
    >>> batch = hash_ngrams(["Oh no!", "fine"], "word", (1, 2))
    >>> batch.rows.tolist()  # unigrams of every text, then bigrams
    [0, 0, 0, 1, 0, 0]
    >>> [batch.name(k) for k in range(len(batch.rows))]
    ['oh', 'no', '!', 'fine', 'oh no', 'no !']
    >>> int(batch.hashes[0]) == word_ngram_hash(["oh"])
    True
    """
    if analyzer not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {ANALYZERS}, got {analyzer!r}")
    check_ngram_range(analyzer, ngram_range)
    low, high = ngram_range
    texts = [text.lower() for text in texts] if lowercase else list(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    joined = " ".join(texts)  # the separator is whitespace: no n-gram crosses two texts
    points = _code_points(joined)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths + 1)[: len(points)]
    if analyzer == "word":
        return _word_ngrams(joined, points, rows, low, high)
    return _char_wb_ngrams(points, rows, low, high)


def check_ngram_range(analyzer: str, ngram_range) -> None:
    """Raise ``ValueError`` unless ``ngram_range`` is integers ``(low, high)`` for ``analyzer``.

    ``char_wb`` n-grams start at n = 2; word n-grams at n = 1.

    Examples
    --------
    >>> check_ngram_range("word", (1, 2))
    >>> try:
    ...     check_ngram_range("char_wb", (1, 3))
    ... except ValueError as error:
    ...     print(str(error).split("analyzer='char_wb' ")[1])
    (char_wb n-grams start at n = 2), got (1, 3)
    """
    low, high = ngram_range
    lowest = 2 if analyzer == "char_wb" else 1
    if not (isinstance(low, Integral) and isinstance(high, Integral) and lowest <= low <= high):
        why = " (char_wb n-grams start at n = 2)" if analyzer == "char_wb" else ""
        raise ValueError(
            f"ngram_range must be (low, high) with {lowest} <= low <= high for "
            f"analyzer={analyzer!r}{why}, got {tuple(ngram_range)!r}"
        )


def string_hash(text: str, n: int | None = None) -> int:
    """Hash one whole string, as :func:`hash_ngrams` hashes a ``char_wb`` n-gram.

    Examples
    --------
    >>> batch = hash_ngrams(["ab"], "char_wb", (2, 2))
    >>> [batch.name(k) for k in range(3)]
    [' a', 'ab', 'b ']
    >>> int(batch.hashes[1]) == string_hash("ab")
    True
    """
    return _mix_int(_polynomial(text), len(text) if n is None else n)


def word_ngram_hash(tokens: Sequence[str]) -> int:
    """Hash one word n-gram given as its tokens, as :func:`hash_ngrams` does."""
    folded = 0
    for k, token in enumerate(tokens):
        token_hash = _polynomial(token)
        folded = token_hash if k == 0 else (folded * _FOLD + token_hash) & _MASK
    return _mix_int(folded, len(tokens))


def _polynomial(text: str) -> int:
    value = 0
    for k, char in enumerate(text):
        value = (value + (ord(char) + 1) * pow(_P, k, 1 << 64)) & _MASK
    return value


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _classes(points: np.ndarray) -> np.ndarray:
    r"""Classify each code point as space, word or other (Python's ``\s`` and ``\w``)."""
    classes = _CLASSES[points]
    unknown = classes == _UNKNOWN
    if unknown.any():
        for point in np.unique(points[unknown]).tolist():
            char = chr(point)
            if _SPACE_CHAR.match(char):
                _CLASSES[point] = _SPACE
            elif _WORD_CHAR.match(char):
                _CLASSES[point] = _WORD
            else:
                _CLASSES[point] = _OTHER
        classes = _CLASSES[points]
    return classes


class _PrefixHash:
    """Polynomial hashes of any slice of a code-point array in O(1) each."""

    _powers = np.ones(1, dtype=np.uint64)  # P**k, grown on demand and shared
    _inverse_powers = np.ones(1, dtype=np.uint64)  # P**-k

    def __init__(self, points: np.ndarray):
        n = len(points)
        powers, inverse = self._powers_up_to(n)
        self._sums = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((points.astype(np.uint64) + np.uint64(1)) * powers[:n], out=self._sums[1:])
        self._inverse = inverse

    @classmethod
    def _powers_up_to(cls, n: int) -> tuple[np.ndarray, np.ndarray]:
        powers, inverse = cls._powers, cls._inverse_powers
        if len(powers) <= n:
            size = max(n + 1, 2 * len(powers))
            powers, inverse = (np.full(size, base, dtype=np.uint64) for base in (_P, _P_INVERSE))
            powers[0] = inverse[0] = 1
            np.cumprod(powers, out=powers)
            np.cumprod(inverse, out=inverse)
            cls._powers, cls._inverse_powers = powers, inverse
        return powers, inverse

    def __call__(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        return (self._sums[ends] - self._sums[starts]) * self._inverse[starts]


def _mix(values: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """splitmix64's finaliser of ``values`` xor the order ``n`` (one for all, or one each)."""
    if isinstance(n, np.ndarray):
        order = n.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)  # wraps: modulo 2**64
    else:
        order = np.uint64((n * 0xBF58476D1CE4E5B9) & _MASK)
    z = values ^ order
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _mix_int(value: int, n: int) -> int:
    return int(_mix(np.array([value], dtype=np.uint64), n)[0])


def _word_ngrams(
    joined: str, points: np.ndarray, rows: np.ndarray, low: int, high: int
) -> NgramBatch:
    classes = _classes(points)
    word = classes == _WORD
    other = classes == _OTHER
    previous_word = np.concatenate([[False], word[:-1]])
    next_word = np.concatenate([word[1:], [False]])
    token_starts = np.flatnonzero((word & ~previous_word) | other)
    token_ends = np.flatnonzero((word & ~next_word) | other) + 1
    token_hashes = _PrefixHash(points)(token_starts, token_ends)
    token_rows = rows[token_starts]
    n_tokens = len(token_starts)
    parts = []
    for n in range(low, high + 1):
        first = np.arange(max(n_tokens - n + 1, 0))
        if n > 1:
            first = first[token_rows[first] == token_rows[first + n - 1]]
        folded = token_hashes[first]
        for m in range(1, n):
            folded = folded * np.uint64(_FOLD) + token_hashes[first + m]
        parts.append((token_rows[first], _mix(folded, n), first, n))
    return _assemble(parts, joined, token_starts, token_ends)


def _char_wb_ngrams(points: np.ndarray, rows: np.ndarray, low: int, high: int) -> NgramBatch:
    # Every whitespace character becomes the pad " ", with one more at each end:
    # a word's windows that start or end on its neighbouring whitespace are
    # exactly the n-grams of " word ", and a window with a space inside spans
    # two words. Neighbouring words may share a pad: their windows differ.
    space = np.concatenate([[True], _classes(points) == _SPACE, [True]])
    stream = np.where(space, 32, np.concatenate([[32], points, [32]])).astype(np.uint32)
    rows = np.concatenate([rows[:1], rows, rows[-1:]]) if len(rows) else np.zeros(2, np.int64)
    pads = np.flatnonzero(space[:-1])
    rows[pads] = rows[pads + 1]  # a window starting on a pad belongs to the next word
    # room[i]: how many non-space characters follow position i before the next space.
    positions = np.arange(len(stream))
    space_at = np.append(np.where(space, positions, len(stream)), len(stream))
    next_space = np.minimum.accumulate(space_at[::-1])[::-1]  # first space at or after i
    room = next_space[1:] - positions - 1
    hasher = _PrefixHash(stream)
    parts = []
    for n in range(low, high + 1):
        # A window lies inside one padded word when its interior has no space
        # (and, for n = 2, when it is not two pads).
        window = room[: max(len(stream) - n + 1, 0)]
        if n == 2:
            first = np.flatnonzero(window >= space[: len(window)])
        else:
            first = np.flatnonzero(window >= n - 2)
        parts.append((rows[first], _mix(hasher(first, first + n), n), first, n))
    # scikit-learn counts a padded word shorter than the smallest n once, whole.
    short = pads[(room[pads] >= 1) & (room[pads] + 2 < low)]
    if len(short):
        length = room[short] + 2
        parts.append((rows[short], _mix(hasher(short, short + length), length), short, length))
    return _assemble(parts, stream)


def _assemble(parts, text, token_starts=None, token_ends=None) -> NgramBatch:
    """One :class:`NgramBatch` from ``(rows, hashes, first positions, n)`` per order n."""
    rows, hashes, firsts, orders = zip(*parts, strict=True)
    return NgramBatch(
        np.concatenate(rows),
        np.concatenate(hashes),
        text,
        np.concatenate(firsts),
        np.concatenate([first + n for first, n in zip(firsts, orders, strict=True)]),
        token_starts,
        token_ends,
    )
