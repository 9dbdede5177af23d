"""Evaluation figures: one ROC curve per emotion and a per-emotion F1 bar chart.

matplotlib is an optional extra (``pip install 'emoclassic[plots]'``) and is
imported only here, with the non-interactive Agg backend.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_path
from emoclassic.errors import require
from emoclassic.evaluation import EvaluationReport

__all__ = ["write_evaluation_plots", "write_f1_comparison"]


def write_evaluation_plots(
    y_true: np.ndarray, scores: np.ndarray, report: EvaluationReport, folder: str | Path
) -> list[Path]:
    """Write ``roc_<emotion>.png`` for each emotion and ``f1_per_emotion.png``.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_labels)
        0/1 true labels.
    scores : ndarray of shape (n_samples, n_labels)
        Predicted scores.
    report : EvaluationReport
        The report for the same data (gives names, F1 and AUC).
    folder : str or Path
        Output folder, created if needed.

    Returns
    -------
    list of Path
        The files written.
    """
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for j, row in enumerate(report.per_label):
        fig, ax = plt.subplots(figsize=(4, 4))
        if row["roc_auc"] is not None:
            fpr, tpr, _ = roc_curve(y_true[:, j], scores[:, j])
            ax.plot(fpr, tpr, label=f"AUC {row['roc_auc']:.3f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title=row["label"])
        ax.legend(loc="lower right")
        written.append(_save(fig, folder / f"roc_{_slug(row['label'])}.png"))
        plt.close(fig)
    labels = [row["label"] for row in report.per_label]
    fig, ax = plt.subplots(figsize=(8, max(4, 0.28 * len(labels))))
    ax.barh(labels[::-1], [row["f1"] for row in report.per_label][::-1])
    ax.set(xlabel=f"F1 (rule: {report.rule})", xlim=(0, 1), title="F1 per emotion")
    fig.tight_layout()
    written.append(_save(fig, folder / "f1_per_emotion.png"))
    plt.close(fig)
    return written


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def write_f1_comparison(rows: list[dict], path: str | Path) -> Path:
    """Write a per-emotion F1 chart with one bar per model (PNG, atomic).

    Parameters
    ----------
    rows : list of dict
        Rows from :func:`emoclassic.compare.compare_models` (``model`` and
        ``per_label_f1``).
    path : str or Path
        The PNG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(rows[0]["per_label_f1"])
    positions = np.arange(len(labels))
    height = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(8, max(4, 0.3 * len(labels) * max(1, len(rows) / 2))))
    for i, row in enumerate(rows):
        values = [row["per_label_f1"][label] for label in labels]
        ax.barh(positions + i * height, values, height=height, label=row["model"])
    ax.set_yticks(positions + height * (len(rows) - 1) / 2, labels)
    ax.invert_yaxis()
    ax.set(xlabel="F1 (each model's tuned thresholds)", xlim=(0, 1), title="F1 per emotion")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    path = _save(fig, Path(path))
    plt.close(fig)
    return path
