"""Backbones built with timm: ImageNet ResNet-50, RemoteCLIP ViT-B/32 and GFM Swin-B.

The timm backbones are built with ``features_only=True`` and ``pretrained=False`` (no hub
access); their published checkpoint is loaded by the shared strict loader. RemoteCLIP
(Liu et al. 2024) publishes open_clip checkpoints; its image tower is mapped onto timm's
``vit_base_patch32_clip_224`` with timm's own OpenAI-CLIP key conversion, and the text tower
is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from planetbench.encoders.base import (
    ENCODERS,
    HASH_PREFIX_NOTE,
    MAIN_BRANCH_NOTE,
    Architecture,
    Encoder,
    EncoderSpec,
    ModelEncoder,
    PretrainedWeights,
    RegisteredEncoder,
    TinyVariant,
)
from planetbench.encoders.scratch import (
    TINY_INPUT_SIZE,
    TimmViTEncoder,
    _no_options,
    check_input,
    instance_spec,
)
from planetbench.encoders.weights import (
    StateDict,
    load_weights,
    pos_embed_key_map,
    prepare_weights,
)
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import RGB, Band

Factory = Callable[..., Encoder]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class TimmFeaturesEncoder(ModelEncoder):
    """A timm ``features_only`` backbone (CNNs and hierarchical transformers).

    Args:
        model: a timm model built with ``features_only=True``.
        spec: the spec of this instance.
    """

    def features(self, x: Tensor) -> list[Tensor]:
        """The backbone's feature maps, finest first, (B, C_i, H / s_i, W / s_i)."""
        check_input(x, len(self.spec.bands), self.spec.name)
        return list(self.model(x))


RESNET50_SPEC = EncoderSpec(
    name="resnet50",
    bands=RGB,
    input_size=224,
    feature_strides=(2, 4, 8, 16, 32),
    feature_channels=(64, 256, 512, 1024, 2048),
    embed_dim=2048,
    weights=PretrainedWeights(
        source="timm",
        url="https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-rsb-weights/resnet50_a1_0-14fe96d1.pth",
        sha256_note=HASH_PREFIX_NOTE,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        ignored_prefixes=("fc.",),
    ),
    architecture=Architecture("timm", "resnet50", tiny_name="test_resnet"),
    licence="Apache-2.0",
    citation="He et al., Deep Residual Learning for Image Recognition, CVPR 2016; Wightman et "
    "al., ResNet strikes back, arXiv:2110.00476 (timm resnet50.a1_in1k)",
)


def _timm_architecture(spec: EncoderSpec) -> Architecture:
    if spec.architecture is None or spec.architecture.library != "timm":
        raise InvalidInputError(f"encoder {spec.name!r} declares no timm architecture")
    return spec.architecture


def _timm_features_factory(spec: EncoderSpec) -> Factory:
    def build(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        **options: Any,
    ) -> TimmFeaturesEncoder:
        import timm

        found = prepare_weights(spec, weights, tiny=tiny)
        _no_options(options, spec.name)
        architecture = _timm_architecture(spec)
        arch = architecture.tiny_name if tiny else architecture.name
        model = timm.create_model(
            arch, pretrained=False, features_only=True, in_chans=len(spec.bands)
        )
        info: Any = model.feature_info
        inst = instance_spec(
            spec,
            tiny=tiny,
            feature_strides=tuple(info.reduction()),
            feature_channels=tuple(info.channels()),
            embed_dim=info.channels()[-1],
        )
        encoder = TimmFeaturesEncoder(model, inst)
        if found is not None:
            encoder.load_report = load_weights(model, inst, source=found)
        return encoder

    return build


