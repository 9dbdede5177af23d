"""The augmentation loop with deterministic fake backends: exact counts, stops, resume."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from augment_fakes import FakeBackend, skewed_dataset, source_of
from emoclassic.augment.cache import GenerationCache
from emoclassic.augment.filters import QualityFilter
from emoclassic.augment.loop import (
    STOP_ALL_REACHED,
    STOP_ITERATIONS,
    STOP_NO_SOURCE,
    STOP_STALL,
    AugmentSettings,
    augment_split,
)
from emoclassic.augment.report import format_summary
from emoclassic.augment.selection import format_minority_table, select_minority_labels
from emoclassic.errors import DataError, UsageError

SETTINGS = AugmentSettings(threshold=0.1, max_iterations=50, target_factor=1.5, seed=3)


# Word salad shares no word with its source: the drift check is tested in test_augment_filters.
LENIENT = QualityFilter(min_overlap=0)


def run(backend, dataset=None, settings=SETTINGS, cache=None):
    dataset = dataset or skewed_dataset()
    return augment_split(
        dataset.train,
        dataset.label_names,
        backend,
        quality=LENIENT,
        settings=settings,
        cache=cache,
        progress=False,
    )


def test_minority_selection_and_table():
    ds = skewed_dataset(n_other=1)
    minority = select_minority_labels(ds.train.labels, ds.label_names, 0.1)
    assert [(m.name, m.count) for m in minority] == [("rare", 3), ("other", 1)]
    table = format_minority_table(minority, len(ds.train), 0.1)
    assert "rare                  3    2.97%" in table
    assert "other                 1    0.99%" in table


def test_loop_grows_by_the_factor_until_the_threshold():
    backend = FakeBackend()
    result = run(backend)
    # 3/100 -> +2 (x1.5) -> 5/102 -> +3 -> 8/105 -> +3 (capped at the threshold) -> 11/108.
    assert result.stop_reason == STOP_ALL_REACHED
    assert result.iterations == 3
    stats = result.stats["rare"]
    assert (stats.before, stats.after, stats.generated, stats.kept) == (3, 11, 8, 8)
    assert stats.rejected == Counter() and stats.failed == 0
    assert [row.iteration for row in result.kept] == [1, 1, 2, 2, 2, 3, 3, 3]
    # Sources cycle through a seeded permutation of the 3 rare rows.
    rows = [row.source_row for row in result.kept]
    assert sorted(rows[:3]) == [97, 98, 99] and rows[3:6] == rows[:3] and rows[6:] == rows[:2]
    assert [row.sample for row in result.kept] == [0, 0, 0, 1, 1, 1, 2, 2]
    assert backend.produced == 8


def test_loop_counts_rejections_by_reason():
    backend = FakeBackend(junk_every=3)
    result = run(backend)
    stats = result.stats["rare"]
    # Every third answer is assistant talk. Iterations ask 2, 3, 4, 2 texts (answers 3, 6
    # and 9 are junk): 3/100 -> 5/102 -> 7/104 -> 9/106 -> 11/108.
    assert stats.rejected == Counter({"forbidden_phrase": 3})
    assert (stats.generated, stats.kept, stats.after) == (11, 8, 11)
    assert result.iterations == 4 and result.stop_reason == STOP_ALL_REACHED
    summary = format_summary(result)
    assert summary.splitlines()[0].split() == [
        "label", "before", "after", "generated", "kept", "failed", "forbidden_phrase"
    ]  # fmt: skip
    assert summary.splitlines()[2].split() == ["rare", "3", "11", "11", "8", "0", "3"]


def test_kept_rows_count_for_all_source_labels():
    result = run(FakeBackend())
    ds = skewed_dataset()
    common_added = sum(int(ds.train.labels[row.source_row, 0]) for row in result.kept)
    assert common_added == 3  # row 97 carries common and rare and was used 3 times
    assert result.stats["rare"].after == 3 + len(result.kept)


def test_iteration_limit_and_stall():
    limited = run(FakeBackend(), settings=AugmentSettings(threshold=0.1, max_iterations=2, seed=3))
    assert limited.stop_reason == STOP_ITERATIONS and limited.iterations == 2
    assert limited.stats["rare"].after == 8

    stalled = run(FakeBackend(junk_every=1))
    assert stalled.stop_reason == STOP_STALL and stalled.iterations == 1
    assert stalled.stats["rare"].rejected == Counter({"forbidden_phrase": 2})
    assert stalled.kept == []


def test_label_without_rows_is_skipped_and_no_selection_is_an_error():
    result = run(FakeBackend(), dataset=skewed_dataset(n_other=0))
    assert result.stats["other"].before == 0 and result.stats["other"].generated == 0
    with pytest.raises(UsageError, match="selects no label"):
        run(FakeBackend(), dataset=skewed_dataset(n_other=5), settings=AugmentSettings(0.001))


def test_prompts_carry_the_source_text_and_emotion():
    prompts = []

    class Recorder(FakeBackend):
        def generate(self, p, seeds):
            prompts.extend(p)
            return super().generate(p, seeds)

    run(Recorder(), settings=AugmentSettings(threshold=0.1, max_iterations=1, seed=3))
    assert len(prompts) == 2
    assert all("expresses rare." in p for p in prompts)
    assert {source_of(p) for p in prompts} <= {
        f"a rare and sad story {i} about my lost cat" for i in range(3)
    }


def test_seed_fixes_the_picks():
    def picks(seed):
        settings = AugmentSettings(threshold=0.1, seed=seed)
        return [r.source_row for r in run(FakeBackend(), settings=settings).kept]

    assert picks(3) == picks(3) == [97, 98, 99, 97, 98, 99, 97, 98]
    assert picks(4) == [99, 98, 97, 99, 98, 97, 99, 98]


def test_interrupted_run_resumes_without_regenerating(tmp_path):
    reference = run(FakeBackend(batch_size=2), cache=GenerationCache(tmp_path / "ref.jsonl"))

    path = tmp_path / "cache.jsonl"
    backend = FakeBackend(batch_size=2, interrupt_after=5)
    with pytest.raises(KeyboardInterrupt):
        run(backend, cache=GenerationCache(path))
    lines = path.read_text().splitlines()
    assert len(lines) == 5 == backend.produced  # nothing produced was lost

    backend.interrupt_after = None
    resumed = run(backend, cache=GenerationCache(path))
    assert backend.produced == 8  # only the 3 missing generations were asked for
    assert resumed.from_cache == 5 and resumed.from_backend == 3
    keys = [json.loads(line)["key"] for line in path.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 8

    rerun_backend = FakeBackend()
    again = run(rerun_backend, cache=GenerationCache(path))
    assert rerun_backend.produced == 0 and again.from_cache == 8
    assert [(r.text, r.source_row, r.sample) for r in resumed.kept] == [
        (r.text, r.source_row, r.sample) for r in reference.kept
    ]


def test_a_resumed_run_keeps_what_an_uninterrupted_run_keeps(tmp_path):
    """Each generation is seeded by its own key, not by how many calls came before it."""
    settings = AugmentSettings(threshold=0.3, max_iterations=3, seed=11)
    dataset = skewed_dataset(n_rare=6, n_other=4)
    whole = run(FakeBackend(batch_size=3), dataset, settings, GenerationCache(tmp_path / "a.jsonl"))

    path = tmp_path / "b.jsonl"
    interruptions = 0
    while True:  # killed after every 4 generations, resumed with a fresh process each time
        try:
            resumed = run(FakeBackend(batch_size=3, interrupt_after=4), dataset, settings,
                          GenerationCache(path))  # fmt: skip
            break
        except KeyboardInterrupt:
            interruptions += 1
    assert interruptions >= 3
    assert [(r.text, r.source_row, r.label, r.sample) for r in resumed.kept] == [
        (r.text, r.source_row, r.label, r.sample) for r in whole.kept
    ]
    assert len(whole.kept) > 10


def test_cache_skips_a_torn_line_and_never_stores_failures(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = GenerationCache(path)
    cache.add([{"key": "a", "text": "first"}])
    with open(path, "a") as handle:
        handle.write('{"key": "b", "te')  # killed mid-write
    reopened = GenerationCache(path)
    assert len(reopened) == 1 and reopened.skipped_lines == 1
    reopened.add([{"key": "c", "text": "third"}])
    assert GenerationCache(path).get("c") == "third"
    assert path.read_text().count("\n") == 2 and '"te\n' not in path.read_text()  # torn line cut


@pytest.mark.parametrize(
    "content",
    [
        b"text,labels\nso happy,joy\n",
        b"\x80\x04 a pickled model",
        b'{"key": 1, "text": "x"}\n',
        b"one line of a prompt, no newline",
    ],
    ids=["csv", "binary", "wrong-types", "one-line-file"],
)
def test_a_cache_path_that_names_another_file_is_refused(tmp_path, content):
    path = tmp_path / "train.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a generation cache"):
        GenerationCache(path)
    assert path.read_bytes() == content

    class Failing(FakeBackend):
        def generate(self, prompts, seeds):
            return [None for _ in prompts]  # every request failed

    cache = GenerationCache(tmp_path / "fail.jsonl")
    result = run(Failing(), cache=cache)
    assert len(cache) == 0 and not (tmp_path / "fail.jsonl").exists()
    assert result.stop_reason == STOP_STALL and result.stats["rare"].failed == 2


def test_repeated_picks_are_separate_requests_in_batches():
    backend = FakeBackend(batch_size=4)
    settings = AugmentSettings(threshold=0.3, max_iterations=1, target_factor=4.0, seed=0)
    result = run(backend, settings=settings)
    # 3 rare rows, ceil(3 * 3) = 9 picks: each row asked three times, each with its own seed.
    assert backend.calls == [4, 4, 1]
    assert result.stats["rare"].generated == 9
    assert np.array_equal(
        np.bincount([r.source_row - 97 for r in result.kept], minlength=3), [3, 3, 3]
    )


def test_minority_labels_without_rows_are_not_reported_as_reached(caplog):
    backend = FakeBackend()
    result = run(backend, dataset=skewed_dataset(n_rare=0))  # rare and other: 0 rows each
    assert [m.name for m in result.minority] == ["rare", "other"]
    assert result.stop_reason == STOP_NO_SOURCE and result.iterations == 0
    assert backend.produced == 0 and result.kept == []
    assert "label 'rare' has no training row to rephrase; skipped" in caplog.text


def test_augmented_split_marks_and_groups_the_kept_rows():
    dataset = skewed_dataset()
    result = run(FakeBackend())
    split = result.augmented_split(dataset.train)
    assert len(split) == 100 + len(result.kept) == 108
    assert split.synthetic.sum() == 8 and not split.synthetic[:100].any()
    assert [split.texts[100 + i] for i in range(8)] == [r.text for r in result.kept]
    assert split.groups[100:].tolist() == [r.source_row for r in result.kept]
    assert np.array_equal(split.labels[100:], dataset.train.labels[split.groups[100:]])
    assert split.ids[100] == f"r{result.kept[0].source_row}-aug-rare-0"
