"""terratorch-built geospatial foundation models: Prithvi-EO-2.0 (300M) and TerraMind v1 (large).

The architectures come from terratorch's ``BACKBONE_REGISTRY`` (the optional extra
``pip install 'planetbench[terratorch]'``) and are always built with ``pretrained=False``:
terratorch's own loaders are not used because TerraMind's fills keys missing from a checkpoint
with random values (``checkpoint_filter_fn``), a silent fallback we refuse. Pretrained weights
are located first (a given file, our cache, the Hugging Face cache that terratorch's
``hf_hub_download`` fills, or a download of the same file through the shared downloader, which
offline fails at once with the URL and the cache path) and then loaded by the shared strict
loader :func:`planetbench.encoders.weights.load_weights`.

Facts (bands, statistics, repositories, files) are those of terratorch 1.2.11:
``terratorch/models/backbones/prithvi_vit.py`` (``PRETRAINED_BANDS``, ``PRITHVI_V2_MEAN``/``STD``,
``pretrained_weights``) and ``terratorch/models/backbones/terramind/model/terramind_register.py``
(``PRETRAINED_BANDS``, ``v1_pretraining_mean``/``std``, ``pretrained_weights``). When terratorch is
not installed the encoders are listed as unavailable with the pip hint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from planetbench.encoders.base import (
    ENCODERS,
    MAIN_BRANCH_NOTE,
    Architecture,
    Encoder,
    EncoderSpec,
    ModelEncoder,
    PretrainedWeights,
    RegisteredEncoder,
    TinyVariant,
)
from planetbench.encoders.scratch import _no_options, check_input, instance_spec, tokens_to_map
from planetbench.encoders.weights import (
    StateDict,
    WeightsFile,
    fetch_weights,
    find_cached,
    load_weights,
    verify_weights,
    weights_mode,
)
from planetbench.errors import InvalidInputError, MissingDependencyError, WeightsUnavailableError
from planetbench.tasks.bands import Band, bands

Factory = Callable[..., Encoder]

TERRATORCH_REASON = "terratorch is not installed: pip install 'planetbench[terratorch]'"

#: Architecture of the tiny test variants (no published weights; random unless a file is given).
#: TerraMind's pretrained modalities fix their patch size at 16 (terratorch ``MODALITY_INFO``), so
#: its tiny variant keeps patch 16; Prithvi's takes patch 8.
TINY_ARCH: dict[str, int] = {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2}
_TINY_INDICES = (0, 1, 2, 3)


def terratorch_installed() -> bool:
    """True when the optional terratorch package can be imported."""
    return importlib.util.find_spec("terratorch") is not None


def _require_terratorch(name: str) -> None:
    if not terratorch_installed():
        raise MissingDependencyError(f"encoder {name!r} needs terratorch: {TERRATORCH_REASON}")


# --------------------------------------------------------------------------------------------
# The wrapper: terratorch backbones return one token sequence per transformer block.
# --------------------------------------------------------------------------------------------


class TerratorchEncoder(ModelEncoder):
    """A terratorch ViT backbone whose per-block token sequences become NCHW maps.

    terratorch's Prithvi and TerraMind backbones return a list with one (B, P + N, D) tensor per
    block, where P prefix tokens (Prithvi's class token; none for TerraMind) precede the
    N = (H / p) * (W / p) patch tokens in row-major order, and the last entry is already passed
    through the final norm.

    Args:
        model: a backbone from ``terratorch.registry.BACKBONE_REGISTRY``.
        spec: the spec of this instance (``bands`` are the input channels, in order).
        indices: block indices returned by :meth:`features`.
        patch_size: side of a patch in pixels (the stride of every map).
        num_prefix_tokens: tokens before the patch tokens in each output (class token).
        modalities: for multimodal backbones (TerraMind), the (modality, number of channels)
            pairs in input-channel order; the input is split into a ``{modality: tensor}`` dict.
            None passes the input tensor as it is.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: EncoderSpec,
        indices: Sequence[int],
        *,
        patch_size: int,
        num_prefix_tokens: int,
        modalities: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)
        self.patch_size = patch_size
        self.num_prefix_tokens = num_prefix_tokens
        self.modalities = None if modalities is None else tuple(modalities)

    def _inputs(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        if self.modalities is None:
            return x
        parts = torch.split(x, [n for _, n in self.modalities], dim=1)
        return {name: part for (name, _), part in zip(self.modalities, parts, strict=True)}

    def _run(self, x: Tensor) -> tuple[list[Tensor], tuple[int, int]]:
        check_input(x, len(self.spec.bands), self.spec.name)
        p = self.patch_size
        if x.shape[-2] % p or x.shape[-1] % p:
            raise InvalidInputError(
                f"encoder {self.spec.name!r} needs H and W divisible by {p} (patch {p}); got "
                f"{tuple(x.shape)}. Resize or crop the images"
            )
        grid = (x.shape[-2] // p, x.shape[-1] // p)
        outs = list(self.model(self._inputs(x)))
        n_expected = self.num_prefix_tokens + grid[0] * grid[1]
        for i, t in enumerate(outs):
            if t.ndim != 3 or t.shape[1] != n_expected:
                raise InvalidInputError(
                    f"encoder {self.spec.name!r}: block {i} returned shape {tuple(t.shape)}, "
                    f"expected (B, {n_expected}, D) = {self.num_prefix_tokens} prefix + "
                    f"{grid[0]}x{grid[1]} patch tokens"
                )
        return [t[:, self.num_prefix_tokens :] for t in outs], grid

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / p, W / p) (p = 16; 8 for tiny Prithvi).

        Args:
            x: images (B, C, H, W), channels in ``spec.bands`` order, normalised with the
                spec's ``mean``/``std``; H and W divisible by the patch size.
        """
        outs, grid = self._run(x)
        return [tokens_to_map(outs[i], grid) for i in self.indices]

    def embed(self, x: Tensor) -> Tensor:
        """Mean of the final, normalised patch tokens (class token excluded), (B, D)."""
        outs, _ = self._run(x)
        return outs[-1].mean(dim=1)


# --------------------------------------------------------------------------------------------
# Published weights: our cache, then the Hugging Face cache terratorch fills, then a download.
# --------------------------------------------------------------------------------------------


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder, resolved from the environment now.

    Same rule as ``huggingface_hub.constants`` (``HF_HUB_CACHE``, else ``HUGGINGFACE_HUB_CACHE``,
    else ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``, else
    ``~/.cache/huggingface/hub``), but read at call time: huggingface_hub reads it once at import.
    """
    env = os.environ
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "huggingface",
    )
    hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(hub)))


