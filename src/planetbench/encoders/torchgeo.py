"""Geospatial foundation models: torchgeo builders (DOFA, Scale-MAE, CROMA, SSL4EO-S12 ViTs,
Satlas Swin, Panopticon), plus the models that have no installable implementation (listed as
unavailable with the reason). The terratorch-built models (Prithvi, TerraMind) live in
:mod:`planetbench.encoders.terratorch`.

Architectures are built offline; pretrained weights are located first (given file, cache, or
download, failing fast with the URL and the cache path) and then loaded by the shared strict
loader :func:`planetbench.encoders.weights.load_weights`. URLs are the ones torchgeo 0.8.1
publishes in its ``WeightsEnum`` classes; licences are those of torchgeo's weight tables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.encoders.bands import align_bands
from planetbench.encoders.base import (
    ENCODERS,
    HASH_PREFIX_NOTE,
    PINNED_REVISION_NOTE,
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
    build_timm_vit,
    check_input,
    instance_spec,
    tokens_to_map,
)
from planetbench.encoders.weights import (
    KeyMap,
    load_weights,
    pos_embed_key_map,
    prepare_weights,
)
from planetbench.errors import InvalidInputError, MissingDependencyError
from planetbench.tasks.bands import RGB, SENTINEL2, Band, bands

Factory = Callable[..., Encoder]

# --------------------------------------------------------------------------------------------
# DOFA (Xiong et al. 2024, https://arxiv.org/abs/2403.15356): wavelength-conditioned ViT.
# --------------------------------------------------------------------------------------------

DOFA_CITATION = "Xiong et al., Neural Plasticity-Inspired Multimodal Foundation Model for Earth Observation (DOFA), arXiv:2403.15356"


class DOFAEncoder(ModelEncoder):
    """torchgeo's DOFA returning blocks as stride-16 maps; wavelengths fixed at build time.

    Args:
        model: a torchgeo ``DOFA`` built with ``num_classes=0``.
        spec: the spec of this instance (``bands`` are the input bands, in order).
        indices: block indices returned by :meth:`features`.
        wavelengths_um: centre wavelength (µm) of each input channel.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: EncoderSpec,
        indices: Sequence[int],
        wavelengths_um: Sequence[float],
    ) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)
        self.register_buffer(
            "wavelengths", torch.tensor(list(wavelengths_um), dtype=torch.float32), persistent=False
        )

    def _tokens(self, x: Tensor) -> tuple[list[Tensor], Tensor, tuple[int, int]]:
        check_input(x, int(self.get_buffer("wavelengths").numel()), self.spec.name)
        p = self.model.patch_size
        if x.shape[-2] % p or x.shape[-1] % p:
            raise InvalidInputError(
                f"encoder {self.spec.name!r} needs H and W divisible by {p}; got {tuple(x.shape)}"
            )
        grid = (x.shape[-2] // p, x.shape[-1] // p)
        tokens, _ = self.model.patch_embed(x, self.get_buffer("wavelengths"))
        pos = self.model.pos_embed
        n_side = round((pos.shape[1] - 1) ** 0.5)
        patch_pos = pos[:, 1:]
        if grid != (n_side, n_side):  # bicubic resize of the fixed sin-cos grid, as PANGAEA
            patch_pos = patch_pos.reshape(1, n_side, n_side, -1).permute(0, 3, 1, 2)
            patch_pos = F.interpolate(patch_pos, size=grid, mode="bicubic", align_corners=False)
            patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)
        tokens = tokens + patch_pos
        cls = (self.model.cls_token + pos[:, :1]).expand(tokens.shape[0], -1, -1)
        h = torch.cat([cls, tokens], dim=1)
        outs = []
        for i, block in enumerate(self.model.blocks):
            h = block(h)
            if i in self.indices:
                outs.append(h[:, 1:])
        return outs, h, grid

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / 16, W / 16)."""
        outs, _, grid = self._tokens(x)
        return [tokens_to_map(t, grid) for t in outs]

    def embed(self, x: Tensor) -> Tensor:
        """DOFA's global pool: ``fc_norm`` of the mean patch token of the last block, (B, D)."""
        _, h, _ = self._tokens(x)
        return self.model.fc_norm(h[:, 1:].mean(dim=1))


