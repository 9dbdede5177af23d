"""Draw the audit sample: real generations for random minority-label rows, unfiltered.

    python augment/audit/sample.py --model smollm2-135m --per-label 32 --seed 2026 \
        --out augment/audit/smollm2-135m.jsonl

Each line holds the label, the source comment, the raw generation and an empty
``verdict`` for a person to fill in (the verdicts are defined in
``emoclassic.augment.audit``). The
sources are drawn from the labels under ``--threshold`` of the bundled
GoEmotions training split, the prompt is the package's default template, and
the sampling settings are the CLI's defaults, so the audit sees what
``emoclassic augment`` sees.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_write_text
from emoclassic.augment.cache import generation_key
from emoclassic.augment.factory import choose_backend, make_backend
from emoclassic.augment.loop import generation_seed
from emoclassic.augment.prompts import PromptTemplate
from emoclassic.augment.selection import select_minority_labels
from emoclassic.datasets import load_goemotions


def main() -> None:
    """Draw, generate and write the unlabelled audit sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--per-label", type=int, default=32)
    parser.add_argument("--threshold", type=float, default=0.015)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    data = load_goemotions()
    train = data.train
    template = PromptTemplate.default()
    minority = select_minority_labels(train.labels, data.label_names, args.threshold)
    rng = np.random.default_rng(args.seed)
    picks = []
    for m in minority:
        rows = rng.choice(np.flatnonzero(train.labels[:, m.index]), args.per_label, replace=False)
        picks += [(m.name, int(row)) for row in rows]
    backend = make_backend(choose_backend(args.model), model=args.model)
    keys = [
        generation_key(
            model=backend.model_name,
            template_sha=template.sha256,
            source_text=train.texts[row],
            label=label,
            sample=0,
            seed=args.seed,
        )
        for label, row in picks
    ]
    texts = backend.generate(
        [template.render(train.texts[row], label) for label, row in picks],
        [generation_seed(key) for key in keys],
    )
    lines = [
        json.dumps(
            {
                "id": key,
                "label": label,
                "source": train.texts[row],
                "generation": text,
                "verdict": "",
            },
            ensure_ascii=False,
        )
        for key, (label, row), text in zip(keys, picks, texts, strict=True)
        if text is not None
    ]
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} generations to {args.out}")


if __name__ == "__main__":
    main()