def find_hf_cached(spec: EncoderSpec) -> Path | None:
    """The weights file of ``spec`` in the Hugging Face cache (where terratorch's
    ``hf_hub_download`` puts it), or None. Never touches the network.

    The repository and file are ``spec.weights.hf_hub_id`` and ``spec.weights.hf_filename``.
    """
    if spec.weights is None:
        return None
    repo, filename = spec.weights.hf_hub_id, spec.weights.hf_filename
    if not repo or not filename or importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(str(repo), str(filename), cache_dir=hf_cache_dir())
    return Path(hit) if isinstance(hit, str) else None


def fetch_terratorch_weights(spec: EncoderSpec, *, progress: bool = False) -> WeightsFile:
    """Find the published weights of ``spec``: our cache, the Hugging Face cache, a download.

    The download goes through the shared :func:`~planetbench.encoders.weights.fetch_weights`
    (the spec's Hugging Face ``resolve`` URL into our cache), so offline it fails at once with a
    :class:`~planetbench.errors.WeightsUnavailableError` naming the URL (which names the Hugging
    Face repository) and the cache path where the file can be put by hand.

    Raises:
        WeightsUnavailableError: not cached anywhere and the download failed; the message also
            names the Hugging Face repository, file and cache that were looked at.
        ChecksumError: see :func:`~planetbench.encoders.weights.fetch_weights`.
    """
    if find_cached(spec) is None:
        hit = find_hf_cached(spec)
        if hit is not None:
            return WeightsFile(
                path=hit, origin="cache", url=spec.weights_url, sha256=verify_weights(hit, spec)
            )
    try:
        return fetch_weights(spec, None, progress=progress)
    except WeightsUnavailableError as exc:
        hub = spec.weights
        if hub is None or not hub.hf_hub_id:
            raise
        raise WeightsUnavailableError(
            f"{exc} (also looked for file {hub.hf_filename} of the Hugging Face "
            f"repository {hub.hf_hub_id} in the Hugging Face cache {hf_cache_dir()}, "
            "where hf_hub_download (terratorch, smp, timm) puts it)"
        ) from exc


