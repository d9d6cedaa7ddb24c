"""Geospatial foundation models: real loopback downloads with strict loading, and the inputs of
the wavelength-conditioned encoders (DOFA wavelengths, Panopticon channel ids)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from planetbench.encoders import get_encoder, list_encoders
from planetbench.encoders.bands import SAR_WAVELENGTH_UM, align_bands, apply
from planetbench.encoders.base import ENCODERS, Encoder, default_device
from planetbench.encoders.torchgeo import PANOPTICON_SAR_IDS, panopticon_channel_ids
from planetbench.encoders.weights import (
    cache_path,
    load_weights,
    pos_embed_key_map,
    sha256_of,
    weights_status,
)
from planetbench.errors import InvalidInputError, WeightsMismatchError, WeightsUnavailableError
from planetbench.tasks.bands import SENTINEL2, Band, bands

PRETRAINED = [
    n
    for n in list_encoders()
    if ENCODERS.get(n).spec.available and ENCODERS.get(n).spec.weights is not None
]
TASK_BANDS = SENTINEL2[1:5]


def _build(name: str, **kw: object) -> Encoder:
    spec = ENCODERS.get(name).spec
    in_bands = TASK_BANDS if spec.wavelength_conditioned else None
    torch.manual_seed(0)
    return ENCODERS.get(name).factory(in_bands=in_bands, tiny=True, **kw).eval()


def _target(encoder: Encoder) -> nn.Module:
    model = getattr(encoder, "model", encoder)
    assert isinstance(model, nn.Module)
    return model


def _input(encoder: Encoder) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, len(encoder.spec.bands), 32, 32, generator=g)


@pytest.mark.parametrize("name", PRETRAINED)
def test_loopback_download_then_strict_load(name: str, server: tuple[str, Path]) -> None:
    base, root = server
    source = _build(name)
    for p in _target(source).parameters():  # random weights that differ from a fresh build
        p.data.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(1))
    filename = f"{name}-random.pth"
    torch.save(_target(source).state_dict(), root / filename)
    fresh = _build(name)
    assert fresh.spec.weights is not None
    spec = dataclasses.replace(
        fresh.spec,
        weights=dataclasses.replace(
            fresh.spec.weights, url=f"{base}/{filename}", sha256=sha256_of(root / filename)
        ),
    )
    assert weights_status(spec) == "not cached"
    report = load_weights(_target(fresh), spec, source=None)
    assert report.origin == "download" and report.path == cache_path(spec)
    assert report.url == spec.weights_url and weights_status(spec) == "cached"
    x = _input(source)
    with torch.no_grad():
        assert torch.allclose(fresh.embed(x), source.embed(x), atol=1e-5)


def test_loopback_download_of_a_wrong_file_is_refused(server: tuple[str, Path]) -> None:
    base, root = server
    torch.save({"fc.weight": torch.zeros(2, 2)}, root / "other.pth")
    encoder = _build("ssl4eo-dino-vits16")
    assert encoder.spec.weights is not None
    spec = dataclasses.replace(
        encoder.spec, weights=dataclasses.replace(encoder.spec.weights, url=f"{base}/other.pth")
    )
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys \(1\): fc\.weight"):
        load_weights(_target(encoder), spec, source=None)


def test_dofa_takes_aligned_task_bands_and_wavelengths() -> None:
    task = (*bands("B02", "B03", "B04", "HH"), Band("elevation", "elevation"))
    alignment = align_bands(task, get_encoder("dofa-base").spec)
    # what the runner does: the task's own bands plus the alignment's wavelengths
    encoder = get_encoder("dofa-base").factory(
        in_bands=task, tiny=True, wavelengths_um=alignment.wavelengths_um
    )
    expected = torch.tensor([0.49, 0.56, 0.665, SAR_WAVELENGTH_UM])
    assert torch.allclose(encoder.wavelengths, expected)
    assert [b.name for b in encoder.spec.bands] == ["B02", "B03", "B04", "HH"]
    x = torch.randn(2, 5, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert encoder.embed(apply(x, alignment)).shape == (2, 32)


def test_dofa_wavelengths_errors() -> None:
    factory = get_encoder("dofa-base").factory
    with pytest.raises(InvalidInputError, match="wavelength-conditioned: pass in_bands"):
        factory(tiny=True)
    with pytest.raises(InvalidInputError, match=r"wavelengths_um has 2 values .* need 4"):
        factory(in_bands=TASK_BANDS, tiny=True, wavelengths_um=(0.49, 0.56))
    with pytest.raises(InvalidInputError, match="must be positive"):
        factory(in_bands=TASK_BANDS[:1], tiny=True, wavelengths_um=(-1.0,))


def test_panopticon_channel_ids() -> None:
    ids = panopticon_channel_ids((*bands("B04", "B8A"), *bands("VV", "HV")), "p")
    assert ids == (665, 865, PANOPTICON_SAR_IDS["VV"], PANOPTICON_SAR_IDS["HV"])
    assert PANOPTICON_SAR_IDS == {"VV": -1, "VH": -2, "HH": -3, "HV": -4}
    with pytest.raises(InvalidInputError, match="band 'slope' \\(other\\) is neither"):
        panopticon_channel_ids((Band("slope", "other"),), "p")


def test_panopticon_drops_non_spectral_bands_and_conditions_on_ids() -> None:
    task = (*bands("B02", "B03", "VV"), Band("elevation", "elevation"))
    encoder = get_encoder("panopticon-vitb14").factory(in_bands=task, tiny=True).eval()
    assert encoder.channel_ids.tolist() == [490.0, 560.0, -1.0]
    other = get_encoder("panopticon-vitb14").factory(
        in_bands=(*bands("B05", "B06"), *bands("HH")), tiny=True
    )
    other.load_state_dict(encoder.state_dict())
    other.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # same weights, other channel ids → other embedding
        assert not torch.allclose(other.embed(x), encoder.embed(x))
    with pytest.raises(InvalidInputError, match=r"gives 0\.7 µm for band 'B02'"):
        get_encoder("panopticon-vitb14").factory(
            in_bands=task, tiny=True, wavelengths_um=(0.7, 0.56, SAR_WAVELENGTH_UM)
        )


def test_panopticon_upstream_checkpoint_layout_loads(tmp_path: Path) -> None:
    encoder = _build("panopticon-vitb14")
    state = {k: v + 0.5 for k, v in encoder.model.state_dict().items()}
    # upstream: a DINOv2 mask token and a position embedding for another grid (518 px there)
    state["mask_token"] = torch.zeros(1, 32)
    grid_pos = state["pos_embed"][:, 1:].reshape(1, 4, 4, 32).permute(0, 3, 1, 2)
    bigger = nn.functional.interpolate(grid_pos, size=(6, 6), mode="bicubic")
    state["pos_embed"] = torch.cat(
        [state["pos_embed"][:, :1], bigger.permute(0, 2, 3, 1).reshape(1, 36, 32)], dim=1
    )
    torch.save({"teacher": state}, tmp_path / "panopticon_tiny_teacher.pth")
    loaded = _build("panopticon-vitb14", weights=tmp_path / "panopticon_tiny_teacher.pth")
    assert loaded.load_report is not None and loaded.load_report.ignored == ("mask_token",)
    key = "blocks.0.attn.qkv.weight"
    assert torch.equal(loaded.model.state_dict()[key], state[key])
    assert loaded.model.state_dict()["pos_embed"].shape == (1, 17, 32)


def test_pos_embed_key_map_resamples_only_the_grid() -> None:
    model = nn.Module()
    model.pos_embed = nn.Parameter(torch.zeros(1, 1 + 4 * 4, 8))
    cls_and_grid = torch.randn(1, 1 + 8 * 8, 8, generator=torch.Generator().manual_seed(0))
    out = pos_embed_key_map(model)({"pos_embed": cls_and_grid, "x": torch.ones(1)})
    assert out["pos_embed"].shape == (1, 17, 8)
    assert torch.equal(out["pos_embed"][:, 0], cls_and_grid[:, 0])  # class token kept
    assert torch.equal(out["x"], torch.ones(1))
    same = {"pos_embed": torch.zeros(1, 17, 8)}
    assert pos_embed_key_map(model)(same) is same


@pytest.mark.parametrize("name", ["vit", "dofa-base", "satlas-swin-b", "panopticon-vitb14"])
def test_runs_on_the_default_device(name: str) -> None:
    device = default_device()
    spec = get_encoder(name).spec
    in_bands = TASK_BANDS if (not spec.bands or spec.wavelength_conditioned) else None
    encoder = get_encoder(name).factory(in_bands=in_bands, tiny=True).eval().to(device)
    x = torch.randn(1, len(encoder.spec.bands), 32, 32).to(device)
    with torch.no_grad():
        assert encoder.embed(x).device.type == device.type
        assert all(m.device.type == device.type for m in encoder.features(x))


def test_gfm_swin_weights_are_a_manual_download() -> None:
    spec = get_encoder("gfm-swin").spec
    assert weights_status(spec) == "manual"
    with pytest.raises(WeightsUnavailableError) as info:
        get_encoder("gfm-swin").factory()  # full size, no automatic download exists
    message = str(info.value)
    assert "--weights PATH" in message and "github.com/mmendiet/GFM" in message


def _to_simmim(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm Swin keys → a GFM/SimMIM checkpoint: Microsoft layout under ``encoder.``."""
    out = {}
    for key, value in state.items():
        match = re.match(r"layers\.(\d+)\.downsample\.(.*)", key)
        if match:  # Microsoft Swin down-samples at the end of the previous stage
            key = f"layers.{int(match.group(1)) - 1}.downsample.{match.group(2)}"
        out[f"encoder.{key}"] = value
    out["encoder.layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(16, 16)
    out["encoder.mask_token"] = torch.zeros(1, 1, 16)
    out["decoder.0.weight"] = torch.zeros(48, 128, 1, 1)
    return out


def test_gfm_simmim_checkpoint_loads_strictly(tmp_path: Path) -> None:
    source = _build("gfm-swin")
    state = {k: v + 0.1 for k, v in source.model.state_dict().items()}
    assert "layers.1.downsample.reduction.weight" in state
    torch.save({"model": _to_simmim(state), "epoch": 99}, tmp_path / "gfm.pth")
    loaded = _build("gfm-swin", weights=tmp_path / "gfm.pth")
    assert loaded.load_report is not None and loaded.load_report.ignored == ("mask_token",)
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    x = _input(loaded)
    with torch.no_grad():
        maps = loaded.features(x)
    assert [tuple(m.shape[1:]) for m in maps] == [(16, 8, 8), (32, 4, 4), (64, 2, 2), (128, 1, 1)]
    broken = _to_simmim(state)
    del broken["encoder.layers.0.downsample.reduction.weight"]
    torch.save({"model": broken}, tmp_path / "broken.pth")
    with pytest.raises(WeightsMismatchError, match=r"layers\.1\.downsample\.reduction\.weight"):
        _build("gfm-swin", weights=tmp_path / "broken.pth")
