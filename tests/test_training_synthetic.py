"""Training on an augmented split: generated rows weighted, dropped, kept in their source's fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from emoclassic.datasets import EmotionDataset, EmotionSplit, load_dataset, synthetic_markers
from emoclassic.errors import DataError, InvalidParameter
from emoclassic.persistence import load_model, save_model
from emoclassic.training import FitSettings, _folds, fit_model

WORDS = {
    "anger": ["furious", "rage", "hate this", "so angry"],
    "joy": ["delighted", "so happy", "love it", "great day"],
}


def augmented_split(n_per_label=12, copies=2) -> EmotionSplit:
    texts, labels = [], []
    for j, (label, words) in enumerate(WORDS.items()):
        for i in range(n_per_label):
            texts.append(f"{words[i % 4]} number {i} {label}")
            labels.append([int(j == 0), int(j == 1)])
    n = len(texts)
    synthetic = [False] * n
    groups = list(range(n))
    for source in range(0, n, 3):  # every third row reworded `copies` times
        for c in range(copies):
            texts.append(f"reworded {c} {texts[source]}")
            labels.append(labels[source])
            synthetic.append(True)
            groups.append(source)
    return EmotionSplit(
        texts,
        np.array(labels, dtype=np.uint8),
        synthetic=np.array(synthetic),
        groups=np.array(groups),
    )


@pytest.fixture
def augmented() -> EmotionDataset:
    plain = augmented_split().originals()
    return EmotionDataset(
        ("anger", "joy"),
        {"train": augmented_split(), "validation": plain, "test": plain},
        source="toy",
    )


def test_folds_keep_a_generated_row_with_its_source(augmented):
    train = augmented.train
    for n_splits in (2, 3, 5):
        folds = _folds(train, n_splits, seed=0)
        test_fold = folds.test_fold
        assert np.array_equal(test_fold, test_fold[train.groups])
        assert sorted(set(test_fold)) == list(range(n_splits))
    # Without generated rows: plain shuffled K folds.
    assert type(_folds(train.originals(), 3, seed=0)).__name__ == "KFold"


def test_weights_reach_the_per_label_classifiers_exactly(augmented):
    settings = FitSettings(progress=False, search=False, synthetic_weight=0.25)
    model = fit_model("nb", augmented, settings)
    pipeline = model.estimator.estimator_
    train = augmented.train
    X = pipeline.named_steps["tfidf"].transform(train.texts)
    weights = np.where(train.synthetic, 0.25, 1.0)
    for j, estimator in enumerate(pipeline.named_steps["clf"].estimators_):
        positive = train.labels[:, j] == 1
        expected = np.asarray(X[positive].multiply(weights[positive][:, None]).sum(axis=0))
        np.testing.assert_allclose(estimator.feature_count_[1], expected.ravel(), rtol=1e-9)
        assert "_metadata_request" not in vars(estimator)  # a saved model carries no request
    assert model.metadata["synthetic_weight"] == 0.25
    assert model.metadata["data"]["synthetic_train_rows"] == 16


@pytest.mark.parametrize("recipe", ["lr", "best"])
def test_weight_zero_drops_and_weight_one_changes_nothing(augmented, recipe):
    def fit(dataset, weight):
        settings = FitSettings(progress=False, search=False, synthetic_weight=weight)
        if recipe == "best":
            settings = FitSettings(
                progress=False, search=False, synthetic_weight=weight, threshold_folds=2
            )
        return fit_model(recipe, dataset, settings)

    texts = augmented.validation.texts
    originals = EmotionDataset(
        augmented.label_names, {**augmented.splits, "train": augmented.train.originals()}
    )
    dropped = fit(augmented, 0.0)
    np.testing.assert_allclose(
        dropped.predict_proba(texts), fit(originals, 1.0).predict_proba(texts), atol=1e-12
    )
    unmarked = EmotionDataset(
        augmented.label_names,
        {**augmented.splits, "train": EmotionSplit(augmented.train.texts, augmented.train.labels)},
    )
    if recipe == "lr":  # validation thresholds: the same fit with and without markers
        np.testing.assert_allclose(
            fit(augmented, 1.0).predict_proba(texts),
            fit(unmarked, 1.0).predict_proba(texts),
            atol=1e-12,
        )
    half = fit(augmented, 0.5).predict_proba(texts)
    assert not np.allclose(half, fit(augmented, 1.0).predict_proba(texts))


def test_weighted_grid_search_and_skops_round_trip(augmented, tmp_path):
    pytest.importorskip("skops")
    settings = FitSettings(progress=False, search=True, cv=2, synthetic_weight=0.5)
    model = fit_model("lr", augmented, settings)
    assert model.metadata["search"]["searched"]
    path = save_model(model, tmp_path / "lr.skops")
    loaded = load_model(path)
    texts = augmented.test.texts
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))


def test_negative_weight_is_refused():
    with pytest.raises(InvalidParameter, match=r"^synthetic_weight must be 0 or more"):
        FitSettings(synthetic_weight=-1)


def test_markers_are_read_and_checked():
    frame = pd.DataFrame(
        {"text": ["a", "b", "a2"], "synthetic": [False, False, True], "source_row": [-1, -1, 0]}
    )
    synthetic, groups = synthetic_markers(frame, where="t")
    assert synthetic.tolist() == [False, False, True] and groups.tolist() == [0, 1, 0]
    assert synthetic_markers(frame.drop(columns="synthetic"), where="t") is None
    bad = frame.assign(source_row=[-1, -1, 2])  # points at a generated row
    with pytest.raises(DataError, match="data row 3 has a source_row that is not an original"):
        synthetic_markers(bad, where="t")
    with pytest.raises(DataError, match="must hold true or false"):
        synthetic_markers(frame.assign(synthetic=["yes", "no", "x"]), where="t")


def test_fit_command_weights_an_augmented_folder(tmp_path):
    pytest.importorskip("datasets")
    import datasets

    from emoclassic.augment.publish import write_dataset

    split = augmented_split()
    columns = {
        "text": split.texts,
        "labels": [np.flatnonzero(row).tolist() for row in split.labels],
        "synthetic": split.synthetic.tolist(),
        "source_row": np.where(split.synthetic, split.groups, -1).tolist(),
    }
    plain = {
        k: [v for v, s in zip(vals, split.synthetic, strict=True) if not s]
        for k, vals in columns.items()
    }
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "labels": datasets.List(datasets.ClassLabel(names=["anger", "joy"])),
            "synthetic": datasets.Value("bool"),
            "source_row": datasets.Value("int64"),
        }
    )
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(columns, features=features),
            "validation": datasets.Dataset.from_dict(plain, features=features),
        }
    )
    folder = write_dataset(dd, tmp_path / "aug", "card")
    loaded = load_dataset(folder)
    assert loaded.train.synthetic.sum() == 16 and np.array_equal(loaded.train.groups, split.groups)
    result = run_cli(
        "fit", "lr", "--data", str(folder), "--no-search", "--synthetic-weight", "0.5",
        "--no-progress", "--out", str(tmp_path / "m.joblib"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "16 generated training rows: weight 0.5, grouped with their sources" in result.stdout
    dropped = run_cli(
        "fit", "lr", "--data", str(folder), "--no-search", "--synthetic-weight", "0",
        "--no-progress", "--out", str(tmp_path / "m0.joblib"), cwd=tmp_path,
    )  # fmt: skip
    assert "16 generated training rows: dropped" in dropped.stdout