def prepare_terratorch_weights(
    spec: EncoderSpec, weights: str | Path | None, *, tiny: bool, progress: bool = False
) -> WeightsFile | None:
    """Validate ``weights`` and find the file before anything is built.

    Args:
        spec: the encoder's registered spec.
        weights: None (the published weights), ``"none"`` (refused: pretrained encoder) or a
            local checkpoint file.
        tiny: the tiny test variant (random unless a file is given).
        progress: show a download progress bar.

    Returns:
        The file to load after building, or None for the tiny variant's random initialisation.

    Raises:
        WeightsUnavailableError: see :func:`~planetbench.encoders.weights.weights_mode`,
            :func:`~planetbench.encoders.weights.fetch_weights` and
            :func:`fetch_terratorch_weights`.
    """
    mode = weights_mode(spec, weights, tiny=tiny)
    if mode == "random":
        return None
    if mode == "file":
        return fetch_weights(spec, weights)
    return fetch_terratorch_weights(spec, progress=progress)


# --------------------------------------------------------------------------------------------
# Prithvi-EO-2.0 300M (Szwarcman et al. 2024, https://arxiv.org/abs/2412.02732).
# --------------------------------------------------------------------------------------------

_PRITHVI_REPO = "ibm-nasa-geospatial/Prithvi-EO-2.0-300M"
_PRITHVI_FILE = "Prithvi_EO_V2_300M.pt"

PRITHVI_SPEC = EncoderSpec(
    name="prithvi-eo-v2-300",
    # HLS bands BLUE, GREEN, RED, NIR_NARROW, SWIR_1, SWIR_2 (terratorch PRETRAINED_BANDS); the
    # Sentinel-2 names of the HLS S30 product. align_bands feeds B08 for B8A within 0.03 µm.
    bands=bands("B02", "B03", "B04", "B8A", "B11", "B12"),
    input_size=224,
    feature_strides=(16,) * 4,
    feature_channels=(1024,) * 4,
    embed_dim=1024,
    out_indices=(5, 11, 17, 23),
    weights=PretrainedWeights(
        source="terratorch",
        url=f"https://huggingface.co/{_PRITHVI_REPO}/resolve/main/{_PRITHVI_FILE}",
        hf_hub_id=_PRITHVI_REPO,
        hf_filename=_PRITHVI_FILE,
        sha256_note=MAIN_BRANCH_NOTE,
        # PRITHVI_V2_MEAN / PRITHVI_V2_STD of terratorch (HLS surface reflectance x 10000)
        mean=(1087.0, 1342.0, 1433.0, 2734.0, 1958.0, 1363.0),
        std=(2248.0, 2179.0, 2178.0, 1850.0, 1242.0, 1049.0),
        normalisation="(x - mean) / std per band on HLS surface reflectance x 10000 "
        "(terratorch PRITHVI_V2_MEAN/STD); not built in",
        pretraining="mae",
        # the fixed 3-D sin-cos position embedding; the checkpoint's is for 4 frames and the
        # model recomputes its own (terratorch's checkpoint_filter_fn_vit replaces it the same
        # way)
        allowed_missing_keys=("pos_embed",),
        # the MAE decoder and mask token are not part of the encoder
        ignored_prefixes=("decoder", "mask_token"),
    ),
    architecture=Architecture(
        "terratorch",
        "terratorch_prithvi_eo_v2_300",
        family="prithvi",
        upstream_bands=("BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"),
    ),
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
    licence="Apache-2.0",
    citation="Szwarcman et al., Prithvi-EO-2.0: A Versatile Multi-Temporal Foundation Model for "
    "Earth Observation Applications, arXiv:2412.02732",
    requires=("terratorch",),
)


