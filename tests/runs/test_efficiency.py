"""Efficiency in fvcore's convention (Cryo-Bench's): counts by hand, ViT-B's 17.58 G, the shared
function of runs and ``planetbench efficiency``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from planetbench.errors import BandAlignmentError, InvalidInputError, UnknownNameError
from planetbench.runs.efficiency import (
    EFFICIENCY_KEYS,
    GFLOPS_CONVENTION,
    count_flops,
    efficiency_of,
    model_efficiency,
)
from planetbench.testing import TinyConvEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_vit_b16_at_224_is_17_58_gflops_in_fvcore_convention() -> None:
    import timm

    with torch.device("meta"):  # shapes are all counting needs
        vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0).eval()
        count, flags = count_flops(vit, torch.empty(1, 3, 224, 224))
    assert flags == [] and count is not None
    assert count.flops / 1e9 == pytest.approx(17.58, rel=0.01)
    # one multiply-add = 1 FLOP: the 2-per-MAC count of the same model is about twice as large
    assert 2 * count.macs / 1e9 == pytest.approx(35.13, rel=0.01)


def test_fvcore_counts_norms_interpolation_and_pooling_as_fvcore_does() -> None:
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),  # 16·16 · 4·2·9 = 18,432 multiply-adds
        nn.BatchNorm2d(4),  # eval, affine: 2 per element = 2,048
        nn.AdaptiveAvgPool2d(4),  # 1 per input element = 1,024
        nn.Upsample(scale_factor=2, mode="bilinear"),  # 4 per output element = 4 · 256 = 1,024
        nn.ConvTranspose2d(4, 4, 2, stride=2),  # input 8·8 · 4·4·2·2 = 4,096
        nn.GroupNorm(2, 4),  # 5 per element (affine) = 5 · 1,024 = 5,120
        nn.ReLU(),  # not counted
    ).eval()
    count, _ = count_flops(model, torch.randn(1, 2, 16, 16))
    assert count is not None
    assert count.by_op == {"convolution": 18_432 + 4_096, "native_batch_norm": 2_048,
                           "_adaptive_avg_pool2d": 1_024, "upsample_bilinear2d": 1_024,
                           "native_group_norm": 5_120}
    assert count.macs == 18_432 + 4_096 and count.attention == 0


def test_model_efficiency_splits_parameters_and_names_its_conventions() -> None:
    torch.manual_seed(0)
    from planetbench.heads import build_head

    encoder = TinyConvEncoder()
    head = build_head("linear", in_channels=encoder.spec.feature_channels,
                      in_strides=encoder.spec.feature_strides, n_classes=2)
    eff = model_efficiency(encoder, head, torch.zeros(1, 3, 32, 32), n_warmup=0, n_repeats=1)
    assert eff["params"] == eff["encoder_params"] + eff["decoder_params"]
    assert eff["decoder_params"] == sum(p.numel() for p in head.parameters())
    assert eff["params_m"] == pytest.approx(eff["params"] / 1e6)
    assert eff["gflops_convention"] == GFLOPS_CONVENTION == "fvcore (1 multiply-add = 1 FLOP)"
    assert eff["gflops_2_per_mac"] > eff["gflops"] > 0
    assert eff["latency_ms"] > 0 and eff["device"].startswith("cpu (")
    assert eff["input_shape"] == [1, 3, 32, 32]


def test_efficiency_of_builds_the_protocols_model_with_random_weights_offline() -> None:
    # the encoder publishes weights; none are downloaded or looked up: counting needs none
    out = efficiency_of("ssl4eo-moco-vits16", "demo-lakes", input_size=32, n_warmup=0,
                        n_repeats=1)
    assert list(out)[: len(EFFICIENCY_KEYS)] == list(EFFICIENCY_KEYS)
    assert out["encoder"] == "ssl4eo-moco-vits16" and out["protocol"] == "default"
    assert out["decoder"] == "upernet" and out["input_size"] == 32
    assert out["weights"].startswith("random")
    assert out["encoder_params_m"] == pytest.approx(22.65, abs=0.01)  # ViT-S/16, 13 bands
    # the default policy cannot feed demo-lakes' 10 bands to its 13: zero-fill, said so
    assert out["band_policy"] == "zero-fill" and "does not apply" in out["flags"][0]
    with pytest.raises(BandAlignmentError, match="Policies that could apply: zero-fill"):
        efficiency_of("ssl4eo-moco-vits16", "demo-lakes", band_policy="match")
    with pytest.raises(UnknownNameError, match="did you mean 'cryobench'"):
        efficiency_of("unet", "demo-lakes", protocol="cryobnch")
    with pytest.raises(InvalidInputError, match="is a classification task"):
        efficiency_of("unet", "demo-lake")
    with pytest.raises(InvalidInputError, match="at least 8 px"):
        efficiency_of("unet", "demo-lakes", input_size=4)


def test_cryobench_efficiency_is_cryobenchs_model_at_the_encoders_input_size() -> None:
    unet = efficiency_of("unet-cryobench", "glid", protocol="cryobench", input_size=64,
                         n_warmup=0, n_repeats=1)
    assert unet["decoder"] == "unet-pangaea" and unet["band_policy"] == "cryobench"
    assert unet["params_m"] * 1e6 == pytest.approx(14_788_994, abs=1)  # GLID: 3 bands, 2 classes


#: One encoder per family and source of weights (timm, torchgeo, terratorch, torchvision, HF),
#: counted on the meta device: built without weights, offline (the tests refuse the network).
FAMILIES = ["dofa-base-cryobench", "prithvi-eo-v1-100-cryobench", "terramind-v1-large-cryobench",
            "resnet50-cryobench", "satlas-swin-b-cryobench", "ssl4eo-moco-vits16",
            "remoteclip-vit-b32", "gfm-swin", "scalemae-large", "vit-b16-cryobench"]


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_is_counted_offline_without_weights(name: str) -> None:
    out = efficiency_of(name, "glid", protocol="cryobench", device="meta", latency=False)
    assert out["params_m"] > out["encoder_params_m"] > 1
    assert out["gflops"] is not None and out["gflops"] > 0
    assert out["latency_ms"] is None
    if name == "vit-b16-cryobench":  # Cryo-Bench: 125.1 M; 61.27 G + attention 0.72 G
        assert out["params_m"] == pytest.approx(125.14, abs=0.01)
        assert out["gflops"] == pytest.approx(61.98, abs=0.01)
