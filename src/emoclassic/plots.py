"""Evaluation figures: one ROC curve per emotion and a per-emotion F1 bar chart.

matplotlib is an optional extra (``pip install 'emoclassic[plots]'``) and is
imported only here, with the non-interactive Agg backend.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_path, check_not_foreign, check_output_file
from emoclassic.errors import EmoclassicError, UsageError, require
from emoclassic.evaluation import EvaluationReport

#: The first bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

__all__ = [
    "check_plot_folder",
    "evaluation_plot_names",
    "write_evaluation_plots",
    "write_f1_comparison",
]


def evaluation_plot_names(label_names: list[str]) -> list[str]:
    """File names of :func:`write_evaluation_plots`: one ROC curve per emotion, then F1.

    Names are made file-safe, and stay distinct even where two emotions' safe
    forms (or their lower-case forms, on a case-insensitive file system) agree.

    Examples
    --------
    >>> evaluation_plot_names(["joy", "a b", "a_b", "A_B"])
    ['roc_joy.png', 'roc_a_b.png', 'roc_a_b_2.png', 'roc_A_B_3.png', 'f1_per_emotion.png']
    """
    names, taken = [], set()
    for label in label_names:
        stem, n = f"roc_{_slug(label)}", 1
        name = f"{stem}.png"
        while name.lower() in taken:
            n += 1
            name = f"{stem}_{n}.png"
        taken.add(name.lower())
        names.append(name)
    return [*names, "f1_per_emotion.png"]


def check_plot_folder(folder: str | Path, label_names: list[str]) -> None:
    """Refuse a plot folder that cannot take the figures, before any work is done.

    Raises
    ------
    UsageError
        ``folder`` is a file, sits under a file or an unwritable folder, or a
        figure's path in it fails :func:`~emoclassic.atomic.check_output_file`
        or holds something other than a PNG.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a folder; give a folder for the figures")
    for name in evaluation_plot_names(label_names):
        check_output_file(folder / name)
        check_not_foreign(folder / name, PNG_SIGNATURE, "a PNG figure")


def write_evaluation_plots(
    y_true: np.ndarray, scores: np.ndarray, report: EvaluationReport, folder: str | Path
) -> list[Path]:
    """Write ``roc_<emotion>.png`` for each emotion and ``f1_per_emotion.png``.

    Every figure is drawn first; the files are written only once all are ready,
    each atomically, so a failure to draw leaves no figure behind.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_labels)
        0/1 true labels.
    scores : ndarray of shape (n_samples, n_labels)
        Predicted scores.
    report : EvaluationReport
        The report for the same data (gives names, F1 and AUC).
    folder : str or Path
        Output folder, created if needed (see :func:`check_plot_folder`).

    Returns
    -------
    list of Path
        The files written, named by :func:`evaluation_plot_names`.
    """
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    folder = Path(folder)
    labels = [row["label"] for row in report.per_label]
    check_plot_folder(folder, labels)
    images = []
    for j, row in enumerate(report.per_label):
        fig, ax = plt.subplots(figsize=(4, 4))
        if row["roc_auc"] is not None:
            fpr, tpr, _ = roc_curve(y_true[:, j], scores[:, j])
            ax.plot(fpr, tpr, label=f"AUC {row['roc_auc']:.3f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title=row["label"])
        ax.legend(loc="lower right")
        images.append(_png(fig))
    fig, ax = plt.subplots(figsize=(8, max(4, 0.28 * len(labels))))
    ax.barh(labels[::-1], [row["f1"] for row in report.per_label][::-1])
    ax.set(xlabel=f"F1 (rule: {report.rule})", xlim=(0, 1), title="F1 per emotion")
    fig.tight_layout()
    images.append(_png(fig))
    written = []
    for name, image in zip(evaluation_plot_names(labels), images, strict=True):
        written.append(_write(image, folder / name))
    return written


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _png(fig) -> bytes:
    """Draw ``fig`` as PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _write(image: bytes, path: Path) -> Path:
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(image)
    except OSError as exc:
        raise EmoclassicError(f"{path}: cannot be written ({exc.strerror or exc})") from None
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
    return _write(_png(fig), Path(path))
