"""Baseline encoders: shapes of features/embed, determinism, seeds, band grouping, errors."""

from __future__ import annotations

import pytest
import torch

from planetbench.encoders import get_encoder, list_encoders
from planetbench.encoders.baselines import (
    MOSAIKS,
    PYRAMID_STRIDES,
    Averaging,
    RandomEncoder,
    spectral_groups,
)
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import SENTINEL1, SENTINEL2, bands

S2_10 = bands("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
BASELINES = ("random", "averaging", "mosaiks")


def _batch(seed: int = 0, n_bands: int = 10, size: int = 32) -> torch.Tensor:
    return torch.randn(3, n_bands, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("n_bands", [1, 4, 10, 13])
def test_shapes_match_spec(name: str, n_bands: int) -> None:
    in_bands = S2_10[:n_bands] if n_bands <= len(S2_10) else n_bands
    enc = get_encoder(name).factory(in_bands=in_bands, tiny=True, seed=0)
    x = _batch(n_bands=n_bands)
    feats = enc.features(x)
    assert len(feats) == len(enc.spec.feature_strides) == len(enc.spec.feature_channels)
    for fmap, stride, channels in zip(
        feats, enc.spec.feature_strides, enc.spec.feature_channels, strict=True
    ):
        assert fmap.shape == (3, channels, 32 // stride, 32 // stride)
    emb = enc.embed(x)
    assert emb.shape == (3, enc.spec.embed_dim)
    assert torch.isfinite(emb).all()


@pytest.mark.parametrize("name", BASELINES)
def test_deterministic_and_seeded(name: str) -> None:
    factory = get_encoder(name).factory
    x = _batch()
    a = factory(in_bands=S2_10, tiny=True, seed=1).embed(x)
    b = factory(in_bands=S2_10, tiny=True, seed=1).embed(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    c = factory(in_bands=S2_10, tiny=True, seed=2).embed(x)
    if name == "averaging":  # no random part: the seed changes nothing
        torch.testing.assert_close(a, c, rtol=0, atol=0)
    else:
        assert not torch.equal(a, c)


def test_random_ignores_content_but_keys_on_identity() -> None:
    enc = RandomEncoder(S2_10, embed_dim=16, seed=0)
    x = _batch()
    one = enc.embed(x)
    # the same image alone or in another batch gets the same vector
    torch.testing.assert_close(enc.embed(x[1:2])[0], one[1], rtol=0, atol=0)
    # a brighter copy of an image is a different image: a different, uncorrelated vector
    other = enc.embed(x * 2.0)
    assert not torch.allclose(other, one)
    assert one.mean().abs() < 0.6 and 0.5 < one.std() < 1.6


def test_averaging_matches_hand_computation() -> None:
    enc = Averaging(S2_10, grid=2)
    x = _batch(size=4)
    emb = enc.embed(x)
    assert enc.groups == [[0, 1, 2], [3, 4, 5, 6, 7], [8, 9]]
    pooled = torch.nn.functional.avg_pool2d(x, 2)  # 4 px → 2 × 2 grid
    expected = torch.stack([pooled[:, g].mean(dim=1) for g in enc.groups], dim=1).flatten(1)
    torch.testing.assert_close(emb, expected)
    bilinear = Averaging(S2_10, grid=2, resample="bilinear").embed(x)
    assert bilinear.shape == emb.shape and not torch.allclose(bilinear, emb)


def test_spectral_groups() -> None:
    groups = spectral_groups(SENTINEL2)  # like NeuCo-Bench: B01-B04 | B05-B09 | B10 | B11-B12
    assert groups == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9], [10], [11, 12]]
    assert spectral_groups((*SENTINEL2[:2], *SENTINEL1[:2])) == [[0, 1], [2, 3]]
    assert spectral_groups(6) == [[0, 1], [2, 3], [4], [5]]
    assert spectral_groups(2) == [[0], [1]]


def test_mosaiks_responses_and_patches() -> None:
    enc = MOSAIKS(S2_10, num_filters=4, kernel_size=3, bias=0.0, seed=0)
    x = _batch()
    feats = enc.features(x)
    assert len(feats) == len(PYRAMID_STRIDES)
    assert (feats[0] >= 0).all()
    # with b = 0 the two branches are ReLU(z) and ReLU(-z): they sum to |z|
    z = torch.nn.functional.conv2d(x, enc.weight, padding=1)
    torch.testing.assert_close(feats[0][:, :4] + feats[0][:, 4:], z.abs())
    torch.testing.assert_close(enc.embed(x), feats[0].mean(dim=(-2, -1)))
    before = enc.weight.clone()
    enc.fit_patches(x)
    assert not torch.equal(before, enc.weight)
    norms = enc.weight.flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(4))
    assert enc.embed(x).shape == (3, 8)


def test_registered_with_specs() -> None:
    names = list_encoders()
    for name in BASELINES:
        assert name in names
        spec = get_encoder(name).spec
        assert spec.weights is None and spec.bands == ()
    assert "Rolf" in get_encoder("mosaiks").spec.citation
    assert "NeuCo" in get_encoder("averaging").spec.citation


def test_errors() -> None:
    factory = get_encoder("mosaiks").factory
    with pytest.raises(InvalidInputError, match="baseline without pretrained weights"):
        factory(in_bands=S2_10, weights="imagenet")
    with pytest.raises(InvalidInputError, match=r"expects a batch of shape \(B, 10, H, W\)"):
        factory(in_bands=S2_10).embed(torch.zeros(1, 3, 8, 8))
    with pytest.raises(InvalidInputError, match="kernel_size must be odd"):
        MOSAIKS(S2_10, kernel_size=4)
    with pytest.raises(InvalidInputError, match="num_filters must be an integer >= 1"):
        MOSAIKS(S2_10, num_filters=0)
    with pytest.raises(InvalidInputError, match="smaller than kernel_size"):
        MOSAIKS(S2_10, kernel_size=5).fit_patches(torch.zeros(2, 10, 3, 3))
    with pytest.raises(InvalidInputError, match="fit_patches expects images"):
        MOSAIKS(S2_10).fit_patches(torch.zeros(2, 3, 8, 8))
    with pytest.raises(InvalidInputError, match="resample must be 'area' or 'bilinear'"):
        Averaging(S2_10, resample="nearest")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="at least one band"):
        RandomEncoder(())
    with pytest.raises(InvalidInputError, match="Band objects"):
        RandomEncoder(("B02",))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="seed must be an integer >= 0"):
        RandomEncoder(S2_10, seed=-1)


def test_runs_on_default_device() -> None:
    from planetbench.encoders.base import default_device

    dev = default_device()
    enc = get_encoder("mosaiks").factory(in_bands=S2_10, tiny=True).to(dev)
    assert enc.embed(_batch().to(dev)).device.type == dev.type
