"""terratorch-built encoders (Prithvi-EO-2.0, TerraMind): unavailable path, specs, wrapper, weights.

The tests marked by the ``terratorch`` fixture build tiny variants through terratorch and are
skipped when it is not installed (``pip install 'planetbench[terratorch]'``); the others run
everywhere.
"""

from __future__ import annotations

import importlib.util
import time
import urllib.error
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from planetbench.encoders import get_encoder
from planetbench.encoders.bands import align_bands
from planetbench.encoders.base import EncoderSpec
from planetbench.encoders.terratorch import (
    PRITHVI_SPEC,
    SPECS,
    TERRAMIND_S1_SPEC,
    TERRAMIND_S1S2_SPEC,
    TERRAMIND_SPEC,
    TerratorchEncoder,
    build_terratorch,
    fetch_terratorch_weights,
    find_hf_cached,
    hf_cache_dir,
    prepare_terratorch_weights,
    prithvi_key_map,
    registered_spec,
)
from planetbench.encoders.weights import cache_path
from planetbench.errors import (
    BandAlignmentError,
    InvalidInputError,
    MissingDependencyError,
    WeightsMismatchError,
    WeightsUnavailableError,
)
from planetbench.tasks.bands import SENTINEL2, bands

# --------------------------------------------------------------------------------------------
# Always run: the unavailable path, the specs, the wrapper on a fake backbone, weights lookup.
# --------------------------------------------------------------------------------------------


