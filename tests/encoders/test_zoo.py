"""The encoder zoo: what is registered, per-family weight loading, full-size shapes on meta.

The checks every registered encoder passes (tiny variant, spec facts, refusals) are the common
contract tests of ``tests/test_contracts.py``.
"""

from __future__ import annotations

import time
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

from planetbench.encoders import build_encoder, get_encoder, list_encoders
from planetbench.encoders.base import ENCODERS, Encoder, default_device
from planetbench.encoders.weights import cache_path
from planetbench.errors import (
    InvalidInputError,
    MissingDependencyError,
    UnknownNameError,
    WeightsMismatchError,
    WeightsUnavailableError,
)
from planetbench.tasks.bands import SENTINEL2

ALL = list_encoders()
AVAILABLE = [n for n in ALL if ENCODERS.get(n).spec.available]
UNAVAILABLE = [n for n in ALL if not ENCODERS.get(n).spec.available]
PRETRAINED = [n for n in AVAILABLE if ENCODERS.get(n).spec.weights is not None]
DOWNLOADABLE = [n for n in PRETRAINED if ENCODERS.get(n).spec.weights_url]
TASK_BANDS = SENTINEL2[1:5]  # B02, B03, B04, B05 for encoders that take the task's bands


def _build(name: str, **kw: object) -> Encoder:
    spec = ENCODERS.get(name).spec
    in_bands = TASK_BANDS if (not spec.bands or spec.wavelength_conditioned) else None
    torch.manual_seed(0)
    return ENCODERS.get(name).factory(in_bands=in_bands, tiny=True, **kw).eval()


def _input(encoder: Encoder, seed: int = 0) -> torch.Tensor:
    n_channels = len(encoder.spec.bands)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, n_channels, 32, 32, generator=g)


def test_zoo_is_populated() -> None:
    expected = {"unet", "vit", "dofa-base", "scalemae-large", "croma-base", "satlas-swin-b",
                "ssl4eo-moco-vits16", "remoteclip-vit-b32", "prithvi-eo-v2-300"}  # fmt: skip
    assert expected <= set(ALL)


@pytest.mark.usefixtures("without_terratorch")
def test_terratorch_models_say_how_to_install() -> None:
    for name in ("prithvi-eo-v2-300", "terramind-v1-large"):
        spec = get_encoder(name).spec
        assert "pip install 'planetbench[terratorch]'" in spec.unavailable_reason
        with pytest.raises(MissingDependencyError, match=r"planetbench\[terratorch\]"):
            get_encoder(name).factory(in_bands=None)


