"""Efficiency accounting: parameters, GFLOPs, latency and peak memory of a forward pass.

Conventions:

* ``params``: number of parameters of the measured modules (all, trainable or not).
* ``gflops``: floating-point operations of one forward pass at the task's input size, in units of
  1e9, counted by :class:`torch.utils.flop_counter.FlopCounterMode` (one multiply-add = 2 FLOPs).
  PyTorch's counter has no formula for the CPU kernel of scaled-dot-product attention
  (``aten._scaled_dot_product_flash_attention_for_cpu``) and would silently count attention as 0;
  we add it: 2·B·H·S_q·S_k·(D_qk + D_v) (the two batched matmuls QKᵀ and AV, as PyTorch counts
  its GPU attention kernels).
* ``latency_ms``: median wall-clock time of ``n_repeats`` forward passes after ``n_warmup``
  warm-up passes, with ``torch.cuda.synchronize`` around each pass on GPU.
* ``peak_memory_mb``: on GPU, ``torch.cuda.max_memory_allocated`` during one forward pass minus the
  memory allocated before it (MiB). On CPU (Linux), the growth of the process's peak resident set
  size (``VmHWM`` in ``/proc/self/status``, reset through ``/proc/self/clear_refs``) over the RSS
  before the pass (MiB) — this includes allocator caching and is therefore an upper bound of the
  tensors' needs; when the peak RSS does not grow (the pass reused memory the process held) the
  value is missing and flagged rather than 0. Elsewhere it is not measured.

A quantity that cannot be measured is ``None`` and its reason is added to ``flags`` — never 0.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

MIB = 1024 * 1024


@dataclass
class Efficiency:
    """Measured cost of one forward pass.

    Attributes:
        params: number of parameters (None if unknown).
        gflops: GFLOPs of one forward pass at ``input_shape`` (None if not counted).
        latency_ms: median latency in milliseconds (None if not measured).
        peak_memory_mb: peak extra memory in MiB (None if not measured).
        input_shape: shape of the measured input batch.
        device: device type of the measurement (``cpu``/``cuda``).
        memory_method: how peak memory was measured.
        flags: reasons for missing or approximate values.
    """

    params: int | None = None
    gflops: float | None = None
    latency_ms: float | None = None
    peak_memory_mb: float | None = None
    input_shape: tuple[int, ...] = ()
    device: str = ""
    memory_method: str = ""
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for :attr:`planetbench.store.Result.efficiency`)."""
        out = asdict(self)
        out["input_shape"] = list(self.input_shape)
        return out


def count_parameters(modules: nn.Module | Iterable[nn.Module]) -> int:
    """Number of parameters of the module(s), each shared parameter counted once."""
    mods = [modules] if isinstance(modules, nn.Module) else list(modules)
    seen: dict[int, int] = {}
    for m in mods:
        for p in m.parameters():
            seen[id(p)] = p.numel()
    return int(sum(seen.values()))


def _sdpa_cpu_flops(
    query_shape: tuple[int, ...], key_shape: tuple[int, ...], value_shape: tuple[int, ...],
    *args: Any, out_shape: Any = None, **kwargs: Any,
) -> int:
    """FLOPs of scaled-dot-product attention: 2·B·H·S_q·S_k·(D_qk + D_v)."""
    *batch, s_q, d_qk = query_shape
    s_k = key_shape[-2]
    d_v = value_shape[-1]
    b = 1
    for dim in batch:
        b *= int(dim)
    return int(2 * b * s_q * s_k * (d_qk + d_v))


def _custom_flop_formulas() -> dict[Any, Any]:
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {op: _sdpa_cpu_flops} if op is not None else {}


