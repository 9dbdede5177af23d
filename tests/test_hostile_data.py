"""Property-based tests: whatever a data folder holds, the loader keeps its contract.

The contract (README): a dataset comes back well-formed (every text a non-empty
string, a 0/1 label matrix per split with one column per label name, clean and
unique label names), or :func:`emoclassic.datasets.load_dataset` raises a
:class:`~emoclassic.errors.DataError` whose message is exactly one line. Any
other exception is a bug.

Hostile values in every cell would stop each load at its first row, so the
JSON lines and CSV strategies start from a well-formed folder and apply a few
hostile mutations (an odd value, a dropped key, a repeated or odd header name,
a missing or extra field); the raw strategy writes random bytes. The default
run keeps each property small; ``pytest -m fuzz`` runs the composite property
with a long budget.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emoclassic.datasets import EmotionDataset, load_dataset
from emoclassic.errors import DataError
from emoclassic.label_names import label_name_problem

QUICK = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SUFFIXES = [".csv", ".tsv", ".jsonl", ".json", ".parquet"]
GOOD_NAMES = ["joy", "anger", "fear"]
ODD_NAMES = [" joy", "joy\n", "jo\x1by", "jo\u2028y", "jo\u200by", "", "-1", "joy,anger", "1.5"]
GOOD_TEXTS = ["so glad", "so mad", "scared stiff", "007", "x\ny", "meh"]

# JSON values of every kind, nested a little: what a hostile JSONL row may hold.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(GOOD_NAMES + ODD_NAMES)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
odd_label_items = st.sampled_from(ODD_NAMES) | st.integers(min_value=-2, max_value=12) | json_values
label_files = st.one_of(
    st.lists(st.sampled_from(GOOD_NAMES + ODD_NAMES)).map(lambda names: "\n".join(names).encode()),
    st.binary(max_size=40),
    st.none(),
)
odd_header_names = st.sampled_from(["text.1", "", "synthetic", "Unnamed: 0", *ODD_NAMES]) | st.text(
    max_size=5
)
odd_cells = st.sampled_from(
    ["", "2", "7", "-1", "1.5", "[0", "[null]", "[true]", "[[0]]", "[-1]", *ODD_NAMES]
) | st.text(max_size=6)


def _assert_contract(target: Path) -> EmotionDataset | None:
    """Load ``target``; assert a well-formed dataset or a one-line DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", DeprecationWarning)
            warnings.simplefilter("error", FutureWarning)
            dataset = load_dataset(target)
    except DataError as exc:
        message = str(exc)
        assert message.strip(), "an empty error message"
        assert len(message.splitlines()) == 1, message
        assert message == message.strip(), message
        return None
    _assert_well_formed(dataset)
    return dataset


def _assert_well_formed(dataset: EmotionDataset) -> None:
    names = dataset.label_names
    assert names and all(isinstance(name, str) for name in names)
    assert len(set(names)) == len(names)
    assert all(label_name_problem(name) is None for name in names), names
    assert "train" in dataset.splits and "validation" in dataset.splits
    for split in dataset.splits.values():
        assert all(type(text) is str and text.strip() for text in split.texts)
        assert isinstance(split.labels, np.ndarray) and split.labels.dtype == np.uint8
        assert split.labels.shape == (len(split.texts), len(names))
        assert set(np.unique(split.labels).tolist()) <= {0, 1}
        if split.ids is not None:
            assert len(split.ids) == len(split.texts)


