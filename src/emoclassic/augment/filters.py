"""Quality filters for generated texts; each check returns a rejection reason or ``None``.

Small instruct models seldom answer with the bare rewrite. A generation is
first **salvaged** (:func:`extract_rewrite`): a preamble line ("Here's the
reworded comment:"), a label prefix ("Reworded:"), wrapping tags or quotes and
trailing meta paragraphs ("I've revised the original text to ...") are cut
away. What is left is checked in this order, and the first failing check
names the rejection reason:

1. :func:`check_length`: between ``min_words`` and ``max_words`` words.
2. :func:`check_forbidden`: none of the forbidden phrases (assistant talk,
   talk about "the comment", markup) unless the source itself says it.
3. :func:`check_prompt_echo`: no run of four words from the prompt's own
   instructions that the source does not contain.
4. :func:`check_structure`: enough letters, no unfinished sentence.
5. :func:`check_repetition`: no looping run of words.
6. :func:`check_drift`: the text shares enough content words with its source
   (:func:`content_overlap`); replies, inventions and off-topic text share few.
7. ``changed_meaning``: with a sentence encoder
   (:class:`~emoclassic.augment.meaning.SentenceEncoder`), the cosine between
   the text and its source is at least ``min_meaning``.
8. :func:`find_near_duplicates`: not a near-copy (or a verbatim piece) of its
   source text, nor a near-copy of another text of the class or of a text
   already kept.

:class:`QualityFilter` bundles the settings and runs the whole chain on a batch.
The thresholds were chosen on a hand-labelled audit of real generations
(``augment/audit/``), and the test suite re-checks their precision there.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from emoclassic.errors import InvalidParameter, UsageError

__all__ = [
    "REASONS",
    "QualityFilter",
    "check_drift",
    "check_forbidden",
    "check_length",
    "check_prompt_echo",
    "check_repetition",
    "check_structure",
    "clean_generation",
    "content_overlap",
    "content_words",
    "extract_rewrite",
    "find_near_duplicates",
    "load_forbidden_phrases",
]

DEFAULT_FORBIDDEN_FILE = "forbidden_phrases.txt"

#: Every rejection reason, in the order the checks run.
REASONS = (
    "too_short",
    "too_long",
    "forbidden_phrase",
    "prompt_echo",
    "too_few_letters",
    "unfinished_sentence",
    "repetition",
    "off_source",
    "changed_meaning",
    "copy_of_source",
    "duplicate_of_class",
    "duplicate_of_kept",
)

_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+|my\s+|a\s+)?(?:(?:rephrased|paraphrased|rewritten|reworded|revised|new|"
    r"edited|original)\s*)?(?:text|version|comment|sentence|answer|output|rewrite|reword|"
    r"rephrased|paraphrased|rewritten|reworded|revised|paraphrase|response)(?:\s+to)?"
    r"|output|answer)\s*:\s*",
    re.IGNORECASE,
)
_TAGS = re.compile(r"</?\s*(?:text|comment|output|answer|s|p|strong|b|i)\s*>", re.IGNORECASE)
#: A line that only introduces what follows ("Here's the reworded comment:").
_PREAMBLE_LINE = re.compile(
    r"^(?:(?:here|sure|certainly|of course|okay|ok|alright)\b.*|.{0,80}:)$", re.IGNORECASE
)
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}
_DANGLING_END = tuple(",;:-–—/&+")
_DANGLING_WORDS = frozenset(
    "a an the and or but nor so because of to with for from my your our their "
    "is are was were if that which who than as i".split()
)
_WORD = re.compile(r"\S+")
#: rapidfuzz partial_ratio at which a shorter text counts as a piece cut out of its source.
_PIECE_CUTOFF = 95.0
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_BRACKET_TAG = re.compile(r"\[[A-Z]+\]")
_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves just also really even still get got like
    im dont cant its ive thats youre id ill one will""".split()
)


