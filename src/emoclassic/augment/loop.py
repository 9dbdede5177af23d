"""The iterative augmentation loop: pick sources, generate, filter, repeat.

Each iteration aims to multiply the count of every label still under the
threshold share by ``target_factor`` (never overshooting the count that
reaches the threshold). For each such label it takes the next source rows
from a seeded permutation of the label's original training rows, asks the
backend for one rephrasing per pick, filters the outputs and keeps the
survivors. A kept row takes **all** labels of its source row (multi-label
examples stay multi-label), so it also raises the counts of the source's other
labels. The loop stops when every minority label reaches the threshold, when
``max_iterations`` is hit, or when an iteration keeps nothing (a stall).

Resuming is exact: with the same data, settings and seed, the loop makes the
same picks, finds their generations in the cache, takes the same filter
decisions, and only asks the backend for what the cache does not hold. Each
generation is sampled with a seed derived from its own cache key
(:func:`generation_seed`), never from a call counter, so what the backend
returns for a request does not depend on how many requests came before it in
this process.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emoclassic.augment.backend import Generator
from emoclassic.augment.cache import GenerationCache, generation_key
from emoclassic.augment.filters import QualityFilter
from emoclassic.augment.prompts import PromptTemplate
from emoclassic.augment.selection import MinorityLabel, require_minority_labels
from emoclassic.datasets import EmotionSplit
from emoclassic.errors import InvalidParameter

__all__ = [
    "STOP_ALL_REACHED",
    "STOP_ITERATIONS",
    "STOP_NO_SOURCE",
    "STOP_STALL",
    "AugmentResult",
    "AugmentSettings",
    "KeptRow",
    "LabelStats",
    "augment_split",
    "generation_seed",
]

log = logging.getLogger(__name__)

STOP_ALL_REACHED = "every minority label reached the threshold share"
STOP_NO_SOURCE = "no minority label has a training row to rephrase"
STOP_ITERATIONS = "the iteration limit was reached"
STOP_STALL = "an iteration kept nothing (stall)"


@dataclass(frozen=True)
class AugmentSettings:
    """Loop settings.

    Parameters
    ----------
    threshold : float, default=0.015
        Labels under this share of training rows are augmented, up to it.
    max_iterations : int, default=50
        Iteration limit.
    target_factor : float, default=1.5
        Each iteration aims to multiply a minority label's count by this.
    seed : int, default=42
        Fixes the source picks, the cache keys and the backend's sampling.
    """

    threshold: float = 0.015
    max_iterations: int = 50
    target_factor: float = 1.5
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise InvalidParameter(
                "threshold", f"must be a share between 0 and 1, got {self.threshold}"
            )
        if self.max_iterations < 1:
            raise InvalidParameter(
                "max_iterations", f"must be at least 1, got {self.max_iterations}"
            )
        if self.target_factor <= 1.0:
            raise InvalidParameter("target_factor", f"must be above 1, got {self.target_factor}")


@dataclass
class LabelStats:
    """Counts of one minority label over a run."""

    name: str
    before: int
    after: int
    generated: int = 0
    kept: int = 0
    failed: int = 0
    rejected: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class KeptRow:
    """A kept generation: its text, source row (index in train), target label and origin."""

    text: str
    source_row: int
    label: str
    sample: int
    iteration: int

    def row_id(self, source_id: str) -> str:
        """Return the generated row's id, built from its source row's id.

        Examples
        --------
        >>> KeptRow("so sad", 3, "grief", 1, 2).row_id("ed0b9f2")
        'ed0b9f2-aug-grief-1'
        """
        return f"{source_id}-aug-{self.label}-{self.sample}"


@dataclass
class AugmentResult:
    """What a run produced; :mod:`emoclassic.augment.publish` turns it into a dataset."""

    minority: list[MinorityLabel]
    stats: dict[str, LabelStats]
    kept: list[KeptRow]
    stop_reason: str
    iterations: int
    requested: int = 0
    from_cache: int = 0
    from_backend: int = 0

    def augmented_split(self, train: EmotionSplit) -> EmotionSplit:
        """Return ``train`` followed by the kept rows, marked synthetic and grouped by source.

        A kept row takes all labels of its source row, and the source row's
        position as its group (see :class:`~emoclassic.datasets.EmotionSplit`).
        """
        rows = np.array([row.source_row for row in self.kept], dtype=np.int64)
        n = len(train)
        return EmotionSplit(
            list(train.texts) + [row.text for row in self.kept],
            np.concatenate([train.labels, train.labels[rows]]) if len(rows) else train.labels,
            None
            if train.ids is None
            else list(train.ids) + [r.row_id(train.ids[r.source_row]) for r in self.kept],
            np.concatenate([np.zeros(n, dtype=bool), np.ones(len(rows), dtype=bool)]),
            np.concatenate([np.arange(n, dtype=np.int64), rows]),
        )

    def rejected_total(self) -> Counter:
        """Rejections by reason over all labels."""
        total: Counter = Counter()
        for stats in self.stats.values():
            total.update(stats.rejected)
        return total


@dataclass(frozen=True)
class _Request:
    label: MinorityLabel
    row: int
    sample: int
    key: str


def augment_split(
    train: EmotionSplit,
    label_names: Sequence[str],
    backend: Generator,
    *,
    template: PromptTemplate | None = None,
    quality: QualityFilter | None = None,
    settings: AugmentSettings | None = None,
    cache: GenerationCache | None = None,
    progress: bool | None = None,
) -> AugmentResult:
    """Augment the minority labels of a training split.

    Parameters
    ----------
    train : EmotionSplit
        The original training rows.
    label_names : sequence of str
        Label names (columns of ``train.labels``).
    backend : Generator
        Any object with ``model_name``, ``batch_size`` and
        ``generate(prompts, n, seed)``.
    template : PromptTemplate, optional
        Defaults to the template shipped with the package.
    quality : QualityFilter, optional
        Defaults to ``QualityFilter()``.
    settings : AugmentSettings, optional
        Threshold, iteration limit, target factor and seed.
    cache : GenerationCache, optional
        Where generations are stored as they arrive; defaults to memory only.
    progress : bool or None
        Show a tqdm bar (``None``: only on a terminal).

    Returns
    -------
    AugmentResult

    Raises
    ------
    InvalidParameter
        When the threshold selects no label.
    """
    template = template or PromptTemplate.default()
    quality = quality or QualityFilter()
    if not quality.instructions:
        quality = dataclasses.replace(quality, instructions=template.instructions)
    settings = settings or AugmentSettings()
    cache = cache if cache is not None else GenerationCache(None)
    minority = require_minority_labels(train.labels, label_names, settings.threshold)
    for m in minority:
        if m.count == 0:
            log.warning("label %r has no training row to rephrase; skipped", m.name)
    run = _AugmentRun(train, minority, backend, template, quality, settings, cache)
    for iteration in range(1, settings.max_iterations + 1):
        active = run.below_threshold()
        if not active:
            run.result.stop_reason = STOP_ALL_REACHED if run.usable else STOP_NO_SOURCE
            break
        run.result.iterations = iteration
        requests = run.requests(active)
        run.generate(requests, iteration, progress)
        kept_now = sum(run.filter_and_keep(m, requests, iteration) for m in active)
        log.info("iteration %d: %d requests, %d kept", iteration, len(requests), kept_now)
        if kept_now == 0:
            run.result.stop_reason = STOP_STALL
            break
    else:
        if not run.below_threshold():
            run.result.stop_reason = STOP_ALL_REACHED
    for m in minority:
        run.result.stats[m.name].after = int(run.counts[m.index])
    return run.result


class _AugmentRun:
    """The state of one :func:`augment_split` run and its steps.

    Each minority label walks a seeded permutation of its training rows; the
    label counts and the row total grow as generated rows are kept, so the
    shares (and what is still wanted) follow the augmented split.
    """

    def __init__(self, train, minority, backend, template, quality, settings, cache) -> None:
        self.train, self.backend, self.template = train, backend, template
        self.quality, self.settings, self.cache = quality, settings, cache
        self.counts = train.labels.sum(axis=0).astype(np.int64)
        self.n_rows = len(train)
        self.usable = [m for m in minority if m.count > 0]
        self.orders = {
            m.name: np.random.default_rng([settings.seed, m.index]).permutation(
                np.flatnonzero(train.labels[:, m.index])
            )
            for m in self.usable
        }
        self.class_texts = {
            name: [train.texts[r] for r in np.sort(order)] for name, order in self.orders.items()
        }
        self.pointers = dict.fromkeys(self.orders, 0)
        self.samples: Counter = Counter()
        self.kept_texts: dict[str, list[str]] = defaultdict(list)
        stats = {m.name: LabelStats(m.name, m.count, m.count) for m in minority}
        self.result = AugmentResult(minority, stats, [], STOP_ITERATIONS, 0)

    def below_threshold(self) -> list[MinorityLabel]:
        """Return the usable labels whose share is still under the threshold."""
        threshold = self.settings.threshold
        return [m for m in self.usable if self.counts[m.index] / self.n_rows < threshold]

    def requests(self, active: Sequence[MinorityLabel]) -> list[_Request]:
        """One request per wanted row: the label's next source row and its sample number."""
        requests = []
        for m in active:
            wanted = _wanted(
                int(self.counts[m.index]), self.n_rows, self.settings.threshold, self.settings
            )
            for _ in range(wanted):
                order = self.orders[m.name]
                row = int(order[self.pointers[m.name] % len(order)])
                self.pointers[m.name] += 1
                sample = self.samples[row, m.name]
                self.samples[row, m.name] += 1
                key = generation_key(
                    model=self.backend.model_name,
                    template_sha=self.template.sha256,
                    source_text=self.train.texts[row],
                    label=m.name,
                    sample=sample,
                    seed=self.settings.seed,
                )
                requests.append(_Request(m, row, sample, key))
        return requests

    def generate(self, requests: list[_Request], iteration: int, progress: bool | None) -> None:
        """Ask the backend for the requests the cache does not hold, with a progress bar."""
        from tqdm.auto import tqdm

        result = self.result
        result.requested += len(requests)
        cached = sum(r.key in self.cache for r in requests)
        result.from_cache += cached
        with tqdm(
            total=len(requests),
            initial=cached,
            desc=f"iteration {iteration}",
            unit="text",
            disable=None if progress is None else not progress,
        ) as bar:
            result.from_backend += _generate_missing(
                requests, self.train, self.backend, self.template, self.cache, bar
            )

    def filter_and_keep(
        self, label: MinorityLabel, requests: list[_Request], iteration: int
    ) -> int:
        """Run the quality filters on one label's generations; keep the passes; count them."""
        mine = [r for r in requests if r.label.name == label.name]
        ready = [r for r in mine if r.key in self.cache]
        label_stats = self.result.stats[label.name]
        label_stats.failed += len(mine) - len(ready)
        label_stats.generated += len(ready)
        decisions = self.quality.apply(
            [self.cache.get(r.key) for r in ready],
            [self.train.texts[r.row] for r in ready],
            self.class_texts[label.name],
            self.kept_texts[label.name],
        )
        kept_now = 0
        for request, (text, reason) in zip(ready, decisions, strict=True):
            if reason is not None:
                label_stats.rejected[reason] += 1
                continue
            self.kept_texts[label.name].append(text)
            self.result.kept.append(
                KeptRow(text, request.row, label.name, request.sample, iteration)
            )
            self.counts += self.train.labels[request.row]
            self.n_rows += 1
            label_stats.kept += 1
            kept_now += 1
        return kept_now


