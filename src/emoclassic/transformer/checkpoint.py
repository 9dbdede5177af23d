"""Resumable fine-tuning runs: the Trainer's checkpoints plus emoclassic's run record.

:func:`~emoclassic.transformer.training.fit_transformer` with a ``checkpoint``
folder lets :class:`transformers.Trainer` write a checkpoint there after every
epoch (``checkpoint-STEP/``: weights, optimizer, scheduler, gradient scaler,
random-number states, and the trainer state with the early-stopping counter;
the best and the latest checkpoints are kept). A rerun passes the latest one to
``Trainer.train(resume_from_checkpoint=...)``, continues after the last finished
epoch and ends with the same model as an uninterrupted run.

This module adds the two things the Trainer does not check:

- ``emoclassic-run.json`` in the folder holds the *run key* (:func:`run_key`):
  the training settings and the data fingerprint. A run with other settings or
  other data refuses the folder instead of continuing someone else's run.
- ``emoclassic-epochs.json`` in each checkpoint, written once the Trainer has
  finished writing that checkpoint: the epoch log so far and the fit time. It
  marks the checkpoint complete; a checkpoint without it (a run killed while
  saving) is removed and never resumed from.

Only JSON is read here; the Trainer reads its own files (``torch.load`` with
``weights_only=True``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emoclassic.atomic import atomic_write_text
from emoclassic.errors import ModelError, UsageError

__all__ = [
    "EPOCHS_FILE",
    "RUN_FILE",
    "ResumePoint",
    "open_run_folder",
    "record_epochs",
    "run_key",
    "start_run_folder",
]

#: The run record in the checkpoint folder.
RUN_FILE = "emoclassic-run.json"
#: The epoch log in each complete ``checkpoint-STEP`` folder.
EPOCHS_FILE = "emoclassic-epochs.json"
#: Files every resumable Trainer checkpoint holds besides the weights.
TRAINER_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
#: Settings that do not change the trained model, so a run may resume across them.
_NOT_IN_KEY = ("progress", "device", "eval_batch_size")
_CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)")
_FORMAT = "emoclassic-trainer-run"


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted run continues.

    Attributes
    ----------
    checkpoint : Path
        The latest complete ``checkpoint-STEP`` folder, for
        ``Trainer.train(resume_from_checkpoint=...)``.
    epochs : list of dict
        The epoch log up to that checkpoint.
    fit_seconds : float
        Fit time spent before the interruption.
    global_step : int
        Optimizer steps done.
    finished : bool
        The Trainer had decided to stop (early stopping, or the last epoch):
        nothing is left to train, only the best epoch to reload.
    """

    checkpoint: Path
    epochs: list[dict]
    fit_seconds: float
    global_step: int
    finished: bool


def run_key(
    settings, fingerprint: str, training_args: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return what a checkpoint must match to be resumed: the training settings and data.

    Parameters
    ----------
    settings : TransformerSettings
        The run's settings; ``progress``, ``device`` and ``eval_batch_size``
        do not change the model and are left out.
    fingerprint : str
        :meth:`EmotionDataset.fingerprint` of the data.
    training_args : mapping, optional
        Extra ``TrainingArguments`` of the run; recorded when given.

    Returns
    -------
    dict
        Plain JSON values.

    Examples
    --------
    >>> from emoclassic.transformer.training import TransformerSettings
    >>> key = run_key(TransformerSettings(epochs=2, progress=False), "abc")
    >>> key["epochs"], key["data_fingerprint"], "progress" in key
    (2, 'abc', False)
    >>> run_key(TransformerSettings(), "abc", {"gradient_accumulation_steps": 2})["training_args"]
    {'gradient_accumulation_steps': 2}
    """
    key = {name: value for name, value in asdict(settings).items() if name not in _NOT_IN_KEY}
    key["data_fingerprint"] = fingerprint
    if training_args:
        key["training_args"] = json.loads(json.dumps(dict(training_args), default=str))
    return key


def start_run_folder(folder: str | Path, key: Mapping[str, Any]) -> None:
    """Create ``folder`` (if needed) and write its run record atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> start_run_folder(folder, {"lr": 0.1})
    >>> open_run_folder(folder, {"lr": 0.1}) is None  # no finished epoch yet
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"format": _FORMAT, "key": dict(key)}
    atomic_write_text(folder / RUN_FILE, json.dumps(record, indent=2) + "\n")