def dofa_inputs(
    spec: EncoderSpec,
    in_bands: Sequence[Band] | None,
    wavelengths_um: Sequence[float] | None,
) -> tuple[tuple[Band, ...], tuple[float, ...]]:
    """The input bands and centre wavelengths (µm) of a wavelength-conditioned encoder.

    ``in_bands`` may be the task's own bands (the runner passes them): bands without a wavelength
    (elevation, slope …) are dropped by the same rule as the ``wavelength`` band policy
    (:func:`planetbench.encoders.bands.align_bands`), SAR bands get
    :data:`~planetbench.encoders.bands.SAR_WAVELENGTH_UM`. ``wavelengths_um``, when given (the
    runner passes ``BandAlignment.wavelengths_um``), overrides the wavelengths and must have one
    value per kept band.

    Raises:
        InvalidInputError: neither is given, the lengths differ, or a wavelength is not positive.
    """
    if not in_bands:
        raise InvalidInputError(
            f"encoder {spec.name!r} is wavelength-conditioned: pass in_bands (the task's bands; "
            "see planetbench.encoders.bands.align_bands(policy='wavelength'))"
        )
    alignment = align_bands(in_bands, spec, policy="wavelength")
    kept = tuple(in_bands[i] for i in alignment.index_map if isinstance(i, int))
    wavelengths = tuple(alignment.wavelengths_um or ())
    if wavelengths_um is not None:
        given = tuple(float(w) for w in wavelengths_um)
        if len(given) != len(kept):
            raise InvalidInputError(
                f"encoder {spec.name!r}: wavelengths_um has {len(given)} values but the bands "
                f"{[b.name for b in kept]} kept from in_bands need {len(kept)}; pass the "
                "wavelengths of the aligned bands (BandAlignment.wavelengths_um)"
            )
        if not all(w > 0 for w in given):
            raise InvalidInputError(
                f"encoder {spec.name!r}: wavelengths_um must be positive (µm); got {list(given)}"
            )
        wavelengths = given
    return kept, wavelengths


def _dofa_factory(spec: EncoderSpec, arch: dict[str, int]) -> Factory:
    def build(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        wavelengths_um: Sequence[float] | None = None,
        **options: Any,
    ) -> DOFAEncoder:
        kept, wavelengths = dofa_inputs(spec, in_bands, wavelengths_um)
        img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
        _no_options(options, spec.name)
        found = prepare_weights(spec, weights, tiny=tiny)
        from torchgeo.models import DOFA

        a: dict[str, Any] = (
            {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2} if tiny else arch
        )
        idx = (0, 1, 2, 3) if tiny else spec.out_indices
        inst = instance_spec(spec, tiny=tiny, bands=kept, input_size=img_size)
        model = DOFA(img_size=img_size, num_classes=0, global_pool=True, **a)
        encoder = DOFAEncoder(model, inst, idx, wavelengths)
        if found is not None:
            encoder.load_report = load_weights(
                model, inst, source=found, key_map=pos_embed_key_map(model)
            )
        return encoder

    return build


def _dofa_spec(name: str, dim: int, url: str, indices: tuple[int, ...]) -> EncoderSpec:
    return EncoderSpec(
        name=name,
        bands=(),
        input_size=224,
        feature_strides=(16,) * 4,
        feature_channels=(dim,) * 4,
        embed_dim=dim,
        out_indices=indices,
        weights=PretrainedWeights(
            source="torchgeo",
            url=url,
            sha256_note=HASH_PREFIX_NOTE,
            normalisation="sensor-dependent (DOFA normalize_dataset.py); none built in",
            pretraining="mae",
            # fc_norm is built by the global pool and not in the MAE checkpoint (torchgeo
            # asserts the same); head is not built (num_classes=0).
            allowed_missing_keys=("fc_norm.weight", "fc_norm.bias"),
            # torchgeo builds a classification head we do not (num_classes=0)
            ignored_prefixes=("head.",),
        ),
        architecture=Architecture("torchgeo", "DOFA"),
        tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
        wavelength_conditioned=True,
        licence="CC-BY-4.0",
        citation=DOFA_CITATION,
    )


_DOFA_BASE_URL = "https://hf.co/torchgeo/dofa/resolve/b8db318b64a90b9e085ec04ba8851233c5893666/dofa_base_patch16_224-a0275954.pth"
_DOFA_LARGE_URL = "https://hf.co/torchgeo/dofa/resolve/b8db318b64a90b9e085ec04ba8851233c5893666/dofa_large_patch16_224-0ff904d3.pth"

DOFA_BASE_SPEC = _dofa_spec("dofa-base", 768, _DOFA_BASE_URL, (3, 5, 7, 11))
DOFA_LARGE_SPEC = _dofa_spec("dofa-large", 1024, _DOFA_LARGE_URL, (7, 11, 15, 23))

# --------------------------------------------------------------------------------------------
# Scale-MAE (Reed et al. 2023, https://arxiv.org/abs/2212.14532): RGB ViT-L/16 with GSD-aware
# positional embeddings; fixed input size.
# --------------------------------------------------------------------------------------------