def prithvi_key_map(state: StateDict) -> StateDict:
    """Prithvi MAE checkpoint keys → terratorch ``PrithviViT`` keys (nothing is invented).

    Drops the ``encoder.`` prefix of the MAE layout and the legacy ``_timm_module.`` infix, as
    terratorch's ``checkpoint_filter_fn_vit``; drops the checkpoint's fixed sin-cos ``pos_embed``
    (the model's own is kept; the spec allows it to be missing). Decoder keys are left for the
    strict loader to ignore by the spec's declared prefixes.
    """
    out: StateDict = {}
    for key, value in state.items():
        name = key.replace("_timm_module.", "")
        if name.startswith("encoder."):
            name = name[len("encoder.") :]
        if name == "pos_embed":
            continue
        out[name] = value
    return out


@contextlib.contextmanager
def _keep_matmul_precision() -> Iterator[None]:
    """Undo what importing terratorch does to the process: one of its modules (Clay v1.5) sets
    ``torch.set_float32_matmul_precision("medium")`` when imported, which turns every later
    float32 matmul on CPU into bfloat16 arithmetic (a silent change of every other result)."""
    before = torch.get_float32_matmul_precision()
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _architecture(spec: EncoderSpec) -> Architecture:
    if spec.architecture is None or spec.architecture.library != "terratorch":
        raise InvalidInputError(f"encoder {spec.name!r} declares no terratorch architecture")
    return spec.architecture


def _build_prithvi(spec: EncoderSpec, tiny: bool) -> nn.Module:
    with _keep_matmul_precision():
        return _build_prithvi_model(spec, tiny)


def _build_prithvi_model(spec: EncoderSpec, tiny: bool) -> nn.Module:
    from terratorch.registry import BACKBONE_REGISTRY

    backbone = _architecture(spec).name
    model: nn.Module
    if not tiny:
        model = BACKBONE_REGISTRY.build(backbone, pretrained=False)
        return model
    p = TINY_ARCH["patch_size"]
    model = BACKBONE_REGISTRY.build(
        backbone,
        pretrained=False,
        img_size=32,
        patch_size=[1, p, p],
        embed_dim=TINY_ARCH["embed_dim"],
        depth=TINY_ARCH["depth"],
        num_heads=TINY_ARCH["num_heads"],
    )
    return model


# --------------------------------------------------------------------------------------------
# TerraMind v1 large (Jakubik et al. 2025, https://arxiv.org/abs/2504.11171), raw-data ViT.
# --------------------------------------------------------------------------------------------

_TERRAMIND_REPO = "ibm-esa-geospatial/TerraMind-1.0-large"
_TERRAMIND_FILE = "TerraMind_v1_large.pt"
TERRAMIND_CITATION = (
    "Jakubik et al., TerraMind: Large-Scale Generative Multimodality for Earth Observation, "
    "arXiv:2504.11171"
)

_S2L2A_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11",
                "B12")  # fmt: skip
_S2L2A_UPSTREAM = ("COASTAL_AEROSOL", "BLUE", "GREEN", "RED", "RED_EDGE_1", "RED_EDGE_2",
                   "RED_EDGE_3", "NIR_BROAD", "NIR_NARROW", "WATER_VAPOR", "SWIR_1",
                   "SWIR_2")  # fmt: skip
_S2L2A_MEAN = (1390.458, 1503.317, 1718.197, 1853.91, 2199.1, 2779.975, 2987.011, 3083.234,
               3132.22, 3162.988, 2424.884, 1857.648)  # fmt: skip
_S2L2A_STD = (2106.761, 2141.107, 2038.973, 2134.138, 2085.321, 1889.926, 1820.257, 1871.918,
              1753.829, 1797.379, 1434.261, 1334.311)  # fmt: skip

#: TerraMind's raw modalities: our band names, terratorch's band names, per-band mean and std
#: (terratorch's ``v1_pretraining_mean``/``std``, ``untok_*@224`` entries) and the name of the
#: modality's patch-embedding layer.
TERRAMIND_MODALITIES: dict[str, dict[str, Any]] = {
    "S2L2A": {
        "bands": _S2L2A_BANDS,
        "upstream_bands": _S2L2A_UPSTREAM,
        "mean": _S2L2A_MEAN,
        "std": _S2L2A_STD,
        "layer": "untok_sen2l2a@224",
    },
    "S1GRD": {
        "bands": ("VV", "VH"),
        "upstream_bands": ("VV", "VH"),
        "mean": (-12.599, -20.293),  # dB
        "std": (5.195, 5.890),
        "layer": "untok_sen1grd@224",
    },
}


