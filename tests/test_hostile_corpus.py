"""Hostile inputs to ``emoclassic predict --data INPUT --out OUTPUT`` (corpus scoring).

The contract for bad input: one line on stderr starting ``emoclassic: error:``,
a non-zero exit, no traceback, no half-written or leftover file (no
``OUTPUT.partial/`` for a run that can never succeed), nothing the user had is
lost, and never a silent wrong result. A run stopped by an interruption or a
bad row keeps its ``OUTPUT.partial/`` and resumes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import LABELS, emoclassic_command, toy_split
from emoclassic.corpus import score_corpus
from emoclassic.corpus.tables import unified_id_type
from emoclassic.errors import UsageError
from emoclassic.model import SklearnEmotionModel
from emoclassic.persistence import save_model


@pytest.fixture(scope="module")
def model() -> SklearnEmotionModel:
    from emoclassic.datasets import EmotionDataset
    from emoclassic.training import FitSettings, fit_model

    dataset = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    return fit_model("lr", dataset, FitSettings(progress=False, search=False, n_jobs=1))


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "m.joblib"
    save_model(model, path)
    return path


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed command; a hang (a pipe read as input) fails the test in time."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [*emoclassic_command(), *args, "--no-progress"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _predict(model_file: Path, data: str, out: str, *options: str, cwd: Path):
    return _cli("predict", str(model_file), "--data", data, "--out", out, *options, cwd=cwd)


def _assert_one_error_line(result: subprocess.CompletedProcess, *phrases: str) -> str:
    """Assert the failure contract; return the message."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emoclassic: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def _listing(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (``None`` for a folder or special file)."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# 1. A damaged OUTPUT.partial: one line naming it and what to do; it is kept as it was.


def test_a_partial_path_that_is_not_a_folder_is_refused(model_file, tmp_path):
    (tmp_path / "c.csv").write_text("text\nso happy\n")
    (tmp_path / "o.csv.partial").write_text("mine")
    before = _listing(tmp_path)
    result = _predict(model_file, "c.csv", "o.csv", cwd=tmp_path)
    _assert_one_error_line(result, "o.csv.partial: exists and is not a folder", "remove it")
    assert result.returncode == 2 and _listing(tmp_path) == before


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"settings": 5, "parts": "x"}',
        b"\xff\xfe\x00",
        b"[]",
        b'{"settings": {"batch_size": "3"}, "bad_rows": "skip", "parts": [{"file": '
        b'"part-000000.parquet", "rows": 1, "written": 1, "bad": 0}]}',
        b'{"settings": {}, "bad_rows": "skip", "parts": [{"file": "../../x", "rows": 3, '
        b'"written": 3, "bad": 0}]}',
        b'{"settings": {"batch_size": 3}, "bad_rows": "skip", "parts": [{"file": '
        b'"part-000000.parquet", "rows": "many", "written": 3, "bad": null}]}',
    ],
)
def test_a_damaged_manifest_is_refused_and_kept(model_file, tmp_path, manifest):
    (tmp_path / "c.csv").write_text("text\nso happy\n")
    (tmp_path / "o.csv.partial").mkdir()
    (tmp_path / "o.csv.partial" / "manifest.json").write_bytes(manifest)
    before = _listing(tmp_path)
    result = _predict(model_file, "c.csv", "o.csv", cwd=tmp_path)
    _assert_one_error_line(result, "o.csv.partial: its manifest.json is damaged", "remove the")
    assert _listing(tmp_path) == before


def _stopped_run(model_file: Path, folder: Path) -> Path:
    """A run stopped by a bad row (row 7, batches of 3): two finished parts are kept."""
    rows = [{"text": f"so happy {k}" if k != 7 else ""} for k in range(10)]
    _jsonl(folder / "c.jsonl", rows)
    result = _predict(model_file, "c.jsonl", "o.jsonl", "--batch-size", "3", cwd=folder)
    _assert_one_error_line(result, "row 7: blank text", "next run resumes")
    work = folder / "o.jsonl.partial"
    assert sorted(path.name for path in work.iterdir()) == [
        "manifest.json",
        "part-000000.parquet",
        "part-000001.parquet",
    ]
    return work


