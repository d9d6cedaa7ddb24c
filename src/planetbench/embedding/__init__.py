"""Embedding evaluation, the flow entered half-way: embedding files, label folders, ``embed``,
``evaluate`` and NeuCo-Bench compatibility. Importing this package does not import torch."""
