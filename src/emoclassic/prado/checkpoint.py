"""Per-epoch checkpoints of a projection-network fit, so an interrupted run resumes.

After every epoch :func:`~emoclassic.prado.training.fit_prado` writes one file
(atomically) with what the next epoch needs: the weights, the optimizer and
schedule states, torch's random state, the epoch log and the best epoch's
weights. The run's shuffling is drawn from the seed and the epoch number, so
it needs no saved state. A run started again with the same settings on the
same data continues after the last finished epoch and ends with the same
model as an uninterrupted one. The file is read with
``torch.load(weights_only=True)``: tensors and plain Python values only, no
code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emoclassic.atomic import atomic_path
from emoclassic.errors import ModelError, UsageError, require
from emoclassic.prado.settings import PradoSettings

__all__ = ["load_checkpoint", "run_key", "save_checkpoint"]

#: Settings that do not change the trained model, so a run may resume across them.
_NOT_IN_KEY = ("progress", "device", "threads", "eval_batch_size")


def run_key(settings: PradoSettings, fingerprint: str) -> dict[str, Any]:
    """Return what a checkpoint must match to be resumed: the settings and the data.

    Parameters
    ----------
    settings : PradoSettings
        The run's settings.
    fingerprint : str
        The dataset's :meth:`~emoclassic.datasets.EmotionDataset.fingerprint`.

    Returns
    -------
    dict

    Examples
    --------
    >>> key = run_key(PradoSettings(epochs=2, progress=False), "abc")
    >>> key["epochs"], key["data_fingerprint"], "progress" in key
    (2, 'abc', False)
    """
    values = settings.as_dict()
    key = {name: value for name, value in values.items() if name not in _NOT_IN_KEY}
    return key | {"data_fingerprint": fingerprint}


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, then rename)."""
    torch = require("torch", "transformer")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """Read the checkpoint at ``path``; ``None`` when there is none.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    key : dict
        :func:`run_key` of the run that wants to resume.

    Returns
    -------
    dict or None

    Raises
    ------
    ModelError
        The file cannot be read as a checkpoint.
    UsageError
        It was written by a run with other settings or other data.
    """
    path = Path(path)
    if not path.exists():
        return None
    torch = require("torch", "transformer")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise ModelError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}); delete it to start over"
        ) from None
    if not isinstance(state, dict) or "key" not in state or "epoch" not in state:
        raise ModelError(f"{path}: not an emoclassic checkpoint; delete it to start over")
    if state["key"] != key:
        changed = sorted(
            str(name)
            for name in key.keys() | state["key"].keys()
            if key.get(name) != state["key"].get(name)
        )
        raise UsageError(
            f"{path}: checkpoint of another run ({', '.join(changed)} differ); "
            "delete it to start over, or use the same settings and data to resume"
        )
    return state
