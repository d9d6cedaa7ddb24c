"""Encoders as Cryo-Bench runs them: its encoder configs' variants, output layers and weights.

Cryo-Bench (``github.com/Sk-2103/Cryo-Bench``, a PANGAEA fork; read at commit
``41b6115ee70e09faccc78e1f1236352200e354a5``) builds its encoders from
``pangaea-bench/configs/encoder/*.yaml`` and ``pangaea/encoders/*.py``. Where that differs from
our default entry of the same model, a ``-cryobench`` entry reproduces it; each is its own
leaderboard row (its own run identity), the default entries are unchanged:

=============================== ===================================================================
id                              what differs from the default entry (Cryo-Bench file)
=============================== ===================================================================
``prithvi-eo-v1-100-cryobench`` Prithvi-100M (not EO-2.0-300M), the output of block 11 only, no
                                final norm, weights ``ibm-nasa-geospatial/Prithvi-100M``
                                (``prithvi.yaml``, ``prithvi_encoder.py``)
``terramind-v1-large-cryobench`` blocks 7, 11, 15, 23, the last through the encoder norm; bands
                                B1-B8A, **B10**, B11, B12 (``terramind_large.yaml``)
``croma-large-cryobench``       blocks 3, 5, 7, 11 of the 24, the last through CROMA's final norm
                                (``croma_optical.yaml``; ``BaseTransformer`` normalises the last
                                output layer); weights ``antofuller/CROMA``
``dofa-base-cryobench``         the last block's output through a final LayerNorm, not loaded when
                                the checkpoint has none (``dofa_encoder.py``); weights
                                ``XShadow/DOFA``
``resnet50-cryobench``          torchvision's ImageNet weights (``DEFAULT`` = IMAGENET1K_V2), the
                                outputs of layer1-layer4 (``resnet50_pretrained.yaml``)
``satlas-swin-b-cryobench``     128 px inputs, bands B2, B3, B4 (not B4, B3, B2) then B5-B12
                                (``satlasnet_si.yaml``); weights ``allenai/satlas-pretrain``
``vit-b16-cryobench``           ViT-B/16 from scratch with a zero, frozen position embedding and
                                PyTorch's default initialisation, blocks 3, 5, 7, 11 with the
                                final norm on the last, optical channels only
                                (``vit_scratch.yaml``, ``vit_encoder.py``)
=============================== ===================================================================

Every entry loads its weights strictly through :func:`~planetbench.encoders.weights.load_weights`
(offline: :class:`~planetbench.errors.WeightsUnavailableError` with the URL and the cache path)
and has a tiny variant. Cryo-Bench normalises inputs with each *dataset's* statistics and feeds
bands by the names of its dataset configs: use the band policy ``cryobench``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
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
    CRYO_BENCH_CITATION,
    TINY_INPUT_SIZE,
    VIT_TINY,
    VIT_TINY_INDICES,
    TimmViTEncoder,
    _in_bands,
    _no_options,
    _seeded,
    check_input,
    instance_spec,
    tokens_to_map,
)
from planetbench.encoders.terratorch import (
    PRITHVI_SPEC,
    TERRAMIND_SPEC,
    _build_prithvi,
    _require_terratorch,
    build_terratorch,
    prepare_terratorch_weights,
    prithvi_key_map,
    registered_spec,
)
from planetbench.encoders.torchgeo import (
    CROMA_LARGE_SPEC,
    DOFA_BASE_SPEC,
    SATLAS_SWIN_B_SPEC,
    CROMAEncoder,
    DOFAEncoder,
    build_satlas,
    dofa_inputs,
)
from planetbench.encoders.weights import StateDict, load_weights, pos_embed_key_map, prepare_weights
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import RGB, Band, bands

CRYOBENCH_COMMIT = "41b6115ee70e09faccc78e1f1236352200e354a5"
"""The commit of ``Sk-2103/Cryo-Bench`` whose encoder configs these entries follow."""

_CITE = "; as run by " + CRYO_BENCH_CITATION


def _hf(repo: str, filename: str) -> str:
    return f"https://huggingface.co/{repo}/resolve/main/{filename}"


def _weights_of(spec: EncoderSpec) -> PretrainedWeights:
    if spec.weights is None:  # pragma: no cover - the base specs all publish weights
        raise InvalidInputError(f"encoder {spec.name!r} declares no weights to vary")
    return spec.weights


@contextlib.contextmanager
def block_outputs(blocks: Sequence[nn.Module], indices: Sequence[int]) -> Iterator[dict[int, Tensor]]:
    """Collect the outputs of ``blocks[i]`` for ``i`` in ``indices`` while a forward pass runs.

    Forward hooks are added on entry and removed on exit; the dict maps each index to the
    block's output of the last call.
    """
    seen: dict[int, Tensor] = {}
    handles = []
    for i in indices:
        def keep(_: nn.Module, __: Any, out: Tensor, i: int = i) -> None:
            seen[i] = out

        handles.append(blocks[i].register_forward_hook(keep))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


# --------------------------------------------------------------------------------------------
# Prithvi-100M (Jakubik et al. 2023, https://arxiv.org/abs/2310.18660), Cryo-Bench's "prithvi".
# --------------------------------------------------------------------------------------------

_PRITHVI_100M_REPO = "ibm-nasa-geospatial/Prithvi-100M"
_PRITHVI_100M_FILE = "Prithvi_100M.pt"

PRITHVI_100M_CRYOBENCH_SPEC = EncoderSpec(
    name="prithvi-eo-v1-100-cryobench",
    # prithvi.yaml: B2, B3, B4, B8A, B11, B12 (HLS BLUE … SWIR_2)
    bands=bands("B02", "B03", "B04", "B8A", "B11", "B12"),
    input_size=224,
    feature_strides=(16,),
    feature_channels=(768,),
    embed_dim=768,
    out_indices=(11,),
    weights=PretrainedWeights(
        source="url",
        url=_hf(_PRITHVI_100M_REPO, _PRITHVI_100M_FILE),
        hf_hub_id=_PRITHVI_100M_REPO,
        hf_filename=_PRITHVI_100M_FILE,
        sha256_note=MAIN_BRANCH_NOTE,
        # terratorch PRITHVI_V1_MEAN / PRITHVI_V1_STD (HLS reflectance x 10000)
        mean=(775.0, 1081.0, 1229.0, 2497.0, 2204.0, 1611.0),
        std=(1282.0, 1270.0, 1399.0, 1368.0, 1292.0, 1155.0),
        normalisation="pretrained on HLS reflectance x 10000 with these mean/std; Cryo-Bench "
        "normalises with each dataset's statistics instead",
        pretraining="mae",
        # the checkpoint's sin-cos position embedding is for 3 frames; the 1-frame model
        # computes its own (PANGAEA skips the mismatched tensor, terratorch replaces it)
        allowed_missing_keys=("pos_embed",),
        ignored_prefixes=("decoder", "mask_token"),
    ),
    architecture=Architecture(
        "terratorch",
        "terratorch_prithvi_eo_v1_100",
        family="prithvi",
        upstream_bands=("BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"),
    ),
    tiny=TinyVariant(feature_strides=(8,), feature_channels=(32,), embed_dim=32),
    licence="Apache-2.0",
    citation="Jakubik et al., Foundation Models for Generalist Geospatial Artificial "
    "Intelligence, arXiv:2310.18660" + _CITE,
    requires=("terratorch",),
)


class BlockTapEncoder(ModelEncoder):
    """A ViT whose ``features`` are the outputs of chosen blocks, read while the model runs.

    Args:
        model: the upstream ViT; ``model.blocks`` are its transformer blocks.
        spec: the spec of this instance.
        indices: blocks whose outputs :meth:`features` returns.
        run: runs the model on an input batch (its own forward; the outputs are read by hooks).
        patch_size: side of a patch in pixels.
        num_prefix_tokens: tokens before the patch tokens (a class token).
        final_norm: applied to the last returned output when it is the last block's (None: no
            norm, as PANGAEA's Prithvi encoder).
        pooled: returns (B, D) for :meth:`embed`.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: EncoderSpec,
        indices: Sequence[int],
        *,
        run: Callable[[Tensor], Any],
        patch_size: int,
        num_prefix_tokens: int,
        final_norm: nn.Module | None,
        pooled: Callable[[Tensor], Tensor],
    ) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)
        self.run = run
        self.patch_size = patch_size
        self.num_prefix_tokens = num_prefix_tokens
        self.final_norm = final_norm
        self.pooled = pooled

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs of the chosen blocks as maps, each (B, D, H / p, W / p)."""
        check_input(x, len(self.spec.bands), self.spec.name)
        p = self.patch_size
        if x.shape[-2] % p or x.shape[-1] % p:
            raise InvalidInputError(
                f"encoder {self.spec.name!r} needs H and W divisible by {p}; got {tuple(x.shape)}"
            )
        grid = (x.shape[-2] // p, x.shape[-1] // p)
        with block_outputs(self.model.blocks, self.indices) as seen:
            self.run(x)
        outs = [seen[i] for i in self.indices]
        if self.final_norm is not None and self.indices[-1] == len(self.model.blocks) - 1:
            outs[-1] = self.final_norm(outs[-1])
        return [tokens_to_map(t[:, self.num_prefix_tokens :], grid) for t in outs]

    def embed(self, x: Tensor) -> Tensor:
        """The model's pooled image vector, (B, D)."""
        check_input(x, len(self.spec.bands), self.spec.name)
        return self.pooled(x)


