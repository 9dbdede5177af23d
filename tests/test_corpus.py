"""Scoring a corpus file: formats, ids, bad rows, resume, processes, Dask, the CLI."""

from __future__ import annotations

import itertools
import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import local_cluster, run_cli
from emoclassic.corpus import BadRowError, read_batches, score_corpus
from emoclassic.corpus.engines import score_dask, score_frame
from emoclassic.datasets import load_goemotions
from emoclassic.errors import DataError, UsageError
from emoclassic.model import SklearnEmotionModel, emotion_lists, rank_emotions
from emoclassic.persistence import save_model
from emoclassic.pipelines import make_lr_pipeline
from emoclassic.thresholds import PerLabelThresholdClassifier


@pytest.fixture(scope="module")
def model():
    data = load_goemotions().limit_train(2000)
    estimator = PerLabelThresholdClassifier(make_lr_pipeline(), cv=2).fit(
        list(data.train.texts), data.train.labels
    )
    return SklearnEmotionModel(estimator, data.label_names)


@pytest.fixture(scope="module")
def texts():
    return list(load_goemotions().test.texts[:700])


def _write(frame: pd.DataFrame, path):
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _expected(model, texts, threshold="tuned", top_k=None):
    return [
        [label for label, _ in pairs]
        for pairs in model.predict_emotions(texts, threshold=threshold, top_k=top_k)
    ]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_each_input_format_gives_predict_emotions_with_ids(model, texts, tmp_path, suffix):
    frame = pd.DataFrame({"cid": [f"c{k}" for k in range(len(texts))], "body": texts})
    source = _write(frame, tmp_path / f"in{suffix}")
    output = tmp_path / "out.jsonl"
    summary = score_corpus(
        model, source, output, text_column="body", id_column="cid", batch_size=256
    )
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert summary.rows == summary.written == len(texts) and summary.bad_rows == 0
    assert [row["cid"] for row in rows] == frame["cid"].tolist()
    assert [row["emotions"] for row in rows] == _expected(model, texts)
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_text_files_and_parquet_folders_are_read_in_order(model, texts, tmp_path):
    (tmp_path / "in.txt").write_text("\n".join(texts[:300]) + "\n", encoding="utf-8")
    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(3):  # a folder of parts, read in name order
        pd.DataFrame({"text": texts[k * 100 : (k + 1) * 100]}).to_parquet(folder / f"p{k}.parquet")
    for source in (tmp_path / "in.txt", folder):
        output = tmp_path / f"{source.stem}.parquet"
        score_corpus(model, source, output, batch_size=64, top_k=2, threshold=0.2)
        table = pd.read_parquet(output)
        assert table["row"].tolist() == list(range(300))
        got = [list(labels) for labels in table["emotions"]]
        assert got == _expected(model, texts[:300], threshold=0.2, top_k=2)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_every_output_format_carries_the_same_rows_and_scores(model, texts, tmp_path, suffix):
    source = _write(pd.DataFrame({"text": texts[:200]}), tmp_path / "in.parquet")
    output = tmp_path / f"out{suffix}"
    score_corpus(model, source, output, scores=True, batch_size=50)
    if suffix == ".parquet":
        table = pd.read_parquet(output)
        emotions = [list(labels) for labels in table["emotions"]]
    elif suffix == ".jsonl":
        table = pd.read_json(output, lines=True)
        emotions = table["emotions"].tolist()
    else:
        table = pd.read_csv(output, keep_default_na=False)
        emotions = [labels.split(";") if labels else [] for labels in table["emotions"]]
    assert emotions == _expected(model, texts[:200])
    scores = table[[f"score_{label}" for label in model.label_names]].to_numpy()
    np.testing.assert_allclose(scores, model.predict_proba(texts[:200]), rtol=1e-6, atol=1e-7)


