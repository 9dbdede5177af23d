from __future__ import annotations

import json
import os
import warnings

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
    # The first five rows are all joy: the cut leaves anger and fear unlearnable.
    with pytest.warns(UserWarning) as caught:
        assert len(toy_dataset.limit_train(5).train) == 5
    assert [str(w.message) for w in caught] == [
        "toy: 2 label(s) have no positive example in the first 5 training rows: "
        "'anger', 'fear'; a model cannot learn them"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every label keeps an example: no warning
        assert len(toy_dataset.limit_train(20).train) == 20
    with pytest.raises(UsageError, match="positive"):
        toy_dataset.limit_train(0)


def test_fingerprint_changes_with_the_data(toy_dataset):
    assert toy_dataset.fingerprint() == toy_dataset.fingerprint()
    with pytest.warns(UserWarning, match="no positive example in the first 5"):
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


# Hostile input: each category gets one exact decision.


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _rows_with(row_two: dict) -> list[dict]:
    """Three JSONL rows; the second is changed by ``row_two``."""
    rows = [
        {"text": "so glad", "labels": ["joy"]},
        {"text": "so mad", "labels": ["anger"]},
        {"text": "glad again", "labels": ["joy"]},
    ]
    rows[1].update(row_two)
    return rows


def _message(excinfo) -> str:
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_split_file_that_is_a_folder(tmp_path):
    (tmp_path / "train.csv").mkdir()
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    assert _message(excinfo) == f"{tmp_path / 'train.csv'}: is a folder, not a file"


def test_split_file_that_cannot_be_read(tmp_path, monkeypatch):
    path = tmp_path / "train.csv"
    path.write_text("text,joy\nhi,1\n")

    real_open = os.open

    def denied(name, *args, **kwargs):
        if os.fspath(name) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == f"{path}: cannot be read (Permission denied)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("jöy\nanger\n".encode("latin-1"), "not UTF-8 text"),
        (None, "is a folder, not a file"),
        (b"", "the file is empty"),
        (b"\n  \n", "the file has no label names"),
        (b"joy\nanger\njoy\n", "the label name 'joy' is on line 1 and again on line 3"),
        (b"joy\nan\x1bger\n", "the label name 'an\\x1bger' on line 2 has a control character"),
    ],
    ids=["latin-1", "folder", "empty", "blank", "duplicate", "escape"],
)
def test_bad_labels_txt(tmp_path, content, expected):
    (tmp_path / "train.csv").write_text("text,labels\nhi,0\nho,1\n")
    labels_txt = tmp_path / "labels.txt"
    if content is None:
        labels_txt.mkdir()
    else:
        labels_txt.write_bytes(content)
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    assert _message(excinfo).startswith(f"{labels_txt}: {expected}")


def test_labels_txt_allows_a_byte_order_mark_and_surrounding_space(tmp_path):
    (tmp_path / "train.csv").write_text("text,labels\nhi,0\nho,1\n")
    (tmp_path / "dev.csv").write_text("text,labels\nhu,0\n")
    (tmp_path / "labels.txt").write_bytes("\ufeffjoy \r\n\n anger\r\n".encode())
    assert load_dataset(tmp_path).label_names == ("joy", "anger")


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([None], "got null"),
        ([True], "got a bool (True)"),
        ([{"a": 1}], "got a dict ({'a': 1})"),
        ([1.5], "got a float (1.5)"),
        ([["joy"]], "got a list (['joy'])"),
    ],
)
def test_jsonl_label_that_is_not_a_name_or_an_id(tmp_path, labels, expected):
    path = tmp_path / "train.jsonl"
    _jsonl(path, _rows_with({"labels": labels}))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: a label must be a label name or a non-negative integer id, "
        f"{expected} at data row 2"
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [({"a": 1}, "a dict ({'a': 1})"), (True, "a bool (True)")],
)
def test_jsonl_labels_that_are_not_a_list(tmp_path, labels, expected):
    path = tmp_path / "train.jsonl"
    _jsonl(path, _rows_with({"labels": labels}))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: the labels must be a list of label names or ids, got {expected} at data row 2"
    )


