"""Seconds per training epoch of the small dense baselines on this CPU (for the README).

Runs the runner on SYNTHETIC ``demo-lakes`` (300 scenes of 32 px: 180 training and 60 validation
images, resized to the input size) with one torch thread per run and batch 8, for each (encoder,
protocol, input size), and prints the seconds of the training steps and of the whole epoch
(training + validation) read from the stored epoch history. The first epoch of a ``frozen`` run
also builds its feature cache, so it is reported apart from the later epochs.

Usage::

    python benchmarks/bench_cpu_epoch.py [--epochs 2] [--sizes 64 128] [--quick]
    python benchmarks/bench_cpu_epoch.py --case unet:finetune:64 --case vit:frozen:128
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

#: (encoder, protocol) measured by default: the small baselines under the default UperNet.
CASES: tuple[tuple[str, str], ...] = (
    ("unet", "finetune"),
    ("vit", "frozen"),
    ("vit", "finetune"),
)


def _history(metrics: Any) -> list[dict[str, Any]] | None:
    """The epoch history found anywhere in a result's stored metrics."""
    if isinstance(metrics, dict):
        if isinstance(metrics.get("history"), list):
            return list(metrics["history"])
        for value in metrics.values():
            found = _history(value)
            if found is not None:
                return found
    return None


def measure(encoder: str, protocol: str, size: int, *, root: Path, work: Path, epochs: int,
            options: dict[str, Any]) -> list[dict[str, Any]]:
    """The epoch history of one run (seconds, train_seconds per epoch)."""
    from planetbench.config import ExperimentSpec
    from planetbench.runs.runner import run_experiment
    from planetbench.store import ResultStore

    spec = ExperimentSpec.model_validate({
        "encoders": [encoder], "tasks": ["demo-lakes"], "protocols": [protocol],
        "fractions": [1.0], "lrs": [1e-4], "seeds": [0], "root": str(root),
        "fraction_dir": str(work / "fractions"), "input_size": size, "epochs": epochs,
        "patience": epochs, "batch_size": 8, "num_threads": 1, "head": "upernet",
        "latency_repeats": 1, "encoder_options": {encoder: options} if options else {},
    })
    store = ResultStore(f"sqlite:///{work / f'{encoder}-{protocol}-{size}.sqlite'}")
    summary = run_experiment(spec, store=store, progress=False, print_fn=lambda _: None)
    (result,) = summary.results
    history = _history(result.metrics)
    if history is None:
        raise RuntimeError(f"no epoch history stored for {encoder}/{protocol}")
    return history


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Print the table; return one row per case (seconds of the first and later epochs)."""
    import torch

    from planetbench.tasks.demo import write_demo_data

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--case", action="append", default=[], metavar="ENCODER:PROTOCOL:PX",
                        help="measure only these (repeatable); default: every case × --sizes")
    parser.add_argument("--quick", action="store_true",
                        help="tiny unet, 30 scenes, 32 px, 1 epoch (smoke test)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cases = (("unet", "finetune"),) if args.quick else CASES
    sizes = [32] if args.quick else args.sizes
    grid = [(e, p, size) for e, p in cases for size in sizes]
    if args.case and not args.quick:
        grid = [(c.split(":")[0], c.split(":")[1], int(c.split(":")[2])) for c in args.case]
    epochs = 1 if args.quick else args.epochs
    options: dict[str, Any] = {"tiny": True} if args.quick else {}
    rows: list[dict[str, Any]] = []
    print(f"seconds per epoch on this CPU, 1 torch thread, batch 8, SYNTHETIC demo-lakes "
          f"({'30' if args.quick else '300'} scenes: 60 % train, 20 % val)")
    print(f"{'encoder':10s} {'protocol':9s} {'px':>4s} {'epoch 1 s':>10s} {'train s':>8s} "
          f"{'later s':>8s} {'train s':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_demo_data(work / "data", n_images=30 if args.quick else 300, size=32, seed=0)
        for encoder, protocol, size in grid:
            history = measure(encoder, protocol, size, root=work / "data", work=work,
                              epochs=epochs, options=options)
            first, later = history[0], history[1:]
            row = {
                "encoder": encoder, "protocol": protocol, "size": size,
                "first_s": first["seconds"], "first_train_s": first["train_seconds"],
                "later_s": (sum(h["seconds"] for h in later) / len(later)) if later else None,
                "later_train_s": (sum(h["train_seconds"] for h in later) / len(later))
                if later else None,
            }
            rows.append(row)
            later_s = f"{row['later_s']:8.1f}" if later else f"{'-':>8s}"
            later_t = f"{row['later_train_s']:8.1f}" if later else f"{'-':>8s}"
            print(f"{encoder:10s} {protocol:9s} {size:4d} {row['first_s']:10.1f} "
                  f"{row['first_train_s']:8.1f} {later_s} {later_t}", flush=True)
    return rows


if __name__ == "__main__":
    main()