def _check_folder(files: dict[str, bytes | None], single: str | None = None) -> None:
    """Write ``files`` (``None``: a folder) and load the folder, then ``single`` alone."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            if content is None:
                (folder / name).mkdir()
            else:
                (folder / name).write_bytes(content)
        _assert_contract(folder)
        if single is not None:
            _assert_contract(folder / single)


def _jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


def _pick(draw, items: list):
    return items[draw(st.integers(min_value=0, max_value=len(items) - 1))]


@st.composite
def raw_folders(draw) -> tuple[dict[str, bytes | None], str]:
    """A train file of any supported type holding random bytes or text; maybe a folder."""
    name = "train" + draw(st.sampled_from(SUFFIXES))
    content = draw(
        st.none()
        | st.binary(max_size=200)
        | st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass"))
    )
    files = {name: content}
    if draw(st.booleans()):
        files["labels.txt"] = draw(label_files)
    return files, name


@st.composite
def jsonl_folders(draw) -> tuple[dict[str, bytes | None], str]:
    """JSON lines splits, by label name or id, with up to three hostile row mutations."""
    by_id = draw(st.booleans())
    usual_label = st.integers(min_value=0, max_value=3) if by_id else st.sampled_from(GOOD_NAMES)
    usual_row = st.fixed_dictionaries(
        {"text": st.sampled_from(GOOD_TEXTS), "labels": st.lists(usual_label, max_size=3)}
    )
    splits = {"train": draw(st.lists(usual_row, min_size=1, max_size=8))}
    for split in draw(st.lists(st.sampled_from(["dev", "test"]), unique=True)):
        splits[split] = draw(st.lists(usual_row, max_size=4))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        rows = splits[draw(st.sampled_from(sorted(splits)))]
        if rows:
            _mutate_row(draw, _pick(draw, rows))
    files: dict[str, bytes | None] = {
        f"{split}.jsonl": _jsonl_bytes(rows) for split, rows in splits.items()
    }
    if by_id and draw(st.booleans()):
        files["labels.txt"] = "\n".join(f"label{i}" for i in range(4)).encode()
    elif draw(st.integers(min_value=0, max_value=4)) == 0:
        files["labels.txt"] = draw(label_files)
    return files, "train.jsonl"


def _mutate_row(draw, row: dict) -> None:
    how = draw(st.sampled_from(["text", "labels", "item", "drop", "synthetic", "source_row", "id"]))
    if how == "drop":
        row.pop(draw(st.sampled_from(["text", "labels"])), None)
    elif how == "item":
        labels = row.get("labels")
        row["labels"] = [*(labels if isinstance(labels, list) else []), draw(odd_label_items)]
    elif how == "text":
        row["text"] = draw(st.sampled_from(["", "  ", "\ud800"]) | json_values)
    elif how == "synthetic":
        row["synthetic"] = draw(st.booleans() | json_values)
        row["source_row"] = draw(st.integers(min_value=-1, max_value=8) | json_values)
    else:
        row[how] = draw(json_values)


@st.composite
def csv_folders(draw) -> tuple[dict[str, bytes | None], str]:
    """CSV/TSV splits (a label list or 0/1 columns) with hostile header and cell mutations."""
    suffix, delimiter = draw(st.sampled_from([(".csv", ","), (".tsv", "\t")]))
    if draw(st.booleans()):
        header = ["id", "text", "labels"]
        by_id = draw(st.booleans())
        label_cells = st.sampled_from(
            ["0", "1", "0,2", "[0, 1]", ""] if by_id else ["joy", "anger", "joy,anger", ""]
        )
        row = st.tuples(st.integers(0, 99).map(str), st.sampled_from(GOOD_TEXTS), label_cells)
    else:
        header = ["text", *GOOD_NAMES]
        bit = st.sampled_from(["0", "1"])
        row = st.tuples(st.sampled_from(GOOD_TEXTS), bit, bit, bit)
    splits = {"train": [list(r) for r in draw(st.lists(row, min_size=1, max_size=8))]}
    if draw(st.booleans()):
        splits["dev"] = [list(r) for r in draw(st.lists(row, max_size=3))]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        _mutate_table(draw, header, splits[draw(st.sampled_from(sorted(splits)))])
    files: dict[str, bytes | None] = {
        f"{split}{suffix}": _csv_bytes(header, rows, delimiter) for split, rows in splits.items()
    }
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        files["labels.txt"] = draw(label_files)
    return files, f"train{suffix}"


def _mutate_table(draw, header: list[str], rows: list[list[str]]) -> None:
    how = draw(st.sampled_from(["rename", "repeat", "cell", "extra field", "short row"]))
    if how == "rename":
        header[draw(st.integers(0, len(header) - 1))] = draw(odd_header_names)
    elif how == "repeat":
        header.append(_pick(draw, header))
        for row in rows:
            row.append(draw(st.sampled_from(["0", "1", "joy", "x"])))
    elif rows:
        row = _pick(draw, rows)
        if how == "cell":
            row[draw(st.integers(0, len(row) - 1))] = draw(odd_cells)
        elif how == "extra field":
            row.append(draw(odd_cells))
        elif len(row) > 1:
            row.pop()


any_folder = raw_folders() | jsonl_folders() | csv_folders()


@QUICK
@given(raw_folders())
def test_random_bytes_in_a_split_file_keep_the_contract(case):
    _check_folder(*case)


@QUICK
@given(jsonl_folders())
def test_odd_json_values_keep_the_contract(case):
    _check_folder(*case)


@QUICK
@given(csv_folders())
def test_odd_csv_headers_and_cells_keep_the_contract(case):
    _check_folder(*case)


@QUICK
@given(any_folder)
def test_any_hostile_folder_keeps_the_contract(case):
    _check_folder(*case)


@pytest.mark.fuzz
@LONG
@given(any_folder)
def test_any_hostile_folder_keeps_the_contract_long(case):
    _check_folder(*case)


@QUICK
@given(
    st.lists(st.sampled_from(GOOD_TEXTS), min_size=2, max_size=6),
    st.integers(min_value=1, max_value=5),
)
def test_a_well_formed_folder_loads(texts, extra_names):
    """The contract is not met by refusing everything: clean data loads, labels intact."""
    names = ["joy", *(f"label{i}" for i in range(extra_names))]
    rows = [{"text": text, "labels": [0]} for text in texts]
    files: dict[str, bytes | None] = {
        "train.jsonl": _jsonl_bytes(rows),
        "dev.jsonl": _jsonl_bytes(rows[:1]),
        "labels.txt": "\n".join(names).encode(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        dataset = _assert_contract(folder)
    assert dataset is not None and dataset.label_names == tuple(names)
    assert dataset.train.texts == texts
    assert dataset.train.labels[:, 0].all() and not dataset.train.labels[:, 1:].any()
