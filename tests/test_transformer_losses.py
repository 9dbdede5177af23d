"""The transformer losses and early stopping on known values (computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emoclassic.transformer.losses import (  # noqa: E402
    bce_loss,
    focal_loss,
    make_loss,
    pos_weight_from_counts,
)
from emoclassic.transformer.stopping import EarlyStopping  # noqa: E402

LN2 = math.log(2.0)
# sigmoid(0) = 1/2 and sigmoid(ln 3) = 3/4: every term below is a multiple of ln 2.
LOGITS = torch.tensor([[0.0, math.log(3.0)], [math.log(3.0), 0.0]], dtype=torch.float64)
TARGETS = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)


def test_bce_on_known_tensors():
    # -log p per element: y=1,p=1/2 -> ln2; y=0,p=3/4 -> ln4; y=1,p=3/4 -> ln(4/3); y=1,p=1/2 -> ln2
    expected = (LN2 + 2 * LN2 + math.log(4 / 3) + LN2) / 4
    assert bce_loss(LOGITS, TARGETS).item() == pytest.approx(expected, rel=1e-12)


def test_pos_weight_multiplies_only_positive_terms():
    weights = torch.tensor([3.0, 5.0], dtype=torch.float64)
    # label 0 (weight 3): (y=1, ln2) and (y=1, ln 4/3)
    # label 1 (weight 5): (y=0, ln4) and (y=1, ln2)
    expected = (3 * LN2 + 2 * LN2 + 3 * math.log(4 / 3) + 5 * LN2) / 4
    got = bce_loss(LOGITS, TARGETS, pos_weight=weights).item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert make_loss("pos_weight", pos_weight=weights)(LOGITS, TARGETS).item() == got


def test_focal_loss_on_known_tensors():
    # -alpha_t (1 - p_t)^gamma log p_t with gamma=2, alpha=0.25:
    # y=1,p=1/2:   0.25 * (1/2)^2 * ln2       = 0.0625 ln2   (twice)
    # y=0,p=3/4:   0.75 * (3/4)^2 * 2 ln2     = 0.84375 ln2
    # y=1,p=3/4:   0.25 * (1/4)^2 * ln(4/3)   = 0.015625 ln(4/3)
    expected = (0.0625 * LN2 * 2 + 0.84375 * LN2 + 0.015625 * math.log(4 / 3)) / 4
    got = focal_loss(LOGITS, TARGETS, gamma=2.0, alpha=0.25).item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert make_loss("focal", gamma=2.0, alpha=0.25)(LOGITS, TARGETS).item() == got


def test_focal_loss_without_alpha_and_gamma_zero_is_bce():
    no_alpha = (0.25 * LN2 * 2 + (9 / 16) * 2 * LN2 + (1 / 16) * math.log(4 / 3)) / 4
    assert focal_loss(LOGITS, TARGETS, gamma=2.0, alpha=None).item() == pytest.approx(no_alpha)
    assert focal_loss(LOGITS, TARGETS, gamma=0.0, alpha=None).item() == pytest.approx(
        bce_loss(LOGITS, TARGETS).item(), rel=1e-12
    )


def test_pos_weight_from_counts_formula_and_clipping():
    # (n - P) / P = 99, 9, 1, 1/3 -> clip to [1, 30]; P = 0 -> the cap
    weights = pos_weight_from_counts([1, 10, 50, 75, 0], 100, max_weight=30.0)
    assert weights.tolist() == [30.0, 9.0, 1.0, 1.0, 30.0]
    assert pos_weight_from_counts([4], 20).tolist() == [4.0]


def test_unknown_loss_and_missing_weights():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        make_loss("hinge")
    with pytest.raises(ValueError, match="needs per-label weights"):
        make_loss("pos_weight")


def test_early_stopping_with_a_scripted_auc_sequence():
    stopper = EarlyStopping(patience=3)
    decisions = []
    for score in [0.60, 0.70, 0.69, 0.70, 0.65, 0.80]:
        decisions.append(stopper.update(score))
        if stopper.should_stop:
            break
    # 0.69, 0.70 (equal is no improvement) and 0.65 make three epochs without improvement
    assert decisions == [True, True, False, False, False]
    assert stopper.best_epoch == 2 and stopper.best_score == 0.70
    assert stopper.history == [0.60, 0.70, 0.69, 0.70, 0.65]


def test_early_stopping_ignores_nan_and_resets_the_counter():
    stopper = EarlyStopping(patience=2)
    assert [stopper.update(s) for s in (float("nan"), 0.5, 0.4, 0.6)] == [False, True, False, True]
    assert not stopper.should_stop and stopper.epochs_without_improvement == 0
    assert stopper.best_epoch == 4
    with pytest.raises(ValueError):
        EarlyStopping(patience=0)


def test_pos_weight_formula_matches_dataset_counts(toy_dataset):
    counts = toy_dataset.label_counts("train")  # anger 20, fear 24, joy 24 of 64 rows
    assert counts.tolist() == [20, 24, 24]
    expected = [(64 - 20) / 20, (64 - 24) / 24, (64 - 24) / 24]
    assert np.allclose(pos_weight_from_counts(counts, 64), expected)