def clean_generation(text: str) -> str:
    """Strip whitespace, tags, ``Rephrased text:`` style prefixes and wrapping quotes.

    Examples
    --------
    >>> clean_generation('  Rephrased text: "I miss him so much it hurts."  ')
    'I miss him so much it hurts.'
    >>> clean_generation("Reworded to: <text>so proud of you</text>")
    'so proud of you'
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
        text = _TAGS.sub("", text).strip()
        text = _PREFIX.sub("", text).strip()
        if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
            inner = text[1:-1]
            # A real wrapping pair only: no quote of the same kind inside (an
            # apostrophe inside single quotes is allowed: "'I can't'").
            if text[0] == "'" or (text[0] not in inner and text[-1] not in inner):
                text = inner.strip()
    return text


def extract_rewrite(text: str, source: str = "") -> str:
    r"""Salvage the rewrite from a generation: drop preamble lines and trailing meta paragraphs.

    The generation is split into its non-empty lines. Leading lines that only
    introduce what follows ("Here's the reworded comment:", any short line
    ending in a colon) are dropped. A source written on one line gets back
    only the first remaining line, so a tail such as "I've revised the
    original text to sound sadder." is cut away; a multi-line source keeps as
    many lines as it has. Each kept line is cleaned with
    :func:`clean_generation`.

    Parameters
    ----------
    text : str
        The raw generation.
    source : str, default=""
        The text it rewrites.

    Returns
    -------
    str

    Examples
    --------
    >>> extract_rewrite("Here's the reworded comment:\n\n'I miss her every day.'", "I miss her")
    'I miss her every day.'
    >>> extract_rewrite("So proud of my son!\n\nI've revised the text to sound prouder.", "x")
    'So proud of my son!'
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    while len(lines) > 1 and _PREAMBLE_LINE.match(lines[0]):
        lines.pop(0)
    keep = max(1, len([line for line in source.splitlines() if line.strip()]))
    return clean_generation("\n".join(clean_generation(line) for line in lines[:keep]))


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
        from emoclassic.augment.prompts import read_text_file

        content = read_text_file(path, "the forbidden-phrase list")
    phrases = []
    for line in content.split("\n"):  # U+2028 or a form feed may sit inside a phrase
        line = line.strip()
        if not line or line == "#" or line.startswith("# "):
            continue
        phrases.append(line.lower())
    return tuple(phrases)


def check_forbidden(text: str, phrases: Sequence[str], source: str = "") -> str | None:
    """Reject texts containing a forbidden phrase that the source does not contain.

    Matching is case-insensitive, on word boundaries where a phrase starts or
    ends with a letter or digit (so ``"ai"`` does not match "said"); a leading
    ``^`` matches only at the start of the text. A phrase that the source
    itself contains is allowed: a faithful rewording of "Sure, whatever" may
    start with "Sure".

    Examples
    --------
    >>> phrases = ("as an ai", "^sure", "```", "the comment")
    >>> check_forbidden("As an AI, I feel nothing", phrases)
    'forbidden_phrase'
    >>> check_forbidden("Sure! I am so scared of it", phrases)
    'forbidden_phrase'
    >>> check_forbidden("I'm not sure I can face it", phrases) is None
    True
    >>> check_forbidden("I love the comment section", phrases, source="the comment section rocks")
    """
    lowered_source = source.lower()
    for phrase in phrases:
        pattern = _phrase_pattern(phrase)
        if pattern.search(text) and not pattern.search(lowered_source):
            return "forbidden_phrase"
    return None


@functools.lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern:
    anchored = phrase.startswith("^")
    body = phrase[1:] if anchored else phrase
    pattern = re.escape(body)
    if body[:1].isalnum():
        pattern = r"\b" + pattern
    if body[-1:].isalnum():
        pattern += r"\b"
    return re.compile(("^" if anchored else "") + pattern, re.IGNORECASE)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def check_prompt_echo(text: str, source: str, instructions: str, n: int = 4) -> str | None:
    """Reject a text that repeats ``n`` consecutive words of the prompt's instructions.

    Only runs of words that the source does not contain count, so a comment
    that happens to share words with the instructions can still be reworded.

    Examples
    --------
    >>> rules = "Reword this comment. Keep the meaning and the speaker."
    >>> check_prompt_echo("Keep the meaning and the speaker, I miss him", "I miss him", rules)
    'prompt_echo'
    >>> check_prompt_echo("I still miss him so much", "I miss him", rules) is None
    True
    """
    allowed = _ngrams(_words(source), n)
    echoed = _ngrams(_words(instructions), n) - allowed
    return "prompt_echo" if _ngrams(_words(text), n) & echoed else None


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return set(_ngram_list(words, n))