@pytest.fixture
def no_terratorch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``importlib.util.find_spec('terratorch')`` say terratorch is not installed."""
    real = importlib.util.find_spec

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "terratorch" or name.startswith("terratorch."):
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_missing_terratorch_says_how_to_install(no_terratorch: None, spec: EncoderSpec) -> None:
    listed = registered_spec(spec)
    assert listed.available is False
    assert listed.unavailable_reason == (
        "terratorch is not installed: pip install 'planetbench[terratorch]'"
    )
    with pytest.raises(
        MissingDependencyError, match=r"needs terratorch: .*planetbench\[terratorch\]"
    ):
        build_terratorch(spec, tiny=True)
    with pytest.raises(MissingDependencyError, match=r"pip install 'planetbench\[terratorch\]'"):
        get_encoder(spec.name).factory(in_bands=None)


def test_registered_under_their_ids() -> None:
    for spec in SPECS:
        registered = get_encoder(spec.name).spec
        assert registered.bands == spec.bands and registered.weights_url == spec.weights_url
        assert registered.available is (importlib.util.find_spec("terratorch") is not None)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_spec_facts_are_consistent(spec: EncoderSpec) -> None:
    n = len(spec.bands)
    weights, architecture = spec.weights, spec.architecture
    assert weights is not None and architecture is not None
    assert weights.mean is not None and weights.std is not None
    assert len(weights.mean) == len(weights.std) == len(architecture.upstream_bands) == n
    assert all(s > 0 for s in weights.std)
    repo, filename = weights.hf_hub_id, weights.hf_filename
    assert spec.weights_url == f"https://huggingface.co/{repo}/resolve/main/{filename}"
    assert spec.feature_strides == (16,) * 4 and spec.feature_channels == (1024,) * 4
    assert spec.embed_dim == 1024 and spec.input_size == 224
    assert spec.licence == "Apache-2.0" and "arXiv" in spec.citation
    assert weights.source == "terratorch" and spec.requires == ("terratorch",)


def test_band_sets() -> None:
    assert [b.name for b in PRITHVI_SPEC.bands] == ["B02", "B03", "B04", "B8A", "B11", "B12"]
    s2 = [b.name for b in TERRAMIND_SPEC.bands]
    assert len(s2) == 12 and "B10" not in s2 and s2[8] == "B8A"
    assert [b.name for b in TERRAMIND_S1_SPEC.bands] == ["VV", "VH"]
    assert [b.name for b in TERRAMIND_S1S2_SPEC.bands] == [*s2, "VV", "VH"]
    assert [b.modality for b in TERRAMIND_S1_SPEC.bands] == ["sar", "sar"]


def test_band_alignment_with_the_specs() -> None:
    full = align_bands(SENTINEL2, PRITHVI_SPEC)
    assert full.policy == "match" and full.index_map == (1, 2, 3, 8, 11, 12)
    # HLS NIR_NARROW from a task that only has the broad NIR band B08 (0.842 vs 0.865 µm)
    narrow = align_bands(bands("B02", "B03", "B04", "B08", "B11", "B12"), PRITHVI_SPEC)
    assert narrow.index_map == (0, 1, 2, 3, 4, 5)
    assert "B8A" in narrow.warnings[0] and "B08" in narrow.warnings[0]
    s2 = align_bands(SENTINEL2, TERRAMIND_SPEC)
    assert s2.index_map == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12)  # B10 skipped
    s1 = align_bands(bands("VH", "VV"), TERRAMIND_S1_SPEC)
    assert s1.index_map == (1, 0)
    with pytest.raises(BandAlignmentError, match=r"missing from the task: \['VV', 'VH'\]"):
        align_bands(bands("HH", "HV"), TERRAMIND_S1_SPEC)


def test_prithvi_key_map_converts_the_mae_layout() -> None:
    t = torch.zeros(1)
    state = {
        "encoder.cls_token": t,
        "encoder.pos_embed": t,
        "encoder.patch_embed.proj.weight": t,
        "encoder._timm_module.blocks.0.norm1.weight": t,
        "decoder.decoder_embed.weight": t,
        "decoder.mask_token": t,
    }
    assert sorted(prithvi_key_map(state)) == [
        "blocks.0.norm1.weight",
        "cls_token",
        "decoder.decoder_embed.weight",
        "decoder.mask_token",
        "patch_embed.proj.weight",
    ]


class FakeBackbone(nn.Module):
    """Yields terratorch-like outputs: per block (B, prefix + N, D) with the value of each patch
    token equal to its row-major grid index (prefix tokens are -1), plus the block index."""

    def __init__(self, patch: int, prefix: int, depth: int = 3, dim: int = 4) -> None:
        super().__init__()
        self.patch, self.prefix, self.depth, self.dim = patch, prefix, depth, dim
        self.seen: Any = None

    def forward(self, x: Tensor | dict[str, Tensor]) -> list[Tensor]:
        self.seen = x
        ref = next(iter(x.values())) if isinstance(x, dict) else x
        b, h, w = ref.shape[0], ref.shape[-2] // self.patch, ref.shape[-1] // self.patch
        grid = torch.arange(h * w, dtype=torch.float32)
        tokens = torch.cat([torch.full((self.prefix,), -1.0), grid])
        tokens = tokens[None, :, None].expand(b, -1, self.dim)
        return [tokens + i for i in range(self.depth)]


def _fake_encoder(prefix: int, modalities: Any = None, n_bands: int = 2) -> TerratorchEncoder:
    spec = EncoderSpec(name="fake", bands=bands("VV", "VH")[:n_bands])
    return TerratorchEncoder(
        FakeBackbone(patch=8, prefix=prefix),
        spec,
        (0, 2),
        patch_size=8,
        num_prefix_tokens=prefix,
        modalities=modalities,
    )


@pytest.mark.parametrize("prefix", [0, 1])
def test_wrapper_maps_tokens_to_nchw(prefix: int) -> None:
    encoder = _fake_encoder(prefix)
    x = torch.zeros(2, 2, 16, 32)  # grid 2 x 4
    maps = encoder.features(x)
    assert [tuple(m.shape) for m in maps] == [(2, 4, 2, 4)] * 2
    expected = torch.arange(8, dtype=torch.float32).reshape(2, 4)
    assert torch.equal(maps[0][1, 3], expected)  # row-major: token 1 + i * 4 + j at (i, j)
    assert torch.equal(maps[1][0, 0], expected + 2)  # block index 2
    vec = encoder.embed(x)  # mean of the last block's patch tokens: mean(0..7) + 2
    assert vec.shape == (2, 4) and torch.allclose(vec, torch.full((2, 4), 3.5 + 2))


def test_wrapper_splits_modalities() -> None:
    encoder = _fake_encoder(0, modalities=(("S2L2A", 1), ("S1GRD", 1)))
    x = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)], dim=1)
    encoder.features(x)
    seen = encoder.model.seen
    assert list(seen) == ["S2L2A", "S1GRD"]
    assert seen["S2L2A"].shape == (1, 1, 8, 8) and torch.all(seen["S1GRD"] == 1)


def test_wrapper_refuses_bad_inputs() -> None:
    encoder = _fake_encoder(1)
    with pytest.raises(InvalidInputError, match=r"expects a batch of shape \(B, 2, H, W\)"):
        encoder.features(torch.zeros(1, 3, 16, 16))
    with pytest.raises(InvalidInputError, match="divisible by 8"):
        encoder.features(torch.zeros(1, 2, 20, 16))
    wrong = _fake_encoder(1)
    wrong.num_prefix_tokens = 0  # the backbone has a class token the wrapper does not expect
    with pytest.raises(InvalidInputError, match=r"block 0 returned shape \(1, 5, 4\)"):
        wrong.features(torch.zeros(1, 2, 16, 16))


def test_weights_argument_is_validated(tmp_path: Path) -> None:
    assert prepare_terratorch_weights(PRITHVI_SPEC, None, tiny=True) is None
    with pytest.raises(WeightsUnavailableError, match="--weights PATH"):
        prepare_terratorch_weights(PRITHVI_SPEC, "none", tiny=False)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        prepare_terratorch_weights(TERRAMIND_SPEC, tmp_path / "absent.pt", tiny=False)
    given = tmp_path / "w.pt"
    given.write_bytes(b"x")
    found = prepare_terratorch_weights(TERRAMIND_SPEC, given, tiny=True)
    assert found is not None and found.origin == "file" and found.path == given


@pytest.mark.parametrize("spec", [PRITHVI_SPEC, TERRAMIND_SPEC], ids=lambda s: s.name)
def test_published_weights_offline_fail_fast_with_url_and_cache(
    spec: EncoderSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[str] = []

    def refuse(url: str, dst: str, *args: object, **kwargs: object) -> None:
        tried.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as info:
        prepare_terratorch_weights(spec, None, tiny=False)
    message = str(info.value)
    assert tried == [spec.weights_url]
    assert spec.weights is not None
    assert spec.weights.hf_hub_id in message and spec.weights_url in message
    assert f"put it at {cache_path(spec)}" in message and "--weights PATH" in message
    assert "Temporary failure in name resolution" in message
    assert f"repository {spec.weights.hf_hub_id} in the Hugging Face cache {hf_cache_dir()}" in (
        message
    )
    assert time.perf_counter() - started < 1.0


def test_hf_cache_dir_follows_the_environment_now(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "legacy"))
    assert hf_cache_dir() == tmp_path / "legacy"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hf_cache_dir() == tmp_path / "hub"


def test_published_weights_are_found_in_our_cache_then_the_hf_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("huggingface_hub")
    spec = PRITHVI_SPEC
    assert spec.weights is not None
    repo, filename = spec.weights.hf_hub_id, spec.weights.hf_filename
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    repo_dir = tmp_path / "hf" / f"models--{repo.replace('/', '--')}"
    assert find_hf_cached(spec) is None
    snapshot = repo_dir / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_bytes(b"hf")
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("a" * 40)
    found = fetch_terratorch_weights(spec)  # no download: torch.hub is not called
    assert found.origin == "cache" and found.path == snapshot / filename
    assert found.url == spec.weights_url and len(found.sha256) == 64
    ours = cache_path(spec)
    ours.parent.mkdir(parents=True, exist_ok=True)
    ours.write_bytes(b"ours")
    found = fetch_terratorch_weights(spec)
    assert found.origin == "cache" and found.path == ours


# --------------------------------------------------------------------------------------------
# With terratorch: tiny variants built through terratorch.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terratorch() -> ModuleType:
    """terratorch's registry (skips without terratorch; its import takes seconds, paid once)."""
    registry: ModuleType = pytest.importorskip("terratorch.registry")
    return registry


