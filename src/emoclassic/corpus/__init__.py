"""Score a corpus: chunked readers and writers, resumable scoring, Dask and Spark helpers."""

from emoclassic.corpus.readers import read_batches
from emoclassic.corpus.scoring import BadRowError, CorpusSummary, score_corpus

__all__ = ["BadRowError", "CorpusSummary", "read_batches", "score_corpus"]
