"""PANGAEA-Bench's UNet encoder, the from-scratch baseline Cryo-Bench trains: ``unet-cryobench``.

Cryo-Bench's U-Net row (``Sk-2103/Cryo-Bench`` at ``41b6115``, as PANGAEA-Bench
``VMarsocci/pangaea-bench`` at ``f20f3d3``: ``pangaea/encoders/unet_encoder.py`` with
``configs/encoder/unet_encoder.yaml``, ``topology: [64, 128, 256, 512]``) is this encoder under
PANGAEA's UNet decoder (``planetbench.heads.pangaea.PangaeaUNetDecoder``), trained end to end: an
input double conv to 64 channels, then four max-pool + double-conv steps to 128, 256, 512 and
512 channels, i.e. five maps at strides 1, 2, 4, 8 and 16. Every convolution has a bias
(followed by batch norm and ReLU). With its decoder it has 14,788,994 parameters on 3 bands and
2 classes.

Our default ``unet`` encoder (:mod:`planetbench.encoders.scratch`) has four levels and
bias-free convolutions; it stays as it is. PANGAEA sets this encoder's input size to the
dataset's image size, so the ``cryobench`` protocol neither crops its training images nor tiles
its evaluation images (``EncoderSpec.input_size`` is only the size used when there is no image).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from planetbench.encoders.base import ENCODERS, Encoder, EncoderSpec, RegisteredEncoder, TinyVariant
from planetbench.encoders.scratch import (
    CRYO_BENCH_CITATION,
    _in_bands,
    _no_options,
    _seeded,
    check_input,
    instance_spec,
)
from planetbench.encoders.weights import load_weights, prepare_weights
from planetbench.tasks.bands import Band

#: PANGAEA's ``topology``; the last level repeats the widest width.
UNET_CRYOBENCH_TOPOLOGY = (64, 128, 256, 512)
UNET_CRYOBENCH_TINY_TOPOLOGY = (8, 16, 32, 64)


def level_channels(topology: Sequence[int]) -> tuple[int, ...]:
    """Channels of the encoder's maps for a PANGAEA topology: the topology, then its last width
    again (the last down step keeps it).

    Example:
        >>> level_channels((64, 128, 256, 512))
        (64, 128, 256, 512, 512)
    """
    return (*topology, topology[-1])


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class PangaeaUNetEncoder(Encoder):
    """PANGAEA's UNet contracting path.

    Args:
        in_chans: input channels (the task's bands).
        topology: PANGAEA's topology (widths of the first four levels).
        spec: the spec of this instance.
    """

    def __init__(self, in_chans: int, topology: Sequence[int], spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        self.in_chans = in_chans
        widths = level_channels(tuple(topology))
        self.in_conv = _double_conv(in_chans, widths[0])
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), _double_conv(widths[i], widths[i + 1]))
            for i in range(len(widths) - 1)
        )

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps (B, C_i, H / 2**i, W / 2**i) for i = 0 … 4, finest first."""
        check_input(x, self.in_chans, self.spec.name)
        maps = [self.in_conv(x)]
        for step in self.down:
            maps.append(step(maps[-1]))
        return maps


UNET_CRYOBENCH_SPEC = EncoderSpec(
    name="unet-cryobench",
    bands=(),
    input_size=512,
    feature_strides=(1, 2, 4, 8, 16),
    feature_channels=level_channels(UNET_CRYOBENCH_TOPOLOGY),
    embed_dim=UNET_CRYOBENCH_TOPOLOGY[-1],
    licence="MIT (planetbench code; no weights)",
    citation="Ronneberger et al., U-Net, MICCAI 2015; PANGAEA-Bench's unet_encoder; "
    + CRYO_BENCH_CITATION,
    tiny=TinyVariant(
        feature_channels=level_channels(UNET_CRYOBENCH_TINY_TOPOLOGY),
        embed_dim=UNET_CRYOBENCH_TINY_TOPOLOGY[-1],
    ),
)


def build_unet_cryobench(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    seed: int | None = None,
    **options: Any,
) -> PangaeaUNetEncoder:
    """PANGAEA's UNet encoder from scratch for ``in_bands``; ``weights`` may be a trained
    checkpoint (loaded strictly). ``seed`` seeds the initialisation (global RNG untouched)."""
    bands = _in_bands(in_bands, UNET_CRYOBENCH_SPEC.name)
    found = prepare_weights(UNET_CRYOBENCH_SPEC, weights, tiny=tiny, from_scratch=True)
    _no_options(options, UNET_CRYOBENCH_SPEC.name)
    topology = UNET_CRYOBENCH_TINY_TOPOLOGY if tiny else UNET_CRYOBENCH_TOPOLOGY
    spec = instance_spec(UNET_CRYOBENCH_SPEC, tiny=tiny, bands=bands)
    encoder = _seeded(seed, lambda: PangaeaUNetEncoder(len(bands), topology, spec))
    if found is not None:
        encoder.load_report = load_weights(encoder, spec, source=found)
    return encoder


ENCODERS.register(UNET_CRYOBENCH_SPEC.name, RegisteredEncoder(UNET_CRYOBENCH_SPEC,
                                                              build_unet_cryobench))

__all__ = [
    "UNET_CRYOBENCH_SPEC",
    "UNET_CRYOBENCH_TOPOLOGY",
    "PangaeaUNetEncoder",
    "build_unet_cryobench",
    "level_channels",
]
