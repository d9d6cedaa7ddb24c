"""How much memory a dense run's training step needs, estimated before it runs.

:func:`estimate_training_memory` runs the encoder and head once on the ``meta`` device (shapes
only: no memory, no arithmetic, about a second) at the run's batch size and input size, and adds:

* ``activations``: the tensors autograd keeps for the backward pass (counted through
  ``torch.autograd.graph.saved_tensors_hooks``, each storage once): the head's, plus the
  encoder's when it trains (a frozen encoder runs under ``no_grad`` and keeps none);
* ``transient``: twice the largest tensor the forward pass creates (an operator's input and
  output alive together; the backward pass holds gradients of about that size);
* ``weights``: every parameter and buffer in float32, plus a gradient and AdamW's two moments per
  trainable parameter;
* ``cache``: the frozen feature cache in memory (float16 maps of every training and validation
  image), when the protocol keeps one.

The estimate is an approximation of the peak (allocator caching, workspace buffers and the data
in flight are not counted); ``benchmarks/bench_memory_estimate.py`` prints it beside the measured
peak of real training steps. :func:`available_memory` says what the machine has: free CUDA memory,
or on the CPU the kernel's ``MemAvailable`` (lowered to a cgroup's limit when one applies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

GIB = 1024**3


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of one training step (bytes; see the module docstring).

    Attributes:
        batch_size: images per step.
        side: input side in pixels.
        activations: tensors kept for the backward pass.
        transient: working memory of the largest operator.
        weights: parameters, buffers, gradients and optimiser state.
        cache: the frozen feature cache held in memory.
    """

    batch_size: int
    side: int
    activations: int
    transient: int
    weights: int
    cache: int = 0

    @property
    def total(self) -> int:
        """The estimated peak in bytes."""
        return self.activations + self.transient + self.weights + self.cache

    def describe(self) -> str:
        """``about 33.1 GiB (activations 31.9 GiB, largest operator 1.0 GiB, weights and
        optimiser 215 MiB)``."""
        parts = [f"activations {size_text(self.activations)}",
                 f"largest operator {size_text(self.transient)}",
                 f"weights and optimiser {size_text(self.weights)}"]
        if self.cache:
            parts.append(f"feature cache {size_text(self.cache)}")
        return f"about {size_text(self.total)} ({', '.join(parts)})"


def size_text(n_bytes: float) -> str:
    """``31.9 GiB`` from 1 GiB up, else ``215 MiB``.

    Example:
        >>> size_text(3 * GIB / 2), size_text(5 * 1024**2)
        ('1.5 GiB', '5.0 MiB')
    """
    if n_bytes >= GIB:
        return f"{n_bytes / GIB:.1f} GiB"
    return f"{n_bytes / 1024**2:.1f} MiB"


class _LargestTensor(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Records the largest tensor any operator returns."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.largest = 0

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, Tensor):
                self.largest = max(self.largest, t.numel() * t.element_size())
        return out


def _on_meta(module: nn.Module) -> dict[str, Tensor]:
    """Meta stand-ins for every parameter and buffer of ``module`` (grads as the originals)."""
    out: dict[str, Tensor] = {}
    for name, p in module.named_parameters():
        out[name] = torch.empty_like(p, device="meta").requires_grad_(p.requires_grad)
    for name, b in module.named_buffers():
        out[name] = torch.empty_like(b, device="meta")
    return out


def _state_bytes(module: nn.Module, trainable: bool) -> int:
    params = sum(p.numel() * 4 for p in module.parameters())
    buffers = sum(b.numel() * b.element_size() for b in module.buffers())
    grads_and_moments = 3 * sum(p.numel() * 4 for p in module.parameters()) if trainable else 0
    return params + buffers + grads_and_moments


