from __future__ import annotations

import json

import joblib
import numpy as np
import pytest

from emoclassic.errors import ModelError
from emoclassic.persistence import load_model, save_model
from emoclassic.training import FitSettings, fit_model


@pytest.fixture(scope="module")
def fitted(request):
    from conftest import LABELS, toy_split
    from emoclassic.datasets import EmotionDataset

    ds = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    return fit_model("lr", ds, FitSettings(progress=False, search=False))


def test_round_trip_gives_identical_scores(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    sidecar = save_model(fitted, path)
    loaded = load_model(path)
    texts = ["so happy", "angry and scared"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    np.testing.assert_array_equal(loaded.thresholds, fitted.thresholds)
    assert loaded.label_names == ("anger", "fear", "joy")
    assert loaded.predict_emotions(texts) == fitted.predict_emotions(texts)
    meta = json.loads(sidecar.read_text())
    assert meta["label_names"] == ["anger", "fear", "joy"]
    assert meta["recipe"] == "lr"
    assert set(meta["versions"]) >= {"emoclassic", "scikit-learn", "numpy"}
    assert len(meta["data"]["fingerprint"]) == 16
    assert load_model(sidecar).label_names == loaded.label_names  # the sidecar path works too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.joblib", "lr.json"]


def test_predict_emotions_sorting_threshold_and_top_k(fitted):
    [pairs] = fitted.predict_emotions(["so happy today"], threshold=0.0)
    scores = [score for _, score in pairs]
    assert len(pairs) == 3 and scores == sorted(scores, reverse=True)
    assert pairs[0][0] == "joy"
    assert fitted.predict_emotions(["so happy today"], threshold=0.0, top_k=1) == [pairs[:1]]
    assert fitted.predict_emotions(["so happy today"], threshold=1.0) == [[]]


def test_corrupt_file(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(path)


def test_not_a_model(tmp_path):
    path = tmp_path / "x.joblib"
    joblib.dump({"hello": "world"}, path)
    with pytest.raises(ModelError, match="not an emoclassic model file"):
        load_model(path)
    text = tmp_path / "notes.joblib"
    text.write_text("just text")
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(text)


def test_missing_label_list(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    payload = joblib.load(path)
    del payload["label_names"]
    joblib.dump(payload, path)
    with pytest.raises(ModelError, match="label list is missing"):
        load_model(path)


def test_other_version(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    payload = joblib.load(path)
    payload["versions"]["scikit-learn"] = "0.24.2"
    joblib.dump(payload, path)
    with pytest.raises(ModelError, match=r"saved with scikit-learn 0\.24\.2"):
        load_model(path)
    assert load_model(path, allow_version_mismatch=True).label_names == fitted.label_names
    payload["format_version"] = 99
    joblib.dump(payload, path)
    with pytest.raises(ModelError, match="newer emoclassic"):
        load_model(path)


def test_missing_model(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "none.joblib")


def test_interrupted_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    import emoclassic.persistence as persistence

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", explode)
    with pytest.raises(KeyboardInterrupt):
        persistence.save_model(fitted, tmp_path / "lr.joblib")
    assert list(tmp_path.iterdir()) == []


def test_paths_that_would_corrupt_a_model_are_refused_before_writing(fitted, tmp_path):
    from emoclassic.errors import UsageError

    with pytest.raises(UsageError, match="its sidecar would overwrite it"):
        save_model(fitted, tmp_path / "model.json")
    with pytest.raises(UsageError, match=r"a joblib model cannot be named \.skops"):
        save_model(fitted, tmp_path / "x.skops", file_format="joblib")
    with pytest.raises(UsageError, match=r"a skops model cannot be named \.joblib"):
        save_model(fitted, tmp_path / "x.joblib", file_format="skops")
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(UsageError, match="taken is not a folder"):
        save_model(fitted, tmp_path / "taken" / "models" / "lr.joblib")
    (tmp_path / "taken").unlink()
    assert list(tmp_path.iterdir()) == []


def test_a_failing_sidecar_leaves_no_model_behind(fitted, tmp_path, monkeypatch):
    import emoclassic.persistence as persistence

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "sidecar_dict", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted, tmp_path / "lr.joblib")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label_names", ["a", "b", "c", "d", "e"], "scores 3 labels but the model names 5"),
        ("label_names", "anger", "label list is missing or not a list of names"),
        ("label_names", ["anger", "anger", "joy"], "repeats a name"),
        ("thresholds", [0.5, 0.5], "needs 3 finite thresholds"),
        ("thresholds", ["x", 0.5, 0.5], "needs 3 finite thresholds"),
        ("format_version", "1", "format_version is not a positive integer"),
        ("versions", "1.9", "versions field is not a mapping"),
        ("metadata", [1, 2], "metadata is not a mapping"),
    ],
)
def test_every_payload_field_is_checked_on_load(fitted, tmp_path, field, value, message):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    payload = joblib.load(path)
    payload[field] = value
    joblib.dump(payload, path)
    with pytest.raises(ModelError, match=message):
        load_model(path)


# ---- a model and its sidecar are one pair: never another model's sidecar --------------------


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_sidecar_records_its_model_file_and_leads_back_to_it(fitted, tmp_path):
    sidecar = save_model(fitted, tmp_path / "lr.bin", file_format="skops")
    assert json.loads(sidecar.read_text())["model_file"] == "lr.bin"
    assert sidecar == tmp_path / "lr.json"
    (tmp_path / "lr.joblib").write_bytes(b"an unrelated file with the same stem")
    # The sidecar names lr.bin, so it is loaded, not lr.joblib.
    assert load_model(sidecar).label_names == fitted.label_names


def test_saving_beside_another_model_refuses_to_take_its_sidecar(fitted, tmp_path):
    from emoclassic.errors import UsageError

    save_model(fitted, tmp_path / "lr.joblib")
    before = (tmp_path / "lr.json").read_bytes()
    with pytest.raises(UsageError) as caught:
        save_model(fitted, tmp_path / "lr.skops")
    assert str(caught.value) == (
        f"{tmp_path / 'lr.json'}: is the sidecar of {tmp_path / 'lr.joblib'}; saving lr.skops "
        "would overwrite it; choose another model name"
    )
    assert (tmp_path / "lr.json").read_bytes() == before
    assert _listing(tmp_path) == ["lr.joblib", "lr.json"]
    # Once the other model is gone its sidecar is stale and may be replaced.
    (tmp_path / "lr.joblib").unlink()
    save_model(fitted, tmp_path / "lr.skops")
    assert json.loads((tmp_path / "lr.json").read_text())["model_file"] == "lr.skops"


def test_an_older_sidecar_without_a_model_file_is_replaced_only_when_unambiguous(fitted, tmp_path):
    from emoclassic.errors import UsageError

    save_model(fitted, tmp_path / "lr.joblib")
    sidecar = tmp_path / "lr.json"
    old = json.loads(sidecar.read_text())
    del old["model_file"]  # as written before sidecars named their model
    sidecar.write_text(json.dumps(old))
    with pytest.raises(UsageError) as caught:
        save_model(fitted, tmp_path / "lr.skops")
    assert str(caught.value) == (
        f"{sidecar}: may be the sidecar of {tmp_path / 'lr.joblib'} (it records no model "
        "file); saving lr.skops would overwrite it; remove the one that is stale or choose "
        "another model name"
    )
    assert json.loads(sidecar.read_text()) == old
    save_model(fitted, tmp_path / "lr.joblib")  # the only candidate owner: its own model
    assert json.loads(sidecar.read_text())["model_file"] == "lr.joblib"


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        ("folder", "{sidecar}: is a folder, where the sidecar of lr.joblib would go; choose "
         "another model name"),
        ("notes", "{sidecar}: exists and is not an emoclassic sidecar; saving lr.joblib would "
         "overwrite it; move it or choose another model name"),
        ("transformer", "{sidecar}: is the sidecar of a 'transformer' model; saving lr.joblib "
         "would overwrite it; choose another model name"),
    ],
)  # fmt: skip
def test_a_sidecar_path_that_holds_something_else_is_refused(fitted, tmp_path, existing, message):
    from emoclassic.errors import UsageError
    from emoclassic.persistence import check_model_path

    sidecar = tmp_path / "lr.json"
    if existing == "folder":
        sidecar.mkdir()
    elif existing == "notes":
        sidecar.write_text('{"my": "settings"}')
    else:
        sidecar.write_text('{"format": "emoclassic-model", "kind": "transformer"}')
    for attempt in (lambda: check_model_path(tmp_path / "lr.joblib"), lambda: save_model(
        fitted, tmp_path / "lr.joblib"
    )):  # fmt: skip
        with pytest.raises(UsageError) as caught:
            attempt()
        assert str(caught.value) == message.format(sidecar=sidecar)
    assert _listing(tmp_path) == ["lr.json"]


