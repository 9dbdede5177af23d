"""emoclassic: fast, inspectable multi-label emotion classification.

The top-level names are imported lazily so that ``import emoclassic`` (and the
command line's ``--help``) stays fast.

Examples
--------
>>> import emoclassic
>>> emoclassic.make_lr_pipeline().steps[0][0]
'tfidf'
"""

from __future__ import annotations

import importlib

from emoclassic._version import __version__

_EXPORTS = {
    "EmotionDataset": "emoclassic.datasets",
    "EmotionSplit": "emoclassic.datasets",
    "load_dataset": "emoclassic.datasets",
    "load_goemotions": "emoclassic.datasets",
    "RECIPES": "emoclassic.pipelines",
    "get_recipe": "emoclassic.pipelines",
    "make_lr_pipeline": "emoclassic.pipelines",
    "make_nb_pipeline": "emoclassic.pipelines",
    "PerLabelThresholdClassifier": "emoclassic.thresholds",
    "tune_thresholds": "emoclassic.thresholds",
    "EvaluationReport": "emoclassic.evaluation",
    "evaluate_scores": "emoclassic.evaluation",
    "EmotionModel": "emoclassic.model",
    "load_model": "emoclassic.persistence",
    "save_model": "emoclassic.persistence",
    "fit_model": "emoclassic.training",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'emoclassic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
