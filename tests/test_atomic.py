from __future__ import annotations

import stat

import numpy as np
import pytest

from emoclassic.atomic import atomic_path
from emoclassic.errors import UsageError
from emoclassic.thresholds import tune_thresholds


def test_new_folder_is_traversable_and_files_readable(tmp_path):
    with atomic_path(tmp_path / "out", directory=True) as tmp:
        (tmp / "a.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    with atomic_path(tmp_path / "f.bin") as tmp:
        tmp.write_bytes(b"1")
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644


def test_foreign_non_empty_folder_is_never_replaced(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "lr.joblib").write_text("keep me")
    with pytest.raises(UsageError, match="emoclassic did not write"):
        with atomic_path(precious, directory=True):
            pass
    assert (precious / "lr.joblib").read_text() == "keep me"
    (precious / "emoclassic.json").write_text("{}")  # an earlier emoclassic output: replaceable
    with atomic_path(precious, directory=True) as tmp:
        (tmp / "new.txt").write_text("n")
    assert sorted(p.name for p in precious.iterdir()) == ["new.txt"]


def test_file_target_that_is_a_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        with atomic_path(tmp_path):
            pass


def test_constant_scores_keep_the_default_threshold():
    y = np.array([[1], [0], [0]])
    thresholds, f1 = tune_thresholds(y, np.zeros((3, 1)), default=0.5)
    assert thresholds.tolist() == [0.5] and f1.tolist() == [0.0]


def test_near_duplicate_cutoff_is_not_rounded():
    from rapidfuzz import fuzz

    from emoclassic.augment.filters import _any_hit

    a, b = "I am so proud of my daughter today", "I am so proud of my son today!"
    score = fuzz.ratio(a, b)
    assert score != int(score)
    assert _any_hit([a], [b], score - 0.05).tolist() == [True]
    assert _any_hit([a], [b], score + 0.05).tolist() == [False]
