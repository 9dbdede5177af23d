"""Quality filters for generated texts; each check returns a rejection reason or ``None``.

A generation is first cleaned (:func:`clean_generation` strips leftover
``Rephrased text:`` prefixes and wrapping quotes), then checked in this order,
and the first failing check names the rejection reason:

1. :func:`check_length`: between ``min_words`` and ``max_words`` words.
2. :func:`check_forbidden`: none of the forbidden phrases (assistant talk,
   prompt echoes, markup).
3. :func:`check_structure`: enough letters, no unfinished sentence.
4. :func:`find_near_duplicates`: not a near-copy of its source text, of another
   text of the class, or of a text already kept.

:class:`QualityFilter` bundles the settings and runs the whole chain on a batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from emoclassic.errors import UsageError

__all__ = [
    "REASONS",
    "QualityFilter",
    "check_forbidden",
    "check_length",
    "check_structure",
    "clean_generation",
    "find_near_duplicates",
    "load_forbidden_phrases",
]

DEFAULT_FORBIDDEN_FILE = "forbidden_phrases.txt"

#: Every rejection reason, in the order the checks run.
REASONS = (
    "too_short",
    "too_long",
    "forbidden_phrase",
    "too_few_letters",
    "unfinished_sentence",
    "copy_of_source",
    "duplicate_of_class",
    "duplicate_of_kept",
)

_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+)?(?:rephrased|paraphrased|rewritten|new)(?:\s+(?:text|version|comment))?"
    r"|output|answer)\s*:\s*",
    re.IGNORECASE,
)
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}
_DANGLING_END = tuple(",;:-–—/&+")
_DANGLING_WORDS = frozenset(
    "a an the and or but nor so because of to with for from my your our their "
    "is are was were if that which who than as i".split()
)
_WORD = re.compile(r"\S+")


def clean_generation(text: str) -> str:
    """Strip whitespace, leftover ``Rephrased text:`` style prefixes and wrapping quotes.

    Examples
    --------
    >>> clean_generation('  Rephrased text: "I miss him so much it hurts."  ')
    'I miss him so much it hurts.'
    >>> clean_generation("“Output: 'so proud of you'”")
    'so proud of you'
    >>> clean_generation("'I can't stop smiling'")
    "I can't stop smiling"
    >>> clean_generation('"quoted" start and end "quoted"')
    '"quoted" start and end "quoted"'
    """
    previous = None
    text = text.strip()
    while text != previous:
        previous = text
        text = _PREFIX.sub("", text).strip()
        if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
            inner = text[1:-1]
            # A real wrapping pair only: no quote of the same kind inside (an
            # apostrophe inside single quotes is allowed: "'I can't'").
            if text[0] == "'" or (text[0] not in inner and text[-1] not in inner):
                text = inner.strip()
    return text


def check_length(text: str, min_words: int = 3, max_words: int = 100) -> str | None:
    """Reject texts with fewer than ``min_words`` or more than ``max_words`` words.

    Words are runs of non-whitespace characters.

    Examples
    --------
    >>> check_length("so sad"), check_length("I feel so sad"), check_length("x " * 101)
    ('too_short', None, 'too_long')
    """
    n_words = len(_WORD.findall(text))
    if n_words < min_words:
        return "too_short"
    if n_words > max_words:
        return "too_long"
    return None


def load_forbidden_phrases(path: str | Path | None = None) -> tuple[str, ...]:
    """Read a forbidden-phrase file: one phrase per line, ``# `` starts a comment.

    Phrases are lower-cased; a leading ``^`` means "only at the start of the
    text". ``None`` reads the list shipped with the package
    (``emoclassic/augment/forbidden_phrases.txt``).

    Examples
    --------
    >>> phrases = load_forbidden_phrases()
    >>> "as an ai" in phrases and "^sure" in phrases and "```" in phrases
    True
    """
    if path is None:
        content = resources.files(__package__).joinpath(DEFAULT_FORBIDDEN_FILE).read_text("utf-8")
    else:
        try:
            content = Path(path).read_text("utf-8")
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot read the forbidden-phrase list: {exc.strerror}"
            ) from None
    phrases = []
    for line in content.splitlines():
        line = line.strip()
        if not line or line == "#" or line.startswith("# "):
            continue
        phrases.append(line.lower())
    return tuple(phrases)


def check_forbidden(text: str, phrases: Sequence[str]) -> str | None:
    """Reject texts containing a forbidden phrase (case-insensitive).

    Examples
    --------
    >>> phrases = ("as an ai", "^sure", "```")
    >>> check_forbidden("As an AI, I feel nothing", phrases)
    'forbidden_phrase'
    >>> check_forbidden("Sure! I am so scared of it", phrases)
    'forbidden_phrase'
    >>> check_forbidden("I'm not sure I can face it", phrases) is None
    True
    """
    lowered = text.lower()
    for phrase in phrases:
        if phrase.startswith("^"):
            if lowered.startswith(phrase[1:]):
                return "forbidden_phrase"
        elif phrase in lowered:
            return "forbidden_phrase"
    return None


def check_structure(text: str, min_letter_share: float = 0.5) -> str | None:
    """Reject texts with too few letters or an unfinished last sentence.

    ``too_few_letters``: fewer than ``min_letter_share`` of the non-space
    characters are letters. ``unfinished_sentence``: the text ends on a
    comma, colon, dash or similar, or on a word that cannot end a sentence
    ("and", "the", "because", ...), the usual sign of a generation cut off by
    the token limit.

    Examples
    --------
    >>> check_structure("I can't believe she's gone, I miss her every day.") is None
    True
    >>> check_structure("12345 !!! ??? :) 678")
    'too_few_letters'
    >>> check_structure("I was so scared because")
    'unfinished_sentence'
    >>> check_structure("I was so scared and,")
    'unfinished_sentence'
    """
    visible = [c for c in text if not c.isspace()]
    if not visible or sum(c.isalpha() for c in visible) / len(visible) < min_letter_share:
        return "too_few_letters"
    if text.endswith(_DANGLING_END):
        return "unfinished_sentence"
    words = _WORD.findall(text)
    if words and words[-1].lower() in _DANGLING_WORDS:
        return "unfinished_sentence"
    return None


def find_near_duplicates(
    candidates: Sequence[str],
    sources: Sequence[str],
    class_texts: Sequence[str],
    kept_texts: Sequence[str] = (),
    *,
    cutoff: float = 85.0,
    block_size: int = 1024,
) -> list[str | None]:
    """Flag candidates that nearly repeat their source, the class or a kept text.

    Similarity is rapidfuzz's :func:`~rapidfuzz.fuzz.ratio` (0-100, a
    normalized edit similarity) on lower-cased alphanumeric text. Candidates
    are compared with one :func:`~rapidfuzz.process.cdist` call per block
    (vectorized C++, ``score_cutoff`` set), never with a Python double loop.
    A candidate that passes is kept and becomes a reference for the
    candidates after it, so of two near-identical generations only the
    first survives.

    Parameters
    ----------
    candidates : sequence of str
        Generated texts, already cleaned.
    sources : sequence of str
        The source text each candidate rephrases (same length).
    class_texts : sequence of str
        The original texts of the target class.
    kept_texts : sequence of str, default=()
        Generations kept earlier for this class.
    cutoff : float, default=85.0
        Similarity at or above which two texts count as near-duplicates.
    block_size : int, default=1024
        Candidates compared per ``cdist`` call (bounds memory).

    Returns
    -------
    list of str or None
        Per candidate ``"copy_of_source"``, ``"duplicate_of_class"``,
        ``"duplicate_of_kept"`` or ``None`` (keep).

    Examples
    --------
    >>> find_near_duplicates(
    ...     ["I miss my dog so much!", "My heart aches for my lost dog", "my heart aches for my lost dog"],
    ...     ["i miss my dog so much", "i miss my dog so much", "i miss my dog so much"],
    ...     ["i miss my dog so much", "my cat died"],
    ... )
    ['copy_of_source', None, 'duplicate_of_kept']
    """  # noqa: E501
    from rapidfuzz import fuzz, process
    from rapidfuzz.utils import default_process

    if len(candidates) != len(sources):
        raise ValueError("candidates and sources must have the same length")
    cand = [default_process(t) for t in candidates]
    src = [default_process(t) for t in sources]
    reasons: list[str | None] = [
        "copy_of_source" if fuzz.ratio(c, s, score_cutoff=cutoff) else None
        for c, s in zip(cand, src, strict=True)
    ]
    reference = [default_process(t) for t in class_texts]
    kept = [default_process(t) for t in kept_texts]
    for start in range(0, len(cand), block_size):
        stop = min(start + block_size, len(cand))
        block = list(range(start, stop))
        if reference:
            hits = _any_hit(cand[start:stop], reference, cutoff)
            for i in np.flatnonzero(hits):
                if reasons[start + i] is None:
                    reasons[start + i] = "duplicate_of_class"
        open_rows = [i for i in block if reasons[i] is None]
        if kept and open_rows:
            hits = _any_hit([cand[i] for i in open_rows], kept, cutoff)
            for row in np.flatnonzero(hits):
                reasons[open_rows[row]] = "duplicate_of_kept"
            open_rows = [i for i in open_rows if reasons[i] is None]
        if not open_rows:
            continue
        # Within the block: a candidate is a duplicate when it matches one kept before it.
        texts = [cand[i] for i in open_rows]
        within = process.cdist(
            texts, texts, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=1
        )
        accepted = np.zeros(len(open_rows), dtype=bool)
        for row, index in enumerate(open_rows):
            if within[row, :row][accepted[:row]].any():
                reasons[index] = "duplicate_of_kept"
            else:
                accepted[row] = True
        kept.extend(text for text, ok in zip(texts, accepted, strict=True) if ok)
    return reasons


def _any_hit(queries: list[str], choices: list[str], cutoff: float) -> np.ndarray:
    from rapidfuzz import fuzz, process

    scores = process.cdist(
        queries, choices, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float32, workers=1
    )
    return (scores >= cutoff).any(axis=1)


@dataclass(frozen=True)
class QualityFilter:
    """The whole filter chain with its settings.

    Parameters
    ----------
    min_words, max_words : int, default=3, 100
        Length bounds (:func:`check_length`).
    forbidden : tuple of str
        Forbidden phrases (:func:`check_forbidden`); defaults to the list
        shipped with the package.
    min_letter_share : float, default=0.5
        See :func:`check_structure`.
    similarity : float, default=85.0
        Near-duplicate cutoff (:func:`find_near_duplicates`).

    Examples
    --------
    >>> f = QualityFilter()
    >>> decisions = f.apply(
    ...     ["Rephrased text: I am so proud of my little brother today!", "Sure! Here is it", "ok"],
    ...     ["my brother did well", "my brother did well", "my brother did well"],
    ...     class_texts=["my brother did well"],
    ... )
    >>> decisions
    [('I am so proud of my little brother today!', None), ('Sure! Here is it', 'forbidden_phrase'), ('ok', 'too_short')]
    """  # noqa: E501

    min_words: int = 3
    max_words: int = 100
    forbidden: tuple[str, ...] = field(default_factory=load_forbidden_phrases)
    min_letter_share: float = 0.5
    similarity: float = 85.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise UsageError(
                f"word limits must satisfy 1 <= min <= max, got {self.min_words}..{self.max_words}"
            )
        if not 0.0 < self.similarity <= 100.0:
            raise UsageError(f"--similarity must be in (0, 100], got {self.similarity}")

    def check_one(self, text: str) -> str | None:
        """Run the per-text checks (length, forbidden phrases, structure) on a cleaned text."""
        return (
            check_length(text, self.min_words, self.max_words)
            or check_forbidden(text, self.forbidden)
            or check_structure(text, self.min_letter_share)
        )

    def apply(
        self,
        candidates: Sequence[str],
        sources: Sequence[str],
        class_texts: Sequence[str],
        kept_texts: Sequence[str] = (),
    ) -> list[tuple[str, str | None]]:
        """Clean and check a batch of generations of one class.

        Returns
        -------
        list of (str, str or None)
            Per candidate the cleaned text and its rejection reason (``None``:
            keep), in input order.
        """
        cleaned = [clean_generation(text) for text in candidates]
        reasons = [self.check_one(text) for text in cleaned]
        open_rows = [i for i, reason in enumerate(reasons) if reason is None]
        duplicates = find_near_duplicates(
            [cleaned[i] for i in open_rows],
            [sources[i] for i in open_rows],
            class_texts,
            kept_texts,
            cutoff=self.similarity,
        )
        for i, reason in zip(open_rows, duplicates, strict=True):
            reasons[i] = reason
        return list(zip(cleaned, reasons, strict=True))

    def describe(self) -> dict:
        """Return the settings as a plain dict (for the dataset card)."""
        return {
            "length_words": [self.min_words, self.max_words],
            "forbidden_phrases": len(self.forbidden),
            "min_letter_share": self.min_letter_share,
            "near_duplicate": f"rapidfuzz fuzz.ratio >= {self.similarity:g} against the source, "
            "the class and the kept texts",
        }
