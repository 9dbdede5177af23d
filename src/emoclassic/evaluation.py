"""One metrics report for every model, classical or transformer.

:func:`evaluate_scores` takes true labels, scores and a decision rule and
returns an :class:`EvaluationReport`; everything that prints or compares
metrics goes through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

__all__ = ["EvaluationReport", "evaluate_scores", "format_overview"]

OVERALL_KEYS = (
    "subset_accuracy",
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_roc_auc",
    "macro_roc_auc",
)


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of one model on one split under one decision rule.

    Attributes
    ----------
    rule : str
        The decision rule, for example ``"tuned"`` or ``"0.2"``.
    overall : dict of str to float
        ``subset_accuracy``, micro/macro precision, recall and F1, and
        micro/macro ROC-AUC (macro over labels that have both classes).
    per_label : list of dict
        One dict per label: ``label``, ``precision``, ``recall``, ``f1``,
        ``roc_auc`` (``None`` when undefined) and ``support``.
    n_samples : int
        Rows evaluated.
    """

    rule: str
    overall: dict[str, float]
    per_label: list[dict]
    n_samples: int

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return {
            "rule": self.rule,
            "n_samples": self.n_samples,
            "overall": self.overall,
            "per_label": self.per_label,
        }

    def format(self) -> str:
        """Return the overall metrics and the per-emotion table as text."""
        lines = [f"decision rule: {self.rule}    rows: {self.n_samples:,}"]
        lines += [f"  {key:<16} {self.overall[key]:.4f}" for key in OVERALL_KEYS]
        width = max(len(row["label"]) for row in self.per_label)
        lines.append("")
        lines.append(
            f"  {'emotion':<{width}}  {'P':>6} {'R':>6} {'F1':>6} {'AUC':>6} {'support':>8}"
        )
        for row in self.per_label:
            auc = "   n/a" if row["roc_auc"] is None else f"{row['roc_auc']:6.3f}"
            lines.append(
                f"  {row['label']:<{width}}  {row['precision']:6.3f} {row['recall']:6.3f} "
                f"{row['f1']:6.3f} {auc} {row['support']:8d}"
            )
        return "\n".join(lines)


def evaluate_scores(
    y_true: np.ndarray,
    scores: np.ndarray,
    label_names: Sequence[str],
    thresholds: float | np.ndarray,
    *,
    rule: str | None = None,
) -> EvaluationReport:
    """Compute the standard multi-label metrics.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_labels)
        0/1 true labels.
    scores : ndarray of shape (n_samples, n_labels)
        Predicted scores (probabilities).
    label_names : sequence of str
        Names of the label columns.
    thresholds : float or ndarray of shape (n_labels,)
        Predict a label when its score is at least its threshold.
    rule : str, optional
        Name of the decision rule for the report; defaults to the threshold.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> s = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.4]])
    >>> report = evaluate_scores(y, s, ["joy", "anger"], 0.5)
    >>> report.overall["macro_f1"], report.overall["subset_accuracy"]
    (0.8333333333333333, 0.75)
    >>> report.per_label[1]["recall"], report.overall["macro_roc_auc"]
    (0.5, 0.875)
    """
    y_true = np.asarray(y_true).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    thresholds_array = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (scores.shape[1],))
    y_pred = (scores >= thresholds_array).astype(np.int8)
    # scikit-learn reads a single label column as a binary target: score its positive class.
    labels = [1] if y_true.shape[1] == 1 else None
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="micro", zero_division=0
    )
    overall: dict[str, float] = {
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        # scikit-learn's average="macro" is this unweighted mean over all labels.
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
    }
    per_auc = [_roc_auc(y_true[:, j], scores[:, j]) for j in range(scores.shape[1])]
    defined = [auc for auc in per_auc if auc is not None]
    overall["macro_roc_auc"] = float(np.mean(defined)) if defined else float("nan")
    micro_defined = 0 < y_true.sum() < y_true.size
    overall["micro_roc_auc"] = (
        float(roc_auc_score(y_true.ravel(), scores.ravel())) if micro_defined else float("nan")
    )
    per_label = [
        {
            "label": str(name),
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "roc_auc": per_auc[j],
            "support": int(support[j]),
        }
        for j, name in enumerate(label_names)
    ]
    if rule is None:
        rule = f"{float(thresholds):g}" if np.ndim(thresholds) == 0 else "per-label"
    return EvaluationReport(rule, overall, per_label, int(y_true.shape[0]))


def _roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.min() == y.max():
        return None
    return float(roc_auc_score(y, s))


def format_overview(rows: Sequence[tuple[str, EvaluationReport]]) -> str:
    """Format several reports as one compact table (one row per report).

    Parameters
    ----------
    rows : sequence of (str, EvaluationReport)
        A row name (for example ``"test"``) and its report.

    Returns
    -------
    str
        Columns: split, rule, macro-F1, micro-F1, macro P, macro R, macro AUC,
        subset accuracy.
    """
    width = max([len(name) for name, _ in rows] + [5])
    header = (
        f"{'split':<{width}}  {'rule':<9} {'macro-F1':>8} {'micro-F1':>8} "
        f"{'macro-P':>8} {'macro-R':>8} {'mac-AUC':>8} {'subset':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, report in rows:
        o = report.overall
        lines.append(
            f"{name:<{width}}  {report.rule:<9} {o['macro_f1']:8.4f} {o['micro_f1']:8.4f} "
            f"{o['macro_precision']:8.4f} {o['macro_recall']:8.4f} {o['macro_roc_auc']:8.4f} "
            f"{o['subset_accuracy']:8.4f}"
        )
    return "\n".join(lines)
