"""Score a corpus in bounded memory, batch by batch, resumable after an interruption.

Each batch's results are written as a numbered Parquet part into a work folder
beside the output (``OUTPUT.partial/``), with a manifest that lists the
finished parts and the settings they were made with. A rerun with the same
settings skips the finished batches. Only when every batch is done are the
parts joined into the output file (written to a temporary file, then renamed),
so a file at the output path is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_path, atomic_write_text, check_output_file
from emoclassic.corpus.readers import DEFAULT_BATCH_SIZE, Batch, count_rows, read_batches
from emoclassic.corpus.tables import output_format, output_table, write_table
from emoclassic.errors import DataError, EmoclassicError, UsageError

__all__ = ["BAD_ROW_POLICIES", "BadRowError", "CorpusSummary", "score_corpus"]

#: What to do with a row whose text is missing, blank or not a string.
BAD_ROW_POLICIES = ("fail", "skip", "empty")
MANIFEST = "manifest.json"


class BadRowError(DataError):
    """A row has no usable text and ``bad_rows="fail"``.

    Attributes
    ----------
    row : int
        The row's position in the corpus (0-based).
    reason : str
        What is wrong with it.
    """

    def __init__(self, source: Path, row: int, reason: str):
        self.row, self.reason = row, reason
        super().__init__(f"{source}: row {row}: {reason} (bad_rows='skip' or 'empty' goes on)")


@dataclass
class CorpusSummary:
    """What :func:`score_corpus` did.

    Attributes
    ----------
    output : Path
        The file written.
    rows : int
        Rows read from the corpus.
    written : int
        Rows in the output (``rows`` less the skipped bad rows).
    bad_rows : int
        Rows with a missing, blank or non-string text (skipped or scored as empty).
    resumed_rows : int
        Rows whose results came from an interrupted earlier run.
    seconds : float
        Wall time of this run.
    """

    output: Path
    rows: int
    written: int
    bad_rows: int
    resumed_rows: int
    seconds: float


def score_corpus(
    model,
    source: str | Path,
    output: str | Path,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    threshold: float | str = "tuned",
    top_k: int | None = None,
    scores: bool = False,
    bad_rows: str = "fail",
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> CorpusSummary:
    r"""Score every row of a corpus file and write the predicted emotions.

    Parameters
    ----------
    model : EmotionModel
        A loaded model (:func:`emoclassic.persistence.load_model`).
    source : str or Path
        CSV, TSV, JSONL, Parquet (file or folder of parts) or text (one per line).
    output : str or Path
        ``.parquet``, ``.jsonl`` or ``.csv``. Its columns: the id (``id_column``'s
        name, or ``row``: the 0-based position), ``emotions`` (labels at or above
        their threshold, highest first) and, with ``scores``, ``score_<label>``.
    text_column, id_column : str
        Columns of the texts and of the ids to carry through.
    threshold : float or "tuned", default="tuned"
        The model's per-label thresholds, or one cut-off for every label.
    top_k : int, optional
        At most this many emotions per row.
    scores : bool, default=False
        Also write every label's score.
    bad_rows : {"fail", "skip", "empty"}, default="fail"
        A row whose text is missing, blank or not a string stops the run
        (finished batches are kept for a resume), is left out of the output, or
        is scored as the empty text. Either way it is counted.
    batch_size : int, default=16384
        Rows read, scored and written at a time: memory is bounded by it.
    n_jobs : int, default=1
        Processes that score batches side by side (each gets the model once);
        the output keeps the input order. ``-1``: one per CPU, as in joblib.
    progress : bool, optional
        Show a progress bar with rows/s (``None``: only on a terminal).

    Returns
    -------
    CorpusSummary

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emoclassic.model import EmotionModel
    >>> class Echo(EmotionModel):  # scores "joy" 1 when the text says so
    ...     def predict_proba(self, texts):
    ...         return np.array([[float("joy" in t)] for t in texts])
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.txt").write_text("joy!\nmeh\n")
    >>> summary = score_corpus(Echo(["joy"], [0.5]), folder / "in.txt", folder / "out.jsonl")
    >>> summary.rows, (folder / "out.jsonl").read_text().splitlines()
    (2, ['{"row":0,"emotions":["joy"]}', '{"row":1,"emotions":[]}'])
    """
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if bad_rows not in BAD_ROW_POLICIES:
        raise UsageError(f"bad_rows must be one of {', '.join(BAD_ROW_POLICIES)}, got {bad_rows!r}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, got {batch_size}")
    if n_jobs == 0:
        raise UsageError("n_jobs must not be 0 (-1: one process per CPU)")
    from joblib import effective_n_jobs

    n_jobs = effective_n_jobs(n_jobs)
    fmt = output_format(output)
    cutoffs = model.resolve_thresholds(threshold)
    check_output_file(output)
    _check_not_input(output, source)
    batches = read_batches(
        source, text_column=text_column, id_column=id_column, batch_size=batch_size
    )
    settings = {
        "model": _model_fingerprint(model),
        "source": _source_fingerprint(source),
        "text_column": text_column,
        "id_column": id_column,
        "cutoffs": cutoffs.tolist(),
        "top_k": top_k,
        "scores": scores,
        "batch_size": batch_size,
    }
    work = output.with_name(output.name + ".partial")
    manifest = _open_manifest(work, settings, bad_rows)
    done = len(manifest["parts"])
    resumed = sum(part["rows"] for part in manifest["parts"])
    id_name = id_column or "row"

    from tqdm.auto import tqdm

    bar = tqdm(
        total=count_rows(source),
        initial=resumed,
        unit="rows",
        unit_scale=True,
        desc="scoring",
        disable=None if progress is None else not progress,
    )
    try:
        with bar:
            todo = (_clean(batch, bad_rows, source) for k, batch in enumerate(batches) if k >= done)
            for batch, keep, bad, probabilities in _score(model, todo, n_jobs):
                ids = batch.ids if batch.ids is not None else np.arange(len(batch)) + batch.start
                table = output_table(
                    ids[keep] if bad and bad_rows == "skip" else ids,
                    id_name,
                    probabilities,
                    model.label_names,
                    cutoffs,
                    top_k=top_k,
                    with_scores=scores,
                )
                _add_part(work, manifest, table, rows=len(batch), bad=bad)
                bar.update(len(batch))
    except BaseException:
        if not manifest["parts"]:  # nothing to resume from: leave nothing behind
            shutil.rmtree(work, ignore_errors=True)
        raise
    parts = manifest["parts"]
    if not parts:
        raise DataError(f"{source}: no rows")
    try:
        with atomic_path(output) as tmp:
            write_table(_part_tables(work, parts), tmp, fmt)
    except OSError as exc:
        raise EmoclassicError(
            f"{output}: cannot be written ({exc.strerror or exc}); the scored rows are kept "
            f"in {work}, and a rerun with a writable output resumes from them"
        ) from None
    shutil.rmtree(work, ignore_errors=True)
    return CorpusSummary(
        output=output,
        rows=sum(part["rows"] for part in parts),
        written=sum(part["written"] for part in parts),
        bad_rows=sum(part["bad"] for part in parts),
        resumed_rows=resumed,
        seconds=time.perf_counter() - started,
    )


def _check_not_input(output: Path, source: Path) -> None:
    """Refuse an output that is the input file, or lies inside the input folder."""
    output, source = output.resolve(), source.resolve()
    same = output == source or (output.is_file() and source.is_file() and output.samefile(source))
    if same or (source.is_dir() and source in output.parents):
        where = "is the input file" if same else f"is inside the input folder {source}"
        raise UsageError(f"{output}: {where}; write the scores somewhere else")


def _clean(batch: Batch, policy: str, source: Path):
    """``(batch, rows to keep, bad-row count, texts to score)`` under the bad-row policy."""
    good = np.fromiter(
        (isinstance(text, str) and bool(text.strip()) for text in batch.texts),
        dtype=bool,
        count=len(batch),
    )
    bad = int(len(batch) - good.sum())
    if not bad:
        return batch, good, 0, batch.texts.tolist()
    if policy == "fail":
        row = int(np.flatnonzero(~good)[0])
        raise BadRowError(source, batch.start + row, _why(batch.texts[row]))
    if policy == "skip":
        return batch, good, bad, batch.texts[good].tolist()
    texts = batch.texts.copy()
    texts[~good] = ""
    return batch, good, bad, texts.tolist()


def _why(text) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "no text"
    if isinstance(text, str):
        return "blank text"
    return f"the text is a {type(text).__name__}, not a string"


def _score(model, work, n_jobs: int):
    """Yield ``(batch, keep, bad, probabilities)`` in input order, on ``n_jobs`` processes."""
    if n_jobs == 1:
        for batch, keep, bad, texts in work:
            yield batch, keep, bad, _probabilities(model, texts)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        n_jobs, mp_context=context, initializer=_set_worker_model, initargs=(model,)
    ) as pool:
        pending: deque = deque()
        for batch, keep, bad, texts in work:
            pending.append((batch, keep, bad, pool.submit(_worker_probabilities, texts)))
            if len(pending) > 2 * n_jobs:  # bounded: at most 2 batches per process in flight
                batch, keep, bad, future = pending.popleft()
                yield batch, keep, bad, future.result()
        while pending:
            batch, keep, bad, future = pending.popleft()
            yield batch, keep, bad, future.result()


def _probabilities(model, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, len(model.label_names)))
    return np.asarray(model.predict_proba(texts))


_WORKER_MODEL = None


def _set_worker_model(model) -> None:
    """Initialise a worker: keep the model, and exit when the parent process dies.

    A parent killed with ``kill -9`` cannot stop its workers; without this they
    would live on, holding the terminal's or the caller's output pipes open.
    """
    global _WORKER_MODEL
    _WORKER_MODEL = model
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()


def _worker_probabilities(texts: list[str]) -> np.ndarray:
    return _probabilities(_WORKER_MODEL, texts)


def _model_fingerprint(model) -> str:
    described = json.dumps(
        [list(model.label_names), model.thresholds.tolist(), model.metadata],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(described.encode()).hexdigest()


def _source_fingerprint(source: Path) -> list:
    files = sorted(source.rglob("*")) if source.is_dir() else [source]
    return [
        [str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns]
        for path in files
        if path.is_file()
    ]


def _open_manifest(work: Path, settings: dict, bad_rows: str) -> dict:
    """Return the manifest of an earlier run with these settings, or start a fresh one.

    A run stopped by a bad row (``bad_rows="fail"``) may resume under another
    policy: its finished batches had no bad row, so no policy touched them.
    """
    path = work / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            differ = [
                key for key in settings if manifest["settings"].get(key) != _plain(settings[key])
            ]
            handled = sum(part["bad"] for part in manifest["parts"])
        except (OSError, ValueError, KeyError, TypeError):
            raise UsageError(
                f"{work}: an unreadable manifest; remove the folder to start over"
            ) from None
        if handled and manifest.get("bad_rows") != bad_rows:
            differ.append("bad_rows")
        if differ:
            raise UsageError(
                f"{work}: an unfinished run with another {', '.join(differ)}; rerun it as it "
                "was to resume, or remove the folder to start over"
            )
        manifest["bad_rows"] = bad_rows
        return manifest
    if work.exists() and any(work.iterdir()):
        raise UsageError(f"{work}: exists and is not an unfinished run of this command")
    try:
        work.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{work}: cannot be created ({exc.strerror or exc})") from None
    manifest = {"settings": settings, "bad_rows": bad_rows, "parts": []}
    atomic_write_text(path, json.dumps(manifest))
    return manifest


def _plain(value):
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _add_part(work: Path, manifest: dict, table, *, rows: int, bad: int) -> None:
    """Write one part, then record it in the manifest (both atomically, in that order).

    A run killed between the two leaves an unlisted part, which the resume overwrites.
    """
    import pyarrow.parquet as pq

    name = f"part-{len(manifest['parts']):06d}.parquet"
    with atomic_path(work / name) as tmp:
        pq.write_table(table, tmp)
    manifest["parts"].append({"file": name, "rows": rows, "written": table.num_rows, "bad": bad})
    atomic_write_text(work / MANIFEST, json.dumps(manifest))


def _part_tables(work: Path, parts: list[dict]):
    import pyarrow.parquet as pq

    for part in parts:
        yield pq.read_table(work / part["file"])
