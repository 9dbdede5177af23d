"""Score a corpus in bounded memory, batch by batch, resumable after an interruption.

Each batch's results are written as a numbered Parquet part into a work folder
beside the output (``OUTPUT.partial/``), with a manifest that lists the
finished parts and the settings they were made with. A rerun with the same
settings skips the finished batches. Only when every batch is done are the
parts joined into the output file (written to a temporary file, then renamed),
so a file at the output path is always complete.
"""

from __future__ import annotations

import functools
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

from emoclassic.atomic import (
    atomic_path,
    atomic_write_text,
    check_output_file,
    remove_stale_temporaries,
)
from emoclassic.corpus.readers import (
    DEFAULT_BATCH_SIZE,
    Batch,
    MalformedCorpusError,
    count_rows,
    read_batches,
)
from emoclassic.corpus.tables import (
    check_csv_labels,
    check_id_column,
    conform_ids,
    output_format,
    output_table,
    unified_id_type,
    write_table,
)
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
    n_jobs = _check_arguments(bad_rows, batch_size, n_jobs)
    fmt = output_format(output)
    cutoffs = model.resolve_thresholds(threshold)
    _check_output(output, source, fmt, model.label_names, id_column, scores)
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
    make_table = functools.partial(
        _batch_table,
        id_name=id_column or "row",
        label_names=model.label_names,
        cutoffs=cutoffs,
        top_k=top_k,
        scores=scores,
        skip=bad_rows == "skip",
    )
    work = output.with_name(output.name + ".partial")
    manifest = _open_manifest(work, settings, bad_rows, _empty_table(make_table).schema)
    done, resumed = len(manifest["parts"]), sum(part["rows"] for part in manifest["parts"])
    todo = (_clean(batch, bad_rows, source) for k, batch in enumerate(batches) if k >= done)
    with _progress_bar(source, resumed, progress) as bar:
        _score_parts(model, todo, work, manifest, n_jobs, make_table, bar.update)
    parts = manifest["parts"]
    if not parts:
        shutil.rmtree(work, ignore_errors=True)
        raise DataError(f"{source}: no rows")
    _write_output(work, parts, output, fmt, id_column or "row")
    shutil.rmtree(work, ignore_errors=True)
    return CorpusSummary(
        output=output,
        rows=sum(part["rows"] for part in parts),
        written=sum(part["written"] for part in parts),
        bad_rows=sum(part["bad"] for part in parts),
        resumed_rows=resumed,
        seconds=time.perf_counter() - started,
    )


def _check_arguments(bad_rows: str, batch_size: int, n_jobs: int) -> int:
    """Refuse a bad value; return the number of processes (``-1``: one per CPU)."""
    if bad_rows not in BAD_ROW_POLICIES:
        raise UsageError(f"bad_rows must be one of {', '.join(BAD_ROW_POLICIES)}, got {bad_rows!r}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, got {batch_size}")
    if n_jobs == 0:
        raise UsageError("n_jobs must not be 0 (-1: one process per CPU)")
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs)


def _check_output(output: Path, source: Path, fmt: str, label_names, id_column, scores) -> None:
    """Refuse, before any work, an output that cannot be written or would be wrong."""
    check_output_file(output)
    _check_not_input(output, source)
    check_id_column(id_column, label_names, with_scores=scores)
    if fmt == "csv":
        check_csv_labels(output, label_names)


def _batch_table(
    batch: Batch,
    keep: np.ndarray,
    bad: int,
    probabilities: np.ndarray,
    *,
    id_name: str,
    label_names,
    cutoffs: np.ndarray,
    top_k: int | None,
    scores: bool,
    skip: bool,
):
    """Build the output table of one scored batch (a skipped bad row has no row)."""
    ids = batch.ids if batch.ids is not None else np.arange(len(batch)) + batch.start
    return output_table(
        ids[keep] if bad and skip else ids,
        id_name,
        probabilities,
        label_names,
        cutoffs,
        top_k=top_k,
        with_scores=scores,
    )


def _empty_table(make_table):
    """Build the output table of no rows: the schema every part must have."""
    labels = make_table.keywords["label_names"]
    empty = Batch(0, np.empty(0, dtype=object), np.empty(0, dtype=object))
    return make_table(empty, np.empty(0, dtype=bool), 0, np.zeros((0, len(labels))))