_SCALEMAE_URL = "https://hf.co/isaaccorley/vit_large_patch16_224_fmow_rgb_scalemae/resolve/9dc7f569424baeb780698352cf6e87638c882123/vit_large_patch16_224_fmow_rgb_scalemae-98ed9821.pth"

SCALEMAE_LARGE_SPEC = EncoderSpec(
    name="scalemae-large",
    bands=RGB,
    input_size=224,
    feature_strides=(16,) * 4,
    feature_channels=(1024,) * 4,
    embed_dim=1024,
    out_indices=(7, 11, 15, 23),
    weights=PretrainedWeights(
        source="torchgeo",
        url=_SCALEMAE_URL,
        sha256_note=HASH_PREFIX_NOTE,
        # ImageNet statistics on 0-255 inputs: (x/255 - m)/s = (x - 255 m)/(255 s).
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
        pretraining="scale-mae",
        ignored_prefixes=("head.",),
    ),
    architecture=Architecture("torchgeo", "ScaleMAE"),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
    licence="CC-BY-NC-4.0",
    citation="Reed et al., Scale-MAE: A Scale-Aware Masked Autoencoder for Multiscale Geospatial "
    "Representation Learning, ICCV 2023",
)


def build_scalemae(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> TimmViTEncoder:
    """Scale-MAE ViT-L/16 on RGB; option ``res`` is the ground sample distance in metres."""
    spec = SCALEMAE_LARGE_SPEC
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    res = float(options.pop("res", 1.0))
    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    from torchgeo.models import ScaleMAE

    arch: dict[str, Any] = (
        {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2}
        if tiny
        else {"patch_size": 16, "embed_dim": 1024, "depth": 24, "num_heads": 16}
    )
    model = ScaleMAE(
        res=res,
        img_size=img_size,
        in_chans=3,
        num_classes=0,
        mlp_ratio=4,
        qkv_bias=True,
        norm_layer=functools.partial(nn.LayerNorm, eps=1e-6),
        **arch,
    )
    inst = instance_spec(spec, tiny=tiny, input_size=img_size)
    indices = (0, 1, 2, 3) if tiny else spec.out_indices
    encoder = TimmViTEncoder(model, inst, indices, fixed_size=img_size)
    if found is not None:  # pos_embed is unused by Scale-MAE (GSD embedding) but is stored
        encoder.load_report = load_weights(
            model, inst, source=found, key_map=pos_embed_key_map(model)
        )
    return encoder


# --------------------------------------------------------------------------------------------
# CROMA (Fuller et al. 2023, https://arxiv.org/abs/2311.00566): optical encoder, 12 S2 bands.
# --------------------------------------------------------------------------------------------

_CROMA_BANDS = bands("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
                     "B11", "B12")  # fmt: skip


class CROMAEncoder(ModelEncoder):
    """The optical (Sentinel-2) encoder of CROMA, blocks returned as stride-8 maps.

    Args:
        model: a torchgeo ``CROMA`` built with ``modalities=["optical"]``.
        spec: the spec of this instance.
        indices: transformer layer indices returned by :meth:`features`.
    """

    def __init__(self, model: nn.Module, spec: EncoderSpec, indices: Sequence[int]) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)

    def _run(self, x: Tensor) -> tuple[list[Tensor], Tensor, tuple[int, int]]:
        check_input(x, len(self.spec.bands), self.spec.name, size=self.model.image_size)
        enc = self.model.s2_encoder
        p = enc.patch_size
        b, c, h, w = x.shape
        grid = (h // p, w // p)
        patches = x.reshape(b, c, grid[0], p, grid[1], p).permute(0, 2, 4, 1, 3, 5)
        t = enc.linear_input(patches.reshape(b, grid[0] * grid[1], c * p * p))
        outs = []
        for i, (attn, ffn) in enumerate(enc.transformer.layers):
            t = attn(t, self.model.attn_bias) + t
            t = ffn(t) + t
            if i in self.indices:
                outs.append(t)
        final = enc.transformer.norm_out(t)
        return outs, final, grid

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen layers, each (B, D, H / 8, W / 8)."""
        outs, _, grid = self._run(x)
        return [tokens_to_map(t, grid) for t in outs]

    def embed(self, x: Tensor) -> Tensor:
        """CROMA's optical GAP-FFN output, (B, D)."""
        _, final, _ = self._run(x)
        return self.model.s2_GAP_FFN(final.mean(dim=1))


def _croma_factory(spec: EncoderSpec, arch: dict[str, int]) -> Factory:
    def build(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        **options: Any,
    ) -> CROMAEncoder:
        img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
        _no_options(options, spec.name)
        found = prepare_weights(spec, weights, tiny=tiny)
        from torchgeo.models import CROMA

        a = {"encoder_dim": 32, "encoder_depth": 2, "num_heads": 16} if tiny else arch
        model = CROMA(modalities=["optical"], image_size=img_size, patch_size=8, **a)
        inst = instance_spec(spec, tiny=tiny, input_size=img_size)
        idx = (0, 1) if tiny else spec.out_indices
        encoder = CROMAEncoder(model, inst, idx)
        if found is not None:
            encoder.load_report = load_weights(model, inst, source=found)
        return encoder

    return build


def _croma_spec(name: str, dim: int, url: str, indices: tuple[int, ...]) -> EncoderSpec:
    return EncoderSpec(
        name=name,
        bands=_CROMA_BANDS,
        input_size=120,
        feature_strides=(8,) * 4,
        feature_channels=(dim,) * 4,
        embed_dim=dim,
        out_indices=indices,
        weights=PretrainedWeights(
            source="torchgeo",
            url=url,
            sha256_note=HASH_PREFIX_NOTE,
            normalisation="per-image mean ± 2 std scaled to [0, 1] (CROMA README)",
            pretraining="croma",
            # attn_bias is the 2D-ALiBi buffer computed in __init__, not stored in the checkpoint.
            allowed_missing_keys=("attn_bias",),
            # the radar and joint encoders are in the checkpoint but not built (optical only)
            ignored_prefixes=("s1_encoder.", "s1_GAP_FFN.", "joint_encoder."),
        ),
        architecture=Architecture("torchgeo", "CROMA", modalities=("optical",)),
        tiny=TinyVariant(feature_strides=(8,) * 2, feature_channels=(32,) * 2, embed_dim=32),
        licence="CC-BY-4.0",
        citation="Fuller et al., CROMA: Remote Sensing Representations with Contrastive "
        "Radar-Optical Masked Autoencoders, NeurIPS 2023",
    )


_CROMA_BASE_URL = "https://hf.co/torchgeo/croma/resolve/387883f08af79d777167519c57cd826eda89a16f/CROMA_base-0238d814.pt"
_CROMA_LARGE_URL = "https://huggingface.co/torchgeo/croma/resolve/92cb1a0f4e34c6c01558baf070197c01255382f6/CROMA_large-921e69ad.pt"
CROMA_BASE_SPEC = _croma_spec("croma-base", 768, _CROMA_BASE_URL, (3, 5, 7, 11))
CROMA_LARGE_SPEC = _croma_spec("croma-large", 1024, _CROMA_LARGE_URL, (7, 11, 15, 23))

# --------------------------------------------------------------------------------------------
# SSL4EO-S12 ViT-S/16 (Wang et al. 2023, https://arxiv.org/abs/2211.07044): 13 S2 L1C bands.
# --------------------------------------------------------------------------------------------

_SSL4EO_URLS = {
    "moco": "https://hf.co/torchgeo/vit_small_patch16_224_sentinel2_all_moco/resolve/1cb683f6c14739634cdfaaceb076529adf898c74/vit_small_patch16_224_sentinel2_all_moco-67c9032d.pth",
    "dino": "https://hf.co/torchgeo/vit_small_patch16_224_sentinel2_all_dino/resolve/5b41dd418a79de47ac9f5be3e035405a83818a62/vit_small_patch16_224_sentinel2_all_dino-36bcc127.pth",
    "mae": "https://huggingface.co/wangyi111/SSL4EO-S12/resolve/75c72195d35201dc1fb210818993518c25da566b/B13_vits16_mae_ep99_enc.pth",
}
SSL4EO_CITATION = "Wang et al., SSL4EO-S12: A Large-Scale Multi-Modal, Multi-Temporal Dataset for Self-Supervised Learning in Earth Observation, IEEE GRSM 2023"


def _ssl4eo_spec(method: str) -> EncoderSpec:
    return EncoderSpec(
        name=f"ssl4eo-{method}-vits16",
        bands=SENTINEL2,
        input_size=224,
        feature_strides=(16,) * 4,
        feature_channels=(384,) * 4,
        embed_dim=384,
        out_indices=(3, 5, 7, 11),
        weights=PretrainedWeights(
            source="torchgeo",
            url=_SSL4EO_URLS[method],
            sha256_note=HASH_PREFIX_NOTE if method != "mae" else PINNED_REVISION_NOTE,
            mean=(0.0,) * 13,
            std=(10000.0,) * 13,  # L1C digital numbers / 10000 (torchgeo _zhu_xlab_transforms)
            pretraining=method,
            # torchgeo allows norm/head to be absent from these checkpoints (vit.py KEYS)
            allowed_missing_keys=("norm.weight", "norm.bias"),
            ignored_prefixes=("head.",),
        ),
        architecture=Architecture("timm", "vit_small_patch16_224"),
        tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
        licence="CC-BY-4.0",
        citation=SSL4EO_CITATION,
    )


def _ssl4eo_factory(spec: EncoderSpec) -> Factory:
    def build(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        **options: Any,
    ) -> TimmViTEncoder:
        img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
        _no_options(options, spec.name)
        found = prepare_weights(spec, weights, tiny=tiny)
        arch = (
            {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2}
            if tiny
            else {"patch_size": 16, "embed_dim": 384, "depth": 12, "num_heads": 6}
        )
        model = build_timm_vit(in_chans=13, img_size=img_size, **arch)
        inst = instance_spec(spec, tiny=tiny, input_size=img_size)
        encoder = TimmViTEncoder(model, inst, (0, 1, 2, 3) if tiny else spec.out_indices)
        if found is not None:
            encoder.load_report = load_weights(
                model, inst, source=found, key_map=pos_embed_key_map(model)
            )
        return encoder

    return build


# --------------------------------------------------------------------------------------------
# Satlas Swin-v2-B (Bastani et al. 2023, https://arxiv.org/abs/2211.15660), Sentinel-2 9 bands,
# single-image weights.
# --------------------------------------------------------------------------------------------

_SATLAS_URL = "https://hf.co/torchgeo/satlas/resolve/081d6607431bf36bdb59c223777cbb267131b8f2/sentinel2_swinb_si_ms-fe22a12c.pth"

SATLAS_SWIN_B_SPEC = EncoderSpec(
    name="satlas-swin-b",
    bands=bands("B04", "B03", "B02", "B05", "B06", "B07", "B08", "B11", "B12"),
    input_size=256,
    feature_strides=(4, 8, 16, 32),
    feature_channels=(128, 256, 512, 1024),
    embed_dim=1024,
    weights=PretrainedWeights(
        source="torchgeo",
        url=_SATLAS_URL,
        sha256_note=HASH_PREFIX_NOTE,
        mean=(0.0,) * 9,
        # Satlas: RGB as 8-bit TCI values / 255, other bands as L1C DN / 8160 (torchgeo swin.py)
        std=(255.0, 255.0, 255.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0, 8160.0),
    ),
    architecture=Architecture("torchvision", "swin_v2_b"),
    tiny=TinyVariant(
        feature_strides=(4, 8, 16, 32), feature_channels=(16, 32, 64, 128), embed_dim=128
    ),
    licence="ODC-BY",
    citation="Bastani et al., SatlasPretrain: A Large-Scale Dataset for Remote Sensing Image "
    "Understanding, ICCV 2023",
)


class SwinEncoder(ModelEncoder):
    """A torchvision Swin Transformer returning its four stages as NCHW maps.

    Args:
        model: a torchvision ``SwinTransformer``.
        spec: the spec of this instance.
    """

    def features(self, x: Tensor) -> list[Tensor]:
        """Stage outputs, each (B, C_i, H / s_i, W / s_i) for s_i = 4, 8, 16, 32."""
        check_input(x, len(self.spec.bands), self.spec.name)
        maps = []
        for i, layer in enumerate(self.model.features):
            x = layer(x)
            if i % 2 == 1:  # patch-embed/stage pairs: outputs after stages 1, 3, 5, 7
                maps.append(x.permute(0, 3, 1, 2))
        return maps

    def embed(self, x: Tensor) -> Tensor:
        """Layer-normed mean of the last stage, (B, C)."""
        last = self.features(x)[-1].permute(0, 2, 3, 1)
        return self.model.norm(last).mean(dim=(1, 2))


def build_satlas_swin_b(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> SwinEncoder:
    """Satlas Swin-v2-B for 9 Sentinel-2 bands."""
    return build_satlas(SATLAS_SWIN_B_SPEC, tiny=tiny, weights=weights, **options)


def build_satlas(
    spec: EncoderSpec,
    *,
    key_map: KeyMap | None = None,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> SwinEncoder:
    """A Satlas Swin-v2-B of ``spec`` (its bands set the input channels), loaded strictly.

    Args:
        spec: a Satlas spec (:data:`SATLAS_SWIN_B_SPEC` or a variant of it).
        key_map: converts the checkpoint's keys to torchvision's Swin keys (None: they match).
        in_bands: ignored (the encoder's bands are fixed; align the task's bands first).
        tiny: the 4-stage, 16-dim test variant (random weights unless a file is given).
        weights: None (the spec's weights), or a local checkpoint.
        **options: none are accepted.
    """
    import torchvision
    from torchvision.models.swin_transformer import (
        PatchMergingV2,
        SwinTransformer,
        SwinTransformerBlockV2,
    )

    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    if tiny:
        model = SwinTransformer(
            patch_size=[4, 4],
            embed_dim=16,
            depths=[1, 1, 1, 1],
            num_heads=[1, 2, 2, 4],
            window_size=[4, 4],
            block=SwinTransformerBlockV2,
            downsample_layer=PatchMergingV2,
        )
    else:
        model = torchvision.models.swin_v2_b(weights=None)
    out_channels = model.features[0][0].out_channels
    model.features[0][0] = nn.Conv2d(len(spec.bands), out_channels, kernel_size=4, stride=4)
    inst = instance_spec(spec, tiny=tiny)
    encoder = SwinEncoder(model, inst)
    if found is not None:
        encoder.load_report = load_weights(model, inst, source=found, key_map=key_map)
    return encoder


# --------------------------------------------------------------------------------------------
# Panopticon (Waldmann et al. 2025, https://arxiv.org/abs/2503.10845): DINOv2 ViT-B/14 with a
# spectral cross-attention patch embedding conditioned on each channel's wavelength (nm) or
# SAR polarisation (negative channel ids).
# --------------------------------------------------------------------------------------------

#: Panopticon's SAR channel ids (orbit-agnostic rows of torchgeo's ``ChnEmb`` table, whose
#: row ``-(id + 1)`` transmits/receives V,V / V,H / H,H / H,V for ids -1 … -4).
PANOPTICON_SAR_IDS: dict[str, int] = {"VV": -1, "VH": -2, "HH": -3, "HV": -4}

_PANOPTICON_URL = "https://hf.co/lewaldm/panopticon/resolve/c8c2bb9555819e8b2bcedf5b3b00e3bf531554e7/panopticon_vitb14_teacher.pth"


def panopticon_channel_ids(in_bands: Sequence[Band], name: str) -> tuple[float, ...]:
    """Panopticon channel ids: optical centre wavelength in nm, SAR polarisation as -1 … -4.

    Raises:
        InvalidInputError: a band has neither a wavelength nor a known polarisation.
    """
    ids: list[float] = []
    for band in in_bands:
        if band.modality == "optical" and band.wavelength_um is not None:
            ids.append(round(band.wavelength_um * 1000.0))
        elif band.modality == "sar" and (band.polarisation or "").upper() in PANOPTICON_SAR_IDS:
            ids.append(float(PANOPTICON_SAR_IDS[(band.polarisation or "").upper()]))
        else:
            raise InvalidInputError(
                f"encoder {name!r} takes optical bands (by wavelength) and SAR bands "
                f"({', '.join(PANOPTICON_SAR_IDS)}); band {band.name!r} ({band.modality}) is "
                "neither: align the task's bands with policy='wavelength', which drops it"
            )
    return tuple(ids)


class PanopticonEncoder(ModelEncoder):
    """Panopticon's ViT returning blocks as stride-14 maps; channel ids fixed at build time.

    Args:
        model: the timm ``VisionTransformer`` of torchgeo's ``Panopticon`` (``.model``), whose
            ``patch_embed`` is a ``PanopticonPE``.
        spec: the spec of this instance (``bands`` are the input bands, in order).
        indices: block indices returned by :meth:`features`.
        channel_ids: one id per input channel (see :func:`panopticon_channel_ids`).
        img_size: the square input size the position embedding was built for.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: EncoderSpec,
        indices: Sequence[int],
        channel_ids: Sequence[float],
        img_size: int,
    ) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)
        self.img_size = img_size
        self.register_buffer(
            "channel_ids", torch.tensor(list(channel_ids), dtype=torch.float32), persistent=False
        )

    def _run(self, x: Tensor) -> tuple[list[Tensor], Tensor, tuple[int, int]]:
        ids = self.get_buffer("channel_ids")
        check_input(x, int(ids.numel()), self.spec.name, size=self.img_size)
        vit = self.model
        ids = ids.to(x.dtype).expand(x.shape[0], -1).clone()  # ChnEmb edits ids in place
        h = vit.patch_embed({"imgs": x, "chn_ids": ids})
        grid = tuple(vit.patch_embed.grid_size)
        h = vit.norm_pre(vit.patch_drop(vit._pos_embed(h)))
        outs = []
        for i, block in enumerate(vit.blocks):
            h = block(h)
            if i in self.indices:
                outs.append(h[:, vit.num_prefix_tokens :])
        return outs, vit.norm(h), (int(grid[0]), int(grid[1]))

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / 14, W / 14) (H / 8 for the tiny variant)."""
        outs, _, grid = self._run(x)
        return [tokens_to_map(t, grid) for t in outs]

    def embed(self, x: Tensor) -> Tensor:
        """The normalised class token, Panopticon's image-level feature, (B, D)."""
        _, final, _ = self._run(x)
        return final[:, 0]


PANOPTICON_SPEC = EncoderSpec(
    name="panopticon-vitb14",
    bands=(),
    input_size=224,
    feature_strides=(14,) * 4,
    feature_channels=(768,) * 4,
    embed_dim=768,
    out_indices=(3, 5, 7, 11),
    weights=PretrainedWeights(
        source="torchgeo",
        url=_PANOPTICON_URL,
        hf_hub_id="lewaldm/panopticon",
        hf_filename="panopticon_vitb14_teacher.pth",
        sha256_note=PINNED_REVISION_NOTE,
        normalisation="per-band standard normal (Panopticon README: 224x224, standard "
        "normal normalisation)",
        pretraining="dino",
        # DINOv2's mask token is a training-only parameter (torchgeo pops it as well)
        ignored_prefixes=("mask_token",),
    ),
    architecture=Architecture("torchgeo", "Panopticon"),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
    wavelength_conditioned=True,
    licence="Apache-2.0 (DINOv2-based code, github.com/Panopticon-FM/panopticon)",
    citation="Waldmann et al., Panopticon: Advancing Any-Sensor Foundation Models for Earth "
    "Observation, CVPR 2025 EarthVision, arXiv:2503.10845",
)


def _tiny_panopticon_vit(img_size: int) -> nn.Module:
    """A 4-block, 32-dim ViT with Panopticon's patch embedding (patch 8), for tests."""
    import timm
    from torchgeo.models.panopticon import PanopticonPE

    vit = timm.create_model(
        "vit_base_patch14_dinov2",
        pretrained=False,
        img_size=img_size,
        patch_size=8,
        embed_dim=32,
        depth=4,
        num_heads=2,
    )
    vit.patch_embed = PanopticonPE(
        attn_dim=32,
        embed_dim=32,
        patch_size=8,
        img_size=img_size,
        chnfus_cfg={"attn_cfg": {"num_heads": 16}},
    )
    vit.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img_size // 8) ** 2, 32))
    nn.init.trunc_normal_(vit.pos_embed, std=0.02)
    return vit


def build_panopticon(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    wavelengths_um: Sequence[float] | None = None,
    **options: Any,
) -> PanopticonEncoder:
    """Panopticon ViT-B/14 for any optical/SAR bands (``in_bands``; non-spectral ones dropped).

    ``wavelengths_um`` (what the runner passes from the band alignment) is accepted for the
    optical bands and must agree with ``in_bands``; Panopticon's SAR ids come from the
    polarisation, not from a wavelength.
    """
    spec = PANOPTICON_SPEC
    kept, _ = dofa_inputs(spec, in_bands, wavelengths_um)
    ids = panopticon_channel_ids(kept, spec.name)
    if wavelengths_um is not None:
        for band, wl in zip(kept, wavelengths_um, strict=True):
            if (
                band.modality == "optical"
                and abs(float(wl) - float(band.wavelength_um or 0)) > 1e-6
            ):
                raise InvalidInputError(
                    f"encoder {spec.name!r}: wavelengths_um gives {wl} µm for band {band.name!r} "
                    f"whose wavelength is {band.wavelength_um} µm; Panopticon takes the bands' "
                    "own wavelengths"
                )
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    _no_options(options, spec.name)
    if not tiny and img_size % 14:
        raise InvalidInputError(
            f"encoder {spec.name!r} needs img_size divisible by 14 (patch 14); got {img_size}"
        )
    found = prepare_weights(spec, weights, tiny=tiny)
    if tiny:
        vit = _tiny_panopticon_vit(img_size)
    else:
        from torchgeo.models import Panopticon

        vit = Panopticon(img_size=img_size).model
    inst = instance_spec(spec, tiny=tiny, bands=kept, input_size=img_size)
    indices = (0, 1, 2, 3) if tiny else spec.out_indices
    encoder = PanopticonEncoder(vit, inst, indices, ids, img_size)
    if found is not None:  # the checkpoint's position embedding is for 518 px: resample it
        encoder.load_report = load_weights(vit, inst, source=found, key_map=pos_embed_key_map(vit))
    return encoder


# --------------------------------------------------------------------------------------------
# Models without an installable package (terratorch-built models: encoders/terratorch.py).
# --------------------------------------------------------------------------------------------


def _unavailable_factory(spec: EncoderSpec) -> Factory:
    def build(**_: Any) -> Encoder:
        raise MissingDependencyError(
            f"encoder {spec.name!r} is not available: {spec.unavailable_reason}"
        )

    return build


def _unavailable_spec(
    name: str, reason: str, citation: str, licence: str = "", **facts: Any
) -> EncoderSpec:
    return EncoderSpec(
        name=name,
        available=False,
        unavailable_reason=reason,
        citation=citation,
        licence=licence,
        **facts,
    )


#: Encoders of the Cryo-Bench list without an installable implementation here. Their facts
#: (bands, sizes, weights) are those of PANGAEA's configs (``configs/encoder/*.yaml``), kept so
#: that listings are informative; building them raises ``MissingDependencyError``.
UNAVAILABLE_SPECS: tuple[EncoderSpec, ...] = (
    _unavailable_spec(
        "spectralgpt",
        "no installable package: SpectralGPT ships only as research code "
        "(github.com/danfenghong/IEEE_TPAMI_SpectralGPT); no PyPI distribution exists",
        "Hong et al., SpectralGPT: Spectral Remote Sensing Foundation Model, IEEE TPAMI 2024",
        bands=_CROMA_BANDS,  # the 12 Sentinel-2 L2A bands (no B10), as CROMA
        input_size=128,
        # 3-D patches of 8 x 8 px x 3 bands: 4 spectral groups of 768 channels per position
        feature_strides=(8,) * 4,
        feature_channels=(3072,) * 4,
        embed_dim=768,
        weights=PretrainedWeights(
            source="url",
            url="https://zenodo.org/records/8412455/files/SpectralGPT+.pth",
            sha256_note="no SHA-256 is published (Zenodo lists an MD5 on the record page); "
            "the encoder cannot be built here",
        ),
    ),
    _unavailable_spec(
        "ramen",
        "no installable package: RAMEN ships only as research code and checkpoints "
        "(github.com/nicolashoudre/RAMEN); no PyPI distribution exists (the PyPI 'ramen*' "
        "packages are unrelated)",
        "Houdré et al., RAMEN: Resolution-Adjustable Multimodal Encoder for Earth Observation, "
        "arXiv:2512.05025",
    ),
    _unavailable_spec(
        "ssl4eo-data2vec-vits16",
        "torchgeo 0.8.1 (the installed version) publishes no weights for the SSL4EO-S12 "
        "data2vec ViT-S/16, only MoCo, DINO and MAE (registered as ssl4eo-*-vits16); its "
        "checkpoint is a Google-Drive file of BEiT-style research code whose key layout no "
        "maintained builder documents",
        SSL4EO_CITATION,
        "CC-BY-4.0",
        bands=SENTINEL2,
        input_size=224,
        feature_strides=(16,) * 4,
        feature_channels=(384,) * 4,
        embed_dim=384,
    ),
)


def _register() -> None:
    for spec, factory in (
        (
            DOFA_BASE_SPEC,
            _dofa_factory(
                DOFA_BASE_SPEC,
                {"patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12},
            ),
        ),
        (
            DOFA_LARGE_SPEC,
            _dofa_factory(
                DOFA_LARGE_SPEC,
                {"patch_size": 16, "embed_dim": 1024, "depth": 24, "num_heads": 16},
            ),
        ),
        (SCALEMAE_LARGE_SPEC, build_scalemae),
        (
            CROMA_BASE_SPEC,
            _croma_factory(
                CROMA_BASE_SPEC, {"encoder_dim": 768, "encoder_depth": 12, "num_heads": 16}
            ),
        ),
        (
            CROMA_LARGE_SPEC,
            _croma_factory(
                CROMA_LARGE_SPEC, {"encoder_dim": 1024, "encoder_depth": 24, "num_heads": 16}
            ),
        ),
        (SATLAS_SWIN_B_SPEC, build_satlas_swin_b),
        (PANOPTICON_SPEC, build_panopticon),
    ):
        ENCODERS.register(spec.name, RegisteredEncoder(spec, factory))
    for method in ("moco", "dino", "mae"):
        spec = _ssl4eo_spec(method)
        ENCODERS.register(spec.name, RegisteredEncoder(spec, _ssl4eo_factory(spec)))
    for spec in UNAVAILABLE_SPECS:
        ENCODERS.register(spec.name, RegisteredEncoder(spec, _unavailable_factory(spec)))


_register()

__all__ = [
    "CROMAEncoder",
    "DOFAEncoder",
    "PanopticonEncoder",
    "SwinEncoder",
    "build_panopticon",
    "build_satlas",
    "build_satlas_swin_b",
    "build_scalemae",
    "dofa_inputs",
    "panopticon_channel_ids",
]
