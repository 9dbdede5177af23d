"""Per-epoch checkpoints of a fine-tuning run, so an interrupted run resumes.

After every epoch :func:`~emoclassic.transformer.training.fit_transformer`
writes one file (atomically) with everything the next epoch needs: the
weights, the optimizer and scheduler states, the random-number states, the
early-stopping record and the best epoch's weights. A run started again with
the same settings on the same data continues after the last finished epoch
and ends with the same model as an uninterrupted run. The file is read with
``torch.load(weights_only=True)``: tensors and plain Python values only.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from emoclassic.atomic import atomic_path
from emoclassic.errors import ModelError, UsageError, require

__all__ = ["load_checkpoint", "run_key", "save_checkpoint"]

#: Settings that do not change the trained model, so a run may resume across them.
_NOT_IN_KEY = ("progress", "device", "eval_batch_size")


def run_key(settings, fingerprint: str) -> dict[str, Any]:
    """Return what a checkpoint must match to be resumed: the training settings and data.

    Examples
    --------
    >>> from emoclassic.transformer.training import TransformerSettings
    >>> key = run_key(TransformerSettings(epochs=2, progress=False), "abc")
    >>> key["epochs"], key["data_fingerprint"], "progress" in key
    (2, 'abc', False)
    """
    key = {name: value for name, value in asdict(settings).items() if name not in _NOT_IN_KEY}
    return key | {"data_fingerprint": fingerprint}


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, then rename)."""
    torch = require("torch", "transformer")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """Read the checkpoint at ``path``; ``None`` when there is none.

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
            name
            for name in key.keys() | state["key"].keys()
            if key.get(name) != state["key"].get(name)
        )
        raise UsageError(
            f"{path}: checkpoint of another run ({', '.join(changed)} differ); "
            "delete it to start over, or use the same settings and data to resume"
        )
    return state