# RemoteCLIP (Liu et al. 2024, https://arxiv.org/abs/2306.11029), open_clip ViT-B/32 checkpoint.
REMOTECLIP_SPEC = EncoderSpec(
    name="remoteclip-vit-b32",
    bands=RGB,
    input_size=224,
    feature_strides=(32,) * 4,
    feature_channels=(768,) * 4,
    embed_dim=512,
    out_indices=(3, 5, 7, 11),
    weights=PretrainedWeights(
        source="url",
        url="https://huggingface.co/chendelong/RemoteCLIP/resolve/main/RemoteCLIP-ViT-B-32.pt",
        hf_hub_id="chendelong/RemoteCLIP",
        hf_filename="RemoteCLIP-ViT-B-32.pt",
        sha256_note=MAIN_BRANCH_NOTE,
        # OpenAI CLIP image statistics on [0, 1] inputs (open_clip's OPENAI_DATASET_MEAN/STD)
        mean=(0.48145466, 0.4578275, 0.40821073),
        std=(0.26862954, 0.26130258, 0.27577711),
        pretraining="clip",
    ),
    architecture=Architecture("timm", "vit_base_patch32_clip_224"),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=16),
    licence="Apache-2.0",
    citation="Liu et al., RemoteCLIP: A Vision Language Foundation Model for Remote Sensing, "
    "IEEE TGRS 2024",
)


def remoteclip_key_map(model: nn.Module) -> Callable[[StateDict], StateDict]:
    """open_clip checkpoint → timm ViT keys: keep ``visual.*`` and rename with timm's converter.

    The text tower (``transformer.*``, ``token_embedding`` …) and ``logit_scale`` are dropped:
    only the image tower is an encoder. ``proj`` becomes ``head.weight`` with a zero bias.
    """
    from timm.models.vision_transformer import _convert_openai_clip

    def convert(state: StateDict) -> StateDict:
        if not any(k.startswith("visual.") for k in state):
            return state  # already in timm layout (e.g. a checkpoint saved from this encoder)
        return dict(_convert_openai_clip(state, model))  # type: ignore[arg-type]

    return convert


