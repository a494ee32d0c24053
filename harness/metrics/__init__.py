"""Metrics: what a number means (name, unit, direction) and how it is reduced with uncertainty."""

from harness.metrics.base import Metric, corpus_metric, mean_metric, summarize

__all__ = ["Metric", "corpus_metric", "mean_metric", "summarize"]