@pytest.mark.parametrize("labels", [[-1], -1, ["-1"], "0,-1"])
def test_negative_label_ids_are_refused(tmp_path, labels):
    path = tmp_path / "train.jsonl"
    _jsonl(path, [{"text": "a", "labels": [0]}, {"text": "b", "labels": labels}])
    with pytest.raises(DataError, match=r"label id '?-1'? is negative at data row 2$"):
        load_dataset(path)


def test_whole_float_ids_are_ids(tmp_path):
    rows = [{"text": "a", "labels": [0.0]}, {"text": "b", "labels": [1, 0]}]
    _jsonl(tmp_path / "train.jsonl", rows)
    _jsonl(tmp_path / "dev.jsonl", rows)
    (tmp_path / "labels.txt").write_text("joy\nanger\n")
    assert load_dataset(tmp_path).train.labels.tolist() == [[1, 0], [1, 1]]


@pytest.mark.parametrize(
    ("labels", "shown", "problem"),
    [
        (["joy\nanger 0.99"], "'joy\\nanger 0.99'", "has a control character (U+000A)"),
        (["joy\u200b"], "'joy\\u200b'", "has a control character (U+200B)"),
        (["jo\u2028y"], "'jo\\u2028y'", "has a control character (U+2028)"),
        ([" joy"], "' joy'", "has white space at the start or end"),
        ([""], "''", "is empty"),
    ],
)
def test_label_names_with_control_characters_or_edge_space(tmp_path, labels, shown, problem):
    path = tmp_path / "train.jsonl"
    _jsonl(path, _rows_with({"labels": labels}))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == f"{path}: the label name {shown} at data row 2 {problem}"


def test_control_characters_in_other_label_name_sources(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,"jo\ty",anger\nhi,1,0\nho,0,1\n')
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: the label column 'jo\\ty' has a control character (U+0009)"
    )
    path.write_text('text,labels\nhi,"joy\nanger"\nho,joy\n')
    with pytest.raises(DataError, match=r"the label name 'joy\\nanger' at data row 1 has a"):
        load_dataset(path)
    path.write_text("text,labels\nhi,0\nho,1\n")
    with pytest.raises(DataError, match=r"the label name 'a\\rb' has a control character"):
        load_dataset(path, label_names=["a\rb", "c"])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (["so", "sad"], "a list"),
        ({"a": 1}, "a dict"),
        (5, "an int"),
        (2.5, "a float"),
        (True, "a bool"),
    ],
)
def test_jsonl_text_that_is_not_a_string(tmp_path, text, kind):
    path = tmp_path / "train.jsonl"
    _jsonl(path, _rows_with({"text": text}))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == f"{path}: the text at data row 2 is {kind}, not a string"


