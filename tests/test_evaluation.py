from __future__ import annotations

import numpy as np
import pytest

from emoclassic.evaluation import evaluate_scores, format_overview


def test_metrics_on_a_known_toy_set():
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.1], [0.7, 0.3, 0.3], [0.1, 0.4, 0.6]])
    report = evaluate_scores(y, s, ["joy", "anger", "fear"], 0.5)
    o = report.overall
    # joy: TP 2 FP 0 FN 0; anger: TP 1 FN 1; fear: FP 1.
    assert o["micro_precision"] == pytest.approx(3 / 4)
    assert o["micro_recall"] == pytest.approx(3 / 4)
    assert o["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert o["subset_accuracy"] == pytest.approx(2 / 4)
    assert o["macro_roc_auc"] == pytest.approx((1.0 + 0.75) / 2)  # fear has no positive
    assert report.per_label[2]["roc_auc"] is None
    assert report.per_label[1] == {
        "label": "anger",
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "roc_auc": 0.75,
        "support": 2,
    }
    assert report.rule == "0.5"


def test_per_label_thresholds_change_the_decision():
    y = np.array([[1], [0]])
    s = np.array([[0.3], [0.1]])
    assert evaluate_scores(y, s, ["joy"], 0.5).overall["macro_f1"] == 0.0
    tuned = evaluate_scores(y, s, ["joy"], np.array([0.2]), rule="tuned")
    assert tuned.overall["macro_f1"] == 1.0 and tuned.rule == "tuned"


def test_report_formats():
    y = np.array([[1, 0], [0, 1]])
    s = np.array([[0.9, 0.2], [0.3, 0.7]])
    report = evaluate_scores(y, s, ["joy", "anger"], 0.5)
    text = report.format()
    assert "macro_f1         1.0000" in text
    assert text.splitlines()[-1].split() == ["anger", "1.000", "1.000", "1.000", "1.000", "1"]
    table = format_overview([("test", report)])
    assert table.splitlines()[2].split()[:3] == ["test", "0.5", "1.0000"]
    assert report.to_dict()["n_samples"] == 2
