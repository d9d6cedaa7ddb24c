"""Seconds per training epoch of the small dense baselines on this CPU (for the README).

Runs the runner on SYNTHETIC ``demo-lakes`` (32 px scenes split 60/20/20, resized to the input
size) with one torch thread per run and batch 8, for each (encoder, protocol, input size), and
prints per epoch: the wall-clock seconds stored in the run's epoch history (the first epoch of a
``frozen`` run includes building its feature cache) and the CPU seconds of this process spent in
the training steps and in the validation pass (``time.process_time``, read around the protocol's
own epoch methods). With one thread, CPU seconds are what an idle core would take: on a shared
machine the wall clock is longer by the share of the core the process got.

Usage::

    python benchmarks/bench_cpu_epoch.py [--epochs 2] [--sizes 64 128] [--scenes 300] [--quick]
    python benchmarks/bench_cpu_epoch.py --case unet:finetune:64 --case vit:frozen:128
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
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


def _cpu_timed(calls: list[float], method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` that appends the CPU seconds of each call to ``calls``."""

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            calls.append(time.process_time() - t0)

    return timed


def measure(encoder: str, protocol: str, size: int, *, root: Path, work: Path, epochs: int,
            options: dict[str, Any]) -> tuple[list[dict[str, Any]], list[float], list[float]]:
    """One run: its epoch history, and the CPU seconds of each training epoch and evaluation
    pass (validation after each epoch first, then the test)."""
    from planetbench.config import ExperimentSpec
    from planetbench.protocols.dense import DenseProtocol
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
    train_cpu: list[float] = []
    eval_cpu: list[float] = []
    train_epoch, evaluate = DenseProtocol._train_epoch, DenseProtocol._evaluate
    DenseProtocol._train_epoch = _cpu_timed(train_cpu, train_epoch)  # type: ignore[method-assign]
    DenseProtocol._evaluate = _cpu_timed(eval_cpu, evaluate)  # type: ignore[method-assign]
    try:
        summary = run_experiment(spec, store=store, progress=False, print_fn=lambda _: None)
    finally:
        DenseProtocol._train_epoch, DenseProtocol._evaluate = (  # type: ignore[method-assign]
            train_epoch, evaluate)
    (result,) = summary.results
    history = _history(result.metrics)
    if history is None:
        raise RuntimeError(f"no epoch history stored for {encoder}/{protocol}")
    return history, train_cpu, eval_cpu[: len(history)]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Print the table; return one row per case (wall and CPU seconds per epoch)."""
    import torch

    from planetbench.tasks.demo import write_demo_data

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--scenes", type=int, default=300,
                        help="synthetic scenes (60 %% train, 20 %% val, 20 %% test)")
    parser.add_argument("--case", action="append", default=[], metavar="ENCODER:PROTOCOL:PX",
                        help="measure only these (repeatable); default: every case × --sizes")
    parser.add_argument("--quick", action="store_true",
                        help="tiny unet, 30 scenes, 32 px, 1 epoch (smoke test)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    grid = [(e, p, size) for e, p in CASES for size in args.sizes]
    if args.case:
        grid = [(c.split(":")[0], c.split(":")[1], int(c.split(":")[2])) for c in args.case]
    if args.quick:
        grid, args.scenes, args.epochs = [("unet", "finetune", 32)], 30, 1
    options: dict[str, Any] = {"tiny": True} if args.quick else {}
    rows: list[dict[str, Any]] = []
    print(f"seconds per epoch on this CPU, 1 torch thread, batch 8, SYNTHETIC demo-lakes "
          f"({args.scenes} scenes of 32 px: 60 % train, 20 % val), mean over {args.epochs} "
          f"epoch(s)")
    print(f"{'encoder':8s} {'protocol':9s} {'px':>4s} {'train imgs':>10s} {'wall s':>8s} "
          f"{'wall s ep1':>10s} {'CPU s train':>11s} {'CPU s val':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_demo_data(work / "data", n_images=args.scenes, size=32, seed=0)
        for encoder, protocol, size in grid:
            history, train_cpu, val_cpu = measure(encoder, protocol, size, root=work / "data",
                                                  work=work, epochs=args.epochs, options=options)
            row = {
                "encoder": encoder, "protocol": protocol, "size": size,
                "n_train": round(0.6 * args.scenes),
                "wall_s": sum(h["seconds"] for h in history) / len(history),
                "first_wall_s": history[0]["seconds"],
                "train_cpu_s": sum(train_cpu) / len(train_cpu),
                "val_cpu_s": sum(val_cpu) / len(val_cpu),
            }
            rows.append(row)
            print(f"{encoder:8s} {protocol:9s} {size:4d} {row['n_train']:10d} "
                  f"{row['wall_s']:8.1f} {row['first_wall_s']:10.1f} {row['train_cpu_s']:11.1f} "
                  f"{row['val_cpu_s']:9.1f}", flush=True)
    return rows


if __name__ == "__main__":
    main()
