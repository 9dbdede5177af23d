from __future__ import annotations

import os
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


# ---- several files as one unit -------------------------------------------------------------


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _fail_onto(monkeypatch, target, error=PermissionError, times=None):
    """Make ``os.replace`` fail when it moves something onto ``target`` (``times`` times)."""
    import os

    real = os.replace
    failures = []

    def replace(src, dst, *args, **kwargs):
        if os.fspath(dst) == os.fspath(target) and (times is None or len(failures) < times):
            failures.append(dst)
            raise error(13, "Permission denied", os.fspath(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _write_pair(a, b, first: bytes, second: bytes) -> None:
    from emoclassic.atomic import atomic_files

    with atomic_files(a, b) as (tmp_a, tmp_b):
        tmp_a.write_bytes(first)
        tmp_b.write_bytes(second)


def test_atomic_files_replaces_every_target(tmp_path):
    a, b = tmp_path / "m.bin", tmp_path / "m.json"
    _write_pair(a, b, b"1", b"one")
    _write_pair(a, b, b"2", b"two")
    assert (a.read_bytes(), b.read_bytes()) == (b"2", b"two")
    assert stat.S_IMODE(a.stat().st_mode) == 0o644
    assert _names(tmp_path) == ["m.bin", "m.json"]


@pytest.mark.parametrize("failing", ["m.bin", "m.json"])
def test_atomic_files_rolls_back_when_a_replacement_fails(tmp_path, monkeypatch, failing):
    from emoclassic.errors import EmoclassicError

    a, b = tmp_path / "m.bin", tmp_path / "m.json"
    _write_pair(a, b, b"old", b"old sidecar")
    _fail_onto(monkeypatch, tmp_path / failing)
    with pytest.raises(EmoclassicError) as caught:
        _write_pair(a, b, b"new", b"new sidecar")
    assert str(caught.value) == (
        f"{tmp_path / failing}: cannot be written (Permission denied); no file was changed"
    )
    assert (a.read_bytes(), b.read_bytes()) == (b"old", b"old sidecar")
    assert _names(tmp_path) == ["m.bin", "m.json"]


def test_atomic_files_removes_a_new_first_file_when_the_second_fails(tmp_path, monkeypatch):
    from emoclassic.errors import EmoclassicError

    a, b = tmp_path / "m.bin", tmp_path / "m.json"
    b.write_bytes(b"someone's")
    _fail_onto(monkeypatch, b)
    with pytest.raises(EmoclassicError, match=r"m\.json: cannot be written"):
        _write_pair(a, b, b"new", b"new sidecar")
    assert _names(tmp_path) == ["m.json"] and b.read_bytes() == b"someone's"


def test_atomic_files_says_where_the_previous_content_is_when_the_roll_back_fails(
    tmp_path, monkeypatch
):
    import os

    from emoclassic.errors import EmoclassicError

    a, b = tmp_path / "m.bin", tmp_path / "m.json"
    _write_pair(a, b, b"old", b"old sidecar")
    real = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) > 1:  # the sidecar, then the restoring of m.bin
            raise PermissionError(13, "Permission denied", os.fspath(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(EmoclassicError) as caught:
        _write_pair(a, b, b"new", b"new sidecar")
    message = str(caught.value)
    backups = [p for p in tmp_path.iterdir() if p.name.startswith(".m.bin.old-")]
    assert len(backups) == 1 and backups[0].read_bytes() == b"old"
    assert message == (
        f"{b}: cannot be written (Permission denied), and {a} could not be restored: its "
        f"previous content is in {backups[0]}"
    )
    assert "\n" not in message and b.read_bytes() == b"old sidecar"


def test_atomic_files_copies_the_previous_content_without_hard_links(tmp_path, monkeypatch):
    import os

    from emoclassic.errors import EmoclassicError

    a, b = tmp_path / "m.bin", tmp_path / "m.json"
    _write_pair(a, b, b"old", b"old sidecar")

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    _fail_onto(monkeypatch, b)
    with pytest.raises(EmoclassicError):
        _write_pair(a, b, b"new", b"new sidecar")
    assert (a.read_bytes(), b.read_bytes()) == (b"old", b"old sidecar")
    assert _names(tmp_path) == ["m.bin", "m.json"]


def test_atomic_files_refuses_a_folder_or_the_same_target_twice(tmp_path):
    from emoclassic.atomic import atomic_files

    (tmp_path / "m.json").mkdir()
    with pytest.raises(UsageError, match=r"m\.json: is a folder; give a file path"):
        with atomic_files(tmp_path / "m.bin", tmp_path / "m.json"):
            pass
    with pytest.raises(UsageError, match="the files of one write must be distinct"):
        with atomic_files(tmp_path / "m.bin", tmp_path / "." / "m.bin"):
            pass
    assert _names(tmp_path) == ["m.json"]


def _refused(target) -> str:
    """The one-line error of a write to ``target`` whose final rename was refused."""
    return f"{target}: cannot be written (Permission denied); no file was changed"


@pytest.mark.parametrize("existing", [True, False], ids=["replaced", "new"])
def test_a_failing_replacement_in_atomic_path_is_one_line_and_keeps_the_old_file(
    tmp_path, monkeypatch, existing
):
    """The helper words the failed rename itself: every caller gets the same error."""
    from emoclassic.errors import EmoclassicError

    out = tmp_path / "f.bin"
    if existing:
        out.write_bytes(b"old")
    _fail_onto(monkeypatch, out)
    with pytest.raises(EmoclassicError) as caught:
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"new")
    assert type(caught.value) is EmoclassicError and str(caught.value) == _refused(out)
    assert caught.value.__suppress_context__  # no chained OSError traceback
    assert _names(tmp_path) == (["f.bin"] if existing else [])  # the temporary is gone
    assert not existing or out.read_bytes() == b"old"


def test_an_error_of_the_callers_own_writing_is_not_reworded(tmp_path):
    """Inside the ``with`` block the caller words its errors (corpus scoring adds a hint)."""
    out = tmp_path / "f.bin"
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(28, "disk full")
    assert _names(tmp_path) == []


def test_atomic_write_text_failures_are_one_line_and_keep_the_old_file(tmp_path, monkeypatch):
    import pathlib

    from emoclassic.atomic import atomic_write_text
    from emoclassic.errors import EmoclassicError

    out = tmp_path / "manifest.json"
    out.write_text("old")
    _fail_onto(monkeypatch, out)
    with pytest.raises(EmoclassicError) as caught:
        atomic_write_text(out, "new")
    assert str(caught.value) == _refused(out)
    assert _names(tmp_path) == ["manifest.json"] and out.read_text() == "old"
    monkeypatch.undo()

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    with pytest.raises(EmoclassicError) as caught:
        atomic_write_text(out, "new")
    assert str(caught.value) == (
        f"{out}: cannot be written (No space left on device); no file was changed"
    )
    monkeypatch.undo()
    assert _names(tmp_path) == ["manifest.json"] and out.read_text() == "old"


def test_a_failing_folder_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    from emoclassic.errors import EmoclassicError

    out = tmp_path / "model"
    with atomic_path(out, directory=True) as tmp:
        (tmp / "emoclassic.json").write_text("old")
    _fail_onto(monkeypatch, out, times=1)
    with pytest.raises(EmoclassicError) as caught:
        with atomic_path(out, directory=True) as tmp:
            (tmp / "emoclassic.json").write_text("new")
    assert type(caught.value) is EmoclassicError and str(caught.value) == _refused(out)
    assert _names(tmp_path) == ["model"]
    assert (out / "emoclassic.json").read_text() == "old"
    _fail_onto(monkeypatch, out)  # and when putting it back fails too, say where it is
    with pytest.raises(EmoclassicError) as caught:
        with atomic_path(out, directory=True) as tmp:
            (tmp / "emoclassic.json").write_text("new")
    old = tmp_path / f".model.old-{os.getpid()}"
    assert str(caught.value) == (
        f"{out}: cannot be written (Permission denied), and the previous folder could not be "
        f"put back: it is in {old}"
    )
    assert _names(tmp_path) == [old.name] and (old / "emoclassic.json").read_text() == "old"


# ---- outputs must not be inputs -------------------------------------------------------------


def test_check_not_an_input(tmp_path):
    import os

    from emoclassic.atomic import check_not_an_input

    data = tmp_path / "data"
    data.mkdir()
    train = data / "train.csv"
    train.write_text("text,joy\n")
    inputs = {"files": [train], "folders": [data]}
    check_not_an_input(data / "models" / "lr.joblib", **inputs)  # a sub-folder is fine
    check_not_an_input(tmp_path / "lr.joblib", **inputs)
    os.symlink(train, tmp_path / "link.joblib")
    os.link(train, tmp_path / "hard.joblib")
    cases = {
        train: f"{train}: is an input of this run; choose another output path",
        tmp_path / "link.joblib": f"{tmp_path / 'link.joblib'}: is an input of this run; "
        "choose another output path",
        tmp_path / "hard.joblib": f"{tmp_path / 'hard.joblib'}: is an input of this run; "
        "choose another output path",
        data / "train.json": f"{data / 'train.json'}: would be written into the input folder "
        f"{data}; choose a path outside it (a sub-folder such as models/ is fine)",
        tmp_path: f"{tmp_path}: holds the input {data}; choose another output path",
        data / ".." / "data": f"{data / '..' / 'data'}: is an input of this run; choose "
        "another output path",
    }
    for target, message in cases.items():
        with pytest.raises(UsageError) as caught:
            check_not_an_input(target, **inputs)
        assert str(caught.value) == message


def test_names_too_long_for_the_file_system_are_refused_up_front(tmp_path):
    from emoclassic.atomic import check_output_file

    check_output_file(tmp_path / ("x" * 200 + ".joblib"))
    with pytest.raises(UsageError) as caught:  # no room for ".NAME.tmp-PID-XXXXXXXX"
        check_output_file(tmp_path / ("x" * 240 + ".joblib"))
    assert str(caught.value) == (
        f"{tmp_path / ('x' * 240 + '.joblib')}: the file name is too long (247 bytes; at most "
        "231 leave room for the temporary written beside it)"
    )
    for target in (tmp_path / ("x" * 300 + ".joblib"), tmp_path / ("x" * 300) / "m.joblib"):
        with pytest.raises(UsageError) as caught:
            check_output_file(target)
        assert str(caught.value) == f"{target}: cannot be written (File name too long)"
    assert list(tmp_path.iterdir()) == []
