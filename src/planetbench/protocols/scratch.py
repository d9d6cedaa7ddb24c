"""The ``scratch`` dense protocol: encoder and head trained end to end from random weights.

Mars-Bench's ``scratch_training`` (random initialisation, everything trainable) for segmentation;
image-level runs (classification, detection) map ``scratch`` the same way
(:data:`~planetbench.protocols.images.IMAGE_PROTOCOL_MODES`). The runner builds the encoder with
``weights="none"``; an encoder whose factory refuses random weights (a pretrained encoder without
a random-initialisation mode) cannot run under ``scratch`` and the preflight says so.
"""

from __future__ import annotations

from typing import ClassVar

from planetbench.protocols.dense import DENSE_PROTOCOLS, FinetuneProtocol


class ScratchProtocol(FinetuneProtocol):
    """:class:`~planetbench.protocols.dense.FinetuneProtocol` on an encoder built with random
    weights (``random_encoder``)."""

    name: ClassVar[str] = "scratch"
    #: The runner builds the encoder with ``weights="none"`` for this protocol.
    random_encoder: ClassVar[bool] = True


DENSE_PROTOCOLS.register("scratch", ScratchProtocol)

__all__ = ["ScratchProtocol"]
