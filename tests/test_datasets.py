from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import LABELS, toy_rows, write_csv_split
from emoclassic.datasets import EmotionSplit, hold_out, load_dataset, load_goemotions
from emoclassic.errors import DataError, UsageError


def test_bundled_goemotions_matches_the_official_split():
    ds = load_goemotions()
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (43410, 5426, 5427)
    assert len(ds.label_names) == 28
    assert ds.label_names[0] == "admiration" and ds.label_names[27] == "neutral"
    assert ds.train.labels.shape == (43410, 28)
    assert ds.train.ids[0] == "eebbqej"
    assert ds.train.texts[2] == "WHY THE FUCK IS BAYLESS ISOING"
    counts = dict(zip(ds.label_names, ds.label_counts("train").tolist(), strict=True))
    assert counts["grief"] == 77
    share = ds.label_counts("train") / len(ds.train)
    minority = sorted(np.array(ds.label_names)[share < 0.015].tolist())
    assert minority == sorted(
        ["grief", "pride", "relief", "nervousness", "embarrassment", "remorse", "fear", "desire"]
    )


def test_hub_source_is_reported_as_a_data_error_offline(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="cannot be loaded from the Hugging Face Hub"):
        load_goemotions("hub")


def test_semeval_layout_with_zero_one_columns(csv_folder):
    ds = load_dataset(csv_folder)
    assert ds.label_names == LABELS
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (64, 32, 32)
    row = ds.train.texts.index("happy but scared 0")
    assert ds.train.labels[row].tolist() == [0, 1, 1]
    assert ds.train.ids[:2] == ["0", "1"]


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet", ".json"])
def test_label_lists_by_name_in_every_format(tmp_path, suffix):
    frame = pd.DataFrame(
        {"text": [t for t, _ in toy_rows(2)], "labels": [labels for _, labels in toy_rows(2)]}
    )
    path = tmp_path / f"train{suffix}"
    if suffix == ".tsv":
        frame.assign(labels=frame["labels"].map(",".join)).to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".json":
        path.write_text(json.dumps(frame.to_dict(orient="records")))
    else:
        frame.to_parquet(path)
    ds = load_dataset(path, validation_fraction=0.25, seed=0)
    assert ds.label_names == LABELS  # sorted names seen in train
    assert len(ds.train) + len(ds.validation) == 32
    assert len(ds.validation) == 8
    assert not ds.has_test
    assert ds.notes and "held out 8" in ds.notes[0]


def test_label_ids_with_label_file_and_raw_goemotions_layout(tmp_path):
    (tmp_path / "train.tsv").write_text("hello there\t0,2\tid1\nso sad\t1\tid2\n")
    (tmp_path / "dev.tsv").write_text("great\t2\tid3\n")
    (tmp_path / "labels.txt").write_text("joy\nsadness\nsurprise\n")
    ds = load_dataset(tmp_path)
    assert ds.label_names == ("joy", "sadness", "surprise")
    assert ds.train.labels.tolist() == [[1, 0, 1], [0, 1, 0]]
    assert ds.validation.ids == ["id3"]


def test_save_to_disk_folder_with_class_label_names(tmp_path):
    import datasets

    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "labels": datasets.Sequence(datasets.ClassLabel(names=["calm", "rage"])),
        }
    )
    part = {"text": ["peace", "grr", "om"], "labels": [[0], [1], [0, 1]]}
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(part, features=features),
            "validation": datasets.Dataset.from_dict(part, features=features),
        }
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    ds = load_dataset(tmp_path / "dd")
    assert ds.label_names == ("calm", "rage")
    assert ds.validation.labels.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_hold_out_is_seeded_and_stratified():
    labels = np.array([[1, 0, 0]] * 60 + [[0, 1, 0]] * 30 + [[0, 0, 1]] * 10, np.uint8)
    split = EmotionSplit([f"t{i}" for i in range(100)], labels)
    train_a, val_a = hold_out(split, 0.2, seed=7)
    _, val_b = hold_out(split, 0.2, seed=7)
    assert val_a.texts == val_b.texts
    assert val_a.labels.sum(axis=0).tolist() == [12, 6, 2]
    assert sorted(train_a.texts + val_a.texts) == sorted(split.texts)


def test_limit_train(toy_dataset):
    assert len(toy_dataset.limit_train(5).train) == 5
    with pytest.raises(UsageError, match="positive"):
        toy_dataset.limit_train(0)


def test_fingerprint_changes_with_the_data(toy_dataset):
    assert toy_dataset.fingerprint() == toy_dataset.fingerprint()
    assert toy_dataset.fingerprint() != toy_dataset.limit_train(5).fingerprint()


# Bad input: one clear error each.


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        load_dataset(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "train.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load_dataset(tmp_path / "train.csv")


def test_header_only_file(tmp_path):
    (tmp_path / "train.csv").write_text("text,joy\n")
    with pytest.raises(DataError, match="no rows"):
        load_dataset(tmp_path / "train.csv")


def test_missing_text_column(tmp_path):
    (tmp_path / "train.csv").write_text("sentence,joy\nhi,1\n")
    with pytest.raises(DataError, match="no text column 'text'"):
        load_dataset(tmp_path / "train.csv")


@pytest.mark.parametrize("text", ["", "   "])
def test_missing_or_blank_texts_are_rejected(tmp_path, text):
    (tmp_path / "train.csv").write_text(f"text,joy\nhi,1\n{text},0\nyo,1\n")
    with pytest.raises(DataError, match=r"1 row\(s\) have a missing or empty text .*data row 2"):
        load_dataset(tmp_path / "train.csv")


def test_label_id_out_of_range(tmp_path):
    (tmp_path / "train.tsv").write_text("hello\t0\tid1\nbye\t5\tid2\n")
    (tmp_path / "labels.txt").write_text("joy\nsadness\n")
    with pytest.raises(DataError, match=r"label id 5 is out of range \(0..1\) at data row 2"):
        load_dataset(tmp_path)


def test_unknown_label_name_in_another_split(tmp_path):
    write_csv_split(tmp_path / "train.csv", toy_rows(1))
    pd.DataFrame({"text": ["x"], "labels": ["bliss"]}).to_csv(tmp_path / "dev.csv", index=False)
    frame = pd.DataFrame({"text": ["a", "b"], "labels": ["joy", "anger"]})
    frame.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match="unknown label 'bliss' at data row 1"):
        load_dataset(tmp_path)


def test_zero_one_columns_must_hold_zero_or_one(tmp_path):
    (tmp_path / "train.csv").write_text("text,joy,anger\nhi,1,0\nyo,2,0\n")
    with pytest.raises(DataError, match="must hold 0 or 1, got '2' at data row 2"):
        load_dataset(tmp_path / "train.csv")


def test_folder_without_train_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no train file"):
        load_dataset(tmp_path)


def test_malformed_parquet(tmp_path):
    (tmp_path / "train.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot be read as parquet"):
        load_dataset(tmp_path / "train.parquet")
