"""Benchmark: classification and detection heads on a small encoder, and frozen classification with
cached pooled features against recomputing them every epoch.

Setting (issue 12, Performance): planetbench's ``vit`` encoder (ViT-S/16: 384 wide, 12 blocks,
6 heads; random init, since timing does not depend on the weights) at 224 × 224 px, torch on
``--threads`` CPU threads (default 2), synthetic images (timing does not depend on content).

1. Classification throughput (images/s), 10-class linear head on ``embed``: inference; a training
   step with the frozen encoder run on every batch; a fine-tuning step (encoder trained).
2. Detection throughput (images/s) of Faster R-CNN, RetinaNet and FCOS (torchvision, FPN width
   256, defaults otherwise) on the frozen encoder: inference and a training step (batch 4).
3. Frozen classification epochs (the ``feature_extraction`` protocol): ``recompute`` runs the
   encoder on every batch of every epoch; ``cache`` runs it once, keeps the pooled vectors
   (N × 384 floats) and trains the head on them. Both train the same head from the same
   initialisation on the same batches, so their losses must be identical; the script prints
   the seconds per epoch, the speed-up of the epochs after the first (goal ≥ 10×; epoch 1
   includes warm-up) and whether the losses agree.
4. The same comparison through planetbench's own code path: the frozen
   :class:`~planetbench.protocols.classification.ClassificationProtocol` (what ``planetbench run
   --protocol frozen`` runs on a classification task) with ``cache="memory"`` (the default) and
   ``cache="none"``, on ``--n-train`` training and 16 validation images. Each epoch here is a
   training pass and a validation pass (as in a run); the seconds come from the protocol's own
   epoch records (the cache is built before epoch 1 and counted in epoch 1, never in later
   epochs). Losses must agree within float tolerance.

5. Mars-Bench's whole segmenters (``mb-unet``, ``mb-deeplabv3plus``, ``mb-segformer``,
   ``mb-dpt``; random weights, same cost): images/s of inference and of a training step (batch
   4, cross-entropy, AdamW) under ``feature_extraction`` (encoder frozen, still in train mode as
   in Mars-Bench) and ``transfer_learning``, at 224 px (``--quick``: the tiny variants at 64 px),
   with the parameters each trains.

Run ``python benchmarks/bench_mars_heads.py`` (a few minutes on 2 CPU cores) or ``--quick``
(tiny ViT at 32 px, seconds) for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import torch


def _rate(fn: Callable[[], Any], n_images: int, repeats: int) -> float:
    """Images per second of ``fn`` (one warm-up call, then ``repeats`` timed calls)."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return n_images * repeats / (time.perf_counter() - start)


def _encoder(args: argparse.Namespace) -> Any:
    from planetbench.encoders.scratch import build_vit
    from planetbench.tasks.bands import RGB

    return build_vit(in_bands=RGB, tiny=args.quick, seed=0).eval()


