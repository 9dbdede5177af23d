"""The hf backend on a tiny random Llama built here, and the installed command end to end."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from conftest import run_cli
from emoclassic.augment.backend import GenerationError
from emoclassic.augment.hf_backend import HFGenerator
from emoclassic.augment.prompts import PromptTemplate
from tiny_llama import build_tiny_llama

PROMPTS = [
    PromptTemplate.default().render(text, emotion)
    for text, emotion in [
        ("I miss him", "grief"),
        ("we finally won the cup after ten long and hard years of trying", "pride"),
        ("phew", "relief"),
    ]
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama")


def test_hf_backend_batches_with_left_padding(tiny_model):
    greedy = HFGenerator(str(tiny_model), temperature=0, max_new_tokens=6, batch_size=3)
    assert greedy.tokenizer.padding_side == "left"
    assert greedy.format_prompt("hi").startswith("<|user|> hi <|end|>")
    assert greedy.format_prompt("hi").endswith("<|assistant|> ")
    batched = greedy.generate(PROMPTS, [0, 1, 2])
    one_by_one = [greedy.generate([p], [0])[0] for p in PROMPTS]
    assert batched == one_by_one  # padding on the left does not change the continuation
    assert len(batched) == 3 and all(isinstance(text, str) for text in batched)
    assert all("Reword" not in text for text in batched)


def test_hf_backend_sampling_is_seeded(tiny_model):
    gen = HFGenerator(str(tiny_model), max_new_tokens=8, batch_size=2, temperature=1.0)
    first = gen.generate(PROMPTS * 2, [7, 8, 9, 10, 11, 12])
    assert len(first) == 6
    assert gen.generate(PROMPTS * 2, [7, 8, 9, 10, 11, 12]) == first
    assert gen.generate(PROMPTS * 2, [7, 8, 9, 10, 11, 13]) != first
    with pytest.raises(ValueError, match="same length"):
        gen.generate(PROMPTS, [1])
    assert gen.device == "cpu" and gen.model.dtype.is_floating_point


def test_hf_backend_bad_model_is_one_error(tmp_path):
    with pytest.raises(GenerationError, match=r"cannot load model '.*not-a-model'"):
        HFGenerator(str(tmp_path / "not-a-model"))


def test_augment_command_end_to_end_then_fit(tiny_model, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "augmented"
    args = [
        "augment",
        "--threshold", "0.015",
        "--model", str(tiny_model),
        "--max-iterations", "2",
        "--limit", "300",
        "--max-new-tokens", "12",
        "--min-words", "2",
        "--min-overlap", "0",  # a random model's output shares no word with its source
        "--min-meaning", "0",
        "--out", str(out),
        "--no-progress",
    ]  # fmt: skip
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    assert "minority labels (share of 300 training rows < 1.50%):" in stdout
    assert "label            before   after  generated   kept  failed" in stdout
    assert "stopped after 2 iteration(s)" in stdout or "stopped after 1 iteration(s)" in stdout

    loaded = datasets.load_from_disk(str(out))
    assert sorted(loaded) == ["test", "train", "validation"]
    assert (len(loaded["validation"]), len(loaded["test"])) == (5426, 5427)
    train = loaded["train"]
    synthetic = sum(train["synthetic"])
    assert len(train) == 300 + synthetic and synthetic > 0
    assert f"{synthetic:,} synthetic train rows" in stdout
    assert train.features["labels"].feature.names[:2] == ["admiration", "amusement"]
    first = train[300]
    assert first["synthetic"] and 0 <= first["source_row"] < 300
    assert first["labels"] == train[first["source_row"]]["labels"]
    assert first["target_label"] in train.features["labels"].feature.names
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(out / "README.md", repo_type="dataset")
    assert card.data.license == "cc-by-4.0" and "Demszky" in card.text
    assert card.data.emoclassic_augmentation["model"] == str(tiny_model)
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    cache = out.with_name("augmented.cache.jsonl")
    lines = cache.read_text().splitlines()
    assert len(lines) == int(stdout.split(" new generations")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert all(json.loads(line)["model"] == str(tiny_model) for line in lines)

    again = run_cli(*args, cwd=tmp_path)  # a rerun is served from the cache
    assert again.returncode == 0, again.stderr
    assert f"0 new generations, {len(lines):,} from the cache" in again.stdout
    assert len(cache.read_text().splitlines()) == len(lines)

    fit = run_cli(
        "fit", "lr", "--data", str(out), "--no-search", "--no-progress",
        "--out", str(tmp_path / "lr.joblib"),
        cwd=tmp_path,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert f"train {300 + synthetic:,}, validation 5,426, test 5,427" in fit.stdout
    assert "test macro-F1 (default rule):" in fit.stdout


def test_augment_command_errors_are_one_line(tiny_model, tmp_path):
    missing = run_cli("augment", "--model", str(tmp_path / "nope"), "--limit", "300", cwd=tmp_path)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip().splitlines()[-1].startswith("emoclassic: error: cannot load model")
    )
    assert "Traceback" not in missing.stderr
    nothing = run_cli("augment", "--threshold", "0.0001", "--model", str(tiny_model), cwd=tmp_path)
    assert nothing.returncode == 2
    assert nothing.stderr.strip().startswith(
        "emoclassic: error: --threshold 0.0001 selects no label: the rarest label, "
    )
    assert len(nothing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()