def test_csv_texts_are_read_as_written(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,labels\n007,joy\n1.50,anger\n3,joy\n4,anger\n")
    ds = load_dataset(path, validation_fraction=0.5, seed=0)
    assert sorted(ds.train.texts + ds.validation.texts) == ["007", "1.50", "3", "4"]


@pytest.mark.parametrize(
    ("name", "content", "column"),
    [
        ("train.csv", "text,text,labels\na,b,joy\nc,d,anger\n", "text"),
        ("train.csv", "text,joy,anger,joy\na,1,0,0\nc,0,1,1\n", "joy"),
        ("train.tsv", "text\tlabels\tlabels\na\tjoy\tanger\n", "labels"),
    ],
)
def test_repeated_header_names_are_refused(tmp_path, name, content, column):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (f"{path}: two columns are named {column!r}; rename or remove one")


def test_repeated_parquet_columns_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    columns = [pa.array(["a", "b"]), pa.array(["c", "d"]), pa.array([["joy"], ["anger"]])]
    pq.write_table(pa.Table.from_arrays(columns, names=["text", "text", "labels"]), path)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == f"{path}: two columns are named 'text'; rename or remove one"


def test_a_column_really_called_text_dot_one_is_fine(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,text.1,labels\na,x,joy\nb,y,anger\nc,z,joy\nd,w,anger\n")
    ds = load_dataset(path, validation_fraction=0.5, seed=0)
    assert sorted(ds.train.texts + ds.validation.texts) == ["a", "b", "c", "d"]


def test_repeated_json_keys_are_refused(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "labels": [0]}\n{"text": "b", "text": "c", "labels": [0]}\n')
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == f"{path}: line 2 names the key 'text' twice"


def test_rows_with_more_fields_than_the_header_are_refused(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,labels\na,joy,extra\nb,anger,extra\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: the data rows have more fields than the header (2 column names)"
    )


def test_two_files_for_one_split_are_refused(tmp_path):
    (tmp_path / "train.csv").write_text("text,labels\na,joy\n")
    _jsonl(tmp_path / "train.jsonl", [{"text": "a", "labels": ["joy"]}])
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    assert _message(excinfo) == (
        f"{tmp_path}: more than one train file (train.csv, train.jsonl); keep one"
    )


def test_label_id_gaps_without_label_names_are_refused(tmp_path):
    (tmp_path / "train.csv").write_text("text,labels\na,0\nb,1\nc,2\nd,7\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    assert _message(excinfo) == (
        f"{tmp_path}: label ids 3-6 occur in no row although the ids go up to 7; "
        "list every label name, one per line, in a labels.txt beside the split files"
    )
    # With names, the ids only have to be below their number; the gap is a warning.
    (tmp_path / "labels.txt").write_text("".join(f"l{i}\n" for i in range(8)))
    with pytest.warns(UserWarning, match="'l3', 'l4', 'l5', 'l6'"):
        ds = load_dataset(tmp_path)
    assert len(ds.label_names) == 8
    (tmp_path / "labels.txt").write_text("l0\nl1\nl2\n")
    with pytest.raises(DataError, match=r"label id 7 is out of range \(0..2\) at data row 4$"):
        load_dataset(tmp_path)


def test_label_ids_and_names_mixed_across_splits(tmp_path):
    (tmp_path / "train.csv").write_text("text,labels\na,joy\nb,anger\n")
    (tmp_path / "dev.csv").write_text("text,labels\nc,1\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    assert _message(excinfo) == f"{tmp_path}: the label column mixes label ids and label names"


def test_no_label_at_all_is_refused(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,labels\na,\nb,\n")
    with pytest.raises(DataError, match="no training row has a label"):
        load_dataset(path)


def test_all_zero_label_column_warns_once(tmp_path):
    write_csv_split(
        tmp_path / "train.csv", [(t, [n for n in ls if n != "fear"]) for t, ls in toy_rows(1)]
    )
    write_csv_split(tmp_path / "dev.csv", toy_rows(1))
    with pytest.warns(UserWarning) as record:
        ds = load_dataset(tmp_path)
    messages = [str(w.message) for w in record if "positive example" in str(w.message)]
    assert messages == [
        f"{tmp_path / 'train.csv'}: 1 label(s) have no positive example in the training "
        "split: 'fear'; a model cannot learn them"
    ]
    assert ds.label_counts("train").tolist()[LABELS.index("fear")] == 0


def test_label_named_in_labels_txt_but_never_used_warns(tmp_path):
    (tmp_path / "train.csv").write_text("text,labels\na,joy\nb,anger\nc,joy\n")
    (tmp_path / "dev.csv").write_text("text,labels\nd,joy\n")
    (tmp_path / "labels.txt").write_text("joy\nanger\ngrief\n")
    with pytest.warns(UserWarning, match=r"1 label\(s\) have no positive example .*: 'grief';"):
        ds = load_dataset(tmp_path)
    assert ds.label_names == ("joy", "anger", "grief")


def test_clean_data_does_not_warn(csv_folder):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(csv_folder)


def test_synthetic_column_must_hold_booleans(tmp_path):
    path = tmp_path / "train.jsonl"
    _jsonl(path, [{"text": "a", "labels": [0], "synthetic": [1]}, {"text": "b", "labels": [0]}])
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: the 'synthetic' column must hold true or false, got [1] at data row 1"
    )


def test_too_few_rows_to_hold_out_names_the_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,labels\nhi,joy\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: need at least 2 training rows to hold out a validation split"
    )


def test_unnamed_zero_one_column_is_refused(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(",text,joy\n0,hi,1\n1,ho,0\n")  # pandas to_csv with its index
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    assert _message(excinfo) == (
        f"{path}: a column has an empty name in the header (pandas calls it 'Unnamed: 0'); "
        "name the label or remove the column"
    )