def classification_rates(args: argparse.Namespace, size: int) -> dict[str, float]:
    """Images/s of classification inference, frozen training step and fine-tuning step."""
    from planetbench.heads.classification import build_classifier, classification_loss

    gen = torch.Generator().manual_seed(0)
    b = args.batch_size
    x = torch.randn(b, 3, size, size, generator=gen)
    y = torch.randint(0, 10, (b,), generator=gen)
    out: dict[str, float] = {}
    for mode, train_encoder in (("frozen", False), ("finetune", True)):
        model = build_classifier(_encoder(args), n_classes=10, kind="multiclass",
                                 train_encoder=train_encoder)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

        def step(model: Any = model, opt: Any = opt) -> None:
            model.train()
            loss = classification_loss("multiclass", model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        if mode == "frozen":
            def infer(model: Any = model) -> None:
                model.eval()
                with torch.no_grad():
                    model(x)

            out["inference"] = _rate(infer, b, args.repeats)
        out[f"train_{mode}"] = _rate(step, b, args.repeats)
    return out


def detection_rates(args: argparse.Namespace, size: int) -> dict[str, dict[str, float]]:
    """Images/s of detection inference and training steps (frozen encoder), per detector."""
    from planetbench.heads.detection import build_detector, detection_loss

    gen = torch.Generator().manual_seed(0)
    b = 4
    images = [torch.randn(3, size, size, generator=gen) for _ in range(b)]
    targets = []
    for _ in range(b):
        xy = torch.rand(3, 2, generator=gen) * size * 0.7
        wh = (0.05 + 0.2 * torch.rand(3, 2, generator=gen)) * size
        targets.append({"boxes": torch.cat([xy, xy + wh], 1), "labels": torch.ones(3).long()})
    out: dict[str, dict[str, float]] = {}
    quick: dict[str, dict[str, Any]] = {
        "faster-rcnn": {"out_channels": 32, "representation_size": 32,
                        "rpn_pre_nms_top_n_train": 200, "rpn_post_nms_top_n_train": 50,
                        "rpn_pre_nms_top_n_test": 200, "rpn_post_nms_top_n_test": 50,
                        "box_batch_size_per_image": 32},
        "retinanet": {"out_channels": 32},
        "fcos": {"out_channels": 32},
    }
    for name in ("faster-rcnn", "retinanet", "fcos"):
        torch.manual_seed(0)
        det = build_detector(name, _encoder(args), n_classes=1,
                             **(quick[name] if args.quick else {}))
        opt = torch.optim.AdamW([p for p in det.parameters() if p.requires_grad], lr=1e-4)

        def step(det: Any = det, opt: Any = opt) -> None:
            det.train()
            loss = detection_loss(det(images, targets))
            opt.zero_grad()
            loss.backward()
            opt.step()

        def infer(det: Any = det) -> None:
            det.eval()
            with torch.no_grad():
                det(images)

        out[name] = {"inference": _rate(infer, b, args.repeats),
                     "train_frozen": _rate(step, b, args.repeats)}
    return out


def frozen_epochs(args: argparse.Namespace, size: int) -> dict[str, Any]:
    """Seconds per epoch of frozen classification, recomputing vs cached pooled features."""
    from planetbench.heads.classification import build_classifier, classification_loss

    gen = torch.Generator().manual_seed(1)
    n, b = args.n_train, args.batch_size
    images = torch.randn(n, 3, size, size, generator=gen)
    labels = torch.randint(0, 10, (n,), generator=gen)
    batches = [slice(i, i + b) for i in range(0, n, b)]
    model = build_classifier(_encoder(args), n_classes=10, kind="multiclass")
    init = {k: v.clone() for k, v in model.head.state_dict().items()}
    epoch_s: dict[str, list[float]] = {"recompute": [], "cache": []}
    losses: dict[str, list[float]] = {"recompute": [], "cache": []}

    def train_head(get_vectors: Callable[[slice], torch.Tensor], mode: str) -> None:
        model.head.load_state_dict(init)
        opt = torch.optim.AdamW(model.head.parameters(), lr=1e-3)
        model.train()
        for _ in range(args.epochs):
            start = time.perf_counter()
            for s in batches:
                loss = classification_loss("multiclass", model.head(get_vectors(s)), labels[s])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses[mode].append(float(loss.detach()))
            epoch_s[mode].append(time.perf_counter() - start)

    train_head(lambda s: model.pooled(images[s]), "recompute")
    start = time.perf_counter()
    with torch.no_grad():
        cache = torch.cat([model.pooled(images[s]) for s in batches])
    cache_s = time.perf_counter() - start
    train_head(lambda s: cache[s], "cache")
    later = slice(1, None) if args.epochs > 1 else slice(None)  # epoch 1 includes warm-up
    mean = {m: sum(v[later]) / len(v[later]) for m, v in epoch_s.items()}
    return {
        "epoch_s": epoch_s,
        "cache_build_s": cache_s,
        "cache_kib": cache.numel() * cache.element_size() / 1024,
        "speedup": mean["recompute"] / mean["cache"],
        "same_losses": losses["recompute"] == losses["cache"],
    }


def protocol_epochs(args: argparse.Namespace, size: int) -> dict[str, Any]:
    """Seconds per epoch (training + validation) of the frozen classification protocol with and
    without its pooled-vector cache, from the protocol's epoch records."""
    import numpy as np

    from planetbench.protocols.classification import ClassificationProtocol

    rng = np.random.default_rng(2)

    def images(n: int) -> list[dict[str, Any]]:
        return [{"id": f"s{i}", "image": rng.normal(100.0, 20.0, (3, size, size)).astype("f4"),
                 "label": np.asarray(i % 10)} for i in range(n)]

    train, val = images(args.n_train), images(16)
    out: dict[str, Any] = {"epoch_s": {}, "train_s": {}, "losses": {}}
    for cache in ("none", "memory"):
        proto = ClassificationProtocol(
            _encoder(args), kind="multiclass", n_classes=10, metric="accuracy", cache=cache,
            lr=1e-3, batch_size=args.batch_size, epochs=args.epochs, patience=args.epochs,
            input_size=size, seed=0, device="cpu",
        ).fit(train, val)
        out["epoch_s"][cache] = [r.seconds for r in proto.history_]
        out["train_s"][cache] = [r.train_seconds for r in proto.history_]
        out["losses"][cache] = [r.train_loss for r in proto.history_]
    later = slice(1, None) if args.epochs > 1 else slice(None)
    mean = {m: sum(v[later]) / len(v[later]) for m, v in out["epoch_s"].items()}
    out["speedup"] = mean["none"] / mean["memory"]
    out["same_losses"] = bool(np.allclose(out["losses"]["none"], out["losses"]["memory"],
                                          rtol=1e-4, atol=1e-6))
    return out


def whole_segmenter_rates(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Images/s of Mars-Bench's whole segmenters: inference and training steps, per model."""
    import importlib.util

    if importlib.util.find_spec("segmentation_models_pytorch") is None:
        return {}
    from planetbench.heads.marsbench_seg import build_marsbench_segmenter

    size, b = (64, 4) if args.quick else (224, 4)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(b, 3, size, size, generator=gen)
    y = torch.randint(0, 3, (b, size, size), generator=gen)
    out: dict[str, dict[str, float]] = {}
    for name in ("unet", "deeplabv3plus", "segformer", "dpt"):
        row: dict[str, float] = {}
        for ttype in ("feature_extraction", "transfer_learning"):
            torch.manual_seed(0)
            # random weights (no download; the cost is the same): built for scratch_training,
            # then frozen as feature_extraction freezes it
            seg = build_marsbench_segmenter(name, n_classes=3, training_type="scratch_training",
                                            tiny=args.quick, weights="none", input_size=size)
            if ttype == "feature_extraction":
                seg.model.encoder.requires_grad_(False)
            trainable = [p for p in seg.parameters() if p.requires_grad]
            opt = torch.optim.AdamW(trainable, lr=1e-4)

            def step(seg: Any = seg, opt: Any = opt) -> None:
                seg.train()
                loss = torch.nn.functional.cross_entropy(seg(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()

            if ttype == "feature_extraction":
                def infer(seg: Any = seg) -> None:
                    seg.eval()
                    with torch.no_grad():
                        seg(x)

                row["inference"] = _rate(infer, b, args.repeats)
                row["params_m"] = sum(p.numel() for p in seg.parameters()) / 1e6
            row[f"train_{ttype}"] = _rate(step, b, args.repeats)
            row[f"trainable_m_{ttype}"] = sum(p.numel() for p in trainable) / 1e6
        out[name] = row
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the five parts and return their figures (see the module docstring)."""
    torch.set_num_threads(args.threads)
    size = 32 if args.quick else 224
    if args.quick:
        args.n_train, args.epochs, args.repeats = 16, 2, 1
    return {
        "setting": f"{'tiny ViT' if args.quick else 'ViT-S/16'} at {size} px, {args.threads} "
                   f"thread(s), cpu_count={os.cpu_count()}, batch {args.batch_size} "
                   "(detection batch 4)",
        "classification": classification_rates(args, size),
        "detection": detection_rates(args, size),
        "frozen": frozen_epochs(args, size),
        "protocol": protocol_epochs(args, size),
        "whole": whole_segmenter_rates(args),
        "n_train": args.n_train,
        "epochs": args.epochs,
        "quick": args.quick,
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as the lines the script prints."""
    c, f = figures["classification"], figures["frozen"]
    lines = [f"Mars heads benchmark: {figures['setting']}",
             f"classification images/s: inference {c['inference']:.1f}, training step with "
             f"frozen encoder {c['train_frozen']:.1f}, fine-tuning step {c['train_finetune']:.1f}",
             "detection images/s (frozen encoder):  inference  training step"]
    for name, r in figures["detection"].items():
        lines.append(f"  {name:<12} {r['inference']:>28.2f}  {r['train_frozen']:>13.2f}")
    lines.append(f"frozen classification, {figures['n_train']} images x {figures['epochs']} "
                 "epochs: seconds per epoch")
    lines.append("  recompute features: " + ", ".join(f"{s:.3f}" for s in f["epoch_s"]["recompute"]))
    lines.append("  cached features:    " + ", ".join(f"{s:.4f}" for s in f["epoch_s"]["cache"])
                 + f" (cache built once in {f['cache_build_s']:.2f} s, {f['cache_kib']:.0f} KiB)")
    verdict = "met" if f["speedup"] >= 10 else "NOT met"
    lines.append(f"  cached epochs (after the first) are {f['speedup']:.0f}x faster "
                 f"(goal >= 10x: {verdict}); "
                 f"identical losses in both modes: {'yes' if f['same_losses'] else 'NO'}")
    p = figures["protocol"]
    lines.append("frozen ClassificationProtocol (planetbench run's code path; training + "
                 "validation of 16 images): seconds per epoch")
    lines.append("  cache=none:   " + ", ".join(f"{s:.3f}" for s in p["epoch_s"]["none"]))
    lines.append("  cache=memory: " + ", ".join(f"{s:.4f}" for s in p["epoch_s"]["memory"])
                 + " (epoch 1 includes computing the cached vectors)")
    verdict = "met" if p["speedup"] >= 10 else "NOT met"
    lines.append(f"  cached epochs (after the first) are {p['speedup']:.0f}x faster "
                 f"(goal >= 10x: {verdict}); "
                 f"same losses in both modes: {'yes' if p['same_losses'] else 'NO'}")
    if figures["whole"]:
        lines.append(f"Mars-Bench's whole segmenters ({'tiny, 64' if figures['quick'] else '224'} "
                     "px, batch 4), images/s: inference, training step frozen "
                     "(feature_extraction) / transfer_learning; parameters (M) all / trained")
        for name, r in figures["whole"].items():
            lines.append(
                f"  mb-{name:<14} {r['inference']:>7.2f}  {r['train_feature_extraction']:>7.2f} / "
                f"{r['train_transfer_learning']:>6.2f}   {r['params_m']:>6.1f} / "
                f"{r['trainable_m_feature_extraction']:.1f} frozen, "
                f"{r['trainable_m_transfer_learning']:.1f} transfer")
    else:
        lines.append("Mars-Bench's whole segmenters: skipped (segmentation_models_pytorch is not "
                     "installed: pip install 'planetbench[mars]')")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run, print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=16, help="classification batch size")
    parser.add_argument("--n-train", type=int, default=64, help="images per frozen epoch")
    parser.add_argument("--epochs", type=int, default=3, help="frozen epochs per mode")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per throughput figure")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.n_train < 1 or args.repeats < 1 or args.batch_size < 1:
        parser.error("--epochs, --n-train, --repeats and --batch-size must be >= 1")
    start = time.perf_counter()
    figures = run(args)
    print(report(figures))
    print(f"(benchmark wall time {time.perf_counter() - start:.0f} s)")
    return figures


if __name__ == "__main__":
    main()