def count_flops(fn: Callable[[Tensor], Any], x: Tensor) -> tuple[int | None, list[str]]:
    """FLOPs of ``fn(x)`` under ``torch.no_grad`` and the flags explaining a missing value.

    Returns:
        ``(flops, flags)``; ``flops`` is None (never 0) when counting failed or found nothing.
    """
    from torch.utils.flop_counter import FlopCounterMode

    flags: list[str] = []
    try:
        counter = FlopCounterMode(display=False, custom_mapping=_custom_flop_formulas())
        with counter, torch.no_grad():
            fn(x)
        total = int(counter.get_total_flops())
    except Exception as exc:  # the counter runs arbitrary model code; report, do not crash
        flags.append(f"gflops: FLOP counting failed ({exc.__class__.__name__}: {exc})")
        return None, flags
    if total <= 0:
        flags.append("gflops: the FLOP counter saw no counted operation (unsupported ops)")
        return None, flags
    return total, flags


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(
    fn: Callable[[Tensor], Any], x: Tensor, *, n_warmup: int = 3, n_repeats: int = 10
) -> float:
    """Median milliseconds of ``fn(x)`` under ``torch.no_grad`` (warm-up first, CUDA-synced)."""
    if n_repeats < 1 or n_warmup < 0:
        from planetbench.errors import InvalidInputError

        raise InvalidInputError(
            f"n_repeats must be ≥ 1 and n_warmup ≥ 0, got {n_repeats} and {n_warmup}"
        )
    times = []
    with torch.no_grad():
        for _ in range(n_warmup):
            fn(x)
        _sync(x.device)
        for _ in range(n_repeats):
            _sync(x.device)
            t0 = time.perf_counter()
            fn(x)
            _sync(x.device)
            times.append((time.perf_counter() - t0) * 1000.0)
    return float(statistics.median(times))


def _proc_status_kb(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def measure_peak_memory(
    fn: Callable[[Tensor], Any], x: Tensor
) -> tuple[float | None, str, list[str]]:
    """Peak extra memory (MiB) of one ``fn(x)`` under no_grad, the method used, and flags."""
    if x.device.type == "cuda":
        _sync(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        before = torch.cuda.memory_allocated(x.device)
        with torch.no_grad():
            fn(x)
        _sync(x.device)
        peak = torch.cuda.max_memory_allocated(x.device) - before
        return peak / MIB, "cuda.max_memory_allocated", []
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    except OSError as exc:
        return None, "", [f"peak_memory_mb: cannot reset the peak RSS on this system ({exc})"]
    rss_before = _proc_status_kb("VmRSS")
    with torch.no_grad():
        fn(x)
    rss_peak = _proc_status_kb("VmHWM")
    if rss_before is None or rss_peak is None:
        return None, "", ["peak_memory_mb: /proc/self/status has no VmRSS/VmHWM"]
    if rss_peak <= rss_before:
        return None, "", [
            "peak_memory_mb: the pass fitted in memory the process already held (its peak RSS "
            "did not grow), so its CPU peak is not resolvable this way"
        ]
    return (rss_peak - rss_before) / 1024.0, "cpu peak RSS growth (VmHWM)", []


def measure_efficiency(
    fn: Callable[[Tensor], Any],
    x: Tensor,
    modules: nn.Module | Iterable[nn.Module],
    *,
    n_warmup: int = 3,
    n_repeats: int = 10,
) -> Efficiency:
    """Parameters, GFLOPs, latency and peak memory of ``fn(x)`` (see the module docstring).

    Args:
        fn: one forward pass, e.g. ``lambda x: head(encoder.features(x), x.shape[-2:])``.
        x: an input batch on the measurement device, e.g. (1, C, S, S).
        modules: the modules whose parameters are counted.
        n_warmup: warm-up passes before timing.
        n_repeats: timed passes (median reported).
    """
    mods = [modules] if isinstance(modules, nn.Module) else list(modules)
    was = [m.training for m in mods]
    for m in mods:
        m.eval()
    try:
        eff = Efficiency(params=count_parameters(mods), input_shape=tuple(x.shape),
                         device=x.device.type)
        flops, flags = count_flops(fn, x)
        eff.flags.extend(flags)
        eff.gflops = None if flops is None else flops / 1e9
        eff.latency_ms = measure_latency(fn, x, n_warmup=n_warmup, n_repeats=n_repeats)
        mem, method, flags = measure_peak_memory(fn, x)
        eff.peak_memory_mb, eff.memory_method = mem, method
        eff.flags.extend(flags)
    finally:
        for m, w in zip(mods, was, strict=False):
            m.train(w)
    return eff