def _x(n_bands: int, seed: int = 0) -> Tensor:
    return torch.randn(2, n_bands, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_building_leaves_the_float32_matmul_precision_alone(terratorch: ModuleType) -> None:
    """terratorch sets torch's float32 matmul precision to 'medium' when its backbones are
    imported (bfloat16 matmuls on CPU for everything after); a fresh interpreter shows whether the
    first build leaves the process as it found it."""
    import subprocess
    import sys

    code = ("import torch\n"
            "from planetbench.encoders.terratorch import PRITHVI_SPEC, build_terratorch\n"
            "build_terratorch(PRITHVI_SPEC, tiny=True)\n"
            "print(torch.get_float32_matmul_precision())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "highest"


def test_tiny_prithvi_matches_the_backbone(terratorch: ModuleType) -> None:
    torch.manual_seed(0)
    encoder = build_terratorch(PRITHVI_SPEC, tiny=True).eval()
    assert encoder.spec.feature_strides == (8,) * 4 and encoder.spec.embed_dim == 32
    x = _x(6)
    with torch.no_grad():
        maps, vec = encoder.features(x), encoder.embed(x)
        tokens = encoder.model(x)  # terratorch's own output: (B, 1 + 16, 32) per block
    assert len(tokens) == 4 and tokens[0].shape == (2, 17, 32)
    assert [tuple(m.shape) for m in maps] == [(2, 32, 4, 4)] * 4
    for i, m in enumerate(maps):  # token 1 + r * 4 + c (after the class token) is pixel (r, c)
        assert torch.equal(m[:, :, 1, 2], tokens[i][:, 1 + 1 * 4 + 2])
    reference = encoder.model.prepare_features_for_image_model(tokens)  # terratorch's reshape
    assert all(torch.equal(m, r) for m, r in zip(maps, reference, strict=True))
    assert torch.allclose(vec, tokens[-1][:, 1:].mean(dim=1))
    with torch.no_grad():
        assert not torch.equal(encoder.embed(_x(6, seed=1)), vec)


@pytest.mark.parametrize(
    "spec", [TERRAMIND_SPEC, TERRAMIND_S1_SPEC, TERRAMIND_S1S2_SPEC], ids=lambda s: s.name
)
def test_tiny_terramind_matches_the_backbone(terratorch: ModuleType, spec: EncoderSpec) -> None:
    torch.manual_seed(0)
    encoder = build_terratorch(spec, tiny=True).eval()
    x = _x(len(spec.bands))
    inputs = {}
    start = 0
    assert spec.architecture is not None
    for name in spec.architecture.modalities:
        n = 12 if name == "S2L2A" else 2
        inputs[name] = x[:, start : start + n]
        start += n
    with torch.no_grad():
        maps, vec = encoder.features(x), encoder.embed(x)
        tokens = encoder.model(inputs)  # (B, 2 * 2, 32): no class token, modalities averaged
    assert tokens[0].shape == (2, 4, 32)
    assert [tuple(m.shape) for m in maps] == [(2, 32, 2, 2)] * 4
    for m, t in zip(maps, tokens, strict=True):
        assert torch.equal(m, t.transpose(1, 2).reshape(2, 32, 2, 2))
    assert torch.allclose(vec, tokens[-1].mean(dim=1))


@pytest.mark.parametrize("spec", [PRITHVI_SPEC, TERRAMIND_S1S2_SPEC], ids=lambda s: s.name)
def test_tiny_builds_on_the_meta_device(terratorch: ModuleType, spec: EncoderSpec) -> None:
    # TerraMindViT takes .item() of a torch.linspace while it is built: computed on the CPU
    with torch.device("meta"), torch.no_grad():
        encoder = build_terratorch(spec, tiny=True).eval()
        maps = encoder.features(torch.empty(1, len(spec.bands), 64, 64))
    stride = encoder.spec.feature_strides[0]
    assert next(encoder.parameters()).device.type == "meta"
    assert [tuple(m.shape) for m in maps] == [(1, 32, 64 // stride, 64 // stride)] * 4


def test_unknown_option_is_refused(terratorch: ModuleType) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown options \['img_size'\]"):
        build_terratorch(PRITHVI_SPEC, tiny=True, img_size=64)


def test_tiny_prithvi_loads_the_upstream_mae_layout_strictly(
    terratorch: ModuleType, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    mae = terratorch.FULL_MODEL_REGISTRY.build(
        "terratorch_prithvi_eo_v2_300_mae",
        pretrained=False,
        num_frames=4,  # as pretrained: the checkpoint's pos_embed is for 4 frames
        img_size=32,
        patch_size=[1, 8, 8],
        embed_dim=32,
        depth=4,
        num_heads=2,
        decoder_embed_dim=16,
        decoder_depth=1,
        decoder_num_heads=2,
    )
    state = mae.state_dict()
    path = tmp_path / "prithvi.pt"
    torch.save(state, path)
    encoder = build_terratorch(PRITHVI_SPEC, tiny=True, weights=path)
    report = encoder.load_report
    assert report is not None and report.origin == "file"
    assert report.missing_allowed == ("pos_embed",)
    assert report.ignored and all(k.startswith("decoder.") for k in report.ignored)
    loaded = encoder.model.state_dict()
    assert torch.equal(loaded["blocks.3.mlp.fc2.weight"], state["encoder.blocks.3.mlp.fc2.weight"])
    assert torch.equal(loaded["cls_token"], state["encoder.cls_token"])
    del state["encoder.blocks.0.norm1.weight"]
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match=r"missing keys \(1\): blocks.0.norm1.weight"):
        build_terratorch(PRITHVI_SPEC, tiny=True, weights=path)


def test_tiny_terramind_loads_strictly(terratorch: ModuleType, tmp_path: Path) -> None:
    torch.manual_seed(0)
    both = build_terratorch(TERRAMIND_S1S2_SPEC, tiny=True)
    state = dict(both.model.state_dict())
    state["decoder.0.mlp.fc1.weight"] = torch.zeros(2)  # the encoder-decoder checkpoint's parts
    state["mask_token"] = torch.zeros(1, 1, 32)
    del state["encoder_embeddings.untok_sen2l2a@224.pos_emb"]  # fixed sin-cos: may be missing
    path = tmp_path / "terramind.pt"
    torch.save(state, path)
    encoder = build_terratorch(TERRAMIND_SPEC, tiny=True, weights=path)
    report = encoder.load_report
    assert report is not None
    assert report.missing_allowed == ("encoder_embeddings.untok_sen2l2a@224.pos_emb",)
    assert "mask_token" in report.ignored and "decoder.0.mlp.fc1.weight" in report.ignored
    assert "encoder_embeddings.untok_sen1grd@224.proj.weight" in report.ignored
    key = "encoder.3.mlp.fc3.weight"
    assert torch.equal(encoder.model.state_dict()[key], state[key])
    state["encoder.9.extra"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys \(1\): encoder.9.extra"):
        build_terratorch(TERRAMIND_SPEC, tiny=True, weights=path)


def test_availability_sees_weights_in_the_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weights terratorch itself downloaded (HF cache) count as cached in `planetbench encoders`."""
    pytest.importorskip("terratorch")
    import planetbench.encoders.terratorch as tt
    from planetbench.encoders.availability import encoder_availability

    before = encoder_availability("prithvi-eo-v2-300")
    assert before.weights == "not cached"
    hit = tmp_path / "Prithvi_EO_V2_300M.pt"
    hit.write_bytes(b"x")
    monkeypatch.setattr(tt, "find_hf_cached", lambda spec: hit)
    after = encoder_availability("prithvi-eo-v2-300")
    assert after.weights == "cached" and str(hit) in after.weights_path
