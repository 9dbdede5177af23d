"""Score the quality filters against a hand-labelled audit of real generations.

An audit file is JSONL, one generation per line, with ``source`` (the comment
that was reworded), ``generation`` (the raw model output) and ``verdict``:

- ``good``: a rewording of the source that keeps its meaning;
- ``copy``: the source, or a verbatim piece of it, nearly unchanged;
- ``meta``: assistant talk or talk about the text ("The speaker is ...");
- ``echo``: repeats the prompt's instructions;
- ``reply``: answers the comment instead of rewording it;
- ``off_topic``: about something the source does not mention;
- ``distorted``: keeps the topic but changes or reverses the meaning;
- ``garbled``: incoherent, looping or broken text.

A verdict judges the best text that salvaging could cut out of the generation
(a preamble such as "Reworded:" does not make a good rewording bad).
``augment/audit/`` in the repository holds the audit of SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from emoclassic.augment.filters import QualityFilter
from emoclassic.errors import DataError

__all__ = ["VERDICTS", "AuditScore", "load_audit", "score_audit"]

VERDICTS = ("good", "copy", "meta", "echo", "reply", "off_topic", "distorted", "garbled")
#: Verdicts that count as meta-talk or prompt echoes in the kept rows.
META_TALK = ("meta", "echo", "reply")


def load_audit(path: str | Path) -> list[dict]:
    """Read an audit file and check that every line has a source, a generation and a verdict."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").split("\n")  # not at U+2028 inside a record
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the audit file: {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ok = isinstance(row["source"], str) and isinstance(row["generation"], str)
        except (json.JSONDecodeError, KeyError, TypeError):
            ok = False
        if not ok:
            raise DataError(f"{path}:{number}: not an audit row (source, generation, verdict)")
        if row.get("verdict") not in VERDICTS:
            raise DataError(
                f"{path}:{number}: verdict {row.get('verdict')!r} is not one of {VERDICTS}"
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class AuditScore:
    """What the filters kept, by verdict.

    Attributes
    ----------
    total, kept : int
        Audited generations, and how many the filters kept.
    verdicts, kept_verdicts : Counter
        Verdict counts over all rows and over the kept rows.
    """

    total: int
    kept: int
    verdicts: Counter
    kept_verdicts: Counter

    @property
    def kept_share(self) -> float:
        """Kept rows over all rows."""
        return self.kept / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        """Good rewordings over kept rows."""
        return self.kept_verdicts["good"] / self.kept if self.kept else 0.0

    @property
    def good_rejected(self) -> float:
        """Good rewordings that the filters rejected, over all good rewordings."""
        good = self.verdicts["good"]
        return 1.0 - self.kept_verdicts["good"] / good if good else 0.0

    def kept_rate(self, *verdicts: str) -> float:
        """Share of the kept rows with any of ``verdicts``."""
        return sum(self.kept_verdicts[v] for v in verdicts) / self.kept if self.kept else 0.0

    def table(self) -> str:
        """Verdicts over all rows and over kept rows, then the headline rates."""
        lines = [f"{'verdict':<10} {'all':>5} {'kept':>5}", "-" * 22]
        lines += [f"{v:<10} {self.verdicts[v]:>5} {self.kept_verdicts[v]:>5}" for v in VERDICTS]
        lines += [
            "-" * 22,
            f"{'total':<10} {self.total:>5} {self.kept:>5}",
            "",
            f"kept share of generations      {self.kept_share:6.1%}",
            f"precision (good / kept)        {self.precision:6.1%}",
            f"good rewordings rejected       {self.good_rejected:6.1%}",
            f"meta-talk or echo in kept      {self.kept_rate(*META_TALK):6.1%}",
            f"off-topic in kept              {self.kept_rate('off_topic'):6.1%}",
            f"distorted meaning in kept      {self.kept_rate('distorted'):6.1%}",
        ]
        return "\n".join(lines)


def score_audit(rows: list[dict], quality: QualityFilter) -> AuditScore:
    """Run ``quality`` over every audited generation, each against its own source.

    Each generation is judged on its own (its source is the only other text
    of its class), as the loop judges a first generation for a source.

    Examples
    --------
    >>> rows = [
    ...     {"source": "I miss my dog", "generation": "My dog is gone and I miss him",
    ...      "verdict": "good"},
    ...     {"source": "I miss my dog", "generation": "As an AI I have no dog", "verdict": "meta"},
    ... ]
    >>> score = score_audit(rows, QualityFilter())
    >>> score.kept, score.precision, score.kept_rate("meta")
    (1, 1.0, 0.0)
    """
    kept = Counter()
    for row in rows:
        ((_, reason),) = quality.apply([row["generation"]], [row["source"]], [row["source"]])
        if reason is None:
            kept[row["verdict"]] += 1
    return AuditScore(
        total=len(rows),
        kept=sum(kept.values()),
        verdicts=Counter(row["verdict"] for row in rows),
        kept_verdicts=kept,
    )
