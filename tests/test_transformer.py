"""The transformer comparator end to end, on a tiny random RoBERTa built here.

The encoder (one layer, hidden size 16) and its word-level tokenizer are made
from a config and a few sentences, so the real transformers code path runs
offline in seconds.
"""

from __future__ import annotations

import json
import re
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from conftest import ANGER, FEAR, JOY, run_cli, toy_rows, write_csv_split  # noqa: E402
from emoclassic.cli.main import main  # noqa: E402
from emoclassic.errors import InvalidParameter, ModelError, UsageError  # noqa: E402
from emoclassic.evaluation import evaluate_scores  # noqa: E402
from emoclassic.persistence import load_model  # noqa: E402
from emoclassic.thresholds import tune_thresholds  # noqa: E402
from emoclassic.transformer.saving import save_transformer_model  # noqa: E402
from emoclassic.transformer.training import TransformerSettings, fit_transformer  # noqa: E402

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_tiny_roberta(folder) -> None:
    """Save a random 1-layer RoBERTa and a word-level tokenizer to ``folder``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    words = [*JOY, *ANGER, *FEAR, "happy but scared 0 1 2 3"]
    tok.train_from_iterator(words, trainers.WordLevelTrainer(special_tokens=SPECIAL))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        cls_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        sep_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
    )
    config = transformers.RobertaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=132,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    import torch

    torch.manual_seed(0)
    transformers.RobertaModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-roberta")
    build_tiny_roberta(folder)
    return folder


@pytest.fixture(scope="module")
def fitted(tiny_encoder, tmp_path_factory):
    """A model fitted in-process on the toy data (3 labels) and saved."""
    from conftest import LABELS, toy_split
    from emoclassic.datasets import EmotionDataset

    dataset = EmotionDataset(
        LABELS, {"train": toy_split(4), "validation": toy_split(2), "test": toy_split(2)}, "toy"
    )
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=2, batch_size=8, lr=1e-3, progress=False, device="cpu"
    )
    model = fit_transformer(dataset, settings)
    folder = tmp_path_factory.mktemp("saved") / "tiny"
    save_transformer_model(model, folder)
    return dataset, model, folder


def test_fit_records_epochs_and_tunes_thresholds_on_validation(fitted):
    dataset, model, _ = fitted
    meta = model.metadata
    assert [e["epoch"] for e in meta["epochs"]] == [1, 2]
    assert meta["best_epoch"] in (1, 2)
    aucs = meta["val_macro_roc_auc_per_epoch"]
    assert meta["epochs"][meta["best_epoch"] - 1]["val_macro_roc_auc"] == max(aucs)
    assert meta["data"]["sizes"] == {"train": 64, "validation": 32, "test": 32}
    assert meta["training"]["lr"] == 1e-3 and meta["precision"] == "float32"
    # The kept weights are the best epoch's: their validation AUC is the recorded one.
    val_scores = model.predict_proba(dataset.validation.texts)
    report = evaluate_scores(dataset.validation.labels, val_scores, model.label_names, 0.5)
    assert report.overall["macro_roc_auc"] == pytest.approx(max(aucs), abs=1e-6)
    # Thresholds come from the shared tuning function on those validation scores.
    expected, _ = tune_thresholds(dataset.validation.labels, val_scores)
    np.testing.assert_allclose(model.thresholds, expected, atol=1e-6)


def test_save_load_round_trip_gives_equal_scores(fitted):
    dataset, model, folder = fitted
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "emoclassic.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    loaded = load_model(folder)
    assert type(loaded).__name__ == "TransformerEmotionModel"
    assert loaded.label_names == ("anger", "fear", "joy")
    np.testing.assert_allclose(loaded.thresholds, model.thresholds, atol=1e-6)
    texts = dataset.test.texts
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    # Batching with dynamic padding does not change a text's scores.
    one_by_one = np.vstack([loaded.predict_proba([t]) for t in texts[:5]])
    np.testing.assert_allclose(one_by_one, loaded.predict_proba(texts[:5]), atol=1e-5)
    sidecar = json.loads((folder / "emoclassic.json").read_text())
    assert sidecar["kind"] == "transformer" and sidecar["label_names"] == ["anger", "fear", "joy"]
    assert {"torch", "transformers", "scikit-learn"} <= set(sidecar["versions"])
    config = json.loads((folder / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["id2label"] == {"0": "anger", "1": "fear", "2": "joy"}


def test_early_stopping_stops_when_auc_does_not_improve(tiny_encoder, fitted, tmp_path):
    dataset = fitted[0]
    # A learning rate of 1e-12 leaves the float32 weights unchanged, so the
    # validation AUC is the same every epoch: only epoch 1 improves.
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=5, patience=2, lr=1e-12, progress=False, device="cpu"
    )
    model = fit_transformer(dataset, settings)
    meta = model.metadata
    assert [e["best"] for e in meta["epochs"]] == [True, False, False]
    assert meta["best_epoch"] == 1 and meta["stopped_early"] is True
    assert len(set(meta["val_macro_roc_auc_per_epoch"])) == 1
    # The head's bias starts at the log prior odds: anger 20, fear 24, joy 24 of 64 rows.
    bias = model.model.classifier.out_proj.bias.detach().numpy()
    expected = [np.log(20 / 44), np.log(24 / 40), np.log(24 / 40)]
    np.testing.assert_allclose(bias, expected, rtol=1e-6)

    # Interrupted once the stopping epoch is saved, a rerun trains no further epoch.
    def interrupt(entry):
        if entry["epoch"] == 3:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "run.checkpoint"
    with pytest.raises(KeyboardInterrupt):
        fit_transformer(dataset, settings, on_epoch=interrupt, checkpoint=checkpoint)
    seen = []
    resumed = fit_transformer(dataset, settings, on_epoch=seen.append, checkpoint=checkpoint)
    assert seen == [] and resumed.metadata["resumed_after_epoch"] == 3
    assert _epochs_without_times(resumed) == _epochs_without_times(model)
    assert resumed.metadata["best_epoch"] == 1 and resumed.metadata["stopped_early"] is True


def _scripted_auc(monkeypatch, scores) -> None:
    """Make every validation pass report the next of ``scores`` as its macro ROC-AUC."""
    import emoclassic.transformer.trainer as parts

    values = iter(scores)
    monkeypatch.setattr(
        parts, "macro_auc_metric", lambda names: lambda pred: {parts.METRIC: next(values)}
    )


def test_early_stopping_with_a_scripted_auc_sequence(tiny_encoder, fitted, monkeypatch):
    # The Trainer's EarlyStoppingCallback and best-model choice on a known sequence.
    _scripted_auc(monkeypatch, [0.60, 0.70, 0.69, 0.70, 0.65, 0.80])
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=6, patience=3, batch_size=32, lr=1e-12, progress=False,
        device="cpu",
    )  # fmt: skip
    meta = fit_transformer(fitted[0], settings).metadata
    # 0.69, 0.70 (equal is no improvement) and 0.65 make three epochs without improvement
    assert [e["best"] for e in meta["epochs"]] == [True, True, False, False, False]
    assert meta["best_epoch"] == 2 and meta["stopped_early"] is True
    assert meta["val_macro_roc_auc_per_epoch"] == [0.60, 0.70, 0.69, 0.70, 0.65]


def test_early_stopping_ignores_nan_and_resets_the_counter(tiny_encoder, fitted, monkeypatch):
    _scripted_auc(monkeypatch, [float("nan"), 0.5, 0.4, 0.6])
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=4, patience=2, batch_size=32, lr=1e-12, progress=False,
        device="cpu",
    )  # fmt: skip
    meta = fit_transformer(fitted[0], settings).metadata
    assert [e["best"] for e in meta["epochs"]] == [False, True, False, True]
    assert meta["best_epoch"] == 4 and meta["stopped_early"] is False


def test_training_arguments_and_callbacks_reach_the_trainer(tiny_encoder, fitted):
    transformers = pytest.importorskip("transformers")

    class CountSteps(transformers.TrainerCallback):
        steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            CountSteps.steps += 1

    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=1, batch_size=8, lr=1e-3, progress=False, device="cpu"
    )
    extra = {"gradient_accumulation_steps": 2}
    model = fit_transformer(fitted[0], settings, training_args=extra, callbacks=[CountSteps()])
    assert CountSteps.steps == 4  # 64 rows in batches of 8, two batches per optimizer step
    assert model.metadata["epochs"][0]["epoch"] == 1
    with pytest.raises(InvalidParameter, match=r"^training_args sets load_best_model_at_end"):
        fit_transformer(fitted[0], settings, training_args={"load_best_model_at_end": False})


def _epochs_without_times(model) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "seconds"} for e in model.metadata["epochs"]]


@pytest.mark.parametrize(
    "lr, stop_after",
    [(1e-3, 1), (1e-12, 2)],  # 1e-12: only epoch 1 is best, so the checkpoint keeps its weights
)
def test_an_interrupted_run_resumes_to_the_same_model(
    tiny_encoder, fitted, tmp_path, lr, stop_after
):
    dataset = fitted[0]
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=3, patience=5, batch_size=8, lr=lr, progress=False,
        device="cpu",
    )  # fmt: skip
    straight = fit_transformer(dataset, settings)
    checkpoint = tmp_path / "run.checkpoint"

    def interrupt(entry):
        if entry["epoch"] == stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_transformer(dataset, settings, on_epoch=interrupt, checkpoint=checkpoint)
    assert checkpoint.exists()
    seen = []
    resumed = fit_transformer(dataset, settings, on_epoch=seen.append, checkpoint=checkpoint)
    assert [e["epoch"] for e in seen] == list(range(stop_after + 1, 4))
    assert resumed.metadata["resumed_after_epoch"] == stop_after
    assert straight.metadata["resumed_after_epoch"] == 0
    assert _epochs_without_times(resumed) == _epochs_without_times(straight)
    assert resumed.metadata["best_epoch"] == straight.metadata["best_epoch"]
    texts = dataset.test.texts
    np.testing.assert_allclose(
        resumed.predict_proba(texts), straight.predict_proba(texts), atol=1e-6
    )
    np.testing.assert_allclose(resumed.thresholds, straight.thresholds, atol=1e-6)


def test_a_checkpoint_of_another_run_or_a_damaged_one_is_refused(tiny_encoder, fitted, tmp_path):
    dataset = fitted[0]
    settings = TransformerSettings(
        model=str(tiny_encoder), epochs=1, batch_size=8, lr=1e-3, progress=False, device="cpu"
    )
    checkpoint = tmp_path / "run.checkpoint"
    fit_transformer(dataset, settings, checkpoint=checkpoint)
    other = TransformerSettings(
        model=str(tiny_encoder), epochs=1, batch_size=8, lr=5e-4, progress=False, device="cpu"
    )
    with pytest.raises(UsageError, match=r"checkpoint of another run \(lr differ\)"):
        fit_transformer(dataset, other, checkpoint=checkpoint)
    assert checkpoint.exists()  # nothing lost
    # A damaged file inside the Trainer's checkpoint folder...
    (state,) = checkpoint.glob("checkpoint-*/trainer_state.json")
    state.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        fit_transformer(dataset, settings, checkpoint=checkpoint)
    # ... and a file where the folder should be (an old single-file checkpoint).
    shutil.rmtree(checkpoint)
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        fit_transformer(dataset, settings, checkpoint=checkpoint)


def test_loading_damaged_folders_fails_with_one_line(fitted, tmp_path):
    _, _, folder = fitted
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match=r"without emoclassic\.json"):
        load_model(empty)
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot load the transformer weights"):
        load_model(broken)
    (broken / "emoclassic.json").write_text("{ truncated")
    with pytest.raises(ModelError, match="corrupt sidecar"):
        load_model(broken)


def test_settings_validation():
    with pytest.raises(UsageError, match="unknown loss"):
        TransformerSettings(loss="hinge")
    with pytest.raises(InvalidParameter, match=r"^focal_alpha must be between 0 and 1") as caught:
        TransformerSettings(focal_alpha=1.5)
    assert caught.value.param == "focal_alpha"  # the CLI shows it as --focal-alpha
    with pytest.raises(InvalidParameter, match=r"^patience must be at least 1, got 0"):
        TransformerSettings(patience=0)
    with pytest.raises(InvalidParameter, match=r"^device must be one of cpu, cuda, mps"):
        TransformerSettings(device="cuda:1")


def test_cli_names_the_flag_of_a_bad_setting(capsys):
    code = main(["fit", "distilroberta", "--focal-gamma", "-1", "--limit", "10"])
    assert code == 2
    assert capsys.readouterr().err == (
        "emoclassic: error: --focal-gamma must be at least 0, got -1.0\n"
    )


def test_missing_transformer_extra_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import raises ImportError
    code = main(["fit", "distilroberta", "--out", str(tmp_path / "m"), "--limit", "10"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    hint = "this feature needs 'transformers': pip install 'emoclassic[transformer]'"
    assert err == f"emoclassic: error: {hint}"
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("existing", ["file", "foreign folder"])
def test_unusable_out_path_fails_before_training(existing, monkeypatch, capsys, tmp_path):
    import emoclassic.transformer.training as training

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "fit_transformer", never)
    out = tmp_path / "taken"
    if existing == "file":
        out.write_text("keep me")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me")
    assert main(["fit", "distilroberta", "--out", str(out), "--limit", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err
    assert (out.read_text() if existing == "file" else (out / "notes.txt").read_text()) == "keep me"


@pytest.mark.parametrize(
    "recipe, foreign", [("lr", ["--epochs", "2"]), ("distilroberta", ["--cv", "3"])]
)
def test_each_recipe_takes_only_its_own_options(capsys, recipe, foreign):
    with pytest.raises(SystemExit) as exited:
        main(["fit", recipe, *foreign])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"emoclassic: error: unrecognized arguments: {' '.join(foreign)} "
        f"(see emoclassic fit {recipe} --help)\n"
    )


# ---- the installed command: fit, evaluate, predict and compare ---------------------------


@pytest.fixture(scope="module")
def cli_run(tiny_encoder, tmp_path_factory):
    work = tmp_path_factory.mktemp("cli-transformer")
    data = work / "data"
    data.mkdir()
    write_csv_split(data / "train.csv", toy_rows(4))
    write_csv_split(data / "dev.csv", toy_rows(2))
    write_csv_split(data / "test.csv", toy_rows(2))
    common = ("--data", str(data), "--limit", "200", "--no-progress")
    fit = run_cli(
        "fit", "distilroberta", "--model", str(tiny_encoder), "--epochs", "1", *common, cwd=work
    )
    assert fit.returncode == 0, fit.stderr
    lr = run_cli("fit", "lr", "--cv", "2", *common, cwd=work)
    assert lr.returncode == 0, lr.stderr
    return work, data, fit.stdout


def test_cli_fit_prints_metrics_and_saves_a_folder(cli_run):
    work, _, stdout = cli_run
    folder = work / "models" / "distilroberta"
    assert (folder / "emoclassic.json").exists() and (folder / "model.safetensors").exists()
    assert "train 64, validation 32, test 32" in stdout
    assert "epoch 1: train loss" in stdout and "(best)" in stdout
    for rule in ("0.5", "0.2", "tuned"):
        assert re.search(rf"^test +{re.escape(rule)} ", stdout, re.MULTILINE)
    sidecar = json.loads((folder / "emoclassic.json").read_text())
    assert set(sidecar["metrics"]["test"]) == {"0.5", "0.2", "tuned"}
    assert sidecar["best_epoch"] == 1 and sidecar["fit_seconds"] > 0
    assert not [p for p in (work / "models").iterdir() if p.name.startswith(".")]
    assert "checkpoint after every epoch" in stdout
    assert not (work / "models" / "distilroberta.checkpoint").exists()  # removed once saved


def test_cli_evaluate_matches_the_fit_metrics(cli_run):
    work, data, _ = cli_run
    folder = work / "models" / "distilroberta"
    result = run_cli("evaluate", str(folder), "--data", str(data), "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sidecar = json.loads((folder / "emoclassic.json").read_text())
    assert report["n_samples"] == 32 and report["rule"] == "tuned"
    for key in ("macro_f1", "micro_f1", "macro_roc_auc"):
        assert report["overall"][key] == pytest.approx(sidecar["metrics"]["test"]["tuned"][key])


def test_cli_predict_lists_every_label_at_threshold_zero(cli_run):
    work, _, _ = cli_run
    folder = work / "models" / "distilroberta"
    result = run_cli("predict", str(folder), "so happy", "--threshold", "0", "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["text"] == "so happy"
    assert sorted(e["label"] for e in row["emotions"]) == ["anger", "fear", "joy"]
    scores = [e["score"] for e in row["emotions"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)


def test_cli_scores_a_corpus_file_with_the_transformer(cli_run):
    work, _, _ = cli_run
    folder = work / "models" / "distilroberta"
    texts = ["so happy", "so scared", "angry now", "happy day"] * 5
    (work / "corpus.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = work / "corpus-scores.jsonl"
    result = run_cli(
        "predict",
        str(folder),
        "--data",
        "corpus.txt",
        "--out",
        str(out),
        "--scores",
        "--batch-size",
        "8",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["row"] for row in rows] == list(range(20))
    from emoclassic.persistence import load_model

    model = load_model(folder)
    expected = model.predict_proba(texts)
    got = [[row[f"score_{label}"] for label in model.label_names] for row in rows]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)  # padding differs by batch


def test_cli_compare_transformer_and_lr(cli_run):
    pytest.importorskip("matplotlib")
    work, data, _ = cli_run
    tiny, lr = work / "models" / "distilroberta", work / "models" / "lr.joblib"
    result = run_cli(
        "compare",
        str(lr),
        str(tiny),
        "--data",
        str(data),
        "--latency-samples",
        "3",
        "--json",
        "--plot",
        "cmp.png",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["kind"] for r in rows] == ["sklearn", "transformer"]
    for row, path in zip(rows, (lr, tiny), strict=True):
        sidecar = json.loads(
            (path / "emoclassic.json" if path.is_dir() else path.with_suffix(".json")).read_text()
        )
        assert row["tuned"]["macro_f1"] == pytest.approx(
            sidecar["metrics"]["test"]["tuned"]["macro_f1"]
        )
        assert row["at_0.2"]["micro_f1"] == pytest.approx(
            sidecar["metrics"]["test"]["0.2"]["micro_f1"]
        )
        assert row["fit_seconds"] == sidecar["fit_seconds"]
        assert row["texts_per_s"] > 0 and row["latency_p50_ms"] > 0
    expected_size = sum(p.stat().st_size for p in tiny.iterdir())
    assert rows[1]["size_bytes"] == expected_size
    assert rows[0]["size_bytes"] == lr.stat().st_size + lr.with_suffix(".json").stat().st_size
    assert (work / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = run_cli("compare", str(lr), str(tiny), "--data", str(data), cwd=work)
    assert table.returncode == 0, table.stderr
    assert "1.00x" in table.stdout and "distilroberta" in table.stdout


def test_cli_errors_are_one_line(cli_run, tmp_path):
    work, data, _ = cli_run
    (tmp_path / "emoclassic.json").write_text('{"format": "emoclassic-model", "kind": "sklearn"}')
    result = run_cli("predict", str(tmp_path), "hi", cwd=work)
    assert result.returncode == 1
    # "not a transformer model", or "not a transformer or prado model" once more kinds load
    assert result.stderr.strip().count("\n") == 0 and "not a transformer" in result.stderr
    missing = run_cli(
        "fit", "distilroberta", "--model", str(tmp_path / "nope"), "--data", str(data), cwd=work
    )
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "cannot load the encoder" in missing.stderr


def test_cli_defaults_are_the_library_defaults():
    from dataclasses import fields

    from emoclassic.cli._fit_transformer import DEFAULTS

    library = {f.name: f.default for f in fields(TransformerSettings)}
    assert {name: library[name] for name in DEFAULTS} == DEFAULTS
