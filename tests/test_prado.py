"""The projection network (``fit prado``): hashing, fit, thresholds, saving, CLI, errors.

Every fit here is a tiny network on the toy dataset (seconds); the full-data
check is behind the ``slow`` marker.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from emoclassic.cli._common import add_data_arguments
from emoclassic.cli._fit_prado import (
    PRADO_RECIPES,
    add_prado_arguments,
    run_prado,
    settings_from_args,
)
from emoclassic.datasets import EmotionDataset, EmotionSplit
from emoclassic.errors import InvalidParameter, ModelError
from emoclassic.persistence import load_model
from emoclassic.prado.model import PradoEmotionModel
from emoclassic.prado.projection import (
    TokenProjector,
    ternary_projection,
    token_features,
    tokenize,
)
from emoclassic.prado.saving import WEIGHTS_FILE, save_prado_model
from emoclassic.prado.settings import PradoSettings
from emoclassic.prado.training import fit_prado
from emoclassic.thresholds import tune_thresholds

#: ternary_projection(["w:joy", "c:<jo", "w:"], 16), computed once and fixed forever.
EXPECTED_TERNARY = [
    [0, 0, -1, 1, -1, 1, 0, -1, 0, 0, 0, 0, 1, 0, 0, 1],
    [-1, -1, 0, -1, -1, 0, -1, -1, 1, -1, 0, -1, 0, 0, 0, 0],
    [0, -1, -1, -1, -1, 1, 0, -1, 0, -1, -1, 1, 0, 0, -1, 1],
]
#: TokenProjector(16, (2, 3)).project_tokens(["joy"]) times sqrt(8) (8 features).
EXPECTED_JOY = [1, 1, 0, 2, -2, 0, -3, -3, 0, 2, 1, -2, 0, 0, 3, 2]
#: ternary_projection(["w:joy"], 300)[0, 256:270]: the second BLAKE2b block (salt 1).
EXPECTED_SECOND_BLOCK = [0, -1, 0, 0, -1, 1, 0, 0, 1, -1, -1, 1, 0, 1]

TINY = {
    "feature_size": 32,
    "hidden_size": 8,
    "channels": 4,
    "epochs": 3,
    "batch_size": 8,
    "lr": 1e-2,
    "device": "cpu",
    "progress": False,
}


@pytest.fixture(scope="module")
def toy() -> EmotionDataset:
    from conftest import LABELS, toy_split

    return EmotionDataset(
        LABELS,
        {"train": toy_split(4), "validation": toy_split(2), "test": toy_split(2)},
        source="toy",
    )


@pytest.fixture(scope="module", params=["prado", "qrnn"])
def fitted(request, toy) -> PradoEmotionModel:
    return fit_prado(toy, PradoSettings(encoder=request.param, **TINY))


# --- the projection: exact, stable hashing ---


def test_tokens_and_features():
    assert tokenize("I LOVE it!! 😂") == ["i", "love", "it", "!", "!", "😂"]
    assert tokenize("") == [""]
    assert tokenize("a b c", max_tokens=2) == ["a", "b"]
    assert token_features("joy", (2, 3)) == [
        "w:joy", "c:<j", "c:jo", "c:oy", "c:y>", "c:<jo", "c:joy", "c:oy>",
    ]  # fmt: skip


def test_ternary_projection_has_the_recorded_values():
    assert ternary_projection(["w:joy", "c:<jo", "w:"], 16).tolist() == EXPECTED_TERNARY
    assert ternary_projection(["w:joy"], 300)[0, 256:270].tolist() == EXPECTED_SECOND_BLOCK
    joy = TokenProjector(16, (2, 3)).project_tokens(["joy"])[0]
    assert np.array_equal(np.round(joy * np.sqrt(8)), EXPECTED_JOY)


def test_ternary_projection_follows_its_documented_rule():
    digest = hashlib.blake2b(
        b"w:joy", digest_size=64, person=b"emoclassic.prado", salt=bytes(16)
    ).digest()
    bits = [(byte >> shift) & 1 for byte in digest for shift in range(7, -1, -1)]
    expected = [bits[2 * k] - bits[2 * k + 1] for k in range(256)]
    assert ternary_projection(["w:joy"], 256)[0].tolist() == expected
    values = ternary_projection([f"w:{i}" for i in range(400)], 256)
    assert set(np.unique(values)) == {-1, 0, 1}
    assert abs((values == 0).mean() - 0.5) < 0.02  # P(0) = 1/2, P(+1) = P(-1) = 1/4


def test_projection_is_the_same_in_a_process_with_another_hash_seed():
    code = textwrap.dedent(
        """
        import json
        import numpy as np
        from emoclassic.prado.projection import TokenProjector, ternary_projection
        joy = TokenProjector(16, (2, 3)).project_tokens(["joy"])[0] * np.sqrt(8)
        print(json.dumps([ternary_projection(["w:joy", "c:<jo", "w:"], 16).tolist(),
                          np.round(joy).astype(int).tolist()]))
        """
    )
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert json.loads(result.stdout) == [EXPECTED_TERNARY, EXPECTED_JOY]


def test_the_cache_changes_no_value():
    texts = ["so happy today", "Happy!!", "a new word: zyzzyva"]
    cold = TokenProjector(64, (2, 4), cache_size=2).project_texts(texts)
    warm_projector = TokenProjector(64, (2, 4))
    warm_projector.project_texts(texts[::-1])
    warm = warm_projector.project_texts(texts)
    assert np.array_equal(cold.table, warm.table)
    assert [ids.tolist() for ids in cold.ids] == [ids.tolist() for ids in warm.ids]


def test_importing_the_settings_and_projection_imports_no_torch():
    code = (
        "import sys, emoclassic.prado.settings, emoclassic.prado.projection, "
        "emoclassic.cli._fit_prado; print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# --- the fit: thresholds from validation, never from test ---


def test_thresholds_are_tuned_on_the_validation_scores(fitted, toy):
    scores = fitted.predict_proba(toy.validation.texts)
    thresholds, f1 = tune_thresholds(toy.validation.labels, scores)
    assert np.array_equal(fitted.thresholds, thresholds)
    assert fitted.metadata["thresholds_from"] == "validation"
    assert fitted.metadata["threshold_validation_f1"] == [round(float(v), 6) for v in f1]


def test_the_test_split_changes_nothing(fitted, toy):
    encoder = fitted.metadata["architecture"]["encoder"]
    flipped = EmotionSplit(toy.test.texts[::-1], 1 - toy.test.labels)
    other = replace(toy, splits=dict(toy.splits, test=flipped))
    again = fit_prado(other, PradoSettings(encoder=encoder, **TINY))
    assert np.array_equal(again.thresholds, fitted.thresholds)
    texts = toy.test.texts
    assert np.array_equal(again.predict_proba(texts), fitted.predict_proba(texts))


def test_the_fit_learns_the_toy_labels(toy):
    model = fit_prado(toy, PradoSettings(**{**TINY, "epochs": 12}))
    assert max(model.metadata["val_macro_roc_auc_per_epoch"]) > 0.9
    predicted = model.predict(toy.test.texts)
    assert (predicted == toy.test.labels).mean() > 0.8


def test_float16_weights_are_exact_and_float32_keeps_full_precision(toy):
    import torch

    half = fit_prado(toy, PradoSettings(**TINY))
    full = fit_prado(toy, PradoSettings(**TINY, weights_dtype="float32"))
    for model, exact in ((half, True), (full, False)):
        weights = torch.cat([p.detach().flatten() for p in model.network.parameters()])
        assert torch.equal(weights.half().float(), weights) is exact


def test_an_interrupted_fit_resumes_to_the_same_model(toy, tmp_path):
    settings = PradoSettings(**{**TINY, "epochs": 4})
    straight = fit_prado(toy, settings, checkpoint=tmp_path / "a.ckpt")

    def stop_after_two(entry):
        if entry["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_prado(toy, settings, checkpoint=tmp_path / "b.ckpt", on_epoch=stop_after_two)
    resumed = fit_prado(toy, settings, checkpoint=tmp_path / "b.ckpt")
    assert resumed.metadata["resumed_after_epoch"] == 2

    def without_seconds(model):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in model.metadata["epochs"]]

    assert without_seconds(resumed) == without_seconds(straight)
    texts = toy.test.texts
    assert np.array_equal(resumed.predict_proba(texts), straight.predict_proba(texts))
    with pytest.raises(Exception, match="checkpoint of another run"):
        fit_prado(toy, replace(settings, lr=0.5), checkpoint=tmp_path / "b.ckpt")


def test_an_undefined_validation_auc_keeps_the_last_epoch(toy, tmp_path):
    constant = EmotionSplit(toy.validation.texts, np.zeros_like(toy.validation.labels))
    data = replace(toy, splits=dict(toy.splits, validation=constant))
    model = fit_prado(data, PradoSettings(**{**TINY, "epochs": 2}))
    assert model.metadata["best_epoch"] is None
    assert model.metadata["val_macro_roc_auc_per_epoch"] == [None, None]
    assert model.thresholds.tolist() == [0.5, 0.5, 0.5]  # tune_thresholds' default
    sidecar = save_prado_model(model, tmp_path / "m")

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    json.loads(sidecar.read_text(), parse_constant=refuse)


# --- saving and loading ---


def test_save_and_load_give_identical_scores(fitted, toy, tmp_path):
    folder = tmp_path / "model"
    sidecar_path = save_prado_model(fitted, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["emoclassic.json", WEIGHTS_FILE]
    loaded = load_model(folder)
    assert isinstance(loaded, PradoEmotionModel) and loaded.kind == "prado"
    assert loaded.label_names == fitted.label_names
    assert np.array_equal(loaded.thresholds, fitted.thresholds)
    assert loaded.metadata == json.loads(json.dumps(fitted.metadata))
    texts = [*toy.test.texts, "", "   ", "never seen: zyzzyva!!"]
    assert np.array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["kind"] == "prado" and sidecar["thresholds_from"] == "validation"
    assert sidecar["thresholds"] == fitted.thresholds.tolist()  # full precision
    assert load_model(sidecar_path.parent).metadata["architecture"] == sidecar["architecture"]


def test_the_weights_file_is_safetensors_in_float16(fitted, tmp_path):
    from safetensors import safe_open

    save_prado_model(fitted, tmp_path / "m")
    header_size = int.from_bytes((tmp_path / "m" / WEIGHTS_FILE).read_bytes()[:8], "little")
    header = json.loads((tmp_path / "m" / WEIGHTS_FILE).read_bytes()[8 : 8 + header_size])
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F16"}
    with safe_open(tmp_path / "m" / WEIGHTS_FILE, "pt") as weights:
        assert set(weights.keys()) == set(fitted.network.state_dict())


def test_predict_and_rank_emotions_on_texts(fitted):
    scores = fitted.predict_proba(["so happy today", ""])
    assert scores.shape == (2, 3) and np.all((scores >= 0) & (scores <= 1))
    assert fitted.predict_proba([]).shape == (0, 3)
    ranked = fitted.predict_emotions(["so happy today"], threshold=0.0)[0]
    assert [label for label, _ in ranked] == sorted(
        fitted.label_names, key=lambda name: -scores[0][fitted.label_names.index(name)]
    )
    assert fitted.predict(["so happy today"]).tolist() == [
        (scores[0] >= fitted.thresholds).astype(int).tolist()
    ]


def test_compare_and_lime_explanations_work_unchanged(fitted, toy, tmp_path):
    pytest.importorskip("lime")
    from emoclassic.compare import compare_models
    from emoclassic.explain import explain_lime

    save_prado_model(fitted, tmp_path / "m")
    [row] = compare_models(
        {"prado": load_model(tmp_path / "m")}, toy, paths={"prado": tmp_path / "m"},
        latency_samples=3,
    )  # fmt: skip
    assert row["kind"] == "prado" and row["size_bytes"] > 0
    explanation = explain_lime(fitted, "so happy today", labels="all", num_samples=50)
    assert explanation.method == "lime"
    assert sorted(e.label for e in explanation.emotions) == sorted(fitted.label_names)
    assert not fitted.explains_exactly  # the demo page and /explain fall back to LIME


def test_serve_answers_with_the_model_s_own_scores(fitted):
    pytest.importorskip("fastapi")
    import asyncio

    import httpx

    from emoclassic.server import create_app

    texts = ["so happy today", "this is awful"]

    async def ask() -> tuple[dict, dict]:
        transport = httpx.ASGITransport(app=create_app(fitted))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            predicted = await client.post("/predict", json={"texts": texts, "threshold": 0.0})
            health = await client.get("/health")
        assert predicted.status_code == 200 and health.status_code == 200
        return predicted.json(), health.json()

    predicted, health = asyncio.run(ask())
    scores = fitted.predict_proba(texts)
    for row, expected in zip(predicted["predictions"], scores, strict=True):
        served = {item["label"]: item["score"] for item in row["scores"]}
        assert served == pytest.approx(
            dict(zip(fitted.label_names, expected, strict=True)), abs=1e-6
        )
    assert health["kind"] == "prado" and health["labels"] == len(fitted.label_names)


def _corrupt(folder: Path, change) -> None:
    path = folder / "emoclassic.json"
    sidecar = json.loads(path.read_text())
    change(sidecar)
    path.write_text(json.dumps(sidecar))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["architecture"].update(hidden_size=9), "do not fit the architecture"),
        (lambda s: s["architecture"].update(projection_version=2), "projection version 2"),
        (lambda s: s["architecture"].update(encoder="lstm"), "architecture is invalid"),
        (lambda s: s["architecture"].pop("channels"), "architecture has no 'channels'"),
        (lambda s: s.pop("architecture"), "architecture field is missing"),
        (lambda s: s.update(thresholds=[0.5]), "finite thresholds"),
    ],
)
def test_a_damaged_model_folder_is_refused_in_one_line(fitted, tmp_path, change, message):
    save_prado_model(fitted, tmp_path / "m")
    _corrupt(tmp_path / "m", change)
    with pytest.raises(ModelError, match=message) as caught:
        load_model(tmp_path / "m")
    assert "\n" not in str(caught.value)


def test_missing_or_garbage_weights_are_refused(fitted, tmp_path):
    save_prado_model(fitted, tmp_path / "m")
    weights = tmp_path / "m" / WEIGHTS_FILE
    weights.write_bytes(b"\x00" * 40)
    with pytest.raises(ModelError, match="cannot be read as safetensors"):
        load_model(tmp_path / "m")
    weights.unlink()
    with pytest.raises(ModelError, match="weights are missing"):
        load_model(tmp_path / "m")


def test_non_finite_weights_are_refused(fitted, tmp_path):
    import torch
    from safetensors.torch import save_file

    save_prado_model(fitted, tmp_path / "m")
    state = {k: v.clone() for k, v in fitted.network.state_dict().items()}
    state["output.bias"][0] = float("nan")
    save_file(state, tmp_path / "m" / WEIGHTS_FILE)
    with pytest.raises(ModelError, match="non-finite"):
        load_model(tmp_path / "m")
    assert torch.isfinite(fitted.network.output.bias).all()


# --- parameters ---


@pytest.mark.parametrize(
    ("values", "param"),
    [
        ({"encoder": "lstm"}, "encoder"),
        ({"feature_size": 0}, "feature_size"),
        ({"feature_size": 2.5}, "feature_size"),
        ({"char_ngram_range": (3, 2)}, "char_ngram_range"),
        ({"char_ngram_range": (0, 2)}, "char_ngram_range"),
        ({"word_ngram_range": (1,)}, "word_ngram_range"),
        ({"dropout": 1.0}, "dropout"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"loss": "hinge"}, "loss"),
        ({"focal_alpha": 1.5}, "focal_alpha"),
        ({"weights_dtype": "int8"}, "weights_dtype"),
        ({"threads": 0}, "threads"),
        ({"seed": -1}, "seed"),
        ({"patience": True}, "patience"),
    ],
)
def test_bad_parameters_raise_invalid_parameter(values, param):
    with pytest.raises(InvalidParameter) as caught:
        PradoSettings(**values)
    assert caught.value.param == param
    assert str(caught.value).startswith(param + " ")


# --- the command line ---


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoclassic fit prado")
    add_data_arguments(parser)
    add_prado_arguments(parser)
    return parser


TINY_FLAGS = [
    "--feature-size", "32", "--hidden-size", "8", "--channels", "4", "--epochs", "2",
    "--batch-size", "8", "--device", "cpu", "--no-progress",
]  # fmt: skip


def test_cli_defaults_are_the_library_defaults():
    assert "prado" in PRADO_RECIPES
    assert settings_from_args(_parser().parse_args([])) == PradoSettings(seed=42)
    args = _parser().parse_args(["--no-char-ngrams", "--focal-alpha", "none", "--seed", "7"])
    settings = settings_from_args(args)
    assert (settings.char_ngram_range, settings.focal_alpha, settings.seed) == (None, None, 7)


def test_run_prado_writes_a_model_that_loads(csv_folder, tmp_path, capsys):
    out = tmp_path / "models" / "prado"
    args = _parser().parse_args(["--data", str(csv_folder), "--out", str(out), *TINY_FLAGS])
    assert run_prado(args) == 0
    printed = capsys.readouterr().out
    assert "epoch 1:" in printed and "test macro-F1" in printed and f"saved {out}" in printed
    assert not out.with_name("prado.checkpoint").exists()
    model = load_model(out)
    assert model.kind == "prado" and model.metadata["metrics"]["test"]["tuned"]["macro_f1"] >= 0
    assert model.predict_proba(["so happy"]).shape == (1, 3)


def test_run_prado_maps_a_bad_value_to_its_flag(csv_folder, tmp_path, capsys):
    from emoclassic.cli.main import _run

    out = tmp_path / "m"
    args = _parser().parse_args(["--data", str(csv_folder), "--out", str(out), "--dropout", "1.5"])
    args.run = run_prado
    assert _run(args) == 2
    assert capsys.readouterr().err.strip() == (
        "emoclassic: error: --dropout must be a number in [0, 1), got 1.5"
    )
    assert not out.exists()


def test_add_prado_arguments_keeps_options_the_parser_already_has():
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None)
    add_prado_arguments(parser)
    args = parser.parse_args(["--epochs", "5"])
    assert (args.seed, settings_from_args(args).epochs) == (3, 5)


# --- full data ---


@pytest.mark.slow
def test_default_fit_on_goemotions_reaches_the_acceptance_bar(tmp_path):
    from emoclassic.compare import size_on_disk
    from emoclassic.datasets import load_dataset
    from emoclassic.evaluation import evaluate_scores

    dataset = load_dataset(None)
    model = fit_prado(dataset, PradoSettings(progress=False))
    save_prado_model(model, tmp_path / "prado")
    loaded = load_model(tmp_path / "prado")
    scores = loaded.predict_proba(dataset.test.texts)
    report = evaluate_scores(dataset.test.labels, scores, dataset.label_names, loaded.thresholds)
    assert report.overall["macro_f1"] >= 0.35
    assert size_on_disk(tmp_path / "prado") <= 5_000_000
    assert model.metadata["fit_seconds"] < 30 * 60