def record_epochs(checkpoint: str | Path, epochs: list[dict], fit_seconds: float) -> None:
    """Mark a finished Trainer checkpoint complete, with the epoch log and fit time so far."""
    text = json.dumps({"epochs": epochs, "fit_seconds": fit_seconds}, indent=2) + "\n"
    atomic_write_text(Path(checkpoint) / EPOCHS_FILE, text)


def open_run_folder(folder: str | Path, key: Mapping[str, Any]) -> ResumePoint | None:
    """Check ``folder`` as the checkpoint folder of the run ``key``; say where to resume.

    Parameters
    ----------
    folder : str or Path
        The checkpoint folder (it need not exist).
    key : mapping
        :func:`run_key` of the run about to start.

    Returns
    -------
    ResumePoint or None
        ``None`` when there is nothing to resume: no folder, an empty one, or
        one whose run has not finished an epoch. Incomplete checkpoints are
        removed.

    Raises
    ------
    ModelError
        ``folder`` is a file, holds no run record, or a file of its latest
        checkpoint is missing or unreadable.
    UsageError
        It was written by a run with other settings or other data.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _unreadable(folder, "a file, not a checkpoint folder")
    if not folder.exists() or not any(folder.iterdir()):
        return None
    record = _read_json(folder, folder / RUN_FILE)
    if not isinstance(record, dict) or record.get("format") != _FORMAT or "key" not in record:
        raise _unreadable(folder, f"{RUN_FILE} is not an emoclassic run record")
    _check_key(folder, record["key"], dict(key))
    complete = _complete_checkpoints(folder)
    if not complete:
        return None
    latest = complete[-1]
    log = _read_json(folder, latest / EPOCHS_FILE)
    if not isinstance(log, dict) or not isinstance(log.get("epochs"), list):
        raise _unreadable(folder, f"{latest.name}/{EPOCHS_FILE} has no epoch log")
    state = _check_trainer_files(folder, latest)
    control = state.get("stateful_callbacks", {}).get("TrainerControl", {})
    finished = bool(control.get("args", {}).get("should_training_stop", False))
    return ResumePoint(
        latest, log["epochs"], float(log.get("fit_seconds", 0.0)), state["global_step"], finished
    )


def _check_key(folder: Path, saved: Any, key: dict) -> None:
    if saved == key:
        return
    saved = saved if isinstance(saved, dict) else {}
    changed = sorted(name for name in key.keys() | saved.keys() if key.get(name) != saved.get(name))
    raise UsageError(
        f"{folder}: checkpoint of another run ({', '.join(changed)} differ); "
        "delete it to start over, or use the same settings and data to resume"
    )


def _complete_checkpoints(folder: Path) -> list[Path]:
    """Return the complete ``checkpoint-STEP`` folders by step; remove the incomplete ones."""
    found = []
    for path in folder.iterdir():
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match is None or not path.is_dir():
            continue
        if (path / EPOCHS_FILE).is_file():
            found.append((int(match.group(1)), path))
        else:  # the run stopped while the Trainer was writing it
            shutil.rmtree(path, ignore_errors=True)
    return [path for _, path in sorted(found)]


def _check_trainer_files(folder: Path, checkpoint: Path) -> dict:
    """Return the checkpoint's trainer state; refuse missing or obviously damaged files."""
    missing = [name for name in TRAINER_FILES if not (checkpoint / name).is_file()]
    if missing:
        raise _unreadable(folder, f"{checkpoint.name} lacks {', '.join(missing)}")
    state = _read_json(folder, checkpoint / "trainer_state.json")
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        raise _unreadable(folder, f"{checkpoint.name}/trainer_state.json is not a trainer state")
    weights = checkpoint / "model.safetensors"
    if not weights.is_file():
        if not (checkpoint / "model.safetensors.index.json").is_file():
            raise _unreadable(folder, f"{checkpoint.name} holds no model weights")
        return state
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as opened:
            opened.keys()
    except Exception as exc:  # safetensors raises several types for a damaged file
        raise _unreadable(
            folder, f"{checkpoint.name}/model.safetensors: {type(exc).__name__}"
        ) from None
    return state


def _read_json(folder: Path, path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _unreadable(folder, f"no {path.relative_to(folder)}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _unreadable(folder, f"{path.relative_to(folder)}: {type(exc).__name__}") from None


def _unreadable(folder: Path, reason: str) -> ModelError:
    return ModelError(f"{folder}: not a readable checkpoint ({reason}); delete it to start over")
