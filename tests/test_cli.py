"""End-to-end tests of the installed ``emoclassic`` command."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli, toy_rows, write_csv_split


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def lr_model(workdir):
    result = run_cli("fit", "lr", "--limit", "400", "--cv", "2", "--no-progress", cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir / "models" / "lr.joblib", result.stdout


def test_fit_lr_on_bundled_data(lr_model):
    path, stdout = lr_model
    assert path.exists() and path.with_suffix(".json").exists()
    assert "train 400, validation 5,426, test 5,427" in stdout
    assert "best parameters: {'clf__estimator__C'" in stdout
    for rule in ("0.5", "0.2", "tuned"):
        assert f"test        {rule}" in stdout
    assert "per-label thresholds: the validation split" in stdout
    assert "default decision rule: per-label thresholds tuned on the validation split" in stdout
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["search"]["cv"] == 2 and len(sidecar["search"]["candidates"]) == 6
    assert set(sidecar["metrics"]["test"]) == {"0.5", "0.2", "tuned"}
    assert len(sidecar["label_names"]) == 28


def test_evaluate_json_matches_fit_metrics(lr_model, workdir):
    path, _ = lr_model
    result = run_cli("evaluate", str(path), "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert report["overall"]["macro_f1"] == pytest.approx(
        sidecar["metrics"]["test"]["tuned"]["macro_f1"]
    )
    assert report["rule"] == "tuned" and report["n_samples"] == 5427
    assert len(report["per_label"]) == 28
    reference = run_cli("evaluate", str(path), "--threshold", "0.2", "--json", cwd=workdir)
    assert json.loads(reference.stdout)["overall"]["macro_f1"] == pytest.approx(
        sidecar["metrics"]["test"]["0.2"]["macro_f1"]
    )


def test_evaluate_text_report_and_plots(lr_model, workdir):
    pytest.importorskip("matplotlib")
    path, _ = lr_model
    result = run_cli("evaluate", str(path), "--split", "validation", "--plots", "figs", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "macro_roc_auc" in result.stdout and "gratitude" in result.stdout
    figures = sorted(p.name for p in (workdir / "figs").iterdir())
    assert len(figures) == 29 and "f1_per_emotion.png" in figures and "roc_grief.png" in figures


def test_predict_outputs(lr_model, workdir):
    path, _ = lr_model
    result = run_cli(
        "predict", str(path), "Thank you so much!", "--threshold", "0", "--top-k", "2", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    label, score = line.split()[:2]
    assert label == "gratitude" and 0.0 <= float(score) <= 1.0
    assert len(line.split()) == 4
    piped = run_cli("predict", str(path), "--json", cwd=workdir, stdin="thanks a lot\n\nso sad\n")
    payload = json.loads(piped.stdout)  # one row per line: the blank one has no emotion
    assert [item["text"] for item in payload] == ["thanks a lot", "", "so sad"]
    assert payload[1]["emotions"] == [] and payload[2]["emotions"]
    assert piped.stderr == "emoclassic: warning: 1 blank line (line 2): an empty row each\n"
    (workdir / "texts.txt").write_text("I love it\n")
    from_file = run_cli("predict", str(path), "--file", "texts.txt", "--json", cwd=workdir)
    assert json.loads(from_file.stdout)[0]["text"] == "I love it"


def test_fit_nb_on_a_csv_folder_then_evaluate(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_csv_split(folder / "train.csv", toy_rows(4))
    write_csv_split(folder / "dev.csv", toy_rows(2))
    write_csv_split(folder / "test.csv", toy_rows(2))
    result = run_cli("fit", "nb", "--data", "data", "--out", "m/nb.joblib", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    evaluated = run_cli("evaluate", "m/nb.joblib", "--data", "data", "--json", cwd=tmp_path)
    assert json.loads(evaluated.stdout)["overall"]["macro_f1"] == pytest.approx(1.0)
    mismatch = run_cli("evaluate", "m/nb.joblib", cwd=tmp_path)
    assert mismatch.returncode == 1 and "labels differ from the model's" in mismatch.stderr


def _assert_one_line_error(result, code: int, fragment: str, cwd):
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert not (cwd / "models").exists()


BAD_DATA = {
    "empty": ("", "the file is empty"),
    "no_text_column": ("sentence,joy\nhi,1\n", "no text column 'text'"),
    "empty_text": ("text,joy\nhi,1\n,0\n", "missing or empty text"),
    "unknown_label": ("text,labels\nhi,joy\n", "unknown label 'rage'"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_fit_bad_data_is_one_line(tmp_path, case):
    content, fragment = BAD_DATA[case]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.csv").write_text(content)
    if case == "unknown_label":
        (folder / "dev.csv").write_text("text,labels\nho,rage\n")
    result = run_cli("fit", "nb", "--data", "data", cwd=tmp_path)
    _assert_one_line_error(result, 1, fragment, tmp_path)


def test_label_id_out_of_range_is_one_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.tsv").write_text("hello\t0\tid1\nbye\t9\tid2\n")
    (folder / "labels.txt").write_text("joy\nsadness\n")
    result = run_cli("fit", "nb", "--data", "data", cwd=tmp_path)
    _assert_one_line_error(result, 1, "label id 9 is out of range", tmp_path)


def test_missing_data_path_is_one_line(tmp_path):
    result = run_cli("fit", "lr", "--data", "nowhere.csv", cwd=tmp_path)
    _assert_one_line_error(result, 1, "nowhere.csv: no such file or directory", tmp_path)


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_bad_limit_is_a_usage_error(tmp_path, value):
    result = run_cli("fit", "lr", "--limit", value, cwd=tmp_path)
    _assert_one_line_error(result, 2, "--limit", tmp_path)


def test_corrupt_model_is_one_line(tmp_path):
    (tmp_path / "bad.joblib").write_bytes(b"\x80\x04garbage")
    for command in (["predict", "bad.joblib", "hi"], ["evaluate", "bad.joblib"]):
        result = run_cli(*command, cwd=tmp_path)
        _assert_one_line_error(result, 1, "cannot be read as an emoclassic model", tmp_path)


def test_missing_model_and_bad_threshold(tmp_path):
    result = run_cli("predict", "none.joblib", "hi", cwd=tmp_path)
    _assert_one_line_error(result, 1, "no such model file", tmp_path)
    result = run_cli("predict", "none.joblib", "hi", "--threshold", "1.5", cwd=tmp_path)
    _assert_one_line_error(result, 2, "between 0 and 1", tmp_path)


def test_fit_best_on_a_non_english_semeval_layout(tmp_path):
    """The recommended recipe trains on 0/1-column data in another language."""
    rows = {
        "freude": ["so ein schöner Tag!", "ich bin so glücklich", "wunderbar, danke!", "juhu 😍"],
        "wut": ["das ist eine Frechheit!", "ich bin so wütend", "unverschämt!!", "so ein Mist"],
        "angst": ["ich habe Angst", "das macht mir Sorgen", "wie furchtbar gruselig", "hilfe :("],
    }
    names = list(rows)
    folder = tmp_path / "de"
    folder.mkdir()
    for split, repeat in (("train", 4), ("dev", 2), ("test", 2)):
        lines = ["id,text," + ",".join(names)]
        for r in range(repeat):
            for j, name in enumerate(names):
                for k, text in enumerate(rows[name]):
                    flags = ",".join("1" if i == j else "0" for i in range(len(names)))
                    lines.append(f'{split}{r}{j}{k},"{text} {r}",{flags}')
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("fit", "best", "--data", "de", "--n-jobs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "with its default parameters (no grid search)" in result.stdout
    assert "per-label thresholds: 5-fold out-of-fold predictions on train" in result.stdout
    predicted = run_cli("predict", "models/best.joblib", "ich bin so wütend!!", cwd=tmp_path)
    assert predicted.stdout.split()[0] == "wut"


def test_hostile_inputs_are_one_line_errors(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\xff\xfe" * 50)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    cases = [
        (["fit", "lr", "--seed", "-1"], 2, "--seed: must be between 0 and 4294967295, got -1"),
        (["fit", "lr", "--seed", str(2**32)], 2, "must be between 0 and 4294967295"),
        (["predict", "m.joblib", "--file", str(tmp_path)], 2, "is a folder"),
        (["augment", "--prompt-file", str(latin), "--min-meaning", "0"], 2, "is not UTF-8"),
        (["augment", "--forbidden-file", str(binary), "--min-meaning", "0"], 2, "is not UTF-8"),
    ]
    for args, code, message in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