def _progress_bar(source: Path, resumed: int, progress: bool | None):
    from tqdm.auto import tqdm

    return tqdm(
        total=count_rows(source),
        initial=resumed,
        unit="rows",
        unit_scale=True,
        desc="scoring",
        disable=None if progress is None else not progress,
    )


def _score_parts(model, todo, work: Path, manifest: dict, n_jobs: int, make_table, advance):
    """Score the batches not yet in the manifest, each into a part; clean up as the error says.

    A run stopped by an interruption or a bad row keeps its parts for a resume. A
    corpus that is malformed further on can never finish as it is, and its
    input must change, so its parts are removed, as they are when there are none.
    """
    try:
        for batch, keep, bad, probabilities in _score(model, todo, n_jobs):
            table = make_table(batch, keep, bad, probabilities)
            _add_part(work, manifest, table, rows=len(batch), bad=bad)
            advance(len(batch))
    except MalformedCorpusError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except BaseException:
        if not manifest["parts"]:  # nothing to resume from: leave nothing behind
            shutil.rmtree(work, ignore_errors=True)
        raise


def _write_output(work: Path, parts: list[dict], output: Path, fmt: str, id_name: str) -> None:
    """Join the parts into ``output`` (a temporary file, renamed), with one id type."""
    id_type = _id_type(work, parts, id_name)
    kept = f"the scored rows are kept in {work}, and a rerun with a writable output resumes"
    try:
        with atomic_path(output) as tmp:
            write_table(_part_tables(work, parts, id_name, id_type), tmp, fmt)
    except OSError as exc:  # writing the temporary file
        reason = exc.strerror or exc
        raise EmoclassicError(f"{output}: cannot be written ({reason}); {kept}") from None
    except EmoclassicError as exc:  # renaming it (atomic_path words that failure)
        raise EmoclassicError(f"{exc}; {kept}") from None


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


def _open_manifest(work: Path, settings: dict, bad_rows: str, expected) -> dict:
    """Return the manifest of an earlier run with these settings, or a fresh one.

    The work folder is only created with the first part (:func:`_add_part`):
    a run that fails before it leaves nothing behind. A run stopped by a bad
    row (``bad_rows="fail"``) may resume under another policy: its finished
    batches had no bad row, so no policy touched them.

    Raises
    ------
    UsageError
        ``work`` is not a folder, is a folder that another command wrote, or
        holds a damaged manifest or part, or a run with other settings.
    """
    _check_work_folder(work)
    path = work / MANIFEST
    if path.is_file():
        manifest = _read_manifest(work, path)
        differ = [key for key in settings if manifest["settings"].get(key) != _plain(settings[key])]
        if any(part["bad"] for part in manifest["parts"]) and manifest["bad_rows"] != bad_rows:
            differ.append("bad_rows")
        if differ:
            raise UsageError(
                f"{work}: an unfinished run with another {', '.join(differ)}; rerun it as it "
                "was to resume, or remove the folder to start over"
            )
        _check_parts(work, manifest["parts"], expected)
        manifest["bad_rows"] = bad_rows
        return manifest
    remove_stale_temporaries(path)  # a run killed while it wrote its first manifest
    if work.is_dir() and any(work.iterdir()):
        raise UsageError(
            f"{work}: exists and is not an unfinished run of this command; remove it or "
            "choose another output path"
        )
    return {"settings": settings, "bad_rows": bad_rows, "parts": []}


def _check_work_folder(work: Path) -> None:
    try:
        taken = work.is_symlink() or work.exists()
        folder = work.is_dir()
    except OSError as exc:  # a name too long for the file system
        raise UsageError(f"{work}: cannot be used ({exc.strerror or exc})") from None
    if taken and not folder:
        raise UsageError(
            f"{work}: exists and is not a folder (where an unfinished run keeps its batches); "
            "remove it or choose another output path"
        )


