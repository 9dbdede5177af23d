"""The transformer losses on known values (computed by hand), and the Trainer's use of them.

Early stopping is the Trainer's ``EarlyStoppingCallback``; its scripted-AUC tests
run a real fit and live in ``test_transformer.py``.
"""

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


def test_the_trainer_applies_the_chosen_loss_to_logits_and_labels():
    pytest.importorskip("transformers")
    from types import SimpleNamespace

    from emoclassic.transformer.trainer import EmotionTrainer

    seen = {}

    def model(**inputs):
        seen.update(inputs)
        return SimpleNamespace(logits=LOGITS.float())

    weights = torch.tensor([3.0, 5.0])
    trainer = SimpleNamespace(loss_fn=make_loss("pos_weight", pos_weight=weights))
    inputs = {"input_ids": torch.tensor([[0, 5], [0, 6]]), "labels": TARGETS.float()}
    loss, outputs = EmotionTrainer.compute_loss(trainer, model, inputs, return_outputs=True)
    expected = bce_loss(LOGITS.float(), TARGETS.float(), pos_weight=weights).item()
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert set(seen) == {"input_ids"} and "labels" in inputs  # the model never sees the labels
    assert outputs.logits.shape == (2, 2)


def test_pos_weight_formula_matches_dataset_counts(toy_dataset):
    counts = toy_dataset.label_counts("train")  # anger 20, fear 24, joy 24 of 64 rows
    assert counts.tolist() == [20, 24, 24]
    expected = [(64 - 20) / 20, (64 - 24) / 24, (64 - 24) / 24]
    assert np.allclose(pos_weight_from_counts(counts, 64), expected)