def estimate_training_memory(
    encoder: nn.Module,
    head: nn.Module,
    *,
    n_channels: int,
    batch_size: int,
    side: int,
    trains_encoder: bool,
    cached_images: int = 0,
) -> MemoryEstimate:
    """Estimate the peak memory of one training step (see the module docstring).

    Args:
        encoder: the built encoder, called as ``encoder(x)`` (its ``features``); its weights
            are not touched: meta stand-ins replace them for the call.
        head: the head (may itself live on the meta device).
        n_channels: channels of the encoder's input.
        batch_size: images per step.
        side: input side in pixels.
        trains_encoder: the encoder trains (its activations are kept for backward).
        cached_images: images whose features a frozen in-memory cache holds (0: no cache).

    Raises:
        RuntimeError: the model cannot run on the meta device (data-dependent operators).
    """
    from torch.func import functional_call

    x = torch.empty(batch_size, n_channels, side, side, device="meta")
    saved: dict[int, int] = {}
    kept: list[Tensor] = []  # every saved tensor stays alive, so storage addresses stay unique
    enc_state, head_state = _on_meta(encoder), _on_meta(head)
    weights_ids = {t.untyped_storage()._cdata for t in (*enc_state.values(), *head_state.values())}

    def pack(t: Tensor) -> Tensor:
        kept.append(t)
        storage = t.untyped_storage()
        if storage._cdata not in weights_ids:  # weights are counted once, in ``weights``
            saved[storage._cdata] = storage.nbytes()
        return t

    largest = _LargestTensor()
    with largest:
        grad_ctx = torch.enable_grad() if trains_encoder else torch.no_grad()
        with grad_ctx, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            feats = list(functional_call(encoder, enc_state, (x,)))
        feats = [f.detach() for f in feats]
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            functional_call(head, head_state, (feats, (side, side)))
    cache = 0
    if cached_images:
        per_image = sum(f[0].numel() for f in feats) * 2  # float16
        cache = per_image * cached_images
    weights = _state_bytes(encoder, trains_encoder) + _state_bytes(head, True)
    return MemoryEstimate(batch_size=batch_size, side=side, activations=sum(saved.values()),
                          transient=2 * largest.largest, weights=weights, cache=cache)


def available_memory(device: torch.device) -> tuple[int | None, str]:
    """Bytes the machine can give a run on ``device``, and what they are.

    Returns:
        ``(bytes, description)``; bytes is None when unknown (non-Linux CPU).
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free), f"free memory of {torch.cuda.get_device_name(device)}"
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None, "unknown (no /proc/meminfo)"
    available = next((int(line.split()[1]) * 1024 for line in meminfo.splitlines()
                      if line.startswith("MemAvailable:")), None)
    if available is None:
        return None, "unknown (/proc/meminfo has no MemAvailable)"
    what = "available RAM (MemAvailable)"
    limit = _cgroup_room()
    if limit is not None and limit < available:
        available, what = limit, "room left under this process's cgroup memory limit"
    return available, what


def _cgroup_room() -> int | None:
    """memory.max − memory.current of this process's cgroup (v2), None when unlimited."""
    try:
        rel = Path("/proc/self/cgroup").read_text().strip().split("::", 1)[-1]
        base = Path("/sys/fs/cgroup") / rel.lstrip("/")
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((base / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def smaller_settings(
    estimate: Callable[[int, int], MemoryEstimate],
    *,
    batch_size: int,
    side: int,
    budget: int,
    stride: int,
    min_side: int = 32,
    vary_side: bool = True,
) -> list[tuple[str, int, MemoryEstimate]]:
    """The largest input side (halving) and the largest batch size (halving, ≥ 2) that fit.

    Args:
        estimate: ``estimate(batch_size, side)``.
        batch_size: the run's batch size.
        side: the run's input side.
        budget: bytes available.
        stride: the input side must stay a multiple of this.
        min_side: do not suggest sides below this.
        vary_side: suggest input sides (False: batch sizes only).

    Returns:
        ``[("input_size", value, estimate), ("batch_size", value, estimate)]``, each only when
        a fitting value exists.
    """
    out: list[tuple[str, int, MemoryEstimate]] = []
    s = side // 2 // stride * stride
    while vary_side and s >= max(min_side, stride):
        e = estimate(batch_size, s)
        if e.total <= budget:
            out.append(("input_size", s, e))
            break
        s = s // 2 // stride * stride
    b = batch_size // 2
    while b >= 2:
        e = estimate(b, side)
        if e.total <= budget:
            out.append(("batch_size", b, e))
            break
        b //= 2
    return out


__all__ = [
    "GIB",
    "MemoryEstimate",
    "available_memory",
    "estimate_training_memory",
    "size_text",
    "smaller_settings",
]

