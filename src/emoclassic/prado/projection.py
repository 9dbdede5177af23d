r"""Hashed ternary projections of tokens: PRADO's features, with no vocabulary.

A text is lower-cased and cut into tokens by the project's token pattern
(:data:`emoclassic.ngram_hashing.TOKEN_PATTERN`: runs of word characters, and
every other non-space character on its own). Each token gives *features*:
the token itself (``"w:" + token``) and the character n-grams of
``"<" + token + ">"`` (``"c:" + gram``) for ``n`` in ``char_ngram_range``.

Each feature string is hashed with BLAKE2b (:mod:`hashlib`; a fixed
personalisation, one 64-byte digest per block of 256 features, the block
number as salt) into ``2 * feature_size`` bits. Bit pair ``k`` gives feature
``k``'s value ``first_bit - second_bit``, so each value is -1, 0 or +1 with
probabilities 1/4, 1/2 and 1/4 (PRADO's ternary projection). A token's
projection is the sum of its features' vectors divided by the square root of
their count.

The hash depends on nothing but the bytes of the feature, so a projection is
the same in every process and on every machine (Python's own ``hash()`` is
salted per process and is never used). :data:`PROJECTION_VERSION` names this
scheme; a saved model records it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from emoclassic.errors import InvalidParameter
from emoclassic.ngram_hashing import TOKEN_PATTERN

__all__ = [
    "PROJECTION_VERSION",
    "ProjectedTexts",
    "TokenProjector",
    "check_char_ngram_range",
    "ternary_projection",
    "token_features",
    "tokenize",
]

#: The hashing scheme described above; a model saved under another one is refused.
PROJECTION_VERSION = 1

_PERSON = b"emoclassic.prado"  # BLAKE2b personalisation: exactly 16 bytes
_DIGEST = 64  # bytes per BLAKE2b digest: 512 bits, 256 ternary features
_TOKENS = re.compile(TOKEN_PATTERN)


def tokenize(text: str, max_tokens: int | None = None) -> list[str]:
    """Lower-case ``text`` and cut it into tokens; a text without any gives ``[""]``.

    Parameters
    ----------
    text : str
        The text.
    max_tokens : int, optional
        Keep only the first ``max_tokens`` tokens.

    Returns
    -------
    list of str
        At least one token, so every text has a projection.

    Examples
    --------
    >>> tokenize("So HAPPY!! :)")
    ['so', 'happy', '!', '!', ':', ')']
    >>> tokenize("   ")
    ['']
    """
    tokens = _TOKENS.findall(text.lower())
    return tokens[:max_tokens] or [""]


def check_char_ngram_range(value: object) -> tuple[int, int] | None:
    """Check the character n-gram range: ``None`` (none) or ``(low, high)`` with 1 <= low <= high.

    Returns
    -------
    tuple of (int, int) or None

    Raises
    ------
    InvalidParameter
        Naming ``char_ngram_range``.

    Examples
    --------
    >>> check_char_ngram_range([2, 4])
    (2, 4)
    >>> check_char_ngram_range((3, 2))
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: char_ngram_range must be None or (low, high) with 1 <= low <= high <= 10, got (3, 2)
    """  # noqa: E501
    if value is None:
        return None
    pair = tuple(value) if isinstance(value, list | tuple) else ()
    if (
        len(pair) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
        or not 1 <= pair[0] <= pair[1] <= 10
    ):
        raise InvalidParameter(
            "char_ngram_range",
            f"must be None or (low, high) with 1 <= low <= high <= 10, got {value!r}",
        )
    return (int(pair[0]), int(pair[1]))


def token_features(token: str, char_ngram_range: tuple[int, int] | None = None) -> list[str]:
    """Return the feature strings of one token: itself, then its character n-grams.

    Parameters
    ----------
    token : str
        A token from :func:`tokenize`.
    char_ngram_range : (int, int) or None
        Lengths of the character n-grams of ``"<" + token + ">"``; ``None``:
        the token alone.

    Returns
    -------
    list of str

    Examples
    --------
    >>> token_features("joy", (3, 4))
    ['w:joy', 'c:<jo', 'c:joy', 'c:oy>', 'c:<joy', 'c:joy>']
    >>> token_features("joy")
    ['w:joy']
    """
    features = ["w:" + token]
    if char_ngram_range is not None:
        padded = f"<{token}>"
        low, high = char_ngram_range
        for n in range(low, high + 1):
            features += ["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return features


def ternary_projection(strings: Sequence[str], feature_size: int) -> np.ndarray:
    """Hash each string into ``feature_size`` values in {-1, 0, +1}.

    Parameters
    ----------
    strings : sequence of str
        Feature strings (see :func:`token_features`).
    feature_size : int
        Values per string.

    Returns
    -------
    ndarray of int8 of shape (len(strings), feature_size)

    Examples
    --------
    >>> ternary_projection(["w:joy", "w:joy", "w:fear"], 8).tolist()
    [[0, 0, -1, 1, -1, 1, 0, -1], [0, 0, -1, 1, -1, 1, 0, -1], [0, 1, 0, -1, -1, 0, 1, 1]]
    """
    blocks = math.ceil(2 * feature_size / (8 * _DIGEST))
    salts = [block.to_bytes(16, "little") for block in range(blocks)]
    buffer = b"".join(
        hashlib.blake2b(
            text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST, person=_PERSON, salt=salt
        ).digest()
        for text in strings
        for salt in salts
    )
    digests = np.frombuffer(buffer, dtype=np.uint8).reshape(len(strings), -1)
    return _TERNARY[digests].reshape(len(strings), -1)[:, :feature_size]


def _ternary_table() -> np.ndarray:
    """Map each byte to its four ternary values: bit pairs from the highest, first - second."""
    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.int8)
    return bits[:, 0::2] - bits[:, 1::2]


_TERNARY = _ternary_table()


@dataclass(frozen=True)
class ProjectedTexts:
    """Texts as rows of one table of token projections.

    Attributes
    ----------
    table : ndarray of float32 of shape (n_tokens + 1, feature_size)
        The projection of every distinct token of the texts; row 0 is all
        zeros (padding).
    ids : list of ndarray of int64
        Per text, the table rows of its tokens, in order (never empty, never 0).
    """

    table: np.ndarray
    ids: list[np.ndarray]

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per text."""
        return np.fromiter((len(row) for row in self.ids), dtype=np.int64, count=len(self.ids))

    def batch(self, rows: Sequence[int]) -> np.ndarray:
        """Return the token rows of texts ``rows``, right-padded with 0 to the longest.

        Examples
        --------
        >>> projected = TokenProjector(feature_size=4).project_texts(["a b", "c"])
        >>> projected.batch([0, 1]).tolist()
        [[1, 2], [3, 0]]
        """
        longest = max(len(self.ids[row]) for row in rows)
        out = np.zeros((len(rows), longest), dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, : len(self.ids[row])] = self.ids[row]
        return out