@pytest.mark.parametrize("damage", ["garbage", "missing", "pipe", "other rows"])
def test_a_damaged_part_is_refused_and_kept(model_file, tmp_path, damage):
    part = _stopped_run(model_file, tmp_path) / "part-000000.parquet"
    if damage == "garbage":
        part.write_bytes(b"garbage")
    elif damage == "missing":
        part.unlink()
    elif damage == "pipe":
        part.unlink()
        os.mkfifo(part)
    else:  # a valid Parquet file with other rows than the manifest lists
        pq.write_table(pq.read_table(part).slice(0, 1), part)
    before = _listing(tmp_path)
    result = _predict(
        model_file, "c.jsonl", "o.jsonl", "--batch-size", "3", "--bad-rows", "skip", cwd=tmp_path
    )
    _assert_one_error_line(result, "o.jsonl.partial: part-000000.parquet", "remove the folder")
    assert _listing(tmp_path) == before


def test_a_run_stopped_by_a_bad_row_resumes_and_a_malformed_input_leaves_nothing(
    model_file, tmp_path
):
    _stopped_run(model_file, tmp_path)
    resumed = _predict(
        model_file, "c.jsonl", "o.jsonl", "--batch-size", "3", "--bad-rows", "skip", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "1 bad row (skip), 6 from the interrupted run" in resumed.stdout
    assert [row["row"] for row in _rows(tmp_path / "o.jsonl")] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert not (tmp_path / "o.jsonl.partial").exists()
    # Line 9 is cut short: the batches before it are scored, then the run can never finish.
    lines = [json.dumps({"text": f"so happy {k}"}) for k in range(10)]
    lines[8] = '{"text": '
    (tmp_path / "cut.jsonl").write_text("\n".join(lines) + "\n")
    result = _predict(model_file, "cut.jsonl", "p.jsonl", "--batch-size", "3", cwd=tmp_path)
    _assert_one_error_line(result, "cut.jsonl: line 9 is not valid JSON")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.jsonl", "cut.jsonl", "o.jsonl"]


# 2. Integer ids of any size are carried exactly, whatever the batch size.


@pytest.mark.parametrize("batch_size", [1, 100])
def test_integer_ids_of_any_size_are_carried_exactly(model, tmp_path, batch_size):
    ids = [5, 2**64 - 1, 2**63, None]
    source = _jsonl(tmp_path / "c.jsonl", [{"id": i, "text": "so happy"} for i in ids])
    options = {"id_column": "id", "batch_size": batch_size}
    score_corpus(model, source, tmp_path / "o.parquet", **options)
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.schema.field("id").type == pa.uint64()
    assert table.column("id").to_pylist() == ids
    score_corpus(model, source, tmp_path / "o.jsonl", **options)
    assert [row["id"] for row in _rows(tmp_path / "o.jsonl")] == ids
    # Beyond 64 bits, or negative with 2**63 and over: no integer type holds them, text does.
    huge = [10**30, -1, 2**63]
    _jsonl(source, [{"id": i, "text": "so happy"} for i in huge])
    score_corpus(model, source, tmp_path / "h.jsonl", **options)
    assert [row["id"] for row in _rows(tmp_path / "h.jsonl")] == [str(i) for i in huge]


# 3. An id column named like an output column would be overwritten: refused up front.


@pytest.mark.parametrize(("id_column", "options"), [("emotions", []), ("score_joy", ["--scores"])])
def test_an_id_column_named_like_an_output_column_is_refused(
    model, model_file, tmp_path, id_column, options
):
    (tmp_path / "c.csv").write_text(f"{id_column},text\nE0,so happy\n")
    before = _listing(tmp_path)
    result = _predict(
        model_file, "c.csv", "o.jsonl", "--id-column", id_column, *options, cwd=tmp_path
    )
    _assert_one_error_line(result, f"the id column {id_column!r} has the name of an output")
    assert result.returncode == 2 and _listing(tmp_path) == before
    if options:  # without scores there is no score_joy column: the ids come through
        score_corpus(model, tmp_path / "c.csv", tmp_path / "o.jsonl", id_column=id_column)
        assert _rows(tmp_path / "o.jsonl")[0][id_column] == "E0"
    else:
        with pytest.raises(UsageError, match="name of an output column"):
            score_corpus(model, tmp_path / "c.csv", tmp_path / "o.jsonl", id_column=id_column)


# 4. CSV cells are read as written; only an empty cell is missing.


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_csv_cells_are_read_as_written(model, tmp_path, suffix):
    sep = "," if suffix == ".csv" else "\t"
    cells = ["NA", "null", "N/A", "nan", "NULL", "None", "#N/A", "-nan"]
    lines = [f"id{sep}text", *(f"{cell}{sep}{cell}" for cell in cells), f"{sep}so happy"]
    source = tmp_path / f"c{suffix}"
    source.write_text("\n".join(lines) + "\n")
    summary = score_corpus(model, source, tmp_path / "o.jsonl", id_column="id")
    assert summary.bad_rows == 0  # "NA", "null"... are texts, scored as such
    assert [row["id"] for row in _rows(tmp_path / "o.jsonl")] == [*cells, None]


def test_an_empty_text_cell_is_a_bad_row_and_counted(model, tmp_path):
    (tmp_path / "c.csv").write_text('id,text\n1,\n2,""\n3,so happy\n')
    summary = score_corpus(
        model, tmp_path / "c.csv", tmp_path / "o.jsonl", id_column="id", bad_rows="skip"
    )
    assert (summary.rows, summary.bad_rows, summary.written) == (3, 2, 1)
    assert [row["id"] for row in _rows(tmp_path / "o.jsonl")] == ["3"]


# 5. A repeated key or column: which value is meant is unknown, so it is refused.


def test_a_repeated_json_key_is_refused_naming_its_line(model_file, tmp_path):
    (tmp_path / "c.jsonl").write_text(
        '{"text": "so happy"}\n\n{"text": "so happy", "text": "so angry"}\n'
    )
    before = _listing(tmp_path)
    result = _predict(model_file, "c.jsonl", "o.jsonl", "--batch-size", "1", cwd=tmp_path)
    _assert_one_error_line(result, "c.jsonl: line 3 names the key 'text' twice")
    assert _listing(tmp_path) == before


def test_a_repeated_column_name_is_refused(model_file, tmp_path):
    (tmp_path / "c.csv").write_text("text,text\nso happy,so angry\n")
    before = _listing(tmp_path)
    result = _predict(model_file, "c.csv", "o.jsonl", cwd=tmp_path)
    _assert_one_error_line(result, "c.csv: two columns are named 'text'")
    assert _listing(tmp_path) == before


# 6. The CSV output joins a row's emotions with ';': a label holding one is refused.


def test_a_label_with_the_csv_separator_is_refused_for_csv_output(model, tmp_path):
    semi = SklearnEmotionModel(model.estimator, ["anger", "a;b", "joy"], model.thresholds)
    semi_file = tmp_path / "semi.joblib"
    save_model(semi, semi_file)
    (tmp_path / "c.csv").write_text("text\nso happy\n")
    before = _listing(tmp_path)
    result = _predict(semi_file, "c.csv", "o.csv", cwd=tmp_path)
    _assert_one_error_line(result, "o.csv: the model's label 'a;b' contains ';'", ".jsonl")
    assert result.returncode == 2 and _listing(tmp_path) == before
    score_corpus(semi, tmp_path / "c.csv", tmp_path / "o.jsonl", threshold=0.0)
    assert _rows(tmp_path / "o.jsonl")[0]["emotions"].count("a;b") == 1


# 7. Ids that change type get one output type, the same whatever the batch size.

MIXED_IDS = [1, "b", [1], {"k": 1}, None, True, 2.5]


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_ids_that_change_type_are_written_as_text_whatever_the_batch_size(
    model, tmp_path, batch_size
):
    source = _jsonl(tmp_path / "c.jsonl", [{"id": i, "text": "so happy"} for i in MIXED_IDS])
    score_corpus(model, source, tmp_path / "o.parquet", id_column="id", batch_size=batch_size)
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.schema.field("id").type == pa.string()
    assert table.column("id").to_pylist() == ["1", "b", "[1]", '{"k": 1}', None, "true", "2.5"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.jsonl", "o.parquet"]


def test_parquet_files_whose_ids_differ_in_type_give_one_id_type(model_file, tmp_path):
    (tmp_path / "f").mkdir()
    pq.write_table(
        pa.table({"id": [1, 2], "text": ["so happy", "so sad"]}), tmp_path / "f/a.parquet"
    )
    pq.write_table(pa.table({"id": ["x"], "text": ["so angry"]}), tmp_path / "f/b.parquet")
    pq.write_table(
        pa.table({"id": pa.array([7, None]), "text": ["a", "b"]}), tmp_path / "n.parquet"
    )
    result = _predict(
        model_file, "f", "o.parquet", "--id-column", "id", "--batch-size", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(tmp_path / "o.parquet").column("id").to_pylist() == ["1", "2", "x"]
    # An integer id column with a missing value stays integers (not 7.0 and NaN).
    result = _predict(model_file, "n.parquet", "n.jsonl", "--id-column", "id", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["id"] for row in _rows(tmp_path / "n.jsonl")] == [7, None]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "f",
        "n.jsonl",
        "n.parquet",
        "o.parquet",
    ]


def test_unified_id_type_widens_only_where_exact():
    assert unified_id_type([pa.int64(), pa.uint64()], lambda: False) == pa.uint64()
    assert unified_id_type([pa.int64(), pa.uint64()], lambda: True) == pa.string()
    assert unified_id_type([pa.null(), pa.null()], lambda: False) == pa.null()
    assert unified_id_type([pa.bool_(), pa.int64()], lambda: False) == pa.string()


# 8. An empty corpus: one line, and nothing left behind.


@pytest.mark.parametrize(
    ("name", "content"),
    [("hdr.csv", b"text\n"), ("hdr.tsv", b"text\n"), ("empty.txt", b""), ("blank.jsonl", b"\n")],
)
def test_an_empty_corpus_is_refused_and_leaves_nothing(model_file, tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    before = _listing(tmp_path)
    result = _predict(model_file, name, "o.jsonl", cwd=tmp_path)
    _assert_one_error_line(result, f"{name}: no rows")
    assert _listing(tmp_path) == before


# 9. A pipe, a device or a folder without Parquet files is refused without being read.


@pytest.mark.parametrize("kind", ["fifo.csv", "fifo.txt", "device.jsonl", "csv folder"])
def test_an_input_that_is_not_a_regular_file_is_refused_up_front(model_file, tmp_path, kind):
    if kind.startswith("fifo"):
        os.mkfifo(tmp_path / kind)
        data, phrase = kind, "not a regular file (a pipe, socket or device)"
    elif kind == "device.jsonl":
        (tmp_path / kind).symlink_to("/dev/zero")
        data, phrase = kind, "not a regular file (a pipe, socket or device)"
    else:
        (tmp_path / "f").mkdir()
        (tmp_path / "f" / "a.csv").write_text("text\nso happy\n")
        os.mkfifo(tmp_path / "f" / "b.parquet")  # a pipe is not a Parquet file either
        data, phrase = "f", "a folder without .parquet files"
    before = _listing(tmp_path)
    result = _cli(
        "predict", str(model_file), "--data", data, "--out", "o.csv", cwd=tmp_path, timeout=60
    )
    _assert_one_error_line(result, f"{data}: {phrase}")
    assert _listing(tmp_path) == before
