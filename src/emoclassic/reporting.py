"""What a fit reports: the held-out splits scored under each decision rule.

Every recipe, classical or transformer, is reported the same way: the
validation and test splits under the fixed cut-offs 0.5 and 0.2 and under the
model's tuned per-label thresholds. :func:`report_fit` computes it; the
:class:`FitReport` it returns gives the table to print, a note on the tuned
rule, and the metrics a saved model keeps in its sidecar (``metrics``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emoclassic.evaluation import EvaluationReport, evaluate_scores, format_overview

if TYPE_CHECKING:
    from emoclassic.datasets import EmotionDataset
    from emoclassic.model import EmotionModel

__all__ = ["DECISION_RULES", "HELD_OUT_SPLITS", "FitReport", "report_fit"]

#: The decision rules a fit is reported under; ``"tuned"`` is the model's default.
DECISION_RULES: tuple[float | str, ...] = (0.5, 0.2, "tuned")
#: The splits a fit is reported on, in table order (a missing one is skipped).
HELD_OUT_SPLITS = ("validation", "test")


@dataclass(frozen=True)
class FitReport:
    """The metrics of a fitted model on its held-out splits, one report per split and rule.

    Attributes
    ----------
    rows : list of (str, EvaluationReport)
        The split name and its report, splits in :data:`HELD_OUT_SPLITS`
        order, rules in the order asked for.
    thresholds_from : str or None
        Where the tuned thresholds came from (the model's ``thresholds_from``
        metadata): ``"cross-validation"`` or the validation split.
    """

    rows: list[tuple[str, EvaluationReport]]
    thresholds_from: str | None = None

    @property
    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """The overall metrics by split, then by rule: what the sidecar keeps as ``metrics``."""
        metrics: dict[str, dict[str, dict[str, float]]] = {}
        for split_name, report in self.rows:
            metrics.setdefault(split_name, {})[report.rule] = report.overall
        return metrics

    def overview(self) -> str:
        """Return one table of every row (see :func:`~emoclassic.evaluation.format_overview`)."""
        return format_overview(self.rows)

    def rule_note(self) -> str:
        """Say what the default rule is, and which rows its thresholds have seen."""
        if self.thresholds_from == "cross-validation":
            return (
                "default decision rule: per-label thresholds tuned on out-of-fold predictions "
                "on the training split ('tuned'); 0.5 and 0.2 apply one cut-off to every "
                "label. Validation and test rows are both unseen by the thresholds."
            )
        return (
            "default decision rule: per-label thresholds tuned on the validation split "
            "('tuned'); 0.5 and 0.2 apply one cut-off to every label. Validation rows under "
            "'tuned' are optimistic, since the thresholds were chosen on them."
        )

    def macro_f1(self, split_name: str = "test", rule: str = "tuned") -> float | None:
        """Return the macro-F1 of one split under one rule, or ``None`` when not reported."""
        overall = self.metrics.get(split_name, {}).get(rule)
        return None if overall is None else overall["macro_f1"]


def report_fit(
    model: EmotionModel,
    dataset: EmotionDataset,
    rules: Sequence[float | str] = DECISION_RULES,
) -> FitReport:
    """Score a fitted model on the held-out splits of its dataset under each decision rule.

    Parameters
    ----------
    model : EmotionModel
        The fitted model, classical or transformer.
    dataset : EmotionDataset
        The data it was fitted on; its validation and test splits are scored
        (the test split only when there is one).
    rules : sequence of float or str, default=DECISION_RULES
        Decision rules, as :meth:`EmotionModel.resolve_thresholds` takes them.

    Returns
    -------
    FitReport

    Examples
    --------
    >>> import numpy as np
    >>> from emoclassic.datasets import EmotionDataset, EmotionSplit
    >>> from emoclassic.model import SklearnEmotionModel
    >>> from emoclassic.pipelines import make_nb_pipeline
    >>> texts = ["so happy", "so sad", "happy day", "sad day"]
    >>> labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.uint8)
    >>> split = EmotionSplit(texts, labels)
    >>> dataset = EmotionDataset(("joy", "sadness"), {"train": split, "validation": split})
    >>> model = SklearnEmotionModel(make_nb_pipeline().fit(texts, labels), dataset.label_names,
    ...                             [0.5, 0.5])
    >>> report = report_fit(model, dataset)
    >>> list(report.metrics["validation"]), report.macro_f1("validation")
    (['0.5', '0.2', 'tuned'], 1.0)
    >>> print(report.macro_f1("test"))
    None
    """
    rows = []
    for split_name in HELD_OUT_SPLITS:
        if split_name not in dataset.splits:
            continue
        split = dataset.splits[split_name]
        scores = model.predict_proba(split.texts)
        for rule in rules:
            cutoffs = model.resolve_thresholds(rule)
            report = evaluate_scores(
                split.labels, scores, dataset.label_names, cutoffs, rule=str(rule)
            )
            rows.append((split_name, report))
    return FitReport(rows, thresholds_from=model.metadata.get("thresholds_from"))
