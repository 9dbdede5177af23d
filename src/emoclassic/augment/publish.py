"""Publishing: the augmented ``datasets.DatasetDict``, its card, files on disk and the Hub.

The output folder holds the ``save_to_disk`` layout (``dataset_dict.json`` plus
one folder per split, which :func:`datasets.load_from_disk` and
``emoclassic fit --data FOLDER`` open), the same splits as Parquet under
``data/`` (named as :meth:`datasets.DatasetDict.push_to_hub` names them, and
listed in the card's ``configs``, so the folder can also be uploaded to the
Hub as is) and the dataset card ``README.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_path
from emoclassic.augment.loop import AugmentResult, AugmentSettings
from emoclassic.datasets import GOEMOTIONS_HUB_ID, EmotionDataset, EmotionSplit
from emoclassic.errors import EmoclassicError, first_line

__all__ = ["build_dataset_dict", "dataset_card", "is_goemotions", "push_to_hub", "write_dataset"]

GOEMOTIONS_CITATION = """@inproceedings{demszky2020goemotions,
  title = {{GoEmotions: A Dataset of Fine-Grained Emotions}},
  author = {Demszky, Dorottya and Movshovitz-Attias, Dana and Ko, Jeongwoo and
            Cowen, Alan and Nemade, Gaurav and Ravi, Sujith},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for
               Computational Linguistics (ACL)},
  year = {2020}
}"""


def _features(label_names: Sequence[str]):
    import datasets

    return datasets.Features(
        {
            "text": datasets.Value("string"),
            "labels": datasets.List(datasets.ClassLabel(names=list(label_names))),
            "id": datasets.Value("string"),
            "synthetic": datasets.Value("bool"),
            "source_row": datasets.Value("int64"),
            "source_id": datasets.Value("string"),
            "target_label": datasets.Value("string"),
        }
    )


def _original_columns(split: EmotionSplit, name: str) -> dict[str, list]:
    ids = split.ids or [f"{name}-{i}" for i in range(len(split))]
    return {
        "text": list(split.texts),
        "labels": [np.flatnonzero(row).tolist() for row in split.labels],
        "id": list(ids),
        "synthetic": [False] * len(split),
        "source_row": [-1] * len(split),
        "source_id": [None] * len(split),
        "target_label": [None] * len(split),
    }


def build_dataset_dict(dataset: EmotionDataset, result: AugmentResult):
    """Return the augmented ``datasets.DatasetDict``.

    ``train`` holds the original rows (``synthetic=False``, ``source_row=-1``)
    followed by the kept generations (``synthetic=True``, ``source_row`` = the
    index of the rephrased row in the original train split, ``source_id`` its
    id, ``target_label`` the emotion it was generated for). A kept row carries
    all labels of its source row. ``validation`` and ``test`` are the original
    splits, unchanged. ``labels`` is a list of ``ClassLabel`` ids, so the label
    names travel with the data.
    """
    import datasets

    features = _features(dataset.label_names)
    train = dataset.train
    columns = _original_columns(train, "train")
    for row in result.kept:
        source_id = columns["id"][row.source_row]
        columns["text"].append(row.text)
        columns["labels"].append(np.flatnonzero(train.labels[row.source_row]).tolist())
        columns["id"].append(row.row_id(source_id))
        columns["synthetic"].append(True)
        columns["source_row"].append(row.source_row)
        columns["source_id"].append(source_id)
        columns["target_label"].append(row.label)
    splits = {"train": datasets.Dataset.from_dict(columns, features=features)}
    for name, split in dataset.splits.items():
        if name != "train":
            splits[name] = datasets.Dataset.from_dict(
                _original_columns(split, name), features=features
            )
    return datasets.DatasetDict(splits)


def dataset_card(
    dataset: EmotionDataset,
    result: AugmentResult,
    *,
    settings: AugmentSettings,
    model: str,
    prompt: str,
    filters: dict,
    split_sizes: dict[str, int],
) -> str:
    """Write the dataset card: YAML metadata, then a readable summary.

    The YAML header is built by ``huggingface_hub``'s
    :class:`~huggingface_hub.DatasetCardData` and the card is checked by
    parsing it back with :class:`~huggingface_hub.DatasetCard`, which is how
    the Hub reads it. It records the Parquet ``configs`` and an
    ``emoclassic_augmentation`` block with the per-label counts before and
    after, the filters, the model, the prompt and the seed. For GoEmotions
    (bundled or from the Hub) the card carries its license (CC BY 4.0) and
    citation. For any other data it names neither, and says so: the user knows
    their data's terms, emoclassic does not.

    Parameters
    ----------
    dataset : EmotionDataset
        The original data the run augmented.
    result : AugmentResult
        What the run produced.
    settings : AugmentSettings
        The loop's settings.
    model : str
        The generator's name.
    prompt : str
        The prompt template's text.
    filters : dict
        The quality filters' settings (:meth:`QualityFilter.describe`).
    split_sizes : dict of str to int
        Rows per split of the published dataset.

    Returns
    -------
    str
        The ``README.md`` text.

    Examples
    --------
    >>> from huggingface_hub import DatasetCard
    >>> from emoclassic.augment.loop import LabelStats
    >>> split = EmotionSplit(["a b c"], np.ones((1, 1), dtype=np.uint8))
    >>> data = EmotionDataset(("joy",), {"train": split}, source="GoEmotions (bundled)")
    >>> stats = {"joy": LabelStats("joy", 1, 1)}
    >>> result = AugmentResult([], stats, [], stop_reason="done", iterations=1)
    >>> card = dataset_card(data, result, settings=AugmentSettings(), model="m",
    ...                     prompt="p", filters={}, split_sizes={"train": 1})
    >>> meta = DatasetCard(card).data
    >>> meta.license, meta.configs[0]["data_files"]
    ('cc-by-4.0', [{'split': 'train', 'path': 'data/train-*'}])
    """
    from huggingface_hub import DatasetCard

    data = _card_data(
        dataset,
        result,
        settings=settings,
        model=model,
        prompt=prompt,
        filters=filters,
        split_sizes=split_sizes,
    )
    body = _card_body(dataset, result, settings=settings, model=model, prompt=prompt)
    card = f"---\n{data.to_yaml()}\n---\n{body}"
    DatasetCard(card)  # parses the header as the Hub does (yaml.safe_load); raises if invalid
    return card


def _label_counts(result: AugmentResult) -> dict[str, dict]:
    return {
        name: {
            "before": s.before,
            "after": s.after,
            "generated": s.generated,
            "kept": s.kept,
            "rejected": dict(sorted(s.rejected.items())),
        }
        for name, s in result.stats.items()
    }


def _card_data(
    dataset: EmotionDataset,
    result: AugmentResult,
    *,
    settings: AugmentSettings,
    model: str,
    prompt: str,
    filters: dict,
    split_sizes: dict[str, int],
):
    """Return the card's metadata as a ``huggingface_hub.DatasetCardData``."""
    from huggingface_hub import DatasetCardData

    goemotions = is_goemotions(dataset)
    name = "GoEmotions" if goemotions else dataset.source
    return DatasetCardData(
        license="cc-by-4.0" if goemotions else None,
        language=["en"] if goemotions else None,
        task_categories=["text-classification"],
        task_ids=["multi-label-classification"],
        tags=["emotion", *(["goemotions"] * goemotions), "synthetic", "data-augmentation"],
        pretty_name=f"{name} with LLM-augmented rare emotions",
        configs=[
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": f"data/{split}-*"} for split in split_sizes
                ],
            }
        ],
        emoclassic_augmentation={
            "source_dataset": dataset.source,
            "threshold": settings.threshold,
            "target_factor": settings.target_factor,
            "max_iterations": settings.max_iterations,
            "iterations_run": result.iterations,
            "stop_reason": result.stop_reason,
            "seed": settings.seed,
            "model": model,
            "prompt": prompt,
            "filters": filters,
            "kept_row_labels": "all labels of the source row",
            "split_sizes": split_sizes,
            "label_counts": _label_counts(result),
        },
    )


