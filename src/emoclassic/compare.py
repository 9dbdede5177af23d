"""Compare saved models side by side: quality, size and speed, measured in one run.

Every model, classical or transformer, is scored by
:func:`emoclassic.evaluation.evaluate_scores` on the same split; speed is
measured on this machine in the same run, so rows are comparable with each
other (not with another run's).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from emoclassic.datasets import EmotionDataset
from emoclassic.errors import DataError
from emoclassic.evaluation import evaluate_scores
from emoclassic.model import EmotionModel

__all__ = ["compare_models", "format_comparison", "measure_latency", "size_on_disk"]


def size_on_disk(path: str | Path) -> int:
    """Bytes of a saved model: the file plus its ``.json`` sidecar, or a whole folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.joblib").write_bytes(b"12345")
    >>> _ = (folder / "m.json").write_text("{}")
    >>> size_on_disk(folder / "m.joblib"), size_on_disk(folder)
    (7, 7)
    """
    path = Path(path)
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    sidecar = path.with_suffix(".json")
    extra = sidecar.stat().st_size if sidecar != path and sidecar.is_file() else 0
    return path.stat().st_size + extra


def measure_latency(model: EmotionModel, texts: Sequence[str], samples: int = 20) -> float:
    """Median seconds to score one text, over the first ``samples`` texts (after a warm-up)."""
    texts = list(texts[: max(samples, 1)])
    model.predict_proba(texts[:1])
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.predict_proba([text])
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def compare_models(
    models: dict[str, EmotionModel],
    dataset: EmotionDataset,
    split: str = "test",
    *,
    paths: dict[str, str | Path] | None = None,
    latency_samples: int = 20,
) -> list[dict]:
    """Score each model on one split and measure its speed.

    Parameters
    ----------
    models : dict of str to EmotionModel
        Display name -> loaded model.
    dataset : EmotionDataset
        Must have the models' label list.
    split : str, default="test"
        The split to score.
    paths : dict of str to path, optional
        Where each model is saved, for the size column.
    latency_samples : int, default=20
        Single-text calls behind the median latency.

    Returns
    -------
    list of dict
        One row per model: ``kind``, ``tuned`` and ``at_0.2`` (macro/micro F1),
        ``macro_roc_auc``, ``per_label_f1`` (tuned), ``size_bytes``,
        ``texts_per_s``, ``latency_p50_ms`` and ``fit_seconds`` (from the sidecar).

    Examples
    --------
    >>> import numpy as np
    >>> from emoclassic.datasets import EmotionSplit
    >>> from emoclassic.model import SklearnEmotionModel
    >>> from emoclassic.pipelines import make_nb_pipeline
    >>> texts = ["happy day", "sad day", "happy joy", "sad tears"]
    >>> y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.uint8)
    >>> split = EmotionSplit(texts, y)
    >>> splits = {"train": split, "validation": split, "test": split}
    >>> ds = EmotionDataset(("joy", "sadness"), splits)
    >>> model = SklearnEmotionModel(make_nb_pipeline().fit(texts, y), ds.label_names, [0.5, 0.5])
    >>> row = compare_models({"nb": model}, ds, latency_samples=2)[0]
    >>> row["tuned"]["macro_f1"], row["per_label_f1"]
    (1.0, {'joy': 1.0, 'sadness': 1.0})
    """
    data = dataset.split(split)
    rows = []
    for name, model in models.items():
        if tuple(model.label_names) != tuple(dataset.label_names):
            raise DataError(
                f"{name}: its labels differ from {dataset.source}'s "
                f"({len(model.label_names)} vs {len(dataset.label_names)} labels)"
            )
        started = time.perf_counter()
        scores = model.predict_proba(data.texts)
        seconds = time.perf_counter() - started
        tuned = evaluate_scores(data.labels, scores, model.label_names, model.thresholds)
        fixed = evaluate_scores(data.labels, scores, model.label_names, 0.2)
        path = (paths or {}).get(name)
        rows.append(
            {
                "model": name,
                "kind": model.kind,
                "split": split,
                "n_texts": len(data),
                "tuned": {k: tuned.overall[k] for k in ("macro_f1", "micro_f1")},
                "at_0.2": {k: fixed.overall[k] for k in ("macro_f1", "micro_f1")},
                "macro_roc_auc": tuned.overall["macro_roc_auc"],
                "per_label_f1": {row["label"]: row["f1"] for row in tuned.per_label},
                "size_bytes": None if path is None else size_on_disk(path),
                "texts_per_s": len(data) / seconds if seconds > 0 else float("inf"),
                "latency_p50_ms": 1000 * measure_latency(model, data.texts, latency_samples),
                "fit_seconds": model.metadata.get("fit_seconds"),
            }
        )
    return rows


def format_comparison(rows: Sequence[dict]) -> str:
    """One line per model; ``speed`` is throughput relative to the first model.

    Examples
    --------
    >>> row = {"model": "lr", "tuned": {"macro_f1": 0.5, "micro_f1": 0.6},
    ...        "at_0.2": {"macro_f1": 0.4, "micro_f1": 0.55}, "macro_roc_auc": 0.9,
    ...        "size_bytes": 2_000_000, "texts_per_s": 1000.0, "latency_p50_ms": 1.5,
    ...        "fit_seconds": 12.0}
    >>> print(format_comparison([row]).splitlines()[2])
    lr     0.5000   0.6000   0.4000   0.5500  0.9000     2.0      1,000    1.00x    1.50     12.0
    """
    width = max([len(r["model"]) for r in rows] + [5])
    header = (
        f"{'model':<{width}} {'macF1':>7} {'micF1':>8} {'macF1@.2':>8} {'micF1@.2':>8} "
        f"{'macAUC':>7} {'MB':>7} {'texts/s':>10} {'speed':>8} {'p50 ms':>7} {'fit s':>8}"
    )
    lines = [header, "-" * len(header)]
    reference = rows[0]["texts_per_s"] if rows else 1.0
    for r in rows:
        size = "-" if r["size_bytes"] is None else f"{r['size_bytes'] / 1e6:.1f}"
        fit = "-" if r["fit_seconds"] is None else f"{r['fit_seconds']:.1f}"
        lines.append(
            f"{r['model']:<{width}} {r['tuned']['macro_f1']:7.4f} {r['tuned']['micro_f1']:8.4f} "
            f"{r['at_0.2']['macro_f1']:8.4f} {r['at_0.2']['micro_f1']:8.4f} "
            f"{r['macro_roc_auc']:7.4f} {size:>7} {r['texts_per_s']:10,.0f} "
            f"{_ratio(r['texts_per_s'] / reference):>8} {r['latency_p50_ms']:7.2f} {fit:>8}"
        )
    return "\n".join(lines)


def _ratio(value: float) -> str:
    """``1.00x`` for ratios of 0.1 and more, ``1.4e-03x`` below, so none reads as 0.

    Examples
    --------
    >>> _ratio(1.2866), _ratio(0.0014)
    ('1.29x', '1.4e-03x')
    """
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.1e}x"