def _terramind_spec(name: str, modalities: tuple[str, ...]) -> EncoderSpec:
    mods = [TERRAMIND_MODALITIES[m] for m in modalities]
    names = " + ".join(modalities)
    return EncoderSpec(
        name=name,
        bands=bands(*(b for m in mods for b in m["bands"])),
        input_size=224,
        feature_strides=(16,) * 4,
        feature_channels=(1024,) * 4,
        embed_dim=1024,
        out_indices=(5, 11, 17, 23),
        weights=PretrainedWeights(
            source="terratorch",
            url=f"https://huggingface.co/{_TERRAMIND_REPO}/resolve/main/{_TERRAMIND_FILE}",
            hf_hub_id=_TERRAMIND_REPO,
            hf_filename=_TERRAMIND_FILE,
            sha256_note=MAIN_BRANCH_NOTE,
            mean=tuple(v for m in mods for v in m["mean"]),
            std=tuple(v for m in mods for v in m["std"]),
            normalisation=f"(x - mean) / std per band, TerraMind v1 pretraining statistics "
            f"of {names} (terratorch v1_pretraining_mean/std); not built in. Several "
            "modalities are merged by the mean of their patch tokens (terratorch's default)",
            # fixed 2-D sin-cos position embeddings (buffers), recomputed by the model
            allowed_missing_keys=tuple(f"encoder_embeddings.{m['layer']}.pos_emb" for m in mods),
            # the checkpoint holds the whole encoder-decoder model: decoder, mask token and the
            # embeddings of the other modalities are not built (only unexpected keys are
            # dropped; every key the encoder needs must be present)
            ignored_prefixes=("decoder", "mask_token", "encoder_embeddings."),
        ),
        architecture=Architecture(
            "terratorch",
            "terratorch_terramind_v1_large",
            family="terramind",
            modalities=modalities,
            upstream_bands=tuple(b for m in mods for b in m["upstream_bands"]),
        ),
        tiny=TinyVariant(feature_strides=(16,) * 4, feature_channels=(32,) * 4, embed_dim=32),
        licence="Apache-2.0",
        citation=TERRAMIND_CITATION,
        requires=("terratorch",),
    )


TERRAMIND_SPEC = _terramind_spec("terramind-v1-large", ("S2L2A",))
TERRAMIND_S1_SPEC = _terramind_spec("terramind-v1-large-s1", ("S1GRD",))
TERRAMIND_S1S2_SPEC = _terramind_spec("terramind-v1-large-s1s2", ("S2L2A", "S1GRD"))


class _LinspaceOnCPU(TorchFunctionMode):
    """Computes ``torch.linspace`` on the CPU when no device is given.

    terratorch's ``TerraMindViT`` takes ``.item()`` of a ``torch.linspace`` (its drop-path
    rates) while it is built, which fails under ``torch.device("meta")``; with this mode the
    architecture can also be built on the meta device (shape checks without memory).
    """

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = dict(kwargs or {})
        if func is torch.linspace and kwargs.get("device") is None:
            kwargs["device"] = "cpu"
        return func(*args, **kwargs)


def _build_terramind(spec: EncoderSpec, tiny: bool) -> nn.Module:
    with _LinspaceOnCPU(), _keep_matmul_precision():
        return _build_terramind_model(spec, tiny)


def _build_terramind_model(spec: EncoderSpec, tiny: bool) -> nn.Module:
    architecture = _architecture(spec)
    modalities = list(architecture.modalities)
    model: nn.Module
    if not tiny:
        from terratorch.registry import BACKBONE_REGISTRY

        model = BACKBONE_REGISTRY.build(
            architecture.name, pretrained=False, modalities=modalities
        )
        return model
    # the registry entry fixes the large sizes; the tiny variant calls the function it wraps
    # with the same layer types (no biases, SiLU gated MLP, bias-free LayerNorm) at toy sizes
    from terratorch.models.backbones.terramind.model.terramind_register import (
        build_terrammind_vit,
    )
    from terratorch.models.backbones.terramind.model.tm_utils import LayerNorm

    model = build_terrammind_vit(
        variant="terramind_v1_large",
        pretrained=False,
        modalities=modalities,
        img_size=32,
        dim=TINY_ARCH["embed_dim"],
        encoder_depth=TINY_ARCH["depth"],
        num_heads=TINY_ARCH["num_heads"],
        mlp_ratio=4,
        qkv_bias=False,
        proj_bias=False,
        mlp_bias=False,
        num_register_tokens=0,
        norm_layer=partial(LayerNorm, eps=1e-6, bias=False),
        act_layer=nn.SiLU,
        gated_mlp=True,
    )
    return model