def _wanted(count: int, n_rows: int, threshold: float, settings: AugmentSettings) -> int:
    """Rows to add this iteration: grow by the factor, but stop at the threshold share."""
    to_threshold = math.ceil((threshold * n_rows - count) / (1.0 - threshold) - 1e-9)
    grow = math.ceil(count * (settings.target_factor - 1.0) - 1e-9)
    return max(1, min(to_threshold, grow))


def generation_seed(key: str) -> int:
    """Return the sampling seed of one generation: the first 32 bits of its cache key.

    Examples
    --------
    >>> generation_seed("00000001abcdef")
    1
    """
    return int(key[:8], 16)


def _generate_missing(
    requests: list[_Request],
    train: EmotionSplit,
    backend: Generator,
    template: PromptTemplate,
    cache: GenerationCache,
    bar,
) -> int:
    """Ask the backend for the requests the cache lacks; cache each batch at once."""
    missing = [request for request in requests if request.key not in cache]
    produced = 0
    for start in range(0, len(missing), backend.batch_size):
        chunk = missing[start : start + backend.batch_size]
        prompts = [template.render(train.texts[r.row], r.label.name) for r in chunk]
        texts = backend.generate(prompts, [generation_seed(r.key) for r in chunk])
        records = [
            {
                "key": request.key,
                "text": text,
                "label": request.label.name,
                "source_row": request.row,
                "source": train.texts[request.row],
                "sample": request.sample,
                "model": backend.model_name,
            }
            for request, text in zip(chunk, texts, strict=True)
            if text is not None
        ]
        cache.add(records)
        produced += len(records)
        bar.update(len(chunk))
    return produced
