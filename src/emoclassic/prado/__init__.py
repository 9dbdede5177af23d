"""A PRADO/pQRNN-style projection network: a small on-device neural model (optional extra).

Projection networks keep no vocabulary and no embedding table: every token
is hashed into a fixed-size ternary vector on the fly, and a small network
learns from those vectors (PRADO: Kaliamoorthi, Ravi and Kozareva, EMNLP
2019; pQRNN: Kaliamoorthi, Siddhant, Li and Johnson, 2021). Install with
``pip install 'emoclassic[transformer]'`` (it brings torch and safetensors).
Only :mod:`~emoclassic.prado.projection` and
:mod:`~emoclassic.prado.settings` import without torch.

- :mod:`~emoclassic.prado.projection`: tokens to hashed ternary vectors (numpy).
- :mod:`~emoclassic.prado.settings`: :class:`PradoSettings`, every parameter and its default.
- :mod:`~emoclassic.prado.encoder`: the network (projected convolution with
  attention pooling, or a QRNN).
- :mod:`~emoclassic.prado.model`: :class:`PradoEmotionModel`, an
  :class:`~emoclassic.model.EmotionModel`.
- :mod:`~emoclassic.prado.training`: :func:`fit_prado`.
- :mod:`~emoclassic.prado.checkpoint`: per-epoch checkpoints, so a run resumes.
- :mod:`~emoclassic.prado.saving`: safetensors weights plus the JSON sidecar.
"""
