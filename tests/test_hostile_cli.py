"""Hostile command lines: undecodable bytes, control characters, outputs that cannot be written.

Each case asserts the contract: one line on stderr, a non-zero exit, no traceback,
and no output file left behind (or, for JSON, output that parses).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess

import pandas as pd
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


def run_bytes(*args, cwd, stdin: bytes | None = None, env=None, timeout: float = 300):
    """Run the installed command with raw bytes in and out (nothing decoded)."""
    return subprocess.run(
        [*emoclassic_command(), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
        timeout=timeout,
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
    assert "standard input: line 2 is not valid UTF-8" in one_line_error(result)


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
    if where == "same-file":
        source = out = data / "test.csv"
    else:  # a folder of Parquet parts
        source = tmp_path / "parts"
        source.mkdir()
        pd.read_csv(data / "test.csv").to_parquet(source / "part-0.parquet")
        out = source / "scores.csv"
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
    with pytest.raises(EmoclassicError, match=r"scores.csv: cannot be written \(Operation not.*"
                       r"the scored rows are kept in .*scores.csv.partial"):  # fmt: skip
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
    assert "argument --synthetic-weight: must be finite" in result.stderr
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


# --- predict: one output row per input line ------------------------------------------

#: Characters that str.splitlines treats as line breaks but a text file does not.
NOT_LINE_BREAKS = ["\u2028", "\u2029", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\x0b", "\r"]


def _rows(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8").split("\n")[:-1]


def _text_row(item: dict) -> str:
    pairs = "  ".join(f"{e['label']} {e['score']:.2f}" for e in item["emotions"])
    if pairs:
        return pairs
    return "(blank line)" if not item["text"].strip() else "(no emotion above the threshold)"


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_every_input_line_gets_exactly_one_row_in_order(model, tmp_path, source):
    lines = [f"so happy{char}really {i}" for i, char in enumerate(NOT_LINE_BREAKS)]
    lines[3:3] = ["", "   "]  # blank lines in the middle keep their place
    data = ("\n".join(lines[:4]) + "\r\n" + "\n".join(lines[4:]) + "\n").encode("utf-8")
    (tmp_path / "f.txt").write_bytes(data)
    where = (["--file", "f.txt"], None) if source == "file" else ([], data)
    as_json = run_bytes("predict", str(model), *where[0], "--json", cwd=tmp_path, stdin=where[1])
    payload = json.loads(as_json.stdout.decode("utf-8"))
    assert [item["text"] for item in payload] == lines
    assert [bool(item["emotions"]) for item in payload][3:5] == [False, False]
    assert all(item["emotions"] for i, item in enumerate(payload) if i not in (3, 4))
    plain = run_bytes("predict", str(model), *where[0], cwd=tmp_path, stdin=where[1])
    assert _rows(plain) == [_text_row(item) for item in payload]
    assert plain.stderr.decode().splitlines() == [
        "emoclassic: warning: 2 blank lines (lines 4, 5): an empty row each"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "no texts (it is empty)"), (b"\n  \r\n\n", "no texts (every line is blank)"),
     (b"so happy\n\x00\x01", "a binary file, not text")],
    ids=["empty", "only-blank", "binary"],
)  # fmt: skip
def test_a_file_without_texts_is_one_line(model, tmp_path, content, message):
    (tmp_path / "f.txt").write_bytes(content)
    result = run_bytes("predict", str(model), "--file", "f.txt", cwd=tmp_path)
    assert one_line_error(result).endswith(f"f.txt: {message}")
    assert result.stdout == b""


# --- inputs that are not regular files -------------------------------------------------

AUGMENT_QUICK = ["augment", "--min-meaning", "0", "--backend", "openai",
                 "--base-url", "http://127.0.0.1:9/v1", "--no-progress"]  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [["predict", "{model}", "--file", "{fifo}"], ["predict", "{model}", "--file", "/dev/zero"],
     [*AUGMENT_QUICK, "--data", "{data}", "--out", "aug", "--prompt-file", "{fifo}"],
     [*AUGMENT_QUICK, "--data", "{data}", "--out", "aug", "--forbidden-file", "{fifo}"]],
    ids=["predict-fifo", "predict-dev-zero", "augment-prompt-fifo", "augment-forbidden-fifo"],
)  # fmt: skip
def test_an_input_that_is_not_a_regular_file_is_refused_up_front(model, data, tmp_path, command):
    os.mkfifo(tmp_path / "fifo")
    args = [part.format(model=model, data=data, fifo=tmp_path / "fifo") for part in command]
    result = run_bytes(*args, cwd=tmp_path, timeout=60)  # a FIFO must not be waited on
    assert "not a regular file (a pipe, socket or device)" in one_line_error(result, code=2)
    assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_a_fifo_swapped_in_after_the_check_is_not_waited_on(tmp_path, monkeypatch):
    from emoclassic import atomic
    from emoclassic.errors import DataError

    os.mkfifo(tmp_path / "texts.txt")
    monkeypatch.setattr(atomic, "check_input_file", lambda path, where=None: None)
    with pytest.raises(DataError, match=r"texts\.txt: not a regular file"):
        atomic.read_input_file(tmp_path / "texts.txt")


# --- argparse errors -------------------------------------------------------------------

HOSTILE_ARGUMENT = "line one\nline two\x1b[2J\rgotcha\u2028"


@pytest.mark.parametrize(
    "command",
    [[], ["fit", "lr"], ["evaluate", "m.joblib"], ["predict", "m.joblib", "--json"],
     ["augment"], ["explain", "m.joblib", "so happy"], ["serve", "m.joblib"],
     ["compare", "m.joblib"]],
    ids=lambda command: command[0] if command else "top-level",
)  # fmt: skip
def test_every_parser_reports_a_bad_argument_on_one_escaped_line(tmp_path, command):
    result = run_bytes(*command, "--no-such-flag", HOSTILE_ARGUMENT, cwd=tmp_path)
    line = one_line_error(result, code=2)
    assert "\x1b" not in line and "\r" not in line and "\u2028" not in line
    assert "line one\\nline two\\x1b[2J\\rgotcha\\u2028" in line
    parser = (
        ["emoclassic", *command[:2]] if command[:1] == ["fit"] else ["emoclassic", *command[:1]]
    )
    assert line.endswith(f"(see {' '.join(parser)} --help)")
    assert result.stdout == b""


def test_a_bad_value_in_a_subcommand_reads_emoclassic_error(tmp_path):
    result = run_bytes("fit", "lr", "--seed", "4\n2", cwd=tmp_path)
    assert one_line_error(result, code=2) == (
        "emoclassic: error: argument --seed: expected a whole number, got '4\\n2' "
        "(see emoclassic fit lr --help)"
    )


# --- fit: the text column must hold texts; --limit must leave something to learn ------


def _zero_one_folder(root):
    folder = root / "zero-one"
    folder.mkdir()
    write_csv_split(folder / "train.csv", toy_rows(4))
    write_csv_split(folder / "dev.csv", toy_rows(2))
    return folder


def _labels_folder(root):
    folder = root / "labels"
    folder.mkdir()
    for name, repeat in (("train.csv", 4), ("dev.csv", 2)):
        rows = ["text,labels", *(f"{text},{'|'.join(labels)}" for text, labels in toy_rows(repeat))]
        (folder / name).write_text("\n".join(rows).replace("|", ";") + "\n")
    return folder


@pytest.mark.parametrize(
    ("layout", "columns", "message"),
    [("labels", ["--text-column", "labels"], "the text column 'labels' is also the label column"),
     ("labels", ["--label-column", "text"], "the text column 'text' is also the label column"),
     ("zero-one", ["--text-column", "joy"], "the text column 'joy' holds only 0 and 1"),
     ("zero-one", ["--text-column", "id"], "the text column 'id' is also the id column")],
)  # fmt: skip
def test_fit_refuses_a_text_column_that_holds_labels(tmp_path, layout, columns, message):
    folder = (_labels_folder if layout == "labels" else _zero_one_folder)(tmp_path)
    result = run_cli("fit", "lr", "--data", str(folder), "--out", "m.joblib", *columns,
                     "--no-search", "--no-progress", cwd=tmp_path)  # fmt: skip
    assert message in one_line_error(result)
    assert result.stdout == "" and not (tmp_path / "m.joblib").exists()


@pytest.mark.parametrize("limit", ["1", "0"])
def test_fit_limit_that_leaves_too_few_rows_is_refused(data, tmp_path, limit):
    result = run_cli("fit", "lr", "--data", str(data), "--out", "m.joblib", "--limit", limit,
                     "--no-search", "--no-progress", cwd=tmp_path)  # fmt: skip
    assert "argument --limit: must be at least 2" in one_line_error(result, code=2)
    assert list(tmp_path.iterdir()) == []


def test_fit_limit_names_the_labels_it_leaves_unlearnable(data, tmp_path):
    # The first five training rows are all joy: anger and fear lose every example.
    result = run_bytes("fit", "lr", "--data", str(data), "--out", "m.joblib", "--limit", "5",
                       "--no-search", "--no-progress", cwd=tmp_path,
                       env={"PYTHONWARNINGS": "default"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"emoclassic: warning: {data}: 2 label(s) have no positive example in the first 5 "
        "training rows: 'anger', 'fear'; a model cannot learn them"
    ]


# --- explain and serve: flags with a range ---------------------------------------------


def test_explain_num_samples_has_a_maximum(model, tmp_path):
    from emoclassic.cli.main import build_parser

    result = run_cli("explain", str(model), "so happy", "--method", "lime",
                     "--num-samples", "99999999999999999999", cwd=tmp_path)  # fmt: skip
    assert "--num-samples: must be between 1 and 100000" in one_line_error(result, code=2)
    args = build_parser().parse_args(["explain", "m", "x", "--num-samples", "100000"])
    assert args.num_samples == 100_000


def test_explain_lime_on_a_text_without_words_is_one_line(model, tmp_path):
    pytest.importorskip("lime")
    result = run_cli("explain", str(model), "!!!", "--method", "lime", cwd=tmp_path)
    assert one_line_error(result, code=2) == (
        "emoclassic: error: the text has no word, and LIME explains a text by removing words"
    )


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--read-timeout", "1e-300", "must be between 0.1 and 3600 seconds"),
     ("--max-header-bytes", "1", "must be between 1024 and 1048576"),
     ("--max-header-bytes", str(2**21), "must be between 1024 and 1048576"),
     ("--max-text-chars", "9" * 26, "must be between 1 and 100000000"),
     ("--max-batch", "9" * 23, "must be between 1 and 1000000"),
     ("--max-body-bytes", "9" * 20, "must be between 1 and 1073741824"),
     ("--port", "70000", "must be between 0 and 65535"),
     ("--host", os.fsdecode(b"ho\xffst"), "not a valid host name or address: 'ho\\udcffst'"),
     ("--host", "a..b", "not a valid host name or address")],
)  # fmt: skip
def test_serve_flags_out_of_range_are_refused(model, tmp_path, flag, value, message):
    result = run_bytes("serve", str(model), flag, value, cwd=tmp_path, timeout=60)
    line = one_line_error(result, code=2)
    assert line.startswith(f"emoclassic: error: argument {flag}: {message}"), line
    assert result.stdout == b""


def _start_server(model, *options, env=None):
    import re

    process = subprocess.Popen(
        [*emoclassic_command(), "serve", str(model), "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore", **(env or {})),
    )
    banner = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+) ", banner)
    if not found:
        process.kill()
        pytest.fail(f"server did not start: {banner!r} {process.communicate()[1]}")
    return process, int(found.group(1))


def _stop(process) -> tuple[str, str]:
    import signal

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return out, err


def test_serve_accepts_the_largest_limits(model):
    pytest.importorskip("uvicorn")
    import http.client

    maxima = ["--max-batch", "1000000", "--max-text-chars", "100000000", "--max-body-bytes",
              str(2**30), "--max-header-bytes", "1048576", "--read-timeout", "3600"]  # fmt: skip
    process, port = _start_server(model, *maxima)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/predict", body=json.dumps({"texts": ["so happy"]}),
                     headers={"Content-Type": "application/json"})  # fmt: skip
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        _, err = _stop(process)
    assert err == ""


# --- log lines read like the command's warnings ----------------------------------------


def test_serve_log_lines_are_one_line_warnings(model):
    pytest.importorskip("uvicorn")
    import http.client
    import socket

    process, port = _start_server(model, "--access-log")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        conn.close()
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            raw.settimeout(10)
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
    finally:
        _, err = _stop(process)
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("emoclassic: info: 127.0.0.1:"), err
    assert lines[0].endswith(' - "GET /health HTTP/1.1" 200')
    assert lines[1] == "emoclassic: warning: Invalid HTTP request received."


def test_log_records_are_one_line_and_configured_once(capsys):
    from emoclassic.cli.main import configure_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(0)
        configure_logging(0)  # again: still one handler, one line per record
        logging.getLogger("some.library").warning("torn\nline %s", "\x1b[2J")
        logging.getLogger("some.library").info("not shown without -v")
        assert capsys.readouterr().err == "emoclassic: warning: torn\\nline \\x1b[2J\n"
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_augment_cache_warning_is_one_line(data, tmp_path):
    from openai_server import FakeOpenAI

    cache = tmp_path / "c.jsonl"
    cache.write_text('{"key": "k1", "text": "so very happy"}\n{"ke')  # a torn last line
    with FakeOpenAI() as server:
        result = run_cli(*AUGMENT_QUICK, "--base-url", server.base_url, "--model", "fake-model",
                         "--data", str(data), "--threshold", "0.5", "--min-overlap", "0",
                         "--max-iterations", "1", "--out", "aug", "--cache", str(cache),
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"emoclassic: warning: {cache}: skipped a torn last line"]


# --- augment: output paths are checked before any work ---------------------------------


@pytest.mark.parametrize(
    ("cache", "message"),
    [("aug/c.jsonl", "lies inside the output folder aug"), ("aug", "lies inside the output"),
     ("fifo", "exists and is not a regular file")],
    ids=["inside-out", "is-out", "fifo"],
)  # fmt: skip
def test_augment_cache_is_checked_before_any_work(tmp_path, cache, message):
    os.mkfifo(tmp_path / "fifo")
    # --data names nothing: a run that loaded the data first would fail on it instead.
    result = run_bytes(*AUGMENT_QUICK, "--data", "no-such-data", "--out", "aug",
                       "--cache", cache, cwd=tmp_path, timeout=60)  # fmt: skip
    assert message in one_line_error(result, code=2)
    assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]
    assert (tmp_path / "fifo").is_fifo()