def build_prithvi_100m(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> BlockTapEncoder:
    """Prithvi-100M as Cryo-Bench runs it: block 11's output, no final norm (tiny: block 3)."""
    spec = PRITHVI_100M_CRYOBENCH_SPEC
    _require_terratorch(spec.name)
    _no_options(options, spec.name)
    found = prepare_terratorch_weights(spec, weights, tiny=tiny)
    inst = instance_spec(spec, tiny=tiny)
    model: Any = _build_prithvi(spec, tiny)  # terratorch's PrithviViT (untyped attributes)

    def pooled(x: Tensor) -> Tensor:
        return model.forward_features(x)[-1][:, 1:].mean(dim=1)

    encoder = BlockTapEncoder(
        model, inst, (3,) if tiny else spec.out_indices, run=model.forward_features,
        patch_size=inst.feature_strides[0], num_prefix_tokens=1, final_norm=None, pooled=pooled,
    )
    if found is not None:
        encoder.load_report = load_weights(model, inst, source=found, key_map=prithvi_key_map)
    return encoder


# --------------------------------------------------------------------------------------------
# TerraMind v1 large, Cryo-Bench's "terramind_large": other blocks, B10 where terratorch has B9.
# --------------------------------------------------------------------------------------------

TERRAMIND_CRYOBENCH_SPEC = dataclasses.replace(
    TERRAMIND_SPEC,
    name="terramind-v1-large-cryobench",
    # terramind_large.yaml lists B1 … B8A, B10, B11, B12: the 10th input channel, whose
    # pretrained patch-embedding weights are those of B9 (terratorch's WATER_VAPOR), is fed B10
    bands=bands(
        "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B10", "B11", "B12"
    ),
    out_indices=(7, 11, 15, 23),
    citation=TERRAMIND_SPEC.citation + _CITE,
)


# --------------------------------------------------------------------------------------------
# CROMA large, Cryo-Bench's "croma_optical": layers 3, 5, 7, 11, the last through norm_out.
# --------------------------------------------------------------------------------------------

CROMA_LARGE_CRYOBENCH_SPEC = dataclasses.replace(
    CROMA_LARGE_SPEC,
    name="croma-large-cryobench",
    out_indices=(3, 5, 7, 11),
    weights=dataclasses.replace(
        _weights_of(CROMA_LARGE_SPEC),
        source="url",
        url=_hf("antofuller/CROMA", "CROMA_large.pt"),
        hf_hub_id="antofuller/CROMA",
        hf_filename="CROMA_large.pt",
        sha256_note=MAIN_BRANCH_NOTE,
    ),
    citation=CROMA_LARGE_SPEC.citation + _CITE,
)


class CROMANormedEncoder(CROMAEncoder):
    """CROMA's optical encoder whose last returned layer passes through its final norm.

    PANGAEA's CROMA transformer, asked for output layers, replaces the last of them by
    ``norm_out`` of it (``BaseTransformer.forward`` in ``croma_encoder.py``).
    """

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen layers, each (B, D, H / 8, W / 8), the last one normalised."""
        outs, _, grid = self._run(x)
        outs[-1] = self.model.s2_encoder.transformer.norm_out(outs[-1])
        return [tokens_to_map(t, grid) for t in outs]


def build_croma_large_cryobench(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> CROMANormedEncoder:
    """CROMA-L optical as Cryo-Bench runs it (tiny: 2 layers of 32 dims, both returned)."""
    from torchgeo.models import CROMA

    spec = CROMA_LARGE_CRYOBENCH_SPEC
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    arch = ({"encoder_dim": 32, "encoder_depth": 2, "num_heads": 16} if tiny
            else {"encoder_dim": 1024, "encoder_depth": 24, "num_heads": 16})
    model = CROMA(modalities=["optical"], image_size=img_size, patch_size=8, **arch)
    inst = instance_spec(spec, tiny=tiny, input_size=img_size)
    encoder = CROMANormedEncoder(model, inst, (0, 1) if tiny else spec.out_indices)
    if found is not None:
        encoder.load_report = load_weights(model, inst, source=found)
    return encoder


# --------------------------------------------------------------------------------------------
# DOFA base, Cryo-Bench's "dofa": the last block through a final LayerNorm.
# --------------------------------------------------------------------------------------------

_DOFA_BASE_WEIGHTS = _weights_of(DOFA_BASE_SPEC)

DOFA_BASE_CRYOBENCH_SPEC = dataclasses.replace(
    DOFA_BASE_SPEC,
    name="dofa-base-cryobench",
    weights=dataclasses.replace(
        _DOFA_BASE_WEIGHTS,
        source="url",
        url=_hf("XShadow/DOFA", "DOFA_ViT_base_e100.pth"),
        hf_hub_id="XShadow/DOFA",
        hf_filename="DOFA_ViT_base_e100.pth",
        sha256_note=MAIN_BRANCH_NOTE,
        # PANGAEA's DOFA has a final LayerNorm (eps 1e-6) that stays at its initial values when
        # the checkpoint holds none (the MAE checkpoint torchgeo republishes holds none)
        allowed_missing_keys=("norm.weight", "norm.bias"),
        ignored_prefixes=("head.", "fc_norm."),
    ),
    citation=DOFA_BASE_SPEC.citation + _CITE,
)


class DOFANormedEncoder(DOFAEncoder):
    """DOFA whose last block output passes through the final LayerNorm, as PANGAEA's."""

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / 16, W / 16), the last block's normalised."""
        outs, _, grid = self._tokens(x)
        if self.indices[-1] == len(self.model.blocks) - 1:
            outs[-1] = self.model.norm(outs[-1])
        return [tokens_to_map(t, grid) for t in outs]

    def embed(self, x: Tensor) -> Tensor:
        """Mean of the normalised final patch tokens, (B, D)."""
        _, h, _ = self._tokens(x)
        return self.model.norm(h)[:, 1:].mean(dim=1)


