"""Benchmark the projection network (``fit prado``, both encoders) beside ``lr`` and ``best``.

Each model is fitted exactly as ``emoclassic fit RECIPE`` fits it with default
arguments (``prado`` and ``prado --encoder qrnn``: :class:`PradoSettings`'s
defaults; ``lr`` and ``best``: their recipe's search and threshold source),
saved, loaded again, and scored on the test split by
:func:`emoclassic.compare.compare_models`, the code behind ``emoclassic
compare``: test macro-F1 under each model's tuned thresholds (chosen on
held-out data, never on test), model size on disk, batch texts/s, single-text
p50 and the fit time recorded in the sidecar.

The run is resumable: every fitted model is saved under ``--out`` and a later
run with the same ``--out`` reuses it instead of fitting again (``--refit``
fits again); an interrupted projection-network fit resumes from its
per-epoch checkpoint.

Usage::

    nice -n 10 python pipelines/bench_prado.py                 # prado, qrnn, lr, best
    python pipelines/bench_prado.py --models prado lr --limit 5000 --out /tmp/bench

Times depend on the machine and on what else runs on it; compare rows of one
run, not runs. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
from pathlib import Path

MODELS = ("prado", "qrnn", "lr", "best")


def fit_and_save(name: str, dataset, out: Path, threads: int | None) -> Path:
    """Fit one model with default arguments and save it under ``out``; return its path."""
    if name in ("prado", "qrnn"):
        from emoclassic.prado.saving import save_prado_model
        from emoclassic.prado.settings import PradoSettings
        from emoclassic.prado.training import fit_prado

        path = out / name
        settings = PradoSettings(encoder=name, progress=False, threads=threads)
        model = fit_prado(
            dataset,
            settings,
            checkpoint=out / f"{name}.checkpoint",
            on_epoch=lambda e: print(f"  {name} {e}", flush=True),
        )
        save_prado_model(model, path)
        (out / f"{name}.checkpoint").unlink(missing_ok=True)
        return path
    from emoclassic.persistence import save_model
    from emoclassic.training import FitSettings, fit_model

    path = out / f"{name}.joblib"
    model = fit_model(name, dataset, FitSettings(n_jobs=-1, progress=False))
    save_model(model, path)
    return path


def saved_path(name: str, out: Path) -> Path:
    return out / (name if name in ("prado", "qrnn") else f"{name}.joblib")


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--data", default=None, help="dataset (default: bundled GoEmotions)")
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    parser.add_argument("--out", default="models/bench_prado", help="where the models go")
    parser.add_argument("--refit", action="store_true", help="fit again even if saved")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for the projection networks, fit and scoring (default 1: "
        "the network is small, and one thread is far steadier on a busy machine)",
    )
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()

    import torch

    from emoclassic.compare import compare_models, format_comparison
    from emoclassic.datasets import load_dataset
    from emoclassic.persistence import load_model

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.data)
    if args.limit:
        dataset = dataset.limit_train(args.limit)
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    print(f"load average before: {load_average()}", flush=True)
    paths = {}
    for name in args.models:
        path = saved_path(name, out)
        if args.refit and path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if path.exists():
            print(f"{name}: reusing {path} (--refit fits again)", flush=True)
        else:
            print(f"{name}: fitting with default arguments", flush=True)
            fit_and_save(name, dataset, out, args.threads)
        paths[name] = path
    models = {name: load_model(path) for name, path in paths.items()}
    rows = compare_models(
        models, dataset, "test", paths=paths, latency_samples=args.latency_samples
    )
    print(f"load average after: {load_average()}")
    print()
    print(f"{dataset.summary()}; test split; torch threads {args.threads}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(format_comparison(rows))
    print()
    print("model sizes on disk (weights plus sidecar):")
    for row in rows:
        print(f"  {row['model']:<6} {row['size_bytes'] / 1e3:8.1f} kB")


if __name__ == "__main__":
    main()