def _card_body(
    dataset: EmotionDataset,
    result: AugmentResult,
    *,
    settings: AugmentSettings,
    model: str,
    prompt: str,
) -> str:
    """Return the card's Markdown after the YAML header."""
    goemotions = is_goemotions(dataset)
    name = "GoEmotions" if goemotions else dataset.source
    rows = "\n".join(
        f"| {label} | {s.before} | {s.after} | {s.generated} | {s.kept} | "
        f"{sum(s.rejected.values())} |"
        for label, s in result.stats.items()
    )
    terms = _GOEMOTIONS_TERMS if goemotions else _UNKNOWN_TERMS.format(source=dataset.source)
    return f"""
# {name} with LLM-augmented rare emotions

Made with `emoclassic augment`. The `train` split is the original training
data plus rephrasings of examples of the labels whose share of training rows
was under {settings.threshold:g}. The `validation` and `test` splits are the
original ones, unchanged, so evaluation stays comparable.

Generated by `{model}` (seed {settings.seed}); the loop ran {result.iterations}
iteration(s) and stopped because {result.stop_reason}.

## Columns

- `text`, `labels` (list of `ClassLabel` ids), `id`
- `synthetic`: `true` for generated rows
- `source_row`, `source_id`: the original training row a generated row rephrases
  (`-1`/null for original rows)
- `target_label`: the emotion the rephrasing was asked to express

A generated row carries **all** labels of its source row: rephrasing a comment
labelled grief and sadness to stress grief keeps it a grief-and-sadness example.

## Label counts in train

| label | before | after | generated | kept | rejected |
|---|---:|---:|---:|---:|---:|
{rows}

## Prompt

```text
{prompt}
```

## License and attribution

{terms}"""


