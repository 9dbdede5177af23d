"""Score a corpus on Dask or Spark when one machine is not enough.

Both helpers apply the same per-partition function, :func:`score_frame`, to
pandas frames: the model goes to each worker once, and every partition is
scored with the fast path of a linear model (or any :class:`EmotionModel`).
"""

from __future__ import annotations

import itertools

import numpy as np

from emoclassic.model import emotion_lists

__all__ = ["score_dask", "score_frame", "spark_schema", "spark_scorer"]


def score_frame(
    frame,
    model,
    *,
    text_column: str = "text",
    threshold: float | str = "tuned",
    top_k: int | None = None,
    scores: bool = False,
):
    """Return ``frame`` with an ``emotions`` column (a list of labels) and optional scores.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to score; ``text_column`` must hold strings.
    model : EmotionModel
        The model.
    text_column : str, default="text"
        Column of the texts.
    threshold, top_k :
        As in :meth:`EmotionModel.predict_emotions`.
    scores : bool, default=False
        Add a ``score_<label>`` column per label.

    Examples
    --------
    >>> import pandas as pd
    >>> from emoclassic.model import EmotionModel
    >>> class Echo(EmotionModel):
    ...     def predict_proba(self, texts):
    ...         return np.array([[float("joy" in t)] for t in texts])
    >>> score_frame(pd.DataFrame({"text": ["joy!", "meh"]}), Echo(["joy"], [0.5]))
       text emotions
    0  joy!    [joy]
    1   meh       []
    """
    texts = frame[text_column].tolist()
    probabilities = (
        np.asarray(model.predict_proba(texts)) if texts else np.zeros((0, len(model.label_names)))
    )
    labels, offsets = emotion_lists(probabilities, model.resolve_thresholds(threshold), top_k)
    names = np.asarray(model.label_names, dtype=object)[labels]
    result = frame.copy()
    result["emotions"] = [names[start:end].tolist() for start, end in itertools.pairwise(offsets)]
    if scores:
        for j, label in enumerate(model.label_names):
            result[f"score_{label}"] = probabilities[:, j]
    return result


def score_dask(
    frame,
    model,
    *,
    text_column: str = "text",
    threshold: float | str = "tuned",
    top_k: int | None = None,
    scores: bool = False,
):
    """Score a ``dask.dataframe`` lazily, partition by partition, with :func:`score_frame`.

    The model enters the task graph once (one ``dask.delayed`` key), so each
    worker receives it once and reuses it for all its partitions.

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> from emoclassic import load_model  # doctest: +SKIP
    >>> comments = dd.read_parquet("comments/")  # doctest: +SKIP
    >>> model = load_model("models/lr.joblib")  # doctest: +SKIP
    >>> score_dask(comments, model, text_column="body").to_parquet("scored/")  # doctest: +SKIP
    """
    import dask

    meta = score_frame(  # an empty frame: the model scores nothing
        frame._meta, model, text_column=text_column, threshold=threshold, scores=scores
    )
    shared = dask.delayed(model, pure=True)
    return frame.map_partitions(
        score_frame,
        shared,
        text_column=text_column,
        threshold=threshold,
        top_k=top_k,
        scores=scores,
        meta=meta,
    )


def spark_schema(input_schema, model, *, scores: bool = False):
    """Return the Spark schema of :func:`spark_scorer`'s output: the input's, plus its columns."""
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

    fields = [*input_schema.fields, StructField("emotions", ArrayType(StringType()))]
    if scores:
        fields += [StructField(f"score_{label}", DoubleType()) for label in model.label_names]
    return StructType(fields)


def spark_scorer(
    model,
    *,
    text_column: str = "text",
    threshold: float | str = "tuned",
    top_k: int | None = None,
    scores: bool = False,
):
    """Return a function for Spark's ``DataFrame.mapInPandas``: pandas batches in, scored out.

    Spark pickles the function with the model once per task; pair it with
    :func:`spark_schema`.

    Examples
    --------
    >>> model = load_model("models/lr.joblib")  # doctest: +SKIP
    >>> schema = spark_schema(comments.schema, model)  # doctest: +SKIP
    >>> scored = comments.mapInPandas(spark_scorer(model), schema)  # doctest: +SKIP
    """

    def score_batches(frames):
        for frame in frames:
            yield score_frame(
                frame,
                model,
                text_column=text_column,
                threshold=threshold,
                top_k=top_k,
                scores=scores,
            )

    return score_batches