def test_cli_refuses_another_models_sidecar_before_the_fit(fitted, tmp_path, capsys, monkeypatch):
    import emoclassic.training as training
    from emoclassic.cli.main import main

    def never(*args, **kwargs):
        raise AssertionError("the fit started")

    save_model(fitted, tmp_path / "lr.joblib")
    before = (tmp_path / "lr.json").read_bytes()
    monkeypatch.setattr(training, "fit_model", never)
    assert main(["fit", "lr", "--out", str(tmp_path / "lr.skops"), "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"emoclassic: error: {tmp_path / 'lr.json'}: is the sidecar of {tmp_path / 'lr.joblib'}; "
        "saving lr.skops would overwrite it; choose another model name\n"
    )
    assert (tmp_path / "lr.json").read_bytes() == before


# ---- the output must not be the input -------------------------------------------------------


def _never_fit(monkeypatch) -> None:
    import emoclassic.training as training

    def never(*args, **kwargs):
        raise AssertionError("the fit started")

    monkeypatch.setattr(training, "fit_model", never)


@pytest.mark.parametrize(
    ("data", "out", "message"),
    [
        ("{d}", "{d}/train.csv", "{d}/train.csv: is an input of this run; choose another "
         "output path"),
        ("{d}", "{d}/labels.txt", "{d}/labels.txt: is an input of this run; choose another "
         "output path"),
        ("{d}/train.csv", "{d}/train.csv", "{d}/train.csv: is an input of this run; choose "
         "another output path"),
        # The model's sidecar would be the data file.
        ("{d}/train.json", "{d}/train.joblib", "{d}/train.json: is an input of this run; "
         "choose another output path"),
        # Beside the split files a new train.json would be read as data next time.
        ("{d}", "{d}/train.joblib", "{d}/train.joblib: would be written into the input folder "
         "{d}; choose a path outside it (a sub-folder such as models/ is fine)"),
    ],
)  # fmt: skip
def test_cli_refuses_to_write_the_model_over_its_data_before_the_fit(
    csv_folder, capsys, monkeypatch, data, out, message
):
    from emoclassic.cli.main import main

    (csv_folder / "labels.txt").write_text("anger\nfear\njoy\n")
    (csv_folder / "train.json").write_text("[]")
    before = {p.name: p.read_bytes() for p in csv_folder.iterdir()}
    _never_fit(monkeypatch)
    args = ["fit", "lr", "--data", data.format(d=csv_folder), "--out", out.format(d=csv_folder)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"emoclassic: error: {message.format(d=csv_folder)}\n"
    assert {p.name: p.read_bytes() for p in csv_folder.iterdir()} == before


@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_cli_refuses_a_model_path_that_is_a_link_to_the_data(
    csv_folder, tmp_path, capsys, monkeypatch, link
):
    import os

    from emoclassic.cli.main import main

    out = tmp_path / "model.joblib"
    (os.symlink if link == "symlink" else os.link)(csv_folder / "dev.csv", out)
    before = (csv_folder / "dev.csv").read_bytes()
    _never_fit(monkeypatch)
    assert main(["fit", "lr", "--data", str(csv_folder), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"emoclassic: error: {out}: is an input of this run; choose another output path\n"
    )
    assert (csv_folder / "dev.csv").read_bytes() == before


def test_a_sub_folder_of_the_data_folder_may_hold_the_model(csv_folder, capsys):
    from emoclassic.cli.main import main

    out = csv_folder / "models" / "nb.joblib"
    args = ["fit", "nb", "--data", str(csv_folder), "--out", str(out), "--no-search"]
    assert main([*args, "--no-progress", "--n-jobs", "1"]) == 0, capsys.readouterr().err
    assert load_model(out).label_names == ("anger", "fear", "joy")


def test_data_inputs_names_what_the_loader_reads(csv_folder, tmp_path):
    from emoclassic.cli._common import data_inputs

    files, folders = data_inputs(str(csv_folder))
    assert sorted(p.name for p in files) == ["dev.csv", "test.csv", "train.csv"]
    assert folders == [csv_folder]
    assert data_inputs(str(csv_folder / "train.csv")) == ([csv_folder / "train.csv"], [])
    saved = tmp_path / "saved"
    (saved / "train").mkdir(parents=True)
    (saved / "dataset_dict.json").write_text("{}")
    (saved / "train" / "data-00000-of-00001.arrow").write_bytes(b"")
    files, folders = data_inputs(str(saved))
    assert sorted(p.relative_to(saved).as_posix() for p in files) == [
        "dataset_dict.json",
        "train/data-00000-of-00001.arrow",
    ]
    bundled_files, bundled_folders = data_inputs(None)
    assert [p.name for p in bundled_folders] == ["goemotions"]
    assert "emotions.txt" in {p.name for p in bundled_files}
    assert data_inputs("hub:owner/name") == ([], [])


# ---- the pair is written all or nothing -----------------------------------------------------


def _fail_replacing(monkeypatch, target, error=PermissionError):
    """Make ``os.replace`` fail whenever it moves something onto ``target``."""
    import os

    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.fspath(dst) == os.fspath(target):
            raise error(13, "Permission denied", os.fspath(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("failing", ["lr.joblib", "lr.json"])
def test_a_failed_replacement_keeps_the_previous_pair(fitted, tmp_path, monkeypatch, failing):
    from emoclassic.errors import EmoclassicError

    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    sidecar = tmp_path / "lr.json"
    old = json.loads(sidecar.read_text())
    old["note"] = "the previous pair"
    sidecar.write_text(json.dumps(old))
    before = {name: (tmp_path / name).read_bytes() for name in ("lr.joblib", "lr.json")}
    changed = type(fitted)(fitted.estimator, fitted.label_names, [0.25] * 3, fitted.metadata)
    _fail_replacing(monkeypatch, tmp_path / failing)
    with pytest.raises(EmoclassicError) as caught:
        save_model(changed, path)
    assert str(caught.value) == (
        f"{tmp_path / failing}: cannot be written (Permission denied); no file was changed"
    )
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert _listing(tmp_path) == ["lr.joblib", "lr.json"]  # no temporary, no backup


def test_a_failed_sidecar_replacement_leaves_no_new_model(fitted, tmp_path, monkeypatch):
    from emoclassic.errors import EmoclassicError

    _fail_replacing(monkeypatch, tmp_path / "lr.json")
    with pytest.raises(EmoclassicError, match=r"lr\.json: cannot be written \(Permission denied"):
        save_model(fitted, tmp_path / "lr.joblib")
    assert _listing(tmp_path) == []


def test_an_interrupt_between_the_replacements_restores_the_previous_pair(
    fitted, tmp_path, monkeypatch
):
    save_model(fitted, tmp_path / "lr.joblib")
    before = {name: (tmp_path / name).read_bytes() for name in ("lr.joblib", "lr.json")}
    _fail_replacing(monkeypatch, tmp_path / "lr.json", error=lambda *a: KeyboardInterrupt())
    changed = type(fitted)(fitted.estimator, fitted.label_names, [0.25] * 3, fitted.metadata)
    with pytest.raises(KeyboardInterrupt):
        save_model(changed, tmp_path / "lr.joblib")
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert _listing(tmp_path) == ["lr.joblib", "lr.json"]


def test_a_failing_write_is_one_line_and_leaves_nothing(fitted, tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from emoclassic.errors import ModelError

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(ModelError) as caught:
        save_model(fitted, tmp_path / "lr.joblib")
    assert str(caught.value) == (
        f"{tmp_path / 'lr.joblib'}: cannot be written (No space left on device)"
    )
    assert _listing(tmp_path) == []


def test_cli_a_sidecar_path_that_is_a_folder_fails_before_the_fit(
    csv_folder, tmp_path, capsys, monkeypatch
):
    from emoclassic.cli.main import main

    (tmp_path / "out" / "lr.json").mkdir(parents=True)
    _never_fit(monkeypatch)
    out = tmp_path / "out" / "lr.joblib"
    assert main(["fit", "lr", "--data", str(csv_folder), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"emoclassic: error: {tmp_path / 'out' / 'lr.json'}: is a folder, where the sidecar of "
        "lr.joblib would go; choose another model name\n"
    )
    assert _listing(tmp_path / "out") == ["lr.json"]


def test_cli_label_names_a_model_could_not_keep_fail_before_the_fit(tmp_path, capsys, monkeypatch):
    """The data loader refuses such names itself; the fit checks again, whatever the source."""
    import emoclassic.cli._fit as fit_command
    from conftest import toy_split
    from emoclassic.cli.main import main
    from emoclassic.datasets import EmotionDataset

    names = ("an\x07ger", "fear", "joy")
    dataset = EmotionDataset(names, {"train": toy_split(4), "validation": toy_split(2)})
    monkeypatch.setattr(fit_command, "load_training_data", lambda args: dataset)
    _never_fit(monkeypatch)
    assert main(["fit", "lr", "--out", str(tmp_path / "m.joblib")]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "emoclassic: error: in-memory: the model's label list is missing or not a list of names "
        "(label 0, 'an\\x07ger', has a control character (U+0007))\n"
    )
    assert list(tmp_path.iterdir()) == []


# ---- tampered payloads: refused on load, whatever the format --------------------------------


def _rewrite(path, file_format: str, change) -> None:
    """Load ``path``'s payload as stored, apply ``change`` to it and store it again."""
    if file_format == "skops":
        sio = pytest.importorskip("skops.io")
        from emoclassic.safeio import TRUSTED_TYPES, dump_skops

        payload = sio.load(path, trusted=list(TRUSTED_TYPES))
        change(payload)
        dump_skops(payload, path)
    else:
        payload = joblib.load(path)
        change(payload)
        joblib.dump(payload, path)


def _setter(*keys, value=None, drop=False):
    def change(payload):
        target = payload
        for key in keys[:-1]:
            target = target[key]
        if drop:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return change


THRESHOLDS = "the model needs 3 finite thresholds between 0 and 1, one per label"
LABEL_LIST = "the model's label list is missing or not a list of names"
HELDOUT_F1 = (
    "the model's metadata field 'threshold_heldout_f1' needs 3 F1 scores between 0 and 1, "
    "one per label"
)

TAMPERED = [
    (("thresholds",), [7, -3, 0.5], f"{THRESHOLDS} (threshold 0 is 7)"),
    (("thresholds",), [0.5, -3.0, 0.5], f"{THRESHOLDS} (threshold 1 is -3.0)"),
    (("thresholds",), [0.5, 0.5, 1.5], f"{THRESHOLDS} (threshold 2 is 1.5)"),
    (("thresholds",), [True, 0.5, 0.5], f"{THRESHOLDS} (threshold 0 is True, not a number)"),
    (("thresholds",), [float("nan"), 0.5, 0.5], f"{THRESHOLDS} (threshold 0 is nan)"),
    (("thresholds",), [0.5, float("-inf"), 0.5], f"{THRESHOLDS} (threshold 1 is -inf)"),
    (("thresholds",), ["0.5", 0.5, 0.5], f"{THRESHOLDS} (threshold 0 is '0.5', not a number)"),
    (("thresholds",), [0.5, None, 0.5], f"{THRESHOLDS} (threshold 1 is None, not a number)"),
    (("thresholds",), 0.5, f"{THRESHOLDS} (it has 0.5)"),
    (("thresholds",), [0.5] * 4, f"{THRESHOLDS} (it has 4)"),
    (("label_names",), ["anger", "fe\nar", "joy"],
     f"{LABEL_LIST} (label 1, 'fe\\nar', has a control character (U+000A))"),
    (("label_names",), ["anger", "fe\u2028ar", "joy"],
     f"{LABEL_LIST} (label 1, 'fe\\u2028ar', has a control character (U+2028))"),
    (("label_names",), ["anger", "fear", "\x00"],
     f"{LABEL_LIST} (label 2, '\\x00', has a control character (U+0000))"),
    (("label_names",), ["anger", "", "joy"], f"{LABEL_LIST} (label 1 is empty)"),
    (("label_names",), ["anger", "  ", "joy"], f"{LABEL_LIST} (label 1 is empty)"),
    (("label_names",), ["anger", "fear ", "joy"],
     f"{LABEL_LIST} (label 1, 'fear ', has white space at the start or end)"),
    (("label_names",), ["anger", 3, "joy"], f"{LABEL_LIST} (label 1 is 3, not a string)"),
    (("label_names",), ["anger", None, "joy"], f"{LABEL_LIST} (label 1 is None, not a string)"),
    (("label_names",), ["joy", "fear", "joy"], "the model's label list repeats a name ('joy')"),
    (("label_names",), [], LABEL_LIST),
    (("format_version",), True, "the model's format_version is not a positive integer"),
    (("kind",), "transformer", "not a classical emoclassic model (its kind is not 'sklearn')"),
    (("versions", "scikit-learn"), 1.7, "the model's versions field is not a mapping of names"),
    (("versions", "numpy"), "2.0\nevil", "the model's versions field is not a mapping of names"),
    (("metadata", "fit_seconds"), "12.0",
     "the model's metadata field 'fit_seconds' is not a finite number of seconds (it is '12.0')"),
    (("metadata", "fit_seconds"), float("nan"),
     "the model's metadata field 'fit_seconds' is not a finite number of seconds (it is nan)"),
    (("metadata", "fit_seconds"), -1.0,
     "the model's metadata field 'fit_seconds' is not a finite number of seconds (it is -1.0)"),
    (("metadata", "fit_seconds"), True,
     "the model's metadata field 'fit_seconds' is not a finite number of seconds (it is True)"),
    (("metadata", "recipe"), 5, "the model's metadata field 'recipe' is not a string (it is 5)"),
    (("metadata", "seed"), 4.5,
     "the model's metadata field 'seed' is not a non-negative integer (it is 4.5)"),
    (("metadata", "search"), [1], "the model's metadata field 'search' is not a mapping (it is "
     "a list)"),
    (("metadata", "label_names"), ["x", "y", "z"],
     "the model's metadata repeats the field 'label_names'"),
    (("metadata", "notes"), {"deep": {1: "x"}},
     "the model's metadata field 'notes' holds a mapping with a key that is not a string"),
    (("metadata",), "recipe lr", "the model's metadata is not a mapping"),
    (("metadata", "threshold_heldout_f1"), [0.5, 0.5], f"{HELDOUT_F1} (it has 2)"),
    (("metadata", "threshold_heldout_f1"), [0.5] * 4, f"{HELDOUT_F1} (it has 4)"),
    (("metadata", "threshold_heldout_f1"), [0.5, 0.5, 2.0], f"{HELDOUT_F1} (F1 score 2 is 2.0)"),
    (("metadata", "threshold_heldout_f1"), "0.5", "the model's metadata field "
     "'threshold_heldout_f1' is not a list of finite numbers (it is '0.5')"),
]  # fmt: skip


@pytest.mark.parametrize("file_format", ["joblib", "skops"])
@pytest.mark.parametrize(("keys", "value", "message"), TAMPERED)
def test_a_tampered_field_is_refused_with_one_line(
    fitted, tmp_path, file_format, keys, value, message
):
    path = tmp_path / f"lr.{file_format}"
    if file_format == "skops":
        pytest.importorskip("skops.io")
    save_model(fitted, path)
    _rewrite(path, file_format, _setter(*keys, value=value))
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert str(caught.value) == f"{path}: {message}"


def test_metadata_that_is_not_plain_data_is_refused(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    _rewrite(path, "joblib", _setter("metadata", "notes", value=[{1, 2}]))
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert str(caught.value) == (
        f"{path}: the model's metadata field 'notes' holds a set, which is not plain data"
    )


@pytest.mark.parametrize("file_format", ["joblib", "skops"])
def test_optional_fields_may_be_missing(fitted, tmp_path, file_format):
    if file_format == "skops":
        pytest.importorskip("skops.io")
    path = tmp_path / f"lr.{file_format}"
    save_model(fitted, path)
    _rewrite(path, file_format, _setter("kind", drop=True))
    _rewrite(path, file_format, _setter("metadata", drop=True))
    loaded = load_model(path)
    assert loaded.label_names == fitted.label_names and loaded.metadata == {}


def test_save_refuses_what_load_would_refuse(fitted, tmp_path):
    bad = type(fitted)(fitted.estimator, fitted.label_names, [0.5, 7.0, 0.5], fitted.metadata)
    with pytest.raises(ModelError) as caught:
        save_model(bad, tmp_path / "lr.joblib")
    assert str(caught.value) == (
        f"{tmp_path / 'lr.joblib'}: cannot save the model: {THRESHOLDS} (threshold 1 is 7.0)"
    )
    short = fitted.metadata | {"threshold_heldout_f1": [0.5, 0.5]}
    bad = type(fitted)(fitted.estimator, fitted.label_names, fitted.thresholds, short)
    with pytest.raises(ModelError) as caught:
        save_model(bad, tmp_path / "lr.joblib")
    assert str(caught.value) == (
        f"{tmp_path / 'lr.joblib'}: cannot save the model: {HELDOUT_F1} (it has 2)"
    )
    odd = type(fitted)(fitted.estimator, fitted.label_names, fitted.thresholds, {"x": object()})
    with pytest.raises(ModelError, match="metadata field 'x' holds an object, which is not plain"):
        save_model(odd, tmp_path / "lr.joblib")
    assert list(tmp_path.iterdir()) == []


def test_cli_compare_and_predict_refuse_a_tampered_model_in_one_line(
    fitted, csv_folder, tmp_path, capsys
):
    from emoclassic.cli.main import main

    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    _rewrite(path, "joblib", _setter("metadata", "fit_seconds", value="fast"))
    assert main(["compare", str(path), "--data", str(csv_folder)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"emoclassic: error: {path}: the model's metadata field 'fit_seconds' is not a finite "
        "number of seconds (it is 'fast')\n"
    )
    save_model(fitted, path)
    _rewrite(path, "joblib", _setter("thresholds", value=[7, -3, 0.5]))
    assert main(["predict", str(path), "so happy today"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"emoclassic: error: {path}: {THRESHOLDS} (threshold 0 is 7)\n"


def test_a_tampered_transformer_sidecar_is_refused_before_the_weights(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    sidecar = {
        "format": "emoclassic-model",
        "format_version": 1,
        "kind": "transformer",
        "label_names": ["anger", "fear", "joy"],
        "thresholds": [0.5, 0.5, 0.5],
        "versions": {"transformers": "4.0.0"},
        "fit_seconds": 1.0,
    }
    for field, value, message in [
        ("thresholds", [7, -3, 0.5], f"{THRESHOLDS} (threshold 0 is 7)"),
        ("label_names", ["anger", "fe\nar", "joy"],
         f"{LABEL_LIST} (label 1, 'fe\\nar', has a control character (U+000A))"),
        ("fit_seconds", "slow", "the model's metadata field 'fit_seconds' is not a finite "
         "number of seconds (it is 'slow')"),
        ("max_length", "long", "the model's metadata field 'max_length' is not a positive "
         "integer (it is 'long')"),
        ("versions", [], "the model's versions field is not a mapping of names"),
        ("format_version", "1", "the model's format_version is not a positive integer"),
        ("threshold_validation_f1", [0.9, 0.8], "the model's metadata field "
         "'threshold_validation_f1' needs 3 F1 scores between 0 and 1, one per label (it has 2)"),
    ]:  # fmt: skip
        (folder / "emoclassic.json").write_text(json.dumps(sidecar | {field: value}))
        with pytest.raises(ModelError) as caught:
            load_model(folder)
        assert str(caught.value) == f"{folder / 'emoclassic.json'}: {message}"


@pytest.mark.parametrize("file_format", ["joblib", "skops"])
def test_a_model_whose_sidecar_disagrees_is_refused(fitted, tmp_path, file_format):
    if file_format == "skops":
        pytest.importorskip("skops.io")
    path = tmp_path / f"lr.{file_format}"
    save_model(fitted, path)
    # Valid values, but not the ones saved: the model file was altered after the save.
    _rewrite(path, file_format, _setter("label_names", value=["joy", "fear", "anger"]))
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert str(caught.value) == (
        f"{path}: its label list differs from the one in its sidecar {tmp_path / 'lr.json'}; "
        "one of the two files was altered"
    )
    save_model(fitted, path)
    _rewrite(path, file_format, _setter("thresholds", value=[0.1, 0.2, 0.3]))
    with pytest.raises(ModelError, match="its thresholds differ from the ones in its sidecar"):
        load_model(path)
    (tmp_path / "lr.json").unlink()  # without a sidecar the file describes itself
    assert load_model(path).thresholds.tolist() == [0.1, 0.2, 0.3]


def test_cli_transformer_fit_refuses_to_replace_its_data_folder(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import emoclassic.transformer.training as training
    from emoclassic.cli.main import main

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "fit_transformer", never)
    data = tmp_path / "augmented"  # a save_to_disk folder: replaceable by its marker file
    (data / "train").mkdir(parents=True)
    (data / "dataset_dict.json").write_text('{"splits": ["train"]}')
    (data / "train" / "data-00000-of-00001.arrow").write_bytes(b"rows")
    before = sorted(p.relative_to(data).as_posix() for p in data.rglob("*"))
    for out in (data, data / ".." / "augmented"):
        assert main(["fit", "distilroberta", "--data", str(data), "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"emoclassic: error: {out}: is an input of this run; choose another output path\n"
        )
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*")) == before


def test_cli_a_model_name_too_long_fails_before_the_fit(csv_folder, tmp_path, capsys, monkeypatch):
    from emoclassic.cli.main import main

    _never_fit(monkeypatch)
    out = tmp_path / ("m" * 240 + ".joblib")
    assert main(["fit", "lr", "--data", str(csv_folder), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.endswith(
        ": the file name is too long (247 bytes; at most 231 leave room for the temporary "
        "written beside it)\n"
    )
    with pytest.raises(ModelError) as caught:
        load_model(tmp_path / ("m" * 300 + ".joblib"))
    assert str(caught.value).endswith(".joblib: cannot be opened (File name too long)")


class _WildEstimator:
    """Scores outside [0, 1]: what a tampered estimator could return."""

    def predict_proba(self, texts):
        return np.full((len(texts), 3), 7.0)


def test_an_estimator_with_scores_outside_0_1_is_refused(fitted, tmp_path):
    path = tmp_path / "lr.joblib"
    save_model(fitted, path)
    _rewrite(path, "joblib", _setter("estimator", value=_WildEstimator()))
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert str(caught.value) == f"{path}: the model's estimator returns scores outside [0, 1]"


def test_pipes_are_refused_instead_of_read(fitted, tmp_path):
    import os

    from emoclassic.errors import UsageError

    os.mkfifo(tmp_path / "lr.json")  # reading it would block
    with pytest.raises(UsageError) as caught:
        save_model(fitted, tmp_path / "lr.joblib")
    assert str(caught.value) == (
        f"{tmp_path / 'lr.json'}: exists and is not a regular file, where the sidecar of "
        "lr.joblib would go; choose another model name"
    )
    os.mkfifo(tmp_path / "pipe.joblib")
    with pytest.raises(ModelError) as caught:
        load_model(tmp_path / "pipe.joblib")
    assert str(caught.value) == f"{tmp_path / 'pipe.joblib'}: not a regular file"


def test_numpy_numbers_in_metadata_are_written_as_plain_json(fitted, tmp_path):
    metadata = fitted.metadata | {"support": np.int64(7), "score": np.float32(0.5)}
    model = type(fitted)(fitted.estimator, fitted.label_names, fitted.thresholds, metadata)
    sidecar = save_model(model, tmp_path / "lr.joblib")
    recorded = json.loads(sidecar.read_text())
    assert (recorded["support"], recorded["score"]) == (7, 0.5)
    assert load_model(tmp_path / "lr.joblib").metadata["support"] == 7
