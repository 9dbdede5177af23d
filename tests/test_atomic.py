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


def test_a_writer_killed_with_sigkill_leaves_nothing_the_next_write_keeps(tmp_path):
    """kill -9 in the middle of a folder write: the next write removes the orphan."""
    import subprocess
    import sys

    from emoclassic.atomic import atomic_path

    out = tmp_path / "aug"
    script = (
        "import os, signal, sys\n"
        "from emoclassic.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1], directory=True) as tmp:\n"
        "    (tmp / 'half.arrow').write_text('x')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(out)], check=False)
    assert killed.returncode == -9
    orphans = [p.name for p in tmp_path.iterdir()]
    assert len(orphans) == 1 and orphans[0].startswith(".aug.tmp-") and not out.exists()
    with atomic_path(out, directory=True) as tmp:
        (tmp / "dataset_dict.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["aug"]


def test_temporaries_of_a_live_writer_are_left_alone(tmp_path):
    import os

    from emoclassic.atomic import remove_stale_temporaries

    live = tmp_path / f".m.bin.tmp-{os.getppid()}-x"
    live.write_text("in progress")
    dead = tmp_path / ".m.bin.tmp-999999999-y"
    dead.write_text("orphan")
    assert remove_stale_temporaries(tmp_path / "m.bin") == [dead]
    assert live.exists() and not dead.exists()