def _offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every download fail as offline; return the list of URLs that were tried."""
    tried: list[str] = []

    def refuse(url: str, dst: str, *args: object, **kwargs: object) -> None:
        tried.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return tried


@pytest.mark.parametrize("name", DOWNLOADABLE)
def test_full_size_offline_names_url_and_cache(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = _offline(monkeypatch)
    spec = get_encoder(name).spec
    in_bands = TASK_BANDS if spec.wavelength_conditioned else None
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as info:
        get_encoder(name).factory(in_bands=in_bands)  # full size, published weights
    message = str(info.value)
    assert tried == [spec.weights_url]
    assert spec.weights_url in message
    assert f"put it at {cache_path(spec)}" in message
    assert "Temporary failure in name resolution" in message
    assert not cache_path(spec).exists()
    # weights are fetched before the architecture is built, so failing is quick
    assert time.perf_counter() - started < 1.0


def _target(encoder: Encoder) -> nn.Module:
    model = getattr(encoder, "model", encoder)
    assert isinstance(model, nn.Module)
    return model


@pytest.mark.parametrize("name", PRETRAINED)
def test_tiny_weights_round_trip(name: str, tmp_path: Path) -> None:
    source = _build(name)
    for p in _target(source).parameters():  # make the saved weights differ from a fresh init
        p.data.add_(0.5)
    path = tmp_path / f"{name}.pth"
    torch.save(_target(source).state_dict(), path)
    loaded = _build(name, weights=path)
    assert loaded.load_report is not None and loaded.load_report.origin == "file"
    x = _input(source)
    with torch.no_grad():
        assert torch.allclose(loaded.embed(x), source.embed(x), atol=1e-5)


def test_wrong_band_count_is_a_shape_mismatch(tmp_path: Path) -> None:
    # same ViT layout, 13 input bands instead of 3: only the patch projection differs
    torch.save(_target(_build("ssl4eo-moco-vits16")).state_dict(), tmp_path / "vit.pth")
    with pytest.raises(
        WeightsMismatchError,
        match=r"shape mismatches \(1\): patch_embed\.proj\.weight: checkpoint \(32, 13, 8, 8\) "
        r"vs model \(32, 3, 8, 8\)",
    ) as info:
        _build("scalemae-large", weights=tmp_path / "vit.pth")
    assert "missing keys" not in str(info.value) and "unexpected keys" not in str(info.value)


def test_wrong_architecture_lists_every_missing_and_unexpected_key(tmp_path: Path) -> None:
    resnet_state = _target(_build("resnet50")).state_dict()
    torch.save(resnet_state, tmp_path / "resnet.pth")
    vit_keys = set(_target(_build("scalemae-large")).state_dict())
    with pytest.raises(WeightsMismatchError) as info:
        _build("scalemae-large", weights=tmp_path / "resnet.pth")
    message = str(info.value)
    assert f"missing keys ({len(vit_keys)}): " in message
    assert f"unexpected keys ({len(resnet_state)}): " in message
    for key in (*vit_keys, *resnet_state):  # every key is named, none elided
        assert key in message, key
    assert "Only these keys may be missing: none" in message


def test_no_random_fallback_after_a_failed_load(tmp_path: Path) -> None:
    state = _target(_build("ssl4eo-moco-vits16")).state_dict()
    del state["blocks.0.attn.qkv.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(
        WeightsMismatchError, match=r"missing keys \(1\): blocks\.0\.attn\.qkv\.weight"
    ):
        _build("ssl4eo-moco-vits16", weights=tmp_path / "partial.pth")


def test_dofa_checkpoint_without_fc_norm_loads(tmp_path: Path) -> None:
    source = _build("dofa-base")
    state = {k: v for k, v in source.model.state_dict().items() if not k.startswith("fc_norm")}
    torch.save(state, tmp_path / "dofa.pth")
    loaded = _build("dofa-base", weights=tmp_path / "dofa.pth")
    assert loaded.load_report is not None
    assert set(loaded.load_report.missing_allowed) == {"fc_norm.weight", "fc_norm.bias"}


def test_dofa_uses_the_given_wavelengths() -> None:
    encoder = _build("dofa-base")
    assert torch.allclose(encoder.wavelengths, torch.tensor([0.49, 0.56, 0.665, 0.705]))
    x = _input(encoder)
    shifted = get_encoder("dofa-base").factory(in_bands=SENTINEL2[5:9], tiny=True).eval()
    shifted.load_state_dict(encoder.state_dict())
    with torch.no_grad():  # same weights, other wavelengths → other features
        assert not torch.allclose(shifted.embed(x), encoder.embed(x))


def test_croma_upstream_nested_checkpoint_loads(tmp_path: Path) -> None:
    source = _build("croma-base")
    model_state = source.model.state_dict()
    upstream: dict[str, dict[str, torch.Tensor]] = {"s2_encoder": {}, "s2_GAP_FFN": {}}
    for key, value in model_state.items():
        head, _, rest = key.partition(".")
        if head in upstream:
            upstream[head][rest] = value + 0.25
    upstream["s1_encoder"] = {"linear_input.weight": torch.zeros(32, 128)}
    upstream["joint_encoder"] = {"norm_out.weight": torch.zeros(32)}
    torch.save(upstream, tmp_path / "CROMA_tiny.pt")
    loaded = _build("croma-base", weights=tmp_path / "CROMA_tiny.pt")
    report = loaded.load_report
    assert report is not None
    assert report.missing_allowed == ("attn_bias",)
    assert set(report.ignored) == {
        "s1_encoder.linear_input.weight",
        "joint_encoder.norm_out.weight",
    }
    key = "s2_encoder.linear_input.weight"
    assert torch.equal(loaded.model.state_dict()[key], model_state[key] + 0.25)


def _to_open_clip(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a timm CLIP ViT state dict to open_clip's layout (inverse of timm's converter)."""
    swaps = [("patch_embed.proj", "conv1"), ("norm_pre", "ln_pre"), ("blocks.", "transformer.resblocks."),
             ("norm1", "ln_1"), ("norm2", "ln_2"), ("qkv.", "in_proj_"), ("attn.proj", "attn.out_proj"),
             ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]  # fmt: skip
    out = {"logit_scale": torch.ones(()), "transformer.resblocks.0.ln_1.weight": torch.ones(8)}
    for key, value in state.items():
        if key == "cls_token":
            out["visual.class_embedding"] = value[0, 0]
        elif key == "pos_embed":
            out["visual.positional_embedding"] = value[0]
        elif key == "head.weight":
            out["visual.proj"] = value.t()
        elif key == "head.bias":
            continue
        elif key.startswith("norm."):
            out["visual.ln_post." + key[5:]] = value
        else:
            for old, new in swaps:
                key = key.replace(old, new)
            out["visual." + key] = value
    return out