def _read_manifest(work: Path, path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        manifest = None
    if not _is_manifest(manifest):
        raise UsageError(f"{work}: its {MANIFEST} is damaged; remove the folder to start over")
    return manifest


def _is_manifest(value) -> bool:
    """Whether ``value`` has the shape :func:`_add_part` writes (a hand edit may break it)."""
    if not isinstance(value, dict) or not isinstance(value.get("settings"), dict):
        return False
    parts = value.get("parts")
    if value.get("bad_rows") not in BAD_ROW_POLICIES or not isinstance(parts, list):
        return False
    batch_size = value["settings"].get("batch_size")
    if type(batch_size) is not int or batch_size < 1:
        return False
    return all(_is_part(part, k, batch_size, k == len(parts) - 1) for k, part in enumerate(parts))


def _is_part(part, k: int, batch_size, last: bool) -> bool:
    if not isinstance(part, dict) or part.get("file") != _part_name(k):
        return False
    counts = [part.get(key) for key in ("rows", "written", "bad")]
    if not all(type(count) is int and count >= 0 for count in counts):
        return False
    rows, written, bad = counts
    full = rows == batch_size or (last and 0 < rows < batch_size)
    return full and written in (rows, rows - bad) and bad <= rows


def _check_parts(work: Path, parts: list[dict], expected) -> None:
    """Refuse a listed part that is missing, unreadable or not of this run's columns."""
    for part in parts:
        schema, rows = _part_footer(work, part)
        same = schema.names == expected.names and all(
            schema.field(name).type == expected.field(name).type for name in expected.names[1:]
        )
        if rows != part["written"] or not same:
            raise UsageError(
                f"{work}: {part['file']} does not match the manifest; remove the folder to "
                "start over"
            )


def _part_footer(work: Path, part: dict):
    """``(Arrow schema, rows)`` of a part, from its footer."""
    import pyarrow.parquet as pq

    metadata = _read_part(work, part, pq.read_metadata)
    return metadata.schema.to_arrow_schema(), metadata.num_rows


def _read_part(work: Path, part: dict, read, **options):
    """``read(part file, **options)``, or a one-line error naming the damaged part."""
    import pyarrow as pa

    from emoclassic.errors import first_line

    file = work / part["file"]
    try:
        if file.is_file():  # not a pipe, which would block the reader
            return read(file, **options)
        reason = "not a regular file" if file.exists() else "no such file"
    except (OSError, pa.ArrowException) as exc:
        reason = first_line(exc)
    raise UsageError(
        f"{work}: {part['file']} is missing or damaged ({reason}); remove the folder to start over"
    )


def _plain(value):
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _part_name(k: int) -> str:
    return f"part-{k:06d}.parquet"


def _add_part(work: Path, manifest: dict, table, *, rows: int, bad: int) -> None:
    """Write one part, then record it in the manifest (both atomically, in that order).

    The first part creates the work folder and an empty manifest first. A run
    killed between a part and its manifest entry leaves an unlisted part,
    which the resume overwrites.
    """
    import pyarrow.parquet as pq

    if not manifest["parts"] and not (work / MANIFEST).is_file():
        try:
            work.mkdir(exist_ok=True)
        except OSError as exc:
            raise EmoclassicError(f"{work}: cannot be created ({exc.strerror or exc})") from None
        atomic_write_text(work / MANIFEST, json.dumps(manifest))
    name = _part_name(len(manifest["parts"]))
    with atomic_path(work / name) as tmp:
        pq.write_table(table, tmp)
    manifest["parts"].append({"file": name, "rows": rows, "written": table.num_rows, "bad": bad})
    atomic_write_text(work / MANIFEST, json.dumps(manifest))


def _id_type(work: Path, parts: list[dict], id_name: str):
    """Return the one id type of the output, from the parts' (see :func:`unified_id_type`)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    types = [_part_footer(work, part)[0].field(id_name).type for part in parts]

    def has_negative() -> bool:
        for part, arrow_type in zip(parts, types, strict=True):
            if arrow_type == pa.int64():
                ids = _read_part(work, part, pq.read_table, columns=[id_name]).column(id_name)
                low = pc.min(ids).as_py()
                if low is not None and low < 0:
                    return True
        return False

    return unified_id_type(types, has_negative)


def _part_tables(work: Path, parts: list[dict], id_name: str, id_type):
    import pyarrow.parquet as pq

    for part in parts:
        yield conform_ids(_read_part(work, part, pq.read_table), id_name, id_type)
