"""The closing summary of a run: one row per minority label."""

from __future__ import annotations

from emoclassic.augment.filters import REASONS
from emoclassic.augment.loop import AugmentResult, LabelStats

__all__ = ["format_summary"]


def format_summary(result: AugmentResult) -> str:
    """Format per-label counts: before, after, generated, kept, failed, rejected by reason.

    Only the rejection reasons that occurred get a column.

    Examples
    --------
    >>> from collections import Counter
    >>> from emoclassic.augment.loop import AugmentResult, LabelStats
    >>> stats = LabelStats("grief", 3, 5, generated=4, kept=2, rejected=Counter(too_short=2))
    >>> print(format_summary(AugmentResult([], {"grief": stats}, [], "done", 1)))
    label            before   after  generated   kept  failed  too_short
    --------------------------------------------------------------------
    grief                 3       5          4      2       0          2
    --------------------------------------------------------------------
    total                 3       5          4      2       0          2
    """
    reasons = [r for r in REASONS if any(s.rejected[r] for s in result.stats.values())]
    header = f"{'label':<15} {'before':>7} {'after':>7} {'generated':>10} {'kept':>6} {'failed':>7}"
    header += "".join(f" {r:>{max(len(r), 6) + 1}}" for r in reasons)
    total = LabelStats("total", 0, 0)
    for s in result.stats.values():
        total.before += s.before
        total.after += s.after
        total.generated += s.generated
        total.kept += s.kept
        total.failed += s.failed
        total.rejected.update(s.rejected)

    def line(s: LabelStats) -> str:
        text = (
            f"{s.name:<15} {s.before:>7,} {s.after:>7,} {s.generated:>10,} {s.kept:>6,} "
            f"{s.failed:>7,}"
        )
        return text + "".join(f" {s.rejected[r]:>{max(len(r), 6) + 1},}" for r in reasons)

    rule = "-" * len(header)
    return "\n".join([header, rule, *map(line, result.stats.values()), rule, line(total)])
