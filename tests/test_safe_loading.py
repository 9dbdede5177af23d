"""The skops format: round trips, and refuses files with types outside the allow-list."""

from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pytest

from conftest import LABELS, run_cli, toy_split
from emoclassic.datasets import EmotionDataset
from emoclassic.errors import MissingDependencyError, ModelError, UsageError
from emoclassic.persistence import load_model, save_model
from emoclassic.safeio import TRUSTED_TYPES, is_skops_file
from emoclassic.training import FitSettings, fit_model

sio = pytest.importorskip("skops.io")

TEXTS = ["so happy today", "angry and scared of the dark", "no known words"]


class Gadget:
    """Stands in for an object an attacker smuggles into a model file."""


@pytest.fixture(scope="module", params=["lr", "nb", "best"])
def fitted(request):
    ds = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    return fit_model(request.param, ds, FitSettings(progress=False, search=False))


def test_skops_round_trip_gives_identical_scores(fitted, tmp_path):
    path = tmp_path / "model.skops"
    sidecar = save_model(fitted, path)
    assert is_skops_file(path) and zipfile.is_zipfile(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS))
    slow = type(loaded)(loaded.estimator, loaded.label_names, loaded.thresholds, fast=False)
    np.testing.assert_array_equal(
        slow.predict_proba(TEXTS),
        type(fitted)(fitted.estimator, LABELS, fast=False).predict_proba(TEXTS),
    )
    np.testing.assert_array_equal(loaded.thresholds, fitted.thresholds)
    assert loaded.label_names == LABELS
    assert loaded.metadata == json.loads(json.dumps(fitted.metadata))
    assert load_model(sidecar).label_names == LABELS  # the sidecar finds the .skops file
    # Only allow-listed emoclassic types are beyond skops' own defaults.
    expected = {"emoclassic.thresholds.PerLabelThresholdClassifier"}
    if fitted.metadata["recipe"] == "best":
        expected |= {
            "emoclassic.features.SortedCSR",
            "emoclassic.hashed_tfidf.HashedTfidfVectorizer",
            "emoclassic.nblr.NBLogisticBlend",
            "sklearn.model_selection._split.KFold",  # folds of the out-of-fold thresholds
        }
    assert set(sio.get_untrusted_types(file=path)) == expected <= set(TRUSTED_TYPES)


def test_explicit_format_overrides_the_suffix(fitted, tmp_path):
    path = tmp_path / "model.bin"
    save_model(fitted, path, file_format="skops")
    assert zipfile.is_zipfile(path)
    np.testing.assert_array_equal(
        load_model(path).predict_proba(TEXTS), fitted.predict_proba(TEXTS)
    )
    with pytest.raises(UsageError, match="unknown model file format 'pickle'"):
        save_model(fitted, tmp_path / "x.pkl", file_format="pickle")


def _rewrite_schema(path, old: str, new: str) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = members["schema.json"].decode()
    assert old in schema
    members["schema.json"] = schema.replace(old, new).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_tampered_schema_is_refused(fitted, tmp_path):
    path = tmp_path / "model.skops"
    save_model(fitted, path)
    _rewrite_schema(
        path,
        '"__class__": "PerLabelThresholdClassifier",\n      "__module__": "emoclassic.thresholds"',
        '"__class__": "Popen",\n      "__module__": "subprocess"',
    )
    with pytest.raises(ModelError) as caught:
        load_model(path)
    message = str(caught.value)
    assert message == (
        f"{path}: refusing to load untrusted types: subprocess.Popen "
        "(the file was not written by emoclassic, or was altered)"
    )
    assert "\n" not in message


def test_injected_object_is_refused(fitted, tmp_path):
    path = tmp_path / "model.skops"
    save_model(fitted, path)
    payload = sio.load(path, trusted=list(TRUSTED_TYPES))
    assert "Gadget" not in str(sio.get_untrusted_types(file=path))
    payload["metadata"] = {"note": Gadget()}
    sio.dump(payload, path)
    with pytest.raises(ModelError, match=r"untrusted types: test_safe_loading\.Gadget \("):
        load_model(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_skops_file(fitted, tmp_path, damage):
    path = tmp_path / "model.skops"
    save_model(fitted, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a zip at all")
    with pytest.raises(ModelError, match="cannot be read as a skops model"):
        load_model(path)


def test_missing_extra(fitted, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'emoclassic\[skops\]'"):
        save_model(fitted, tmp_path / "model.skops")
    assert not (tmp_path / "model.skops").exists()


def test_cli_fit_format_skops_then_predict(csv_folder, tmp_path):
    fit = run_cli(
        "fit", "nb", "--data", str(csv_folder), "--no-search", "--no-progress",
        "--format", "skops", cwd=tmp_path,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    path = tmp_path / "models" / "nb.skops"
    assert "saved models/nb.skops" in fit.stdout and zipfile.is_zipfile(path)
    predict = run_cli("predict", str(path), "so happy today", "--json", cwd=tmp_path)
    assert predict.returncode == 0, predict.stderr
    assert json.loads(predict.stdout)[0]["emotions"][0]["label"] == "joy"
    _rewrite_schema(path, '"__module__": "emoclassic.thresholds"', '"__module__": "os"')
    refused = run_cli("predict", str(path), "so happy today", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"emoclassic: error: {path}: refusing to load untrusted types: "
        "os.PerLabelThresholdClassifier (the file was not written by emoclassic, or was altered)\n"
    )


def test_skops_model_with_a_label_absent_from_training(tmp_path):
    import numpy as np

    from conftest import LABELS, toy_split
    from emoclassic.datasets import EmotionDataset, EmotionSplit
    from emoclassic.persistence import load_model, save_model
    from emoclassic.training import FitSettings, fit_model

    train = toy_split(4)
    labels = train.labels.copy()
    labels[:, 0] = 0  # "anger" never occurs: one-vs-rest keeps a _ConstantPredictor
    ds = EmotionDataset(LABELS, {"train": EmotionSplit(train.texts, labels), "validation": train})
    model = fit_model("lr", ds, FitSettings(progress=False, search=False))
    path = tmp_path / "lr.skops"
    save_model(model, path, file_format="skops")
    loaded = load_model(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(["so happy"]), model.predict_proba(["so happy"])
    )
    assert loaded.thresholds[0] == 0.5  # constant scores keep the default cut-off


def test_a_joblib_model_may_not_take_the_sidecar_of_a_skops_model(fitted, tmp_path):
    save_model(fitted, tmp_path / "model.skops")
    before = (tmp_path / "model.json").read_bytes()
    with pytest.raises(UsageError) as caught:
        save_model(fitted, tmp_path / "model.joblib")
    assert str(caught.value) == (
        f"{tmp_path / 'model.json'}: is the sidecar of {tmp_path / 'model.skops'}; saving "
        "model.joblib would overwrite it; choose another model name"
    )
    assert (tmp_path / "model.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.skops"]
    assert json.loads(before)["model_file"] == "model.skops"