# --------------------------------------------------------------------------------------------
# Factory and registration.
# --------------------------------------------------------------------------------------------


def build_terratorch(
    spec: EncoderSpec,
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    **options: Any,
) -> TerratorchEncoder:
    """Build a terratorch encoder of ``spec`` (one of this module's specs).

    Args:
        spec: :data:`PRITHVI_SPEC`, :data:`TERRAMIND_SPEC`, :data:`TERRAMIND_S1_SPEC` or
            :data:`TERRAMIND_S1S2_SPEC`.
        in_bands: ignored (the encoder's bands are fixed; align the task's bands first).
        tiny: the 4-block, 32-dim test variant (patch 8 for Prithvi, 16 for TerraMind; random
            weights unless a file is given).
        weights: None (published weights: our cache, the Hugging Face cache, else a download of
            ``spec.weights_url``), or a local checkpoint; either is loaded strictly. ``"none"``
            is refused (pretrained encoder).
        **options: none are accepted.

    Raises:
        MissingDependencyError: terratorch is not installed (with the pip command).
        InvalidInputError: unknown options.
        WeightsUnavailableError: the weights cannot be found nor downloaded.
        WeightsMismatchError: the checkpoint does not match the architecture.
    """
    _require_terratorch(spec.name)
    _no_options(options, spec.name)
    found = prepare_terratorch_weights(spec, weights, tiny=tiny)
    inst = instance_spec(spec, tiny=tiny)
    indices = _TINY_INDICES if tiny else spec.out_indices
    patch = inst.feature_strides[0]  # every map has the patch grid
    architecture = _architecture(spec)
    if architecture.family == "prithvi":
        model = _build_prithvi(spec, tiny)
        encoder = TerratorchEncoder(model, inst, indices, patch_size=patch, num_prefix_tokens=1)
        key_map: Callable[[StateDict], StateDict] | None = prithvi_key_map
    else:
        model = _build_terramind(spec, tiny)
        mods = tuple((m, len(TERRAMIND_MODALITIES[m]["bands"])) for m in architecture.modalities)
        encoder = TerratorchEncoder(
            model, inst, indices, patch_size=patch, num_prefix_tokens=0, modalities=mods
        )
        key_map = None
    if found is not None:
        encoder.load_report = load_weights(model, inst, source=found, key_map=key_map)
    return encoder


def registered_spec(spec: EncoderSpec) -> EncoderSpec:
    """``spec`` as listed here: marked unavailable with the pip hint when terratorch is absent."""
    if terratorch_installed():
        return spec
    return dataclasses.replace(spec, available=False, unavailable_reason=TERRATORCH_REASON)


SPECS: tuple[EncoderSpec, ...] = (
    PRITHVI_SPEC,
    TERRAMIND_SPEC,
    TERRAMIND_S1_SPEC,
    TERRAMIND_S1S2_SPEC,
)


def _register() -> None:
    for spec in SPECS:
        ENCODERS.register(
            spec.name, RegisteredEncoder(registered_spec(spec), partial(build_terratorch, spec))
        )


_register()

__all__ = [
    "PRITHVI_SPEC",
    "SPECS",
    "TERRAMIND_MODALITIES",
    "TERRAMIND_S1S2_SPEC",
    "TERRAMIND_S1_SPEC",
    "TERRAMIND_SPEC",
    "TERRATORCH_REASON",
    "TerratorchEncoder",
    "build_terratorch",
    "fetch_terratorch_weights",
    "find_hf_cached",
    "hf_cache_dir",
    "prepare_terratorch_weights",
    "prithvi_key_map",
    "registered_spec",
    "terratorch_installed",
]