def build_remoteclip(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> TimmViTEncoder:
    """RemoteCLIP's image tower: features from blocks, embedding = projected class token."""
    import timm

    spec = REMOTECLIP_SPEC
    found = prepare_weights(spec, weights, tiny=tiny)
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    _no_options(options, spec.name)
    arch: dict[str, Any] = (
        {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2, "num_classes": 16}
        if tiny
        else {"num_classes": 512}
    )
    model = timm.create_model(
        _timm_architecture(spec).name,
        pretrained=False,
        img_size=img_size,
        dynamic_img_size=True,
        **arch,
    )
    inst = instance_spec(spec, tiny=tiny, input_size=img_size)
    indices = (0, 1, 2, 3) if tiny else spec.out_indices
    encoder = TimmViTEncoder(model, inst, indices, pooled_head=True)
    if found is not None:
        to_timm = remoteclip_key_map(model)
        resize = pos_embed_key_map(model)
        encoder.load_report = load_weights(
            model, inst, source=found, key_map=lambda state: resize(to_timm(state))
        )
    return encoder


# GFM (Mendieta et al. 2023, https://arxiv.org/abs/2302.04476): Swin-B continually pretrained
# on GeoPile RGB with SimMIM, 192 px inputs and 6 px windows (PANGAEA configs/encoder/gfmswin.yaml).
GFM_SWIN_SPEC = EncoderSpec(
    name="gfm-swin",
    bands=RGB,
    input_size=192,
    feature_strides=(4, 8, 16, 32),
    feature_channels=(128, 256, 512, 1024),
    embed_dim=1024,
    weights=PretrainedWeights(
        source="file",
        page="https://github.com/mmendiet/GFM (the 'GFM pretrained model' OneDrive link of its "
        "README); pass the downloaded gfm.pth with --weights PATH",
        sha256_note="no SHA-256 is published (a OneDrive download by hand); the file given with "
        "--weights PATH is recorded with its SHA-256",
        # SimMIM/GFM pretraining normalises RGB in [0, 1] with the ImageNet statistics
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        pretraining="simmim",
        ignored_prefixes=("head.", "mask_token"),
    ),
    architecture=Architecture("timm", "swin_base_patch4_window7_224", window_size=6),
    tiny=TinyVariant(
        feature_strides=(4, 8, 16, 32), feature_channels=(16, 32, 64, 128), embed_dim=128
    ),
    licence="Apache-2.0 (GFM code, github.com/mmendiet/GFM)",
    citation="Mendieta et al., Towards Geospatial Foundation Models via Continual Pretraining, "
    "ICCV 2023",
)


class TimmSwinEncoder(ModelEncoder):
    """A timm Swin Transformer returning its four stages as NCHW maps (fixed input size).

    Args:
        model: a timm ``SwinTransformer`` built without a head.
        spec: the spec of this instance.
    """

    def features(self, x: Tensor) -> list[Tensor]:
        """Stage outputs, each (B, C_i, H / s_i, W / s_i) for s_i = 4, 8, 16, 32."""
        check_input(x, len(self.spec.bands), self.spec.name, size=self.spec.input_size)
        out = self.model.forward_intermediates(x, intermediates_only=True, output_fmt="NCHW")
        return list(out)

    def embed(self, x: Tensor) -> Tensor:
        """Mean of the layer-normed last stage, (B, C)."""
        check_input(x, len(self.spec.bands), self.spec.name, size=self.spec.input_size)
        return self.model.forward_features(x).mean(dim=(1, 2))


def gfm_key_map(model: nn.Module) -> Callable[[StateDict], StateDict]:
    """GFM (SimMIM) checkpoint → timm Swin keys.

    A SimMIM training checkpoint nests the backbone under ``encoder.`` beside its decoder; as
    PANGAEA's GFM loader does, only the ``encoder.*`` tensors are read when present. The
    original Microsoft Swin layout (down-sampling at the end of a stage) is then converted to
    timm's with timm's own ``checkpoint_filter_fn``, which also drops the non-persistent
    ``relative_position_index``/``attn_mask`` buffers and resizes relative-position tables whose
    window differs.
    """
    from timm.models.swin_transformer import checkpoint_filter_fn

    def convert(state: StateDict) -> StateDict:
        if any(k.startswith("encoder.") for k in state):
            state = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
        return dict(checkpoint_filter_fn(state, model))

    return convert


def build_gfm_swin(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> TimmSwinEncoder:
    """GFM Swin-B at 192 px on RGB; its weights are only available as a file (``weights=PATH``)."""
    import timm

    spec = GFM_SWIN_SPEC
    architecture = _timm_architecture(spec)
    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    arch: dict[str, Any] = (
        {
            "img_size": TINY_INPUT_SIZE,
            "window_size": 2,
            "embed_dim": 16,
            "depths": (1, 1, 1, 1),
            "num_heads": (1, 2, 2, 4),
        }
        if tiny
        else {"img_size": spec.input_size, "window_size": architecture.window_size}
    )
    model = timm.create_model(architecture.name, pretrained=False, num_classes=0, **arch)
    encoder = TimmSwinEncoder(model, instance_spec(spec, tiny=tiny))
    if found is not None:
        encoder.load_report = load_weights(
            model, encoder.spec, source=found, key_map=gfm_key_map(model)
        )
    return encoder


ENCODERS.register(
    "resnet50", RegisteredEncoder(RESNET50_SPEC, _timm_features_factory(RESNET50_SPEC))
)
ENCODERS.register("remoteclip-vit-b32", RegisteredEncoder(REMOTECLIP_SPEC, build_remoteclip))
ENCODERS.register("gfm-swin", RegisteredEncoder(GFM_SWIN_SPEC, build_gfm_swin))

__all__ = [
    "GFM_SWIN_SPEC",
    "TimmFeaturesEncoder",
    "TimmSwinEncoder",
    "build_gfm_swin",
    "build_remoteclip",
    "gfm_key_map",
    "remoteclip_key_map",
]