def build_dofa_base_cryobench(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    wavelengths_um: Sequence[float] | None = None,
    **options: Any,
) -> DOFANormedEncoder:
    """DOFA-B as Cryo-Bench runs it; ``in_bands``/``wavelengths_um`` as for ``dofa-base``."""
    from torchgeo.models import DOFA

    spec = DOFA_BASE_CRYOBENCH_SPEC
    kept, wavelengths = dofa_inputs(spec, in_bands, wavelengths_um)
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    arch: dict[str, Any] = (
        {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2} if tiny
        else {"patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12}
    )
    model = DOFA(img_size=img_size, num_classes=0, global_pool=False, **arch)
    inst = instance_spec(spec, tiny=tiny, bands=kept, input_size=img_size)
    encoder = DOFANormedEncoder(model, inst, (0, 1, 2, 3) if tiny else spec.out_indices,
                                wavelengths)
    if found is not None:
        encoder.load_report = load_weights(
            model, inst, source=found, key_map=pos_embed_key_map(model)
        )
    return encoder


# --------------------------------------------------------------------------------------------
# ResNet-50 with torchvision's ImageNet weights, Cryo-Bench's "resnet50_pretrained".
# --------------------------------------------------------------------------------------------

RESNET50_CRYOBENCH_SPEC = EncoderSpec(
    name="resnet50-cryobench",
    bands=RGB,  # resnet50_pretrained.yaml: B4, B3, B2
    # PANGAEA sets this encoder's input size to the dataset's image size (no crop)
    input_size=224,
    feature_strides=(4, 8, 16, 32),
    feature_channels=(256, 512, 1024, 2048),
    embed_dim=2048,
    weights=PretrainedWeights(
        source="url",
        url="https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        sha256_note=HASH_PREFIX_NOTE,
        # ImageNet statistics on 0-255 inputs
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
        normalisation="ImageNet mean/std (torchvision IMAGENET1K_V2); Cryo-Bench normalises "
        "with each dataset's statistics instead",
        pretraining="supervised",
    ),
    architecture=Architecture("torchvision", "resnet50"),
    tiny=TinyVariant(feature_channels=(64, 128, 256, 512), embed_dim=512),
    licence="BSD-3-Clause (torchvision weights)",
    citation="He et al., Deep Residual Learning for Image Recognition, CVPR 2016" + _CITE,
)


class TorchvisionResNetEncoder(ModelEncoder):
    """A torchvision ResNet returning the outputs of layer1 … layer4 (strides 4, 8, 16, 32)."""

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs of layer1-layer4, each (B, C_i, H / s_i, W / s_i)."""
        check_input(x, len(self.spec.bands), self.spec.name)
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        maps = []
        for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
            x = layer(x)
            maps.append(x)
        return maps


def build_resnet50_cryobench(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> TorchvisionResNetEncoder:
    """ResNet-50 with torchvision's ImageNet weights (tiny: a one-block-per-stage ResNet-18)."""
    from torchvision.models import resnet50
    from torchvision.models.resnet import BasicBlock, ResNet

    spec = RESNET50_CRYOBENCH_SPEC
    _no_options(options, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny)
    model = ResNet(BasicBlock, [1, 1, 1, 1]) if tiny else resnet50(weights=None)
    inst = instance_spec(spec, tiny=tiny)
    encoder = TorchvisionResNetEncoder(model, inst)
    if found is not None:
        encoder.load_report = load_weights(model, inst, source=found)
    return encoder


# --------------------------------------------------------------------------------------------
# Satlas Swin-v2-B, Cryo-Bench's "satlasnet_si": 128 px, B2 B3 B4 first, allenai's checkpoint.
# --------------------------------------------------------------------------------------------

_SATLAS_WEIGHTS = _weights_of(SATLAS_SWIN_B_SPEC)

SATLAS_CRYOBENCH_SPEC = dataclasses.replace(
    SATLAS_SWIN_B_SPEC,
    name="satlas-swin-b-cryobench",
    # satlasnet_si.yaml: B2, B3, B4 (its B4, B3, B2 commented out), then B5 … B12
    bands=bands("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12"),
    input_size=128,
    weights=dataclasses.replace(
        _SATLAS_WEIGHTS,
        source="url",
        url=_hf("allenai/satlas-pretrain", "sentinel2_swinb_si_ms.pth"),
        hf_hub_id="allenai/satlas-pretrain",
        hf_filename="sentinel2_swinb_si_ms.pth",
        sha256_note=MAIN_BRANCH_NOTE,
        # SatlasPretrain's whole model: its feature pyramid and heads are not built
        ignored_prefixes=("intermediates.", "heads.", "upsample."),
    ),
    citation=SATLAS_SWIN_B_SPEC.citation + _CITE,
)


def satlas_key_map(state: StateDict) -> StateDict:
    """SatlasPretrain checkpoint keys → torchvision Swin keys.

    The backbone's keys read ``backbone.backbone.<torchvision key>`` (PANGAEA's
    ``adjust_state_dict_prefix`` keeps one ``backbone.`` for its wrapper); the rest (feature
    pyramid, heads) is left for the strict loader's declared prefixes.
    """
    prefix = "backbone.backbone."
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state.items()}


