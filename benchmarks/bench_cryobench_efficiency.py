"""Parameters and GFLOPs of Cryo-Bench's models, in fvcore's convention, beside fvcore's own count.

Builds (random weights, counting needs none) Cryo-Bench's SegUPerNet on a ViT-B/16 at 224 px and
its UNet baseline at 512 px (GLID: 3 bands, 2 classes) as the ``cryobench`` protocol builds them,
and prints our count (:func:`planetbench.runs.efficiency.count_flops`), its attention part, and,
when ``fvcore`` is importable, ``fvcore.nn.FlopCountAnalysis`` on the very same modules (with
timm's fused attention, which fvcore cannot see into, and with attention as explicit matrix
products). Cryo-Bench's published figure for SegUPerNet + ViT-B is 61.27 G.

Usage::

    python benchmarks/bench_cryobench_efficiency.py
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from planetbench.heads import build_head
from planetbench.runs.efficiency import count_flops, count_parameters


class Model(nn.Module):
    """Encoder + head as one module taking a tensor (what fvcore traces)."""

    def __init__(self, features: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.head(self.features(x), tuple(x.shape[-2:]))
        return out


class ViTBlocks(nn.Module):
    """timm's ViT-B/16 returning blocks 3, 5, 7, 11 as maps, the last through the final norm
    (PANGAEA's ``VIT_Encoder``)."""

    def __init__(self) -> None:
        super().__init__()
        import timm

        self.vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0)

    def forward(self, x: Tensor) -> list[Tensor]:
        maps = list(self.vit.forward_intermediates(x, indices=[3, 5, 7, 11], norm=False,
                                                   intermediates_only=True, output_fmt="NCHW"))
        maps[-1] = self.vit.norm(maps[-1].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return maps


def fvcore_count(model: nn.Module, x: Tensor) -> float | None:
    try:
        from fvcore.nn import FlopCountAnalysis
    except ImportError:
        return None
    analysis = FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return float(analysis.total()) / 1e9


def report(name: str, model: Model, x: Tensor) -> None:
    count, flags = count_flops(model, x)
    params = count_parameters(model)
    enc, dec = count_parameters(model.features), count_parameters(model.head)
    print(f"{name}")
    print(f"  parameters: {params:,} (encoder {enc:,}, decoder {dec:,})")
    if count is None:
        print(f"  GFLOPs: not counted ({flags})")
        return
    print(f"  GFLOPs (ours, fvcore convention): {count.flops / 1e9:.4f}  of which attention "
          f"{count.attention / 1e9:.4f}; without attention {(count.flops - count.attention) / 1e9:.4f}")
    print(f"  GFLOPs (2 per multiply-add): {2 * count.macs / 1e9:.4f}")
    fused = fvcore_count(model, x)
    if fused is None:
        print("  fvcore: not installed (pip install fvcore to compare)")
        return
    print(f"  fvcore FlopCountAnalysis (as the model runs): {fused:.4f}")
    blocks = [m for m in model.modules() if hasattr(m, "fused_attn")]
    if blocks:
        for m in blocks:
            m.fused_attn = False
        print(f"  fvcore with attention as explicit matmuls: {fvcore_count(model, x):.4f}")
        for m in blocks:
            m.fused_attn = True


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    vit = ViTBlocks().eval()
    head = build_head("upernet-pangaea", in_channels=(768,) * 4, in_strides=(16,) * 4,
                      n_classes=2).eval()
    report("SegUPerNet + ViT-B/16, 224 px, 2 classes (Cryo-Bench: 125.1 M, 61.27 G)",
           Model(vit, head), torch.zeros(1, 3, 224, 224))
    from planetbench.encoders import build_encoder
    from planetbench.tasks.bands import RGB

    unet = build_encoder("unet-cryobench", in_bands=RGB, device="cpu", seed=0).eval()
    unet_head = build_head("unet-pangaea", in_channels=unet.spec.feature_channels,
                           in_strides=unet.spec.feature_strides, n_classes=2).eval()
    report("UNet baseline (PANGAEA's unet_encoder + seg_unet), 512 px, 3 bands, 2 classes",
           Model(unet, unet_head), torch.zeros(1, 3, 512, 512))


if __name__ == "__main__":
    main()