def test_remoteclip_open_clip_checkpoint_maps_strictly(tmp_path: Path) -> None:
    source = _build("remoteclip-vit-b32")
    state = {k: v + 0.1 for k, v in source.model.state_dict().items()}
    state["head.bias"] = torch.zeros_like(state["head.bias"])  # CLIP's projection has no bias
    torch.save(_to_open_clip(state), tmp_path / "RemoteCLIP-tiny.pt")
    loaded = _build("remoteclip-vit-b32", weights=tmp_path / "RemoteCLIP-tiny.pt")
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("name", ["unet", "vit"])
def test_from_scratch_seed_controls_the_initialisation(name: str) -> None:
    factory = get_encoder(name).factory
    a = factory(in_bands=TASK_BANDS, tiny=True, seed=3).state_dict()
    b = factory(in_bands=TASK_BANDS, tiny=True, seed=3).state_dict()
    c = factory(in_bands=TASK_BANDS, tiny=True, seed=4).state_dict()
    key = next(k for k, v in a.items() if v.is_floating_point() and v.std() > 0)
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])
    with pytest.raises(InvalidInputError, match="seed must be an integer >= 0 or None"):
        factory(in_bands=TASK_BANDS, tiny=True, seed=-1)


def test_build_encoder_puts_it_on_the_device_in_eval_mode() -> None:
    encoder = build_encoder("vit", in_bands=TASK_BANDS, tiny=True, seed=0)
    assert not encoder.training
    assert next(encoder.parameters()).device.type == default_device().type
    on_cpu = build_encoder("mosaiks", in_bands=TASK_BANDS, tiny=True, device="cpu")
    assert on_cpu.get_buffer("weight").device.type == "cpu"
    with pytest.raises(UnknownNameError, match="did you mean 'dofa-base'"):
        build_encoder("dofa-bse")


#: Full-size architectures checked on the meta device (shapes only, no memory, no compute).
#: CROMA (its ALiBi buffer is slow to build on meta) and Panopticon (torch.nonzero has no meta
#: kernel) are checked in full by benchmarks-style runs, not here.
META_CHECKED = [
    n
    for n in AVAILABLE
    if not ENCODERS.get(n).spec.baseline
    and not n.startswith(("croma-", "panopticon-"))
]


@pytest.mark.parametrize("name", META_CHECKED)
def test_full_size_architecture_matches_its_spec(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # build without weights (the loader is stubbed out) to check the registered spec's shapes
    import planetbench.encoders.cryobench as cryobench_encoders
    import planetbench.encoders.marsbench as marsbench_encoders
    import planetbench.encoders.presto as presto_encoders
    import planetbench.encoders.scratch as scratch
    import planetbench.encoders.terratorch as terratorch_encoders
    import planetbench.encoders.timm as timm_encoders
    import planetbench.encoders.torchgeo as torchgeo_encoders

    for module in (scratch, timm_encoders, torchgeo_encoders, presto_encoders, cryobench_encoders,
                   marsbench_encoders):
        monkeypatch.setattr(module, "prepare_weights", lambda *args, **kwargs: None)
    for module in (terratorch_encoders, cryobench_encoders):
        monkeypatch.setattr(
            module, "prepare_terratorch_weights", lambda *args, **kwargs: None
        )
    spec = get_encoder(name).spec
    in_bands = TASK_BANDS if (not spec.bands or spec.wavelength_conditioned) else None
    size = spec.input_size
    with torch.device("meta"), torch.no_grad():
        encoder = get_encoder(name).factory(in_bands=in_bands).eval()
        x = torch.empty(1, len(encoder.spec.bands), size, size)
        maps = encoder.features(x)
        vec = encoder.embed(x)
    assert [m.shape[1] for m in maps] == list(spec.feature_channels)
    assert [size // m.shape[-1] for m in maps] == list(spec.feature_strides)
    assert vec.shape == (1, spec.embed_dim)
    assert encoder.load_report is None