# --------------------------------------------------------------------------------------------
# ViT-B/16 from scratch, Cryo-Bench's "vit_scratch".
# --------------------------------------------------------------------------------------------

VIT_B16_CRYOBENCH_SPEC = EncoderSpec(
    name="vit-b16-cryobench",
    bands=(),
    input_size=224,
    feature_strides=(16,) * 4,
    feature_channels=(768,) * 4,
    embed_dim=768,
    out_indices=(3, 5, 7, 11),
    # PANGAEA's VIT_Encoder reads only the 'optical' bands of a dataset
    architecture=Architecture("timm", "vit_base_patch16_224", modalities=("optical",)),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
    licence="MIT (planetbench code; no weights)",
    citation="Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021" + _CITE,
)


class ViTNormedEncoder(TimmViTEncoder):
    """A timm ViT whose last block output passes through the final norm (PANGAEA's ViT)."""

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / p, W / p), the last block's normalised."""
        maps = super().features(x)
        if self.indices[-1] == len(self.model.blocks) - 1:
            maps[-1] = self.model.norm(maps[-1].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return maps


def build_vit_b16_cryobench(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    seed: int | None = None,
    **options: Any,
) -> ViTNormedEncoder:
    """ViT-B/16 from scratch as PANGAEA builds it, for ``in_bands``.

    PyTorch's default initialisation (no ViT-specific init), a class token of zeros and a
    position embedding of zeros that is never trained (``vit_encoder.py`` declares a sin-cos
    embedding but never fills it). ``seed`` seeds the initialisation, as for ``vit``.
    """
    import timm

    spec = VIT_B16_CRYOBENCH_SPEC
    band_list = _in_bands(in_bands, spec.name)
    found = prepare_weights(spec, weights, tiny=tiny, from_scratch=True)
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else spec.input_size))
    _no_options(options, spec.name)
    arch: dict[str, Any] = dict(VIT_TINY) if tiny else {
        "patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12
    }

    def build() -> nn.Module:
        model: Any = timm.create_model(
            "vit_base_patch16_224", pretrained=False, num_classes=0, in_chans=len(band_list),
            img_size=img_size, dynamic_img_size=True, weight_init="skip", **arch,
        )
        with torch.no_grad():
            model.pos_embed.zero_()
            model.cls_token.zero_()
        model.pos_embed.requires_grad_(False)
        return model

    model = _seeded(seed, build)
    inst = instance_spec(spec, tiny=tiny, bands=band_list, input_size=img_size)
    encoder = ViTNormedEncoder(model, inst, VIT_TINY_INDICES if tiny else spec.out_indices)
    if found is not None:
        encoder.load_report = load_weights(
            model, inst, source=found, key_map=pos_embed_key_map(model)
        )
    return encoder


