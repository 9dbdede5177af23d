"""The augmented DatasetDict, its card, the files on disk, the loader round trip and the push."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from huggingface_hub import DatasetCard

from augment_fakes import FakeBackend, skewed_dataset
from emoclassic.augment.filters import QualityFilter
from emoclassic.augment.loop import AugmentSettings, augment_split
from emoclassic.augment.publish import (
    build_dataset_dict,
    dataset_card,
    push_to_hub,
    write_dataset,
)
from emoclassic.datasets import load_dataset
from emoclassic.errors import EmoclassicError

datasets = pytest.importorskip("datasets")
SETTINGS = AugmentSettings(threshold=0.1, seed=3)


@pytest.fixture(scope="module")
def published():
    ds = skewed_dataset()
    result = augment_split(
        ds.train,
        ds.label_names,
        FakeBackend(),
        quality=QualityFilter(min_overlap=0),
        settings=SETTINGS,
        progress=False,
    )
    dd = build_dataset_dict(ds, result)
    card = dataset_card(
        ds,
        result,
        settings=SETTINGS,
        model="fake",
        prompt="Rephrase {text} as {emotion}",
        filters={"length_words": [3, 100]},
        split_sizes={name: len(split) for name, split in dd.items()},
    )
    return ds, result, dd, card


def test_dataset_dict_marks_synthetic_rows(published):
    ds, result, dd, _ = published
    assert sorted(dd) == ["test", "train", "validation"]
    train = dd["train"]
    assert len(train) == 108 and sum(train["synthetic"]) == 8
    assert train["text"][:100] == ds.train.texts and train["source_row"][:100] == [-1] * 100
    assert train["source_row"][100:] == [r.source_row for r in result.kept]
    assert train["target_label"][100:] == ["rare"] * 8
    # Kept rows carry all labels of their source (row 97 is common + rare).
    for row in range(100, 108):
        assert train[row]["labels"] == train[train[row]["source_row"]]["labels"]
    assert train[100]["id"] == f"r{result.kept[0].source_row}-aug-rare-0"
    assert train.features["labels"] == datasets.List(
        datasets.ClassLabel(names=["common", "rare", "other"])
    )
    assert dd["validation"]["text"] == ["held out one", "held out two"]
    assert dd["test"]["labels"] == [[0], [1]] and not any(dd["test"]["synthetic"])


def test_card_has_yaml_metadata_counts_and_attribution(published):
    _, _, _, card = published
    data = DatasetCard(card).data  # the YAML header as the Hub parses it
    meta = data.to_dict()
    assert "license" not in meta  # a toy dataset: emoclassic does not know its terms
    assert data.license is None and data.language is None
    assert data.task_categories == ["text-classification"]
    assert data.task_ids == ["multi-label-classification"]
    assert data.tags == ["emotion", "synthetic", "data-augmentation"]
    assert data.pretty_name == "skewed toy with LLM-augmented rare emotions"
    assert "fill both in here" in card and "`skewed toy`" in card and "Demszky" not in card
    aug = meta["emoclassic_augmentation"]
    assert aug["label_counts"]["rare"] == {
        "before": 3, "after": 11, "generated": 8, "kept": 8, "rejected": {}
    }  # fmt: skip
    assert aug["seed"] == 3 and aug["model"] == "fake" and aug["prompt"].startswith("Rephrase")
    assert aug["kept_row_labels"] == "all labels of the source row"
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "data/train-*"},
                {"split": "validation", "path": "data/validation-*"},
                {"split": "test", "path": "data/test-*"},
            ],
        }
    ]
    assert aug["split_sizes"] == {"train": 108, "validation": 2, "test": 2}
    assert aug["filters"] == {"length_words": [3, 100]}
    assert aug["threshold"] == 0.1 and aug["source_dataset"] == "skewed toy"
    assert "| rare | 3 | 11 | 8 | 8 | 0 |" in card
    assert card.startswith("---\n") and "\n---\n\n# skewed toy with LLM-augmented" in card


def test_card_header_keeps_a_hostile_prompt_exact(published):
    ds, result, dd, _ = published
    prompt = 'Say "{text}"\n---\nas: {emotion} # not a comment\n\tü — ok: [x]\n'
    card = dataset_card(
        ds,
        result,
        settings=SETTINGS,
        model="fake",
        prompt=prompt,
        filters={},
        split_sizes={name: len(split) for name, split in dd.items()},
    )
    parsed = DatasetCard(card)
    assert parsed.data.emoclassic_augmentation["prompt"] == prompt
    assert parsed.text.startswith("\n# skewed toy with LLM-augmented rare emotions\n")


def test_card_names_license_and_citation_only_for_goemotions(published):
    ds, result, dd, _ = published
    for source in ("GoEmotions (bundled)", "hub:google-research-datasets/go_emotions:simplified"):
        card = dataset_card(
            dataclasses.replace(ds, source=source),
            result,
            settings=SETTINGS,
            model="fake",
            prompt="p {text}",
            filters={},
            split_sizes={name: len(split) for name, split in dd.items()},
        )
        data = DatasetCard(card).data
        assert data.license == "cc-by-4.0" and data.language == ["en"]
        assert data.tags == ["emotion", "goemotions", "synthetic", "data-augmentation"]
        assert data.pretty_name == "GoEmotions with LLM-augmented rare emotions"
        assert "Demszky" in card and "CC BY 4.0" in card and "fill both in" not in card


def test_written_folder_round_trips_through_the_loader(published, tmp_path):
    ds, _, dd, card = published
    out = write_dataset(dd, tmp_path / "aug", card)
    assert (out / "README.md").read_text() == card
    written = DatasetCard.load(out / "README.md", repo_type="dataset")
    assert written.data.emoclassic_augmentation["label_counts"]["rare"]["after"] == 11
    assert written.data.configs[0]["data_files"][2] == {"split": "test", "path": "data/test-*"}
    assert str(written) == card  # the Hub's parser reads back exactly what was written
    parquet = pd.read_parquet(out / "data" / "train-00000-of-00001.parquet")
    assert parquet["text"].tolist() == dd["train"]["text"]
    assert parquet["synthetic"].sum() == 8
    loaded = load_dataset(out)
    assert loaded.label_names == ("common", "rare", "other")
    # 98 original rows carry common; 3 kept rows rephrase row 97 (common + rare).
    assert len(loaded.train) == 108 and loaded.label_counts("train").tolist() == [101, 11, 0]
    assert loaded.test.texts == ds.test.texts
    # Rewriting replaces the folder atomically; a failure leaves the old one intact.
    with pytest.raises(RuntimeError):
        write_dataset(_Exploding(), out, card)
    assert load_dataset(out).label_counts("train").tolist() == [101, 11, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["aug"]


class _Exploding:
    def save_to_disk(self, path):
        raise RuntimeError("disk full")


def test_push_to_hub_pushes_data_then_card(published, monkeypatch):
    _, _, dd, card = published
    calls = []
    monkeypatch.setattr(
        datasets.DatasetDict,
        "push_to_hub",
        lambda self, repo, private=False: calls.append(("data", repo, private, sorted(self))),
    )
    import huggingface_hub

    monkeypatch.setattr(
        huggingface_hub.DatasetCard,
        "push_to_hub",
        lambda self, repo, repo_type: calls.append(("card", repo, repo_type, self.data.license)),
    )
    url = push_to_hub(dd, "me/goemotions-aug", card, private=True)
    assert url == "https://huggingface.co/datasets/me/goemotions-aug"
    assert calls == [
        ("data", "me/goemotions-aug", True, ["test", "train", "validation"]),
        ("card", "me/goemotions-aug", "dataset", None),
    ]

    def offline(self, repo, private=False):
        raise ConnectionError("no route to host\nmore detail")

    monkeypatch.setattr(datasets.DatasetDict, "push_to_hub", offline)
    with pytest.raises(EmoclassicError, match=r"^cannot push to .*: no route to host$"):
        push_to_hub(dd, "me/x", card)