def test_emotion_lists_and_rank_emotions_rank_by_score_then_label():
    rng = np.random.default_rng(0)
    scores = rng.random((300, 6))
    scores[:, 2] = scores[:, 3]  # a tie: the lower label index comes first
    cutoffs = rng.random(6)
    names = [f"l{j}" for j in range(6)]
    for top_k in (None, 1, 3):
        expected = []  # spelt out: at or above the cut-off, by score, ties by label order
        for row in scores:
            ranked = sorted(range(6), key=lambda j, row=row: (-row[j], j))
            kept = [j for j in ranked if row[j] >= cutoffs[j]]
            expected.append(kept if top_k is None else kept[:top_k])
        labels, offsets = emotion_lists(scores, cutoffs, top_k)
        assert [labels[a:b].tolist() for a, b in itertools.pairwise(offsets)] == expected
        pairs = rank_emotions(scores, cutoffs, names, top_k)
        assert pairs == [
            [(names[j], float(row[j])) for j in kept]
            for row, kept in zip(scores, expected, strict=True)
        ]


def _with_bad_rows(texts):
    rows = [{"id": k, "text": text} for k, text in enumerate(texts[:40])]
    rows[12]["text"] = None
    rows[21]["text"] = 42  # a number, not a text
    rows[33]["text"] = "   "
    return rows


def test_bad_rows_fail_skip_or_score_as_empty_and_are_counted(model, texts, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in _with_bad_rows(texts)) + "\n")
    output = tmp_path / "out.jsonl"
    with pytest.raises(BadRowError) as caught:
        score_corpus(model, source, output, id_column="id", batch_size=10)
    assert caught.value.row == 12 and "no text" in str(caught.value)
    assert not output.exists()
    # The run stopped in its second batch; a rerun that skips bad rows resumes after the first.
    summary = score_corpus(model, source, output, id_column="id", batch_size=10, bad_rows="skip")
    assert (summary.rows, summary.written, summary.bad_rows) == (40, 37, 3)
    assert summary.resumed_rows == 10
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["id"] for row in rows] == [k for k in range(40) if k not in (12, 21, 33)]
    empty = score_corpus(model, source, tmp_path / "e.jsonl", id_column="id", bad_rows="empty")
    assert (empty.written, empty.bad_rows) == (40, 3)
    rows = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert rows[21]["emotions"] == _expected(model, [""])[0]


class _Interrupting(SklearnEmotionModel):
    """Stops the run (as Ctrl-C would) on its ``fail_on``-th call."""

    fail_on = 3
    calls = 0

    def predict_proba(self, texts):
        type(self).calls += 1
        if type(self).calls == self.fail_on:
            raise KeyboardInterrupt
        return super().predict_proba(texts)


def test_an_interrupted_run_resumes_from_its_finished_batches(model, texts, tmp_path):
    source = _write(pd.DataFrame({"text": texts[:500]}), tmp_path / "in.csv")
    output = tmp_path / "out.parquet"
    interrupting = _Interrupting(model.estimator, model.label_names)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(interrupting, source, output, batch_size=100)
    assert not output.exists()  # nothing that looks complete
    manifest = json.loads((tmp_path / "out.parquet.partial" / "manifest.json").read_text())
    assert [part["rows"] for part in manifest["parts"]] == [100, 100]
    with pytest.raises(UsageError, match="another batch_size"):
        score_corpus(model, source, output, batch_size=50)
    summary = score_corpus(interrupting, source, output, batch_size=100)
    assert summary.resumed_rows == 200 and summary.rows == 500
    fresh = tmp_path / "fresh.parquet"
    score_corpus(model, source, fresh, batch_size=100)
    pd.testing.assert_frame_equal(pd.read_parquet(output), pd.read_parquet(fresh))
    assert not (tmp_path / "out.parquet.partial").exists()


