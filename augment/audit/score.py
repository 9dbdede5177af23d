"""Print how the default quality filters fare on a hand-labelled audit.

    python augment/audit/score.py augment/audit/smollm2-135m.jsonl [--half even|odd]

The filters run with their defaults, the package's default prompt (for the
echo check) and the offline MiniLM sentence encoder (``emoclassic[offline-llm]``).
``--half even`` is the half the thresholds were chosen on, ``--half odd`` the
half held out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emoclassic.augment.audit import VERDICTS, load_audit, score_audit
from emoclassic.augment.filters import QualityFilter, extract_rewrite
from emoclassic.augment.meaning import SentenceEncoder
from emoclassic.augment.prompts import PromptTemplate


def main() -> None:
    """Score the audit and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audit", type=Path)
    parser.add_argument("--half", choices=["all", "even", "odd"], default="all")
    args = parser.parse_args()
    rows = load_audit(args.audit)
    if args.half != "all":
        rows = rows[0 if args.half == "even" else 1 :: 2]
    encoder = SentenceEncoder()
    quality = QualityFilter(encoder=encoder, instructions=PromptTemplate.default().instructions)
    print(f"{args.audit} ({args.half}, {len(rows)} generations)")
    print(score_audit(rows, quality).table())
    salvaged = [extract_rewrite(row["generation"], row["source"]) for row in rows]
    cosine = encoder.similarity(salvaged, [row["source"] for row in rows])
    print()
    print("cosine of the salvaged generation with its source (MiniLM), by verdict:")
    print(f"{'verdict':<10} {'n':>4} {'p25':>6} {'median':>7} {'p75':>6}")
    for verdict in VERDICTS:
        values = [c for c, row in zip(cosine, rows, strict=True) if row["verdict"] == verdict]
        if values:
            p25, p50, p75 = np.percentile(values, [25, 50, 75])
            print(f"{verdict:<10} {len(values):>4} {p25:>6.2f} {p50:>7.2f} {p75:>6.2f}")


if __name__ == "__main__":
    main()