def content_words(text: str) -> set[str]:
    """Return the stemmed content words of a text (stop words and ``[NAME]``-style tags dropped).

    A crude stemmer that is enough for overlap: a word loses a common suffix
    (``-ing``, ``-ed``, ``-ly``, ``-es``, ``-s``) and keeps its first six
    letters, so "scared", "scary" and "scares" meet at "scar".

    Examples
    --------
    >>> sorted(content_words("I was SO scared of the dogs, [NAME]!"))
    ['dog', 'scar']
    """
    stems = set()
    for word in _words(_BRACKET_TAG.sub(" ", text)):
        word = word.strip("'")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 2 or word in _STOP_WORDS:
            continue
        for suffix in ("ing", "ed", "ly", "es", "s", "y", "e"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        stems.add(word[:6])
    return stems


def content_overlap(text: str, source: str) -> float:
    """Dice overlap of the content words of a text and its source (0 to 1).

    ``2 |A ∩ B| / (|A| + |B|)`` over :func:`content_words`. It falls when the
    generation drops the source's content (a reply, an invention) and when it
    adds content the source never had (a story around it), so one number
    catches both ways of drifting. Two texts without content words score 1.

    Examples
    --------
    >>> round(content_overlap("My dog died and I miss him", "I miss my dog so much"), 2)
    0.67
    >>> content_overlap("Thanks for sharing, have a great day", "I miss my dog so much")
    0.0
    """
    a, b = content_words(text), content_words(source)
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def check_repetition(text: str, source: str = "", n: int = 4) -> str | None:
    """Reject a text that repeats a run of ``n`` words more often than its source does.

    Small models loop ("I'm sure of it. I'm sure of it. I'm sure of it.");
    a source that repeats itself may be reworded with the same repetition.

    Examples
    --------
    >>> check_repetition("Those books scared me. Those books scared me so much.")
    'repetition'
    >>> check_repetition("Those books used to scare the shit out of me.") is None
    True
    """
    counts = Counter(_ngram_list(_words(text), n))
    allowed = Counter(_ngram_list(_words(source), n))
    return "repetition" if any(c > max(1, allowed[g]) for g, c in counts.items()) else None


def _ngram_list(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def check_drift(text: str, source: str, min_overlap: float = 0.3) -> str | None:
    """Reject a text whose :func:`content_overlap` with its source is under ``min_overlap``.

    Examples
    --------
    >>> check_drift("Thanks for sharing, have a great day", "I miss my dog so much")
    'off_source'
    >>> check_drift("My dog died and I miss him", "I miss my dog so much") is None
    True
    """
    return "off_source" if content_overlap(text, source) < min_overlap else None


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

    A candidate is a copy of its source when the two are near-identical, or
    when it is a verbatim piece of the source (rapidfuzz ``partial_ratio`` >=
    95) that brings no content word of its own: cutting a clause out of the
    source is not a rewording.
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
        "copy_of_source" if _copies(c, s, cutoff) else None for c, s in zip(cand, src, strict=True)
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


def _copies(candidate: str, source: str, cutoff: float) -> bool:
    """Tell a near-copy of the source, or a verbatim piece of it that adds no content word."""
    from rapidfuzz import fuzz

    if fuzz.ratio(candidate, source, score_cutoff=cutoff):
        return True
    return bool(
        fuzz.partial_ratio(candidate, source, score_cutoff=_PIECE_CUTOFF)
        and content_words(candidate) <= content_words(source)
    )


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
    min_overlap : float, default=0.3
        Least content overlap with the source (:func:`check_drift`); ``0``
        turns the drift check off.
    similarity : float, default=85.0
        Near-duplicate cutoff (:func:`find_near_duplicates`).
    encoder : object or None, default=None
        Anything with ``similarity(texts, sources) -> array`` (a
        :class:`~emoclassic.augment.meaning.SentenceEncoder`); ``None``
        skips the meaning check.
    min_meaning : float, default=0.7
        Least cosine between a text and its source under ``encoder``. Chosen
        on half of the hand-labelled audit (``augment/audit/``).
    instructions : str, default=""
        The prompt's own words (:attr:`PromptTemplate.instructions
        <emoclassic.augment.prompts.PromptTemplate.instructions>`), which a
        generation must not echo (:func:`check_prompt_echo`); the loop fills it
        from its template when left empty.

    Examples
    --------
    >>> f = QualityFilter()
    >>> decisions = f.apply(
    ...     ["Reworded: I am so proud of my little brother today!", "Sure! Here it is", "ok"],
    ...     ["my brother did well today", "my brother did well", "my brother did well"],
    ...     class_texts=["my brother did well"],
    ... )
    >>> decisions
    [('I am so proud of my little brother today!', None), ('Sure! Here it is', 'forbidden_phrase'), ('ok', 'too_short')]
    """  # noqa: E501

    min_words: int = 3
    max_words: int = 100
    forbidden: tuple[str, ...] = field(default_factory=load_forbidden_phrases)
    min_letter_share: float = 0.5
    min_overlap: float = 0.3
    similarity: float = 85.0
    encoder: object | None = field(default=None, compare=False, repr=False)
    min_meaning: float = 0.7
    instructions: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise UsageError(
                f"word limits must satisfy 1 <= min <= max, got {self.min_words}..{self.max_words}"
            )
        if not 0.0 < self.similarity <= 100.0:
            raise InvalidParameter("similarity", f"must be in (0, 100], got {self.similarity}")
        if not 0.0 <= self.min_overlap <= 1.0:
            raise InvalidParameter("min_overlap", f"must be in [0, 1], got {self.min_overlap}")
        if not -1.0 <= self.min_meaning <= 1.0:
            raise InvalidParameter("min_meaning", f"must be in [-1, 1], got {self.min_meaning}")

    def check_one(self, text: str, source: str = "") -> str | None:
        """Run the per-text checks on a salvaged text (everything but near-duplicates)."""
        return (
            check_length(text, self.min_words, self.max_words)
            or check_forbidden(text, self.forbidden, source)
            or (self.instructions and check_prompt_echo(text, source, self.instructions))
            or check_structure(text, self.min_letter_share)
            or check_repetition(text, source)
            or (self.min_overlap and check_drift(text, source, self.min_overlap))
            or None
        )

    def apply(
        self,
        candidates: Sequence[str],
        sources: Sequence[str],
        class_texts: Sequence[str],
        kept_texts: Sequence[str] = (),
    ) -> list[tuple[str, str | None]]:
        """Salvage and check a batch of generations of one class.

        Returns
        -------
        list of (str, str or None)
            Per candidate the salvaged text and its rejection reason (``None``:
            keep), in input order.
        """
        if len(candidates) != len(sources):
            raise ValueError("candidates and sources must have the same length")
        pairs = list(zip(candidates, sources, strict=True))
        cleaned = [extract_rewrite(text, source) for text, source in pairs]
        reasons = [
            self.check_one(text, source) for text, source in zip(cleaned, sources, strict=True)
        ]
        open_rows = [i for i, reason in enumerate(reasons) if reason is None]
        if self.encoder is not None and open_rows:
            cosine = self.encoder.similarity(
                [cleaned[i] for i in open_rows], [sources[i] for i in open_rows]
            )
            for i, value in zip(open_rows, cosine, strict=True):
                if value < self.min_meaning:
                    reasons[i] = "changed_meaning"
            open_rows = [i for i in open_rows if reasons[i] is None]
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
            "prompt_echo": "no 4-word run of the prompt's instructions absent from the source",
            "min_letter_share": self.min_letter_share,
            "min_content_overlap": self.min_overlap,
            "meaning": "off"
            if self.encoder is None
            else f"cosine >= {self.min_meaning:g} under {getattr(self.encoder, 'name', 'encoder')}",
            "near_duplicate": f"rapidfuzz fuzz.ratio >= {self.similarity:g} against the source, "
            "the class and the kept texts",
        }
