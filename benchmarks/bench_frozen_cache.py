"""Benchmark: the frozen-feature cache against recomputing features, and training images/s.

Setting (issue 3, Performance): frozen protocol, a ViT-small-sized encoder (planetbench's ``vit``
baseline: ViT-S/16, 384 wide, 12 blocks, 6 heads, maps of blocks 3, 5, 7, 11; random init, since
timing does not depend on the weights) at 224 × 224 px, UperNet head, 64 training images (+ 16
validation images for early stopping). Both modes train in this one process, one after the other,
from the same encoder weights, head initialisation and batch order:

* ``cache``: the encoder runs once per image before epoch 1; epochs train the head on cached fp16
  maps;
* ``recompute``: the encoder runs on every batch of every epoch (``cache="none"``).

It prints the seconds of each epoch (training + validation; epoch 1 of ``cache`` includes building
the cache), the speed-up of the epochs after the first (goal ≥ 5×), whether the validation mIoU of
every epoch is the same in both modes, training images/s for frozen (both modes) and finetune, and
the GFLOPs of one encoder and one head forward pass, which bound the possible speed-up: a cached
epoch still runs the head forward and backward.

Run ``python benchmarks/bench_frozen_cache.py`` (about 3 minutes on 2 CPU cores) or ``--quick``
(tiny ViT at 32 px, a few seconds) for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np
import torch


def _flops(fn: Any, x: torch.Tensor) -> float | None:
    from planetbench.runs.efficiency import count_flops

    count, _ = count_flops(fn, x)  # fvcore's convention: 1 multiply-add = 1 FLOP
    return None if count is None else count.flops / 1e9


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures (see the module docstring)."""
    from planetbench.encoders.scratch import build_vit
    from planetbench.protocols.dense import FinetuneProtocol, FrozenProtocol
    from planetbench.testing import tiny_segmentation_task, write_tiny_segmentation

    torch.set_num_threads(args.threads)
    size = 32 if args.quick else 224
    n_train, n_val = (8, 4) if args.quick else (args.n_train, args.n_val)
    epochs = 2 if args.quick else args.epochs
    head_options = {"channels": 8, "neck_channels": 8} if args.quick else {
        "channels": args.channels, "neck_channels": args.neck_channels}
    task = tiny_segmentation_task()
    tmp = tempfile.TemporaryDirectory(prefix="pb-bench-")
    root = write_tiny_segmentation(tmp.name, n_per_split={"train": n_train, "val": n_val},
                                   size=size, seed=0)
    train, val = task.load(root, "train"), task.load(root, "val")

    def encoder() -> Any:
        torch.manual_seed(0)
        return build_vit(in_bands=task.spec.bands, tiny=args.quick)

    common: dict[str, Any] = dict(input_size=size, batch_size=8, lr=1e-3, seed=0,
                                  head="upernet", head_options=head_options)
    histories = {}
    for mode, cache in (("cache", "memory"), ("recompute", "none")):
        proto = FrozenProtocol.from_task(task.spec, encoder(), cache=cache, epochs=epochs,
                                         patience=epochs, **common)
        proto.fit(train, val)
        histories[mode] = proto.history_
        if mode == "cache":
            cache_s = proto.timings_.get("cache_s", float("nan"))
            cache_mb = proto.cache_nbytes_ / 2**20
            head = proto.head_
            enc = proto.encoder
    ft = FinetuneProtocol.from_task(task.spec, encoder(), epochs=1, patience=1, **common)
    ft.fit(train, val)

    x = torch.zeros(1, len(task.spec.bands), size, size)
    with torch.no_grad():
        feats = enc.features(x)
    gflops_encoder = _flops(lambda t: enc.features(t), x)
    gflops_head = _flops(lambda t: head(feats, (size, size)), x)

    cached, recomputed = histories["cache"], histories["recompute"]
    later = slice(1, None)
    cache_later = float(np.mean([r.seconds for r in cached[later]]))
    recompute_later = float(np.mean([r.seconds for r in recomputed[later]]))
    same_miou = all(a.val_miou == b.val_miou for a, b in zip(cached, recomputed, strict=True))
    figures = {
        "setting": f"{'tiny ViT' if args.quick else 'ViT-S/16'} at {size} px, UperNet "
                   f"{head_options}, {n_train} train + {n_val} val images, batch 8, "
                   f"{epochs} epochs, {args.threads} thread(s), cpu_count={os.cpu_count()}",
        "epoch_s": {m: [round(r.seconds, 3) for r in h] for m, h in histories.items()},
        "val_miou": {m: [r.val_miou for r in h] for m, h in histories.items()},
        "cache_build_s": cache_s,
        "cache_mb": cache_mb,
        "speedup_after_first": recompute_later / cache_later,
        "same_val_miou": same_miou,
        "images_per_s": {
            "frozen_cache": n_train / float(np.mean([r.train_seconds for r in cached[later]])),
            "frozen_recompute": n_train / float(
                np.mean([r.train_seconds for r in recomputed[later]])),
            "finetune": n_train / ft.history_[0].train_seconds,
        },
        "gflops": {"encoder": gflops_encoder, "head": gflops_head},
    }
    tmp.cleanup()
    return figures


def report(figures: dict[str, Any]) -> str:
    """The figures as the lines the script prints."""
    lines = [f"frozen-feature cache benchmark: {figures['setting']}"]
    lines.append("epoch  cache_s  recompute_s  val_mIoU_cache  val_mIoU_recompute")
    rows = zip(figures["epoch_s"]["cache"], figures["epoch_s"]["recompute"],
               figures["val_miou"]["cache"], figures["val_miou"]["recompute"], strict=True)
    for i, (a, b, ma, mb) in enumerate(rows, start=1):
        lines.append(f"{i:>5}  {a:7.2f}  {b:11.2f}  {ma:14.4f}  {mb:18.4f}")
    verdict = "met" if figures["speedup_after_first"] >= 5 else "NOT met"
    lines.append(
        f"epochs after the first: {figures['speedup_after_first']:.1f}x faster with the cache "
        f"(goal >= 5x: {verdict}); cache built in {figures['cache_build_s']:.2f} s, "
        f"{figures['cache_mb']:.1f} MiB fp16"
    )
    lines.append("same validation mIoU every epoch: "
                 + ("yes (identical)" if figures["same_val_miou"] else "NO"))
    ips = figures["images_per_s"]
    lines.append(
        f"training images/s: frozen with cache {ips['frozen_cache']:.1f}, frozen recomputing "
        f"{ips['frozen_recompute']:.1f}, finetune {ips['finetune']:.2f}"
    )
    g = figures["gflops"]
    lines.append(
        f"GFLOPs per image (forward, fvcore convention): encoder {g['encoder']:.3g}, head "
        f"{g['head']:.3g} (a cached epoch still runs the head forward + backward, about 3x its forward)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run, print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per mode (>= 2)")
    parser.add_argument("--n-train", type=int, default=64, help="training images")
    parser.add_argument("--n-val", type=int, default=16, help="validation images")
    parser.add_argument("--channels", type=int, default=32, help="UperNet width")
    parser.add_argument("--neck-channels", type=int, default=64,
                        help="simple-pyramid projection width (0: none, ViTDet layout)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest on a shared CPU)")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (epochs after the first are compared)")
    args.neck_channels = args.neck_channels or None
    start = time.perf_counter()
    figures = run(args)
    print(report(figures))
    print(f"(benchmark wall time {time.perf_counter() - start:.0f} s)")
    return figures


if __name__ == "__main__":
    main()