def is_goemotions(dataset: EmotionDataset) -> bool:
    """Whether the data is GoEmotions as emoclassic loads it (bundled or from the Hub).

    Examples
    --------
    >>> import numpy as np
    >>> split = EmotionSplit(["a"], np.ones((1, 1), dtype=np.uint8))
    >>> is_goemotions(EmotionDataset(("joy",), {"train": split}, source="GoEmotions (bundled)"))
    True
    >>> is_goemotions(EmotionDataset(("joy",), {"train": split}, source="my.csv"))
    False
    """
    return dataset.source == "GoEmotions (bundled)" or dataset.source.startswith(
        f"hub:{GOEMOTIONS_HUB_ID}"
    )


_GOEMOTIONS_TERMS = f"""GoEmotions is released by Google under the Creative Commons Attribution 4.0
International license (CC BY 4.0), and so is this derived dataset. Cite:

```bibtex
{GOEMOTIONS_CITATION}
```

Demszky et al. (2020), "GoEmotions: A Dataset of Fine-Grained Emotions", ACL 2020.
"""

_UNKNOWN_TERMS = """The original rows come from `{source}`. emoclassic does not know that data's
license or how it should be cited: **fill both in here** (and add a `license:`
field to the YAML header) before you publish this dataset. The generated rows
are derived from the original ones and inherit their terms.
"""


def write_dataset(dataset_dict, out: str | Path, card: str) -> Path:
    """Write ``save_to_disk`` files, Parquet copies and the card, atomically.

    Everything is written to a temporary sibling folder that replaces ``out``
    only when complete, so an interrupted write never leaves a half dataset.
    """
    import datasets

    out = Path(out)
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a few seconds of writing; the CLI prints the result
    try:
        with atomic_path(out, directory=True) as tmp:
            dataset_dict.save_to_disk(str(tmp))
            (tmp / "data").mkdir()
            for name, split in dataset_dict.items():
                # The file name push_to_hub uses, so the card's `configs` fits both.
                split.to_parquet(str(tmp / "data" / f"{name}-00000-of-00001.parquet"))
            (tmp / "README.md").write_text(card, encoding="utf-8")
    finally:
        if bars:
            datasets.enable_progress_bars()
    return out


def push_to_hub(dataset_dict, repo_id: str, card: str, *, private: bool = False) -> str:
    """Publish the dataset and its card to the Hugging Face Hub.

    Needs a token (``huggingface-cli login`` or ``HF_TOKEN``) with write
    access to ``repo_id``. The splits are uploaded by
    :meth:`datasets.DatasetDict.push_to_hub` as Parquet; the card then
    replaces the generated README.

    Returns
    -------
    str
        The dataset's URL.
    """
    try:
        dataset_dict.push_to_hub(repo_id, private=private)
        from huggingface_hub import DatasetCard

        DatasetCard(card).push_to_hub(repo_id, repo_type="dataset")
    except Exception as exc:  # network, auth and hub errors come in many types
        reason = first_line(exc)
        raise EmoclassicError(f"cannot push to the Hub repository {repo_id!r}: {reason}") from None
    return f"https://huggingface.co/datasets/{repo_id}"
