"""Presto: strict loading of the published checkpoint, its normalisation and masking, the image
path, the raw-inputs baseline, and refusals."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from planetbench.encoders import build_encoder, get_encoder
from planetbench.encoders.base import default_device
from planetbench.encoders.presto import (
    BAND_GROUPS,
    PRESTO_BANDS,
    PRESTO_SPEC,
    PRESTO_WEIGHTS_SHA256,
    Presto,
    PrestoBatch,
    PrestoRaw,
    month_table,
    presto_batch,
    presto_normalise,
    sinusoid_table,
)
from planetbench.encoders.weights import cache_path
from planetbench.errors import (
    ChecksumError,
    InvalidInputError,
    WeightsMismatchError,
    WeightsUnavailableError,
)
from planetbench.tasks.bands import bands

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BUNDLE = "presto-weights-and-probe-tasks"

#: First 6 values of Presto's embedding of the first two samples of each task, computed with the
#: upstream implementation (nasaharvest/presto ``single_file_presto.py`` at 13173d0, same
#: checkpoint, inputs normalised by its ``S1_S2_ERA5_SRTM.normalize``).
UPSTREAM_EMBEDDINGS = {
    "fuel_moisture": [[1.42873, -1.00356, 1.79086, -0.65521, -0.24676, 3.46908],
                      [-0.05602, -2.30295, 1.30606, -0.82699, -1.72165, 0.11203]],
    "algae_blooms": [[-0.28825, -1.68345, 1.77710, -1.79160, -1.02172, 2.13512],
                     [0.20041, 1.49648, 1.21756, -2.58774, -1.26248, 1.32336]],
}  # fmt: skip


def _tiny(**kwargs: object) -> Presto:
    torch.manual_seed(0)
    encoder = get_encoder("presto").factory(in_bands=None, tiny=True, **kwargs)
    assert isinstance(encoder, Presto)
    return encoder.eval()


def _raw_series(n: int = 4, t: int = 3, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    low = np.array([-20.0, -28.0, *([300.0] * 11), 270.0, 0.0, 100.0, 0.0, 0.0])
    high = np.array([-5.0, -12.0, *([4000.0] * 11), 305.0, 0.01, 3000.0, 30.0, 0.9])
    x = rng.uniform(low, high, size=(n, t, 18))
    dw = rng.integers(0, 9, size=(n, t))
    latlon = np.stack([rng.uniform(-60, 60, n), rng.uniform(-180, 180, n)], axis=1)
    months = rng.integers(0, 12, size=(n, t))
    return x, dw, latlon, months


# ---------------------------------------------------------------------------- real checkpoint


def test_published_checkpoint_loads_strictly(shared_data: Path) -> None:
    path = shared_data / BUNDLE / "default_model.pt"
    encoder = build_encoder("presto", weights=path, device="cpu")
    report = encoder.load_report
    assert report is not None and report.sha256 == PRESTO_WEIGHTS_SHA256
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    encoder_keys = {k for k in checkpoint if k.startswith("encoder.")}
    # every encoder tensor matched (no missing, none unexpected); only the decoder is set aside
    assert set(encoder.state_dict()) == encoder_keys and report.n_tensors == len(encoder_keys)
    assert report.missing_allowed == ()
    assert set(report.ignored) == set(checkpoint) - encoder_keys
    assert all(k.startswith("decoder.") for k in report.ignored) and len(report.ignored) == 52
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, checkpoint[key]), key


@pytest.mark.parametrize("folder", sorted(UPSTREAM_EMBEDDINGS))
def test_embeddings_match_the_upstream_implementation(shared_data: Path, folder: str) -> None:
    npy = shared_data / BUNDLE / folder / "npy"
    encoder = build_encoder("presto", weights=shared_data / BUNDLE / "default_model.pt",
                            device="cpu")  # fmt: skip
    batch = presto_batch(
        np.load(npy / "s1_s2_era5_srtm.npy")[:2], np.load(npy / "dynamic_world.npy")[:2],
        np.load(npy / "latlon.npy")[:2], np.load(npy / "month.npy")[:2],
    )  # fmt: skip
    with torch.no_grad():
        emb = encoder.embed_series(batch)
    assert emb.shape == (2, 128)
    assert np.allclose(emb[:, :6].numpy(), UPSTREAM_EMBEDDINGS[folder], atol=1e-4)


# ------------------------------------------------------------------------------ weights errors


def test_a_checkpoint_lacking_an_encoder_key_is_refused(tmp_path: Path) -> None:
    state = _tiny().state_dict()
    del state["encoder.blocks.0.attn.qkv.weight"]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(WeightsMismatchError,
                       match=r"missing keys \(1\): encoder\.blocks\.0\.attn\.qkv\.weight"):  # fmt: skip
        _tiny(weights=tmp_path / "partial.pt")


def test_an_unexpected_encoder_key_is_refused_but_the_decoder_is_set_aside(
    tmp_path: Path,
) -> None:
    source = _tiny()
    state = {k: v + 0.5 for k, v in source.state_dict().items()}
    state["decoder.mask_token"] = torch.zeros(32)
    torch.save(state, tmp_path / "with_decoder.pt")
    loaded = _tiny(weights=tmp_path / "with_decoder.pt")
    assert loaded.load_report is not None
    assert loaded.load_report.ignored == ("decoder.mask_token",)
    key = "encoder.latlon_embed.weight"
    assert torch.equal(loaded.state_dict()[key], state[key])
    state["encoder.extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys \(1\): encoder\.extra\.weight"):
        _tiny(weights=tmp_path / "extra.pt")


def test_offline_without_the_file_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, dst: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    with pytest.raises(WeightsUnavailableError) as info:
        get_encoder("presto").factory(in_bands=None)
    message = str(info.value)
    assert PRESTO_SPEC.weights_url in message and f"put it at {cache_path(PRESTO_SPEC)}" in message
    assert "--weights PATH" in message
    with pytest.raises(WeightsUnavailableError, match="only allowed for the from-scratch"):
        get_encoder("presto").factory(in_bands=None, weights="none")


def test_a_cached_file_with_another_digest_is_refused() -> None:
    path = cache_path(PRESTO_SPEC)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_tiny().state_dict(), path)
    with pytest.raises(ChecksumError, match=rf"published sha256 is {PRESTO_WEIGHTS_SHA256}"):
        get_encoder("presto").factory(in_bands=None)


# ----------------------------------------------------------------------- normalisation, masks


def test_normalisation_uses_presto_constants_and_recomputes_ndvi() -> None:
    raw = np.zeros(18)
    raw[[0, 1]] = [-25.0, 0.0]  # S1 dB: (v + 25) / 25
    raw[2:13] = 2000.0  # S2: v / 1e4, B9 (index 10) dropped
    raw[4], raw[8] = 1000.0, 3000.0  # B4 red, B8 NIR → NDVI 0.5
    raw[13:18] = [307.15, 0.006, 1000.0, 10.0, -0.9]  # NDVI given is overwritten
    out = presto_normalise(raw)
    assert out.shape == (17,) and out.dtype == np.float32
    expected = [0.0, 1.0, 0.2, 0.2, 0.1, 0.2, 0.2, 0.2, 0.3, 0.2, 0.2, 0.2, 1.0, 0.2, 0.5, 0.2,
                0.5]  # fmt: skip
    assert np.allclose(out, expected, atol=1e-6)
    dark = raw.copy()
    dark[[4, 8]] = 0.0
    assert presto_normalise(dark)[16] == 0.0  # NDVI is 0 where NIR + red is not positive
    with pytest.raises(InvalidInputError, match="need 18 bands"):
        presto_normalise(np.zeros((2, 17)))


def test_position_and_month_codes() -> None:
    table = sinusoid_table(24, 64)
    assert torch.allclose(table[0, 0::2], torch.zeros(32)) and torch.allclose(
        table[0, 1::2], torch.ones(32)
    )
    assert torch.isclose(table[5, 2], torch.sin(torch.tensor(5 / 1000 ** (2 / 64))))
    months = month_table(8)
    assert torch.allclose(months[3, :4], torch.ones(4)) and torch.allclose(
        months[0, 4:], torch.ones(4)
    )
    with pytest.raises(InvalidInputError, match="even width"):
        month_table(5)


def test_absent_values_do_not_change_the_embedding() -> None:
    encoder = _tiny()
    x, dw, latlon, months = _raw_series()
    present = [b.name for b in PRESTO_BANDS if b.name not in ("VV", "VH")]
    base = presto_batch(x, dw, latlon, months, present=present)
    assert base.absent[..., :2].all() and not base.absent[..., 2:].any()
    other = x.copy()
    other[..., :2] = np.nan  # absent S1 values, whatever they hold
    changed = presto_batch(other, dw, latlon, months, present=present)
    gappy_dw = dw.copy()
    gappy_dw[:, 0] = 9  # an absent Dynamic World step
    with torch.no_grad():
        a, b = encoder.embed_series(base), encoder.embed_series(changed)
        full = encoder.embed_series(presto_batch(x, dw, latlon, months))
        no_dw = encoder.embed_series(presto_batch(x, gappy_dw, latlon, months))
        assert torch.isfinite(b).all()
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, full, atol=1e-3)  # masking S1 does change the embedding
    assert not torch.allclose(no_dw, full, atol=1e-3)
    nan_step = x.copy()
    nan_step[0, 1, 3] = np.nan  # one absent B03 value masks the S2_RGB token of that step only
    gap = presto_batch(nan_step, dw, latlon, months)
    assert gap.absent[0, 1].sum() == 1 and gap.absent[0, 1, 3] and gap.x[0, 1, 3] == 0.0


def test_presto_batch_refuses_bad_inputs() -> None:
    x, dw, latlon, months = _raw_series(t=3)
    with pytest.raises(InvalidInputError, match="at most 24 steps"):
        presto_batch(np.zeros((1, 25, 18)), np.zeros((1, 25)), np.zeros((1, 2)),
                     np.zeros((1, 25)))  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"must be \(N, T\)"):
        presto_batch(x, dw[:, :2], latlon, months)
    with pytest.raises(InvalidInputError, match="months must lie in 0-11"):
        presto_batch(x, dw, latlon, months + 12)
    with pytest.raises(InvalidInputError, match=r"unknown bands \['B2'\]"):
        presto_batch(x, dw, latlon, months, present=["B2"])
    with pytest.raises(InvalidInputError, match=r"\(N, T, 18\)"):
        presto_batch(x[0], dw, latlon, months)


# ------------------------------------------------------------------------------ image path


def test_image_pixels_are_one_step_series_and_absent_task_bands_are_masked() -> None:
    encoder = _tiny()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 17, 3, 3, generator=gen)
    with torch.no_grad():
        maps = encoder.features(x)
        pixel = PrestoBatch(
            x=x[1, :, 2, 0][None, None], absent=torch.zeros(1, 1, 17, dtype=torch.bool),
            dynamic_world=torch.full((1, 1), 9), latlons=torch.zeros(1, 2),
            months=torch.zeros(1, 1, dtype=torch.long),
        )  # fmt: skip
        assert maps[0].shape == (2, 32, 3, 3)
        assert torch.allclose(maps[0][1, :, 2, 0], encoder.embed_series(pixel)[0], atol=1e-5)
        assert torch.allclose(encoder.embed(x), maps[0].mean(dim=(-2, -1)), atol=1e-6)
    s2_only = get_encoder("presto").factory(in_bands=bands("B02", "B03", "B04", "B08"), tiny=True)
    s2_only.load_state_dict(encoder.state_dict())
    s2_only.eval()
    y = x.clone()
    y[:, :2] = 5.0  # S1 channels: absent for this task
    with torch.no_grad():
        assert torch.allclose(s2_only.embed(x), s2_only.embed(y), atol=1e-6)
        assert not torch.allclose(encoder.embed(x), encoder.embed(y), atol=1e-3)
    with pytest.raises(InvalidInputError, match=r"expects a batch of shape \(B, 17, H, W\)"):
        encoder.features(torch.zeros(1, 3, 2, 2))


def test_runs_on_the_default_device() -> None:
    device = default_device()
    encoder = _tiny().to(device)
    x, dw, latlon, months = _raw_series()
    with torch.no_grad():
        emb = encoder.embed_series(presto_batch(x, dw, latlon, months).to(device))
        image = encoder.embed(torch.rand(1, 17, 2, 2, device=device))
    assert emb.device.type == device.type and emb.shape == (4, 32)
    assert image.device.type == device.type


def test_presto_rejects_unknown_options() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown options \['img_size'\]"):
        get_encoder("presto").factory(in_bands=None, tiny=True, img_size=64)


def test_band_groups_cover_every_model_band_once() -> None:
    covered = sorted(i for _, idx in BAND_GROUPS for i in idx)
    assert covered == list(range(len(PRESTO_BANDS)))
    assert [name for name, _ in BAND_GROUPS][2:5] == ["S2_Red_Edge", "S2_NIR_10m", "S2_NIR_20m"]


# ------------------------------------------------------------------------------ raw baseline


def test_raw_baseline_flattens_the_normalised_series() -> None:
    x, dw, latlon, months = _raw_series(n=3, t=4)
    raw = get_encoder("presto-raw").factory(in_bands=None, n_timesteps=4)
    assert isinstance(raw, PrestoRaw) and raw.spec.embed_dim == 4 * 17
    present = [b.name for b in PRESTO_BANDS if b.name != "NDVI"]
    emb = raw.embed_series(presto_batch(x, dw, latlon, months, present=present))
    expected = presto_normalise(x)
    expected[..., 16] = 0.0  # absent: 0
    assert emb.shape == (3, 68)
    assert np.allclose(emb.numpy(), expected.reshape(3, -1), atol=1e-6)


def test_raw_baseline_refusals() -> None:
    factory = get_encoder("presto-raw").factory
    with pytest.raises(InvalidInputError, match="n_timesteps must be a positive integer"):
        factory(in_bands=None, n_timesteps=0)
    with pytest.raises(InvalidInputError, match="has no weights; drop --weights"):
        factory(in_bands=None, weights="w.pt")
    with pytest.raises(InvalidInputError, match="build it with n_timesteps=1"):
        factory(in_bands=None, n_timesteps=3).features(torch.zeros(1, 17, 2, 2))
    image = torch.rand(1, 17, 2, 2)
    no_s1 = factory(in_bands=bands("B02", "B03"))
    assert torch.equal(no_s1.features(image)[0][:, :2], torch.zeros(1, 2, 2, 2))
    assert torch.equal(no_s1.features(image)[0][:, 2:4], image[:, 2:4])