def test_processes_keep_the_input_order(model, texts, tmp_path):
    source = _write(pd.DataFrame({"text": texts}), tmp_path / "in.parquet")
    score_corpus(model, source, tmp_path / "one.parquet", batch_size=64, scores=True)
    score_corpus(model, source, tmp_path / "two.parquet", batch_size=64, scores=True, n_jobs=2)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet")
    )


def test_problems_are_found_before_any_scoring(model, texts, tmp_path):
    source = _write(pd.DataFrame({"text": texts[:5]}), tmp_path / "in.csv")
    with pytest.raises(DataError, match="no column 'body'"):
        score_corpus(model, source, tmp_path / "o.parquet", text_column="body")
    with pytest.raises(UsageError, match="unknown output format"):
        score_corpus(model, source, tmp_path / "o.xlsx")
    (tmp_path / "in.xlsx").write_bytes(b"PK")
    with pytest.raises(UsageError, match="unknown input format"):
        read_batches(tmp_path / "in.xlsx")
    with pytest.raises(DataError, match="no such file"):
        score_corpus(model, tmp_path / "missing.csv", tmp_path / "o.parquet")
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        score_corpus(model, source, tmp_path / "folder.parquet")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "folder.parquet",
        "in.csv",
        "in.xlsx",
    ]


def test_dask_cluster_scores_equal_the_local_run(model, texts):
    distributed = pytest.importorskip("distributed")
    import dask.dataframe as dd

    frame = pd.DataFrame({"id": range(len(texts)), "text": texts})
    local = score_frame(frame, model, scores=True)
    with (
        local_cluster() as cluster,
        distributed.Client(cluster),
    ):
        scored = score_dask(dd.from_pandas(frame, npartitions=4), model, scores=True).compute()
    assert scored["emotions"].map(list).tolist() == local["emotions"].tolist()
    labels = [f"score_{label}" for label in model.label_names]
    np.testing.assert_array_equal(scored[labels].to_numpy(), local[labels].to_numpy())


# PySpark 4.3 warns about pandas 3 and calls pandas with a deprecated keyword; neither is ours.
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning")
def test_spark_local_mode_scores_equal_the_local_run(model, texts, monkeypatch):
    pyspark = pytest.importorskip(
        "pyspark", reason="pyspark is not installed (the `spark` extra; it needs Java 17+)"
    )
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime and none is on PATH")
    from emoclassic.corpus.engines import spark_schema, spark_scorer

    # Spark's Python workers run this interpreter, where emoclassic is installed.
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    spark = pyspark.sql.SparkSession.builder.master("local[2]").getOrCreate()
    frame = pd.DataFrame({"text": texts[:100]})
    try:
        data = spark.createDataFrame(frame)
        scored = data.mapInPandas(
            spark_scorer(model, scores=True), spark_schema(data.schema, model, scores=True)
        ).toPandas()
    finally:
        spark.stop()
    local = score_frame(frame, model, scores=True)
    assert scored["emotions"].map(list).tolist() == local["emotions"].tolist()
    labels = [f"score_{label}" for label in model.label_names]
    np.testing.assert_array_equal(scored[labels].to_numpy(), local[labels].to_numpy())


def test_cli_scores_a_file_and_prints_one_line(model, texts, tmp_path):
    model_path = tmp_path / "m.joblib"
    save_model(model, model_path)
    source = _write(pd.DataFrame({"text": texts[:50]}), tmp_path / "in.csv")
    result = run_cli(
        "predict",
        str(model_path),
        "--data",
        str(source),
        "--out",
        str(tmp_path / "o.jsonl"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("scored 50 rows in ")
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 50
    for args, message in [
        (["--data", str(source)], "--data and --out go together"),
        (
            ["--data", str(source), "--out", str(tmp_path / "x.jsonl"), "--text-column", "body"],
            "no column 'body'",
        ),
        (["--data", str(source), "--out", str(tmp_path / "x.txt")], "unknown output format"),
    ]:
        failed = run_cli("predict", str(model_path), *args, cwd=tmp_path)
        assert failed.returncode != 0 and message in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