# --------------------------------------------------------------------------------------------
# Registration.
# --------------------------------------------------------------------------------------------

SPECS: tuple[EncoderSpec, ...] = (
    PRITHVI_100M_CRYOBENCH_SPEC,
    TERRAMIND_CRYOBENCH_SPEC,
    CROMA_LARGE_CRYOBENCH_SPEC,
    DOFA_BASE_CRYOBENCH_SPEC,
    RESNET50_CRYOBENCH_SPEC,
    SATLAS_CRYOBENCH_SPEC,
    VIT_B16_CRYOBENCH_SPEC,
)
"""The ``-cryobench`` entries (see the module docstring)."""

#: Our default entry of the same model, for each ``-cryobench`` entry.
DEFAULT_OF: dict[str, str] = {
    "prithvi-eo-v1-100-cryobench": PRITHVI_SPEC.name,
    "terramind-v1-large-cryobench": TERRAMIND_SPEC.name,
    "croma-large-cryobench": CROMA_LARGE_SPEC.name,
    "dofa-base-cryobench": DOFA_BASE_SPEC.name,
    "resnet50-cryobench": "resnet50",
    "satlas-swin-b-cryobench": SATLAS_SWIN_B_SPEC.name,
    "vit-b16-cryobench": "vit",
}


def _register() -> None:
    factories: dict[str, Callable[..., Encoder]] = {
        PRITHVI_100M_CRYOBENCH_SPEC.name: build_prithvi_100m,
        TERRAMIND_CRYOBENCH_SPEC.name: partial(build_terratorch, TERRAMIND_CRYOBENCH_SPEC),
        CROMA_LARGE_CRYOBENCH_SPEC.name: build_croma_large_cryobench,
        DOFA_BASE_CRYOBENCH_SPEC.name: build_dofa_base_cryobench,
        RESNET50_CRYOBENCH_SPEC.name: build_resnet50_cryobench,
        SATLAS_CRYOBENCH_SPEC.name: partial(build_satlas, SATLAS_CRYOBENCH_SPEC,
                                            key_map=satlas_key_map),
        VIT_B16_CRYOBENCH_SPEC.name: build_vit_b16_cryobench,
    }
    for spec in SPECS:
        listed = registered_spec(spec) if "terratorch" in spec.requires else spec
        ENCODERS.register(spec.name, RegisteredEncoder(listed, factories[spec.name]))


_register()

__all__ = [
    "CROMA_LARGE_CRYOBENCH_SPEC",
    "CRYOBENCH_COMMIT",
    "DEFAULT_OF",
    "DOFA_BASE_CRYOBENCH_SPEC",
    "PRITHVI_100M_CRYOBENCH_SPEC",
    "RESNET50_CRYOBENCH_SPEC",
    "SATLAS_CRYOBENCH_SPEC",
    "SPECS",
    "TERRAMIND_CRYOBENCH_SPEC",
    "VIT_B16_CRYOBENCH_SPEC",
    "BlockTapEncoder",
    "CROMANormedEncoder",
    "DOFANormedEncoder",
    "TorchvisionResNetEncoder",
    "ViTNormedEncoder",
    "block_outputs",
    "build_croma_large_cryobench",
    "build_dofa_base_cryobench",
    "build_prithvi_100m",
    "build_resnet50_cryobench",
    "build_vit_b16_cryobench",
    "satlas_key_map",
]
