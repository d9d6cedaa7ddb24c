"""Mars-Bench's generic classification baselines as planetbench encoders (torchvision models).

Mars-Bench (``kerner-lab/Mars-Bench``, ``marsbench/models/classification/*.py``) trains torchvision's
ResNet-101, ViT-L/16 and Swin-V2-B with ImageNet weights and replaces their last layer. As
encoders (without that layer), a ``linear`` head on ``embed`` is exactly that last layer, so
``planetbench run --encoder mb-resnet101 --protocol frozen`` is Mars-Bench's ``feature_extraction``
(train the new last layer only) and ``finetune`` its ``transfer_learning``; ``scratch`` builds them
with random weights (the explicit factory option ``random_init=True``, which the runner passes
for ``scratch``; ``weights="none"`` alone is refused as for every pretrained encoder), its
``scratch_training``:

=================  =====================  ============  ==================================
id                 torchvision model      ``embed``     ``features`` (stride: channels)
=================  =====================  ============  ==================================
``mb-resnet101``   ``resnet101``           avgpool 2048  layer1–4 (4: 256 … 32: 2048)
                   ``IMAGENET1K_V2``
``mb-vit-l16``     ``vit_l_16``            class token   blocks 6, 12, 18, 24 (16: 1024)
                   ``IMAGENET1K_V1``       1024
``mb-swinv2-b``    ``swin_v2_b``           avgpool 1024  stages 1–4 (4: 128 … 32: 1024)
                   ``IMAGENET1K_V1``
=================  =====================  ============  ==================================

``embed`` is what the replaced layer saw (ResNet: global average of ``layer4``; ViT: the class
token after the final LayerNorm; Swin: the average of the normalised last stage). Inputs are 224 px
RGB normalised with ImageNet's statistics (the weights declare them, so image runs pick
Mars-Bench's normalisation with ``normalisation: auto``). One difference remains from Mars-Bench's
``feature_extraction``: it keeps the frozen backbone in train mode (BatchNorm statistics update,
Swin's stochastic depth stays on), planetbench keeps a frozen encoder in eval mode
(:mod:`planetbench.heads.marsbench` builds Mars-Bench's own modules where that matters).

Weights load strictly through the shared loader (:mod:`planetbench.encoders.weights`) from the
torchvision URL (torch hub's cache is looked at too), checked against the hash prefix of the file
name; the classification layer of the checkpoint is ignored on purpose. Tiny variants
(``tiny=True``) are miniatures of the same layouts for tests (random, or a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from planetbench.encoders.base import (
    ENCODERS,
    HASH_PREFIX_NOTE,
    Architecture,
    EncoderSpec,
    ModelEncoder,
    PretrainedWeights,
    RegisteredEncoder,
    TinyVariant,
)
from planetbench.encoders.scratch import check_input, instance_spec
from planetbench.encoders.weights import load_weights, prepare_weights
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import RGB, Band

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_LICENCE = ("BSD-3-Clause (torchvision code); ImageNet-1k weights under torchvision's "
                       "terms (ImageNet: non-commercial research)")
MARSBENCH_NOTE = "as trained by Mars-Bench (Purohit et al. 2025, kerner-lab/Mars-Bench)"


def _weights(url: str, head: str) -> PretrainedWeights:
    return PretrainedWeights(source="url", url=url, sha256_note=HASH_PREFIX_NOTE,
                             mean=IMAGENET_MEAN, std=IMAGENET_STD, pretraining="supervised",
                             ignored_prefixes=(head,),
                             normalisation="ImageNet mean/std on 0–1 RGB (Mars-Bench: max 255)")


RESNET101_SPEC = EncoderSpec(
    name="mb-resnet101",
    bands=RGB,
    input_size=224,
    feature_strides=(4, 8, 16, 32),
    feature_channels=(256, 512, 1024, 2048),
    embed_dim=2048,
    weights=_weights("https://download.pytorch.org/models/resnet101-cd907fc2.pth", "fc."),
    architecture=Architecture("torchvision", "resnet101", tiny_name="resnet (1 basic block/stage)"),
    tiny=TinyVariant(feature_channels=(64, 128, 256, 512), embed_dim=512),
    licence=TORCHVISION_LICENCE,
    citation=f"He et al., Deep Residual Learning for Image Recognition, CVPR 2016; {MARSBENCH_NOTE}",
)

VIT_L16_SPEC = EncoderSpec(
    name="mb-vit-l16",
    bands=RGB,
    input_size=224,
    feature_strides=(16,) * 4,
    feature_channels=(1024,) * 4,
    embed_dim=1024,
    out_indices=(5, 11, 17, 23),
    weights=_weights("https://download.pytorch.org/models/vit_l_16-852ce7e3.pth", "heads."),
    architecture=Architecture("torchvision", "vit_l_16", tiny_name="vit (4 layers, width 16)"),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(16,) * 4, embed_dim=16),
    licence=TORCHVISION_LICENCE,
    citation="Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021; " + MARSBENCH_NOTE,
)

SWINV2_B_SPEC = EncoderSpec(
    name="mb-swinv2-b",
    bands=RGB,
    input_size=224,
    feature_strides=(4, 8, 16, 32),
    feature_channels=(128, 256, 512, 1024),
    embed_dim=1024,
    weights=_weights("https://download.pytorch.org/models/swin_v2_b-781e5279.pth", "head."),
    architecture=Architecture("torchvision", "swin_v2_b", tiny_name="swin v2 (width 8)"),
    tiny=TinyVariant(feature_channels=(8, 16, 32, 64), embed_dim=64),
    licence=TORCHVISION_LICENCE,
    citation="Liu et al., Swin Transformer V2, CVPR 2022; " + MARSBENCH_NOTE,
)


class ResNetEncoder(ModelEncoder):
    """torchvision ResNet without ``fc``: maps of ``layer1``–``layer4``, ``embed`` = avgpool."""

    def features(self, x: Tensor) -> list[Tensor]:
        """Four maps (B, C_i, H / s, W / s) for s = 4, 8, 16, 32."""
        check_input(x, 3, self.spec.name)
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        out = []
        for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
            x = layer(x)
            out.append(x)
        return out

    def embed(self, x: Tensor) -> Tensor:
        """(B, 2048): the global average of ``layer4`` (what ResNet's ``fc`` sees)."""
        return self.features(x)[-1].mean(dim=(-2, -1))


class ViTEncoder(ModelEncoder):
    """torchvision VisionTransformer without ``heads``: token maps of four blocks, ``embed`` = the
    normalised class token.

    Args:
        model: the VisionTransformer.
        spec: the instance's spec.
        indices: the blocks whose outputs ``features`` returns.
    """

    def __init__(self, model: nn.Module, spec: EncoderSpec, indices: Sequence[int]) -> None:
        super().__init__(model, spec)
        self.indices = tuple(indices)

    def _tokens(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        check_input(x, 3, self.spec.name, size=self.model.image_size)
        m = self.model
        x = m._process_input(x)
        x = torch.cat([m.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        enc = m.encoder
        x = enc.dropout(x + enc.pos_embedding)
        kept = []
        for i, block in enumerate(enc.layers):
            x = block(x)
            if i in self.indices:
                kept.append(x)
        return enc.ln(x), kept

    def features(self, x: Tensor) -> list[Tensor]:
        """Four maps (B, D, H / p, W / p) of the chosen blocks' patch tokens."""
        b, _, h, w = x.shape
        p = self.model.patch_size
        _, kept = self._tokens(x)
        return [t[:, 1:].transpose(1, 2).reshape(b, -1, h // p, w // p) for t in kept]

    def embed(self, x: Tensor) -> Tensor:
        """(B, D): the class token after the final LayerNorm (what ``heads`` sees)."""
        final, _ = self._tokens(x)
        return final[:, 0]


class SwinEncoder(ModelEncoder):
    """torchvision SwinTransformer (v2) without ``head``: the four stages as maps, ``embed`` =
    the average of the normalised last stage."""

    def _stages(self, x: Tensor) -> list[Tensor]:
        check_input(x, 3, self.spec.name)
        out = []
        for i, part in enumerate(self.model.features):
            x = part(x)
            if i % 2 == 1:  # stages follow the patch embedding and each patch merging
                out.append(x)
        return out

    def features(self, x: Tensor) -> list[Tensor]:
        """Four maps (B, C_i, H / s, W / s) for s = 4, 8, 16, 32."""
        return [s.permute(0, 3, 1, 2) for s in self._stages(x)]

    def embed(self, x: Tensor) -> Tensor:
        """(B, C): the normalised last stage averaged over positions (what ``head`` sees)."""
        last = self.model.norm(self._stages(x)[-1])
        return last.mean(dim=(1, 2))


def _resnet(tiny: bool) -> nn.Module:
    from torchvision.models import resnet101
    from torchvision.models.resnet import BasicBlock, ResNet

    model: nn.Module = ResNet(BasicBlock, [1, 1, 1, 1]) if tiny else resnet101(weights=None)
    model.fc = nn.Identity()
    return model


def _vit(tiny: bool) -> nn.Module:
    from torchvision.models import vit_l_16
    from torchvision.models.vision_transformer import VisionTransformer

    model: nn.Module = (VisionTransformer(image_size=32, patch_size=8, num_layers=4, num_heads=2,
                                          hidden_dim=16, mlp_dim=32)
                        if tiny else vit_l_16(weights=None))
    model.heads = nn.Identity()
    return model


def _swin(tiny: bool) -> nn.Module:
    from torchvision.models import swin_v2_b
    from torchvision.models.swin_transformer import (
        PatchMergingV2,
        SwinTransformer,
        SwinTransformerBlockV2,
    )

    model: nn.Module = (SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1, 1, 1],
                                        num_heads=[1, 1, 1, 1], window_size=[2, 2],
                                        stochastic_depth_prob=0.5, block=SwinTransformerBlockV2,
                                        downsample_layer=PatchMergingV2)
                        if tiny else swin_v2_b(weights=None))
    model.head = nn.Identity()
    return model


def check_factory_options(name: str, options: dict[str, Any], *, random_init: bool,
                          weights: str | Path | None) -> None:
    """Refuse options a Mars-Bench baseline's factory does not take, and ``random_init`` with a
    weights file.

    Raises:
        InvalidInputError: naming the options or the conflict.
    """
    if options:
        raise InvalidInputError(
            f"encoder {name!r} got unknown options {sorted(options)}; it takes tiny and weights"
        )
    if random_init and weights is not None and str(weights) != "none":
        raise InvalidInputError(
            f"encoder {name!r}: random_init=True and weights={str(weights)!r} exclude each other"
        )


def _factory(spec: EncoderSpec, build: Any, wrap: Any) -> Any:
    def factory(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        seed: int | None = None,
        random_init: bool = False,
        **options: Any,
    ) -> ModelEncoder:
        check_factory_options(spec.name, options, random_init=random_init, weights=weights)
        # random_init=True (with weights None or "none"): a random architecture, Mars-Bench's
        # scratch_training; weights="none" alone is refused like any pretrained encoder's
        found = None if random_init else prepare_weights(spec, weights, tiny=tiny)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            model = build(tiny)
        inst = instance_spec(spec, tiny=tiny)
        encoder: ModelEncoder = wrap(model, inst, tiny)
        if found is not None:
            encoder.load_report = load_weights(model, inst, source=found)
        return encoder

    return factory


def _vit_wrap(model: nn.Module, spec: EncoderSpec, tiny: bool) -> ViTEncoder:
    return ViTEncoder(model, spec, (0, 1, 2, 3) if tiny else VIT_L16_SPEC.out_indices)


ENCODERS.register("mb-resnet101", RegisteredEncoder(RESNET101_SPEC, _factory(
    RESNET101_SPEC, _resnet, lambda m, s, t: ResNetEncoder(m, s))))
ENCODERS.register("mb-vit-l16", RegisteredEncoder(VIT_L16_SPEC, _factory(
    VIT_L16_SPEC, _vit, _vit_wrap)))
ENCODERS.register("mb-swinv2-b", RegisteredEncoder(SWINV2_B_SPEC, _factory(
    SWINV2_B_SPEC, _swin, lambda m, s, t: SwinEncoder(m, s))))

#: The ids of Mars-Bench's classification baselines as encoders.
MARSBENCH_ENCODERS: tuple[str, ...] = ("mb-resnet101", "mb-vit-l16", "mb-swinv2-b")

__all__ = [
    "MARSBENCH_ENCODERS",
    "RESNET101_SPEC",
    "SWINV2_B_SPEC",
    "VIT_L16_SPEC",
    "ResNetEncoder",
    "SwinEncoder",
    "ViTEncoder",
    "check_factory_options",
]
