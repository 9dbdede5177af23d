"""Hostile command lines: undecodable bytes, control characters, outputs that cannot be written.

Each case asserts the contract: one line on stderr, a non-zero exit, no traceback,
and no output file left behind (or, for JSON, output that parses).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess

import pytest

from conftest import emoclassic_command, run_cli, toy_rows, write_csv_split
from emoclassic.plots import evaluation_plot_names


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "data"
    folder.mkdir()
    write_csv_split(folder / "train.csv", toy_rows(4))
    write_csv_split(folder / "dev.csv", toy_rows(2))
    write_csv_split(folder / "test.csv", toy_rows(2))
    return folder


@pytest.fixture(scope="module")
def model(data):
    path = data.parent / "lr.joblib"
    result = run_cli("fit", "lr", "--data", str(data), "--out", str(path), "--no-search",
                     "--no-progress", cwd=data.parent)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


def run_bytes(*args, cwd, stdin: bytes | None = None, env=None):
    """Run the installed command with raw bytes in and out (nothing decoded)."""
    return subprocess.run(
        [*emoclassic_command(), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore", **(env or {})),
        timeout=300,
    )


def one_line_error(result, code=1) -> str:
    stderr = result.stderr.decode() if isinstance(result.stderr, bytes) else result.stderr
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emoclassic: error: "), stderr
    return lines[0]


UNDECODABLE = os.fsdecode(b"so happy \xff\xfe today")


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_undecodable_text_arguments_are_refused(model, tmp_path, extra):
    result = run_bytes("predict", str(model), "fine", UNDECODABLE, *extra, cwd=tmp_path)
    line = one_line_error(result)
    assert line.endswith("text 2 is not valid UTF-8 (undecodable byte 0xff at character 10)")
    assert result.stdout == b""  # nothing half-printed


def test_undecodable_stdin_is_refused(model, tmp_path):
    stdin = b"fine\nso happy \xff\xfe today\n"
    result = run_bytes("predict", str(model), "--json", cwd=tmp_path, stdin=stdin)
    assert "text 2 is not valid UTF-8" in one_line_error(result)


def test_undecodable_text_is_refused_before_explain_writes_html(model, tmp_path):
    html = tmp_path / "e.html"
    result = run_bytes("explain", str(model), UNDECODABLE, "--html", str(html), cwd=tmp_path)
    assert "text 1 is not valid UTF-8" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("encoding", [None, "ascii"])
def test_json_is_valid_utf8_for_an_undecodable_model_name(model, data, tmp_path, encoding):
    odd = tmp_path / os.fsdecode(b"m\xff.joblib")
    odd.write_bytes(model.read_bytes())
    odd.with_suffix(".json").write_bytes(model.with_suffix(".json").read_bytes())
    env = {"PYTHONIOENCODING": encoding} if encoding else None
    result = run_bytes("evaluate", str(odd), "--data", str(data), "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.decode("utf-8"))  # strict UTF-8 whatever the locale
    assert report["model"].endswith("m\ufffd.joblib")


def test_a_newline_in_a_path_stays_on_one_line(tmp_path):
    result = run_cli("predict", "no\nsuch.joblib", "hi", cwd=tmp_path)
    assert "no\\nsuch.joblib" in one_line_error(result)


@pytest.mark.parametrize(
    ("setup", "target", "message"),
    [
        (lambda root: (root / "plots").write_text("x"), "plots", "exists and is not a folder"),
        (lambda root: (root / "file").write_text("x"), "file/plots", "file is not a folder"),
        (lambda root: (root / "plots/roc_joy.png").mkdir(parents=True), "plots", "is a folder"),
    ],
    ids=["plots-is-a-file", "parent-is-a-file", "figure-name-is-a-folder"],
)
def test_plot_folder_problems_are_found_before_scoring(
    model, data, tmp_path, setup, target, message
):
    pytest.importorskip("matplotlib")
    setup(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run_cli("evaluate", str(model), "--data", str(data), "--plots", str(tmp_path / target),
                     cwd=tmp_path)  # fmt: skip
    assert message in one_line_error(result, code=2)
    assert result.stdout == ""  # found before the report was printed
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_plot_names_stay_distinct():
    names = evaluation_plot_names(["a b", "a_b", "A_B", "x/y", "x?y"])
    assert names == [
        "roc_a_b.png",
        "roc_a_b_2.png",
        "roc_A_B_3.png",
        "roc_x_y.png",
        "roc_x_y_2.png",
        "f1_per_emotion.png",
    ]
    assert len({name.lower() for name in names}) == len(names)


def test_explain_html_into_a_folder_is_refused_before_work(model, tmp_path):
    result = run_cli("explain", str(model), "so happy", "--html", str(tmp_path), cwd=tmp_path)
    assert "is a folder; give a file path" in one_line_error(result, code=2)


@pytest.mark.parametrize("where", ["same-file", "inside-folder"])
def test_corpus_output_cannot_overwrite_its_input(model, data, tmp_path, where):
    source = data / "test.csv" if where == "same-file" else data
    out = data / "test.csv" if where == "same-file" else data / "scores.csv"
    before = (data / "test.csv").read_bytes()
    result = run_cli("predict", str(model), "--data", str(source), "--out", str(out),
                     "--no-progress", cwd=tmp_path)  # fmt: skip
    line = one_line_error(result, code=2)
    assert ("is the input file" if where == "same-file" else "is inside the input folder") in line
    assert (data / "test.csv").read_bytes() == before
    assert not out.with_name(out.name + ".partial").exists()


def test_corpus_output_that_cannot_be_replaced_keeps_the_parts(model, data, tmp_path, monkeypatch):
    from emoclassic.corpus import score_corpus
    from emoclassic.errors import EmoclassicError
    from emoclassic.persistence import load_model

    real_replace = os.replace

    def refuse_final(src, dst):
        if str(dst).endswith("scores.csv"):
            raise PermissionError(1, "Operation not permitted")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse_final)
    out = tmp_path / "scores.csv"
    with pytest.raises(EmoclassicError, match=r"scores.csv: cannot be written \(Operation not"):
        score_corpus(load_model(model), data / "test.csv", out, progress=False)
    assert not out.exists()
    assert (tmp_path / "scores.csv.partial").is_dir()  # a rerun resumes from these
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scores.csv.tmp")]
    monkeypatch.setattr(os, "replace", real_replace)
    summary = score_corpus(load_model(model), data / "test.csv", out, progress=False)
    assert summary.resumed_rows == summary.rows and out.exists()


def test_hub_retry_warnings_are_held_back(monkeypatch, capsys):
    datasets = pytest.importorskip("datasets")
    from emoclassic.cli.main import main

    def offline(*args, **kwargs):
        for attempt in range(1, 6):
            logging.getLogger("huggingface_hub.utils._http").warning(
                "Retrying in %ds [Retry %d/5].", attempt, attempt
            )
        raise ConnectionError("Couldn't reach 'owner/name' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    assert main(["fit", "lr", "--data", "hub:owner/name", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "emoclassic: error: hub:owner/name: cannot be loaded from the Hugging Face Hub: "
        "Couldn't reach 'owner/name' on the Hub"
    ]


def test_texts_without_features_are_one_line(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("train.csv", "dev.csv"):
        (folder / name).write_text("text,labels\na,joy\nb,anger\nc,joy\nd,anger\n")
    result = run_cli("fit", "nb", "--data", str(folder), "--out", "m.joblib", "--no-progress",
                     cwd=tmp_path)  # fmt: skip
    assert "the training texts give the recipe no features (empty vocabulary" in one_line_error(
        result
    )
    assert not (tmp_path / "m.joblib").exists()


def test_warnings_are_one_line(tmp_path, capsys):
    from emoclassic.cli.main import main

    folder = tmp_path / "d"
    folder.mkdir()
    rows = "text,labels\n" + "happy day,joy\nsad day,anger\nhappy joy,joy\nsad tears,anger\n" * 2
    (folder / "train.csv").write_text(rows)
    (folder / "dev.csv").write_text("text,labels\nhappy day,joy\nsad day,fear\n")
    (folder / "labels.txt").write_text("joy\nanger\nfear\n")
    out = tmp_path / "m.joblib"
    assert main(["fit", "nb", "--data", str(folder), "--out", str(out), "--no-progress"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "fear" in line]
    assert warned == [
        f"emoclassic: warning: {folder / 'train.csv'}: 1 label(s) have no positive example "
        "in the training split: 'fear'; a model cannot learn them"
    ]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["explain", "{model}", "so happy", "--html", "{model}"], "is not an HTML page"),
        (["explain", "{model}", "so happy", "--html", "{sidecar}"], "is not an HTML page"),
        (["compare", "{model}", "--data", "{data}", "--plot", "{sidecar}"], "give a name ending"),
        (["compare", "{model}", "--data", "{data}", "--plot", "{csv}.png"], "is not a PNG figure"),
    ],
)
def test_an_output_never_replaces_a_foreign_file(model, data, tmp_path, command, message):
    pytest.importorskip("matplotlib")
    sidecar = model.with_suffix(".json")
    foreign = tmp_path / "test.csv.png"
    foreign.write_bytes((data / "test.csv").read_bytes())
    before = {path: path.read_bytes() for path in (model, sidecar, foreign)}
    names = {"model": model, "sidecar": sidecar, "data": data, "csv": tmp_path / "test.csv"}
    args = [part.format(**names) for part in command]
    assert message in one_line_error(run_cli(*args, cwd=tmp_path), code=2)
    assert {path: path.read_bytes() for path in before} == before


@pytest.mark.parametrize("target", ["newdir/", "fifo"])
def test_fit_refuses_a_folder_name_or_a_special_file(data, tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    result = run_cli("fit", "lr", "--data", str(data), "--out", f"{tmp_path}/{target}",
                     "--no-search", "--no-progress", cwd=tmp_path)  # fmt: skip
    line = one_line_error(result, code=2)
    assert ("names a folder" if target.endswith("/") else "is not a regular file") in line
    assert sorted(p.name for p in tmp_path.iterdir()) == (["fifo"] if target == "fifo" else [])


@pytest.mark.parametrize("value", ["inf", "1e309", "nan"])
def test_float_flags_refuse_non_finite_numbers(tmp_path, value):
    result = run_cli("fit", "lr", "--synthetic-weight", value, cwd=tmp_path)
    assert "argument --synthetic-weight: must be 0 or more" in result.stderr
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_a_model_with_nan_weights_is_refused(model, tmp_path):
    import joblib
    import numpy as np

    from emoclassic.errors import ModelError
    from emoclassic.persistence import load_model

    payload = joblib.load(model)
    for estimator in payload["estimator"].estimator.named_steps["clf"].estimators_:
        estimator.coef_[0, 0] = np.nan
    damaged = tmp_path / "nan.joblib"
    joblib.dump(payload, damaged)
    with pytest.raises(ModelError, match="the model has NaN weights; the file is damaged"):
        load_model(damaged)
