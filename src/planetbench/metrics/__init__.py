"""Metrics: tabular (probe) metrics vectorised over splits, and dense (segmentation) metrics."""
