"""The transformer comparator: fine-tune any Hugging Face encoder (optional extra).

Install with ``pip install 'emoclassic[transformer]'``. The submodules import
torch and transformers only inside their functions.

- :mod:`~emoclassic.transformer.losses`: BCE, ``pos_weight`` and focal losses.
- :mod:`~emoclassic.transformer.trainer`: the ``transformers.Trainer`` subclass
  (``compute_loss``), its callbacks and ``TrainingArguments``.
- :mod:`~emoclassic.transformer.checkpoint`: resuming from the Trainer's
  checkpoints, and refusing those of another run.
- :mod:`~emoclassic.transformer.model`: :class:`TransformerEmotionModel`.
- :mod:`~emoclassic.transformer.training`: :func:`fit_transformer`.
- :mod:`~emoclassic.transformer.saving`: the model folder and its sidecar.
"""
