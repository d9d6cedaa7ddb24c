"""The ``-cryobench`` encoders: Cryo-Bench's output layers and final norms, by construction.

Each test reads the outputs of the blocks an encoder claims to return with its own forward hooks
(or with the default entry's wrapper on the same model) and checks that ``features`` returns
exactly those, the last one through the final norm where PANGAEA's encoder applies it. Weights
load strictly from checkpoints written in the upstream key layouts; offline, the published
weights fail with the URL and the cache path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from planetbench.encoders import get_encoder, list_encoders
from planetbench.encoders.cryobench import (
    CRYOBENCH_COMMIT,
    DEFAULT_OF,
    SPECS,
    satlas_key_map,
)
from planetbench.errors import WeightsMismatchError, WeightsUnavailableError
from planetbench.tasks.bands import bands

IDS = [s.name for s in SPECS]


@contextmanager
def hooked(blocks: Sequence[nn.Module]) -> Iterator[dict[int, Tensor]]:
    """The outputs of every block of ``blocks`` during the next forward pass."""
    seen: dict[int, Tensor] = {}
    handles = [
        b.register_forward_hook(lambda _m, _i, out, i=i: seen.__setitem__(i, out.detach()))
        for i, b in enumerate(blocks)
    ]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def _as_map(tokens: Tensor, grid: int) -> Tensor:
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], grid, grid)


def _x(channels: int, size: int = 32) -> Tensor:
    return torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(0))


def test_registered_with_cryobench_layers_beside_unchanged_defaults() -> None:
    assert CRYOBENCH_COMMIT.startswith("41b6115")
    specs = {n: get_encoder(n).spec for n in IDS}
    assert set(IDS) <= set(list_encoders()) and set(DEFAULT_OF) == set(IDS)
    # configs/encoder/*.yaml of Cryo-Bench
    assert specs["prithvi-eo-v1-100-cryobench"].out_indices == (11,)
    assert specs["terramind-v1-large-cryobench"].out_indices == (7, 11, 15, 23)
    assert specs["croma-large-cryobench"].out_indices == (3, 5, 7, 11)
    assert specs["dofa-base-cryobench"].out_indices == (3, 5, 7, 11)
    assert specs["vit-b16-cryobench"].out_indices == (3, 5, 7, 11)
    assert specs["resnet50-cryobench"].feature_strides == (4, 8, 16, 32)
    satlas = specs["satlas-swin-b-cryobench"]
    assert satlas.input_size == 128 and [b.name for b in satlas.bands][:3] == ["B02", "B03", "B04"]
    terramind = specs["terramind-v1-large-cryobench"]
    assert [b.name for b in terramind.bands][9] == "B10"  # where terratorch's entry has B09
    # the default entries keep their own choices (and so their run identities)
    assert get_encoder("terramind-v1-large").spec.out_indices == (5, 11, 17, 23)
    assert get_encoder("croma-large").spec.out_indices == (7, 11, 15, 23)
    assert get_encoder("satlas-swin-b").spec.input_size == 256
    # weights from the sources Cryo-Bench's configs name
    urls = {n: s.weights_url for n, s in specs.items()}
    assert "ibm-nasa-geospatial/Prithvi-100M/resolve/main/Prithvi_100M.pt" in urls[
        "prithvi-eo-v1-100-cryobench"]
    assert urls["croma-large-cryobench"].endswith("antofuller/CROMA/resolve/main/CROMA_large.pt")
    assert urls["dofa-base-cryobench"].endswith("XShadow/DOFA/resolve/main/DOFA_ViT_base_e100.pth")
    assert urls["resnet50-cryobench"] == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert "allenai/satlas-pretrain" in urls["satlas-swin-b-cryobench"]
    assert urls["vit-b16-cryobench"] == ""  # trained from scratch


@pytest.mark.parametrize("name", [n for n in IDS if n != "vit-b16-cryobench"])
def test_offline_the_published_weights_fail_with_url_and_cache_path(name: str) -> None:
    entry = get_encoder(name)
    if not entry.spec.available:
        pytest.skip(entry.spec.unavailable_reason)
    in_bands = bands("B02", "B03", "B04") if entry.spec.wavelength_conditioned else None
    with pytest.raises(WeightsUnavailableError) as info:
        entry.factory(in_bands=in_bands)
    assert entry.spec.weights_url in str(info.value) and name in str(info.value)


def test_prithvi_returns_block_11_unnormalised() -> None:
    pytest.importorskip("terratorch")
    encoder = get_encoder("prithvi-eo-v1-100-cryobench").factory(tiny=True).eval()
    x = _x(6)
    with torch.no_grad(), hooked(encoder.model.blocks) as seen:
        (out,) = encoder.features(x)
    last = len(encoder.model.blocks) - 1  # tiny: block 3 stands for block 11 of 12
    expected = _as_map(seen[last][:, 1:], 4)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    normed = _as_map(encoder.model.norm(seen[last])[:, 1:], 4)
    assert not torch.allclose(out, normed)  # terratorch normalises it; PANGAEA does not


def test_prithvi_loads_the_mae_checkpoint_layout(tmp_path: Path) -> None:
    pytest.importorskip("terratorch")
    entry = get_encoder("prithvi-eo-v1-100-cryobench")
    model = entry.factory(tiny=True).model
    state = {k: v.clone() for k, v in model.state_dict().items() if k != "pos_embed"}
    state["pos_embed"] = torch.zeros(1, 1 + 3 * 16, 32)  # 3 frames: replaced by the model's
    state["decoder_embed.weight"] = torch.zeros(4, 32)
    state["mask_token"] = torch.zeros(1, 1, 4)
    torch.save(state, tmp_path / "Prithvi_100M.pt")
    loaded = entry.factory(tiny=True, weights=tmp_path / "Prithvi_100M.pt")
    report = loaded.load_report
    assert report is not None and report.missing_allowed == ("pos_embed",)
    assert set(report.ignored) == {"decoder_embed.weight", "mask_token"}
    torch.testing.assert_close(loaded.model.blocks[0].attn.qkv.weight, state["blocks.0.attn.qkv.weight"])


def test_terramind_returns_its_blocks_the_last_through_the_encoder_norm() -> None:
    pytest.importorskip("terratorch")
    encoder = get_encoder("terramind-v1-large-cryobench").factory(tiny=True).eval()
    x = _x(12)
    with torch.no_grad(), hooked(encoder.model.encoder) as seen:
        maps = encoder.features(x)
    assert len(maps) == 4 == len(encoder.indices)
    for i, m in zip(encoder.indices[:-1], maps[:-1], strict=True):
        torch.testing.assert_close(m, _as_map(seen[i], 2))
    normed = encoder.model.encoder_norm(seen[encoder.indices[-1]])
    torch.testing.assert_close(maps[-1], _as_map(normed, 2))


def test_croma_normalises_the_last_returned_layer() -> None:
    from planetbench.encoders.torchgeo import CROMAEncoder

    encoder = get_encoder("croma-large-cryobench").factory(tiny=True).eval()
    plain = CROMAEncoder(encoder.model, encoder.spec, encoder.indices)  # same model, no norm
    x = _x(12)
    with torch.no_grad():
        ours, raw = encoder.features(x), plain.features(x)
        norm = encoder.model.s2_encoder.transformer.norm_out
        expected_last = norm(raw[-1].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(ours[0], raw[0], rtol=0, atol=0)
    torch.testing.assert_close(ours[-1], expected_last)
    assert not torch.allclose(ours[-1], raw[-1])


def test_dofa_normalises_the_last_block_and_may_lack_the_norm_weights(tmp_path: Path) -> None:
    from planetbench.encoders.torchgeo import DOFAEncoder

    entry = get_encoder("dofa-base-cryobench")
    in_bands = bands("B02", "B03", "B04")
    encoder = entry.factory(in_bands=in_bands, tiny=True).eval()
    plain = DOFAEncoder(encoder.model, encoder.spec, encoder.indices, (0.49, 0.56, 0.665))
    x = _x(3)
    with torch.no_grad():
        ours, raw = encoder.features(x), plain.features(x)
        expected_last = encoder.model.norm(raw[-1].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(ours[:-1], raw[:-1], rtol=0, atol=0)
    torch.testing.assert_close(ours[-1], expected_last)
    # a checkpoint without norm.* (torchgeo's republished MAE file has none) loads; the norm
    # keeps its initial values, as PANGAEA leaves it
    state = {k: v for k, v in encoder.model.state_dict().items() if not k.startswith("norm.")}
    torch.save(state, tmp_path / "dofa.pth")
    loaded = entry.factory(in_bands=in_bands, tiny=True, weights=tmp_path / "dofa.pth")
    assert loaded.load_report is not None
    assert loaded.load_report.missing_allowed == ("norm.bias", "norm.weight")
    assert torch.equal(loaded.model.norm.weight, torch.ones(32))


def test_vit_b16_is_pangaeas_scratch_vit() -> None:
    entry = get_encoder("vit-b16-cryobench")
    encoder = entry.factory(in_bands=bands("B02", "B03"), tiny=True, seed=0).eval()
    vit = encoder.model
    assert not vit.pos_embed.requires_grad and not vit.pos_embed.any()  # zero, never trained
    assert not vit.cls_token.any()
    x = _x(2)
    with torch.no_grad(), hooked(vit.blocks) as seen:
        maps = encoder.features(x)
    assert len(maps) == 4
    for i, m in enumerate(maps[:-1]):
        torch.testing.assert_close(m, _as_map(seen[i][:, 1:], 4))
    torch.testing.assert_close(maps[-1], _as_map(vit.norm(seen[3])[:, 1:], 4))
    again = entry.factory(in_bands=bands("B02", "B03"), tiny=True, seed=0)
    torch.testing.assert_close(again.model.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight)


def test_vit_b16_full_size_has_pangaeas_parameter_count() -> None:
    entry = get_encoder("vit-b16-cryobench")
    with torch.device("meta"):
        encoder = entry.factory(in_bands=bands("B04", "B03", "B02"))
    # by hand, for 3 bands: patch embedding 3·16·16·768 + 768 = 590,592; class token 768;
    # position embedding 197·768 = 151,296; 12 blocks of 7,087,872; final norm 1,536
    assert sum(p.numel() for p in encoder.parameters()) == 85_798_656


def test_resnet50_returns_layer1_to_layer4() -> None:
    encoder = get_encoder("resnet50-cryobench").factory(tiny=True).eval()
    m = encoder.model
    seen: dict[str, Tensor] = {}
    handles = [getattr(m, n).register_forward_hook(
        lambda _m, _i, out, n=n: seen.__setitem__(n, out)) for n in
        ("layer1", "layer2", "layer3", "layer4")]
    with torch.no_grad():
        maps = encoder.features(_x(3))
    for h in handles:
        h.remove()
    assert [tuple(t.shape[-2:]) for t in maps] == [(8, 8), (4, 4), (2, 2), (1, 1)]
    for name, t in zip(("layer1", "layer2", "layer3", "layer4"), maps, strict=True):
        torch.testing.assert_close(t, seen[name], rtol=0, atol=0)


def test_satlas_reads_allenai_checkpoint_layout(tmp_path: Path) -> None:
    entry = get_encoder("satlas-swin-b-cryobench")
    model = entry.factory(tiny=True).model
    state = {f"backbone.backbone.{k}": v.clone() for k, v in model.state_dict().items()}
    state["intermediates.0.fpn.inner_blocks.0.weight"] = torch.zeros(2)
    state["heads.0.layers.0.weight"] = torch.zeros(2)
    assert set(satlas_key_map(state)) >= set(model.state_dict())
    torch.save(state, tmp_path / "sentinel2_swinb_si_ms.pth")
    loaded = entry.factory(tiny=True, weights=tmp_path / "sentinel2_swinb_si_ms.pth")
    assert loaded.load_report is not None and len(loaded.load_report.ignored) == 2
    first = "features.0.0.weight"
    torch.testing.assert_close(loaded.model.state_dict()[first], state[f"backbone.backbone.{first}"])
    state["backbone.fpn.extra"] = torch.zeros(1)  # a key neither mapped nor declared: loud
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys .*backbone\.fpn\.extra"):
        entry.factory(tiny=True, weights=tmp_path / "other.pth")