class TokenProjector:
    """Turn texts into token projections; remembers recent tokens' projections.

    Parameters
    ----------
    feature_size : int, default=512
        Ternary values per token.
    char_ngram_range : (int, int) or None, default=(2, 4)
        Character n-grams added to each token's features; ``None``: none.
    max_tokens : int, default=64
        Tokens kept per text (the first ones).
    cache_size : int, default=10000
        Distinct tokens whose projections are kept between calls (a full
        cache is emptied). The cache changes speed, never a value.

    Examples
    --------
    >>> projector = TokenProjector(feature_size=8, char_ngram_range=None)
    >>> projector.project_tokens(["joy"]).tolist() == [
    ...     ternary_projection(["w:joy"], 8)[0].astype(float).tolist()]
    True
    """

    def __init__(
        self,
        feature_size: int = 512,
        char_ngram_range: tuple[int, int] | None = (2, 4),
        max_tokens: int = 64,
        cache_size: int = 10_000,
    ):
        self.feature_size = feature_size
        self.char_ngram_range = char_ngram_range
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self._cache: dict[str, tuple[np.ndarray, int]] = {}

    def _sums(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sum of feature vectors (int16) and feature count of each token, cached ones reused."""
        sums = np.zeros((len(tokens), self.feature_size), dtype=np.int16)
        counts = np.zeros(len(tokens), dtype=np.int64)
        missing, columns, ends = [], [], []
        features: dict[str, int] = {}  # each distinct feature string is hashed once
        for i, token in enumerate(tokens):
            cached = self._cache.get(token)
            if cached is not None:
                sums[i], counts[i] = cached
                continue
            missing.append(i)
            columns += [
                features.setdefault(f, len(features))
                for f in token_features(token, self.char_ngram_range)
            ]
            ends.append(len(columns))
        if missing:
            vectors = ternary_projection(list(features), self.feature_size)
            indptr = np.array([0, *ends])
            incidence = csr_matrix(
                (np.ones(len(columns), dtype=np.float32), columns, indptr),
                shape=(len(missing), len(features)),
            )
            # Sums of at most a few hundred small integers: exact in float32.
            sums[missing] = (incidence @ vectors.astype(np.float32)).astype(np.int16)
            counts[missing] = np.diff(indptr)
            if len(self._cache) + len(missing) > self.cache_size:
                self._cache.clear()
            for i in missing[: self.cache_size]:
                self._cache[tokens[i]] = (sums[i].copy(), int(counts[i]))
        return sums, counts

    def project_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """Return the ``(len(tokens), feature_size)`` float32 projections of distinct tokens."""
        sums, counts = self._sums(tokens)
        scale = (1.0 / np.sqrt(np.maximum(counts, 1))).astype(np.float32)
        return sums.astype(np.float32) * scale[:, None]

    def project_texts(self, texts: Sequence[str]) -> ProjectedTexts:
        """Tokenize ``texts`` and project each distinct token once.

        Returns
        -------
        ProjectedTexts

        Examples
        --------
        >>> projected = TokenProjector(feature_size=16).project_texts(["Joy!", "joy"])
        >>> projected.table.shape, [ids.tolist() for ids in projected.ids]
        ((3, 16), [[1, 2], [1]])
        """
        rows: dict[str, int] = {}
        ids = [
            np.fromiter(
                (
                    rows.setdefault(token, len(rows) + 1)
                    for token in tokenize(text, self.max_tokens)
                ),
                dtype=np.int64,
            )
            for text in texts
        ]
        table = np.zeros((len(rows) + 1, self.feature_size), dtype=np.float32)
        chunk = 2048  # bounds the int8 matrix of feature vectors of one call
        tokens = list(rows)
        for start in range(0, len(tokens), chunk):
            table[1 + start : 1 + start + chunk] = self.project_tokens(
                tokens[start : start + chunk]
            )
        return ProjectedTexts(table, ids)
