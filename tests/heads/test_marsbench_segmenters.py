"""Mars-Bench's smp segmentation baselines: built exactly as Mars-Bench's code calls smp, what each
training type trains, strict encoder-weight loading (file, cache, offline error), input sizes."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import urllib.error
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch

from planetbench.errors import (
    InvalidInputError,
    UnknownNameError,
    WeightsMismatchError,
    WeightsUnavailableError,
)

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(importlib.util.find_spec("segmentation_models_pytorch") is None,
                       reason="segmentation_models_pytorch is not installed "
                              "(pip install 'planetbench[mars]')"),
]

NAMES = ["unet", "deeplabv3plus", "segformer", "dpt"]


def _build(name: str, **kw: Any) -> Any:
    from planetbench.heads.marsbench_seg import build_marsbench_segmenter

    kw.setdefault("n_classes", 3)
    return build_marsbench_segmenter(name, **kw)


@pytest.mark.parametrize("name", NAMES)
def test_training_types_freeze_the_encoder_only_for_feature_extraction(name: str) -> None:
    for ttype in ("feature_extraction", "transfer_learning", "scratch_training"):
        seg = _build(name, training_type=ttype, tiny=True, weights="none", input_size=64)
        model = seg.model
        frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
        encoder = {f"encoder.{n}" for n, _ in model.encoder.named_parameters()}
        assert frozen == (encoder if ttype == "feature_extraction" else set())
        assert seg.training_type == ttype
        assert seg.encoder_parameters() == sum(p.numel() for p in model.encoder.parameters())
        logits = seg(torch.randn(2, 3, 64, 64))
        assert logits.shape == (2, 3, 64, 64)


@pytest.mark.parametrize(("name", "model", "encoder"), [
    ("unet", "Unet", "resnet34"),
    ("deeplabv3plus", "DeepLabV3Plus", "resnet34"),
    ("segformer", "Segformer", "resnet34"),
])
def test_full_size_models_are_mars_benchs_smp_calls(name: str, model: str, encoder: str) -> None:
    """Same seed, same call as Mars-Bench's (encoder weights aside): identical tensors."""
    import segmentation_models_pytorch as smp

    torch.manual_seed(0)
    ours = _build(name, n_classes=4, training_type="scratch_training").model
    torch.manual_seed(0)
    theirs = getattr(smp, model)(encoder_name=encoder, encoder_weights=None, in_channels=3,
                                 classes=4)
    a, b = ours.state_dict(), theirs.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_full_size_dpt_is_mars_benchs_vit_b16() -> None:
    seg = _build("dpt", n_classes=2, training_type="scratch_training")
    vit = seg.model.encoder.model
    assert vit.pretrained_cfg["hf_hub_id"] == "timm/vit_base_patch16_224.augreg_in21k"
    assert len(vit.blocks) == 12 and vit.embed_dim == 768
    assert seg(torch.randn(1, 3, 224, 224)).shape == (1, 2, 224, 224)


def _encoder_of(seg: Any, name: str) -> Any:
    return seg.model.encoder.model if name == "dpt" else seg.model.encoder


@pytest.mark.parametrize("name", ["unet", "dpt"])
def test_an_encoder_file_loads_strictly_into_the_encoder(name: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    donor = _build(name, tiny=True, weights="none", training_type="scratch_training")
    path = tmp_path / "encoder.pt"
    torch.save(_encoder_of(donor, name).state_dict(), path)
    torch.manual_seed(2)
    seg = _build(name, tiny=True, weights=path, input_size=64)
    saved, own = torch.load(path, weights_only=True), _encoder_of(seg, name).state_dict()
    assert saved.keys() <= own.keys() and all(torch.equal(saved[k], own[k]) for k in saved)
    # a file of another encoder is refused, never half-loaded
    other = "dpt" if name == "unet" else "unet"
    wrong = tmp_path / "wrong.pt"
    torch.save(_encoder_of(_build(other, tiny=True, weights="none"), other).state_dict(), wrong)
    with pytest.raises(WeightsMismatchError, match="do not match baseline"):
        _build(name, tiny=True, weights=wrong)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        _build(name, tiny=True, weights=tmp_path / "absent.pt")


def test_published_encoder_weights_come_from_the_cache_and_offline_fails_clearly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    from planetbench.encoders import get_encoder
    from planetbench.encoders.weights import cache_path
    from planetbench.heads.marsbench import recording_loads
    from planetbench.protocols.whole_models import published_weights_file

    monkeypatch.setenv("PLANETBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))

    def offline(url: str, *args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    spec = get_encoder("mb-unet").spec
    published = partial(published_weights_file, spec)
    with pytest.raises(WeightsUnavailableError) as info:
        _build("unet", training_type="feature_extraction", published=published)
    text = str(info.value)
    assert "smp-hub/resnet34.imagenet" in text and str(cache_path(spec)) in text

    # the published file put in the cache by hand (here: generated, random) is loaded strictly
    torch.manual_seed(3)
    state = _encoder_of(_build("unet", training_type="scratch_training"), "unet").state_dict()
    cache_path(spec).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(cache_path(spec)))
    with recording_loads() as loaded:
        seg = _build("unet", training_type="transfer_learning", published=published)
    own = seg.model.encoder.state_dict()
    assert all(torch.equal(state[k], own[k]) for k in state)
    assert all(p.requires_grad for p in seg.model.parameters())
    (read,) = loaded  # recorded with the URL and checksum the cache lookup gave
    assert read.origin == "published" and read.path == cache_path(spec)
    assert read.url == spec.weights_url and read.n_tensors == len(state)
    assert read.sha256 == hashlib.sha256(cache_path(spec).read_bytes()).hexdigest()


def test_no_random_fallback_and_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="only allowed with training_type='scratch"):
        _build("unet", weights="none", training_type="feature_extraction")
    with pytest.raises(InvalidInputError, match="no source of its published encoder weights"):
        _build("unet", training_type="transfer_learning")
    with pytest.raises(InvalidInputError, match="tiny variant has no published weights"):
        _build("unet", tiny=True, training_type="transfer_learning")
    with pytest.raises(InvalidInputError, match="not one of feature_extraction"):
        _build("unet", tiny=True, weights="none", training_type="frozen")
    with pytest.raises(InvalidInputError, match="n_classes must be ≥ 2"):
        _build("unet", tiny=True, weights="none", n_classes=1)
    with pytest.raises(InvalidInputError, match="224 × 224 inputs only"):
        _build("dpt", weights="none", training_type="scratch_training", input_size=256)
    with pytest.raises(InvalidInputError, match="divisible by 32"):
        _build("segformer", tiny=True, weights="none", input_size=100)
    with pytest.raises(UnknownNameError, match="did you mean 'unet'"):
        _build("unte", tiny=True, weights="none")
    monkeypatch.setitem(sys.modules, "segmentation_models_pytorch", None)
    with pytest.raises(InvalidInputError, match=r"pip install 'planetbench\[mars\]'"):
        _build("unet", tiny=True, weights="none")
