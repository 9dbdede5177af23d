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
