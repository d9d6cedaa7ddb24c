"""Readers of on-disk formats as the public datasets and benchmarks ship them."""
