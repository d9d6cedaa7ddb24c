"""Efficiency accounting: parameters, GFLOPs, latency and peak memory of a forward pass.

Conventions:

* ``params``: number of parameters of the measured modules (all, trainable or not); a model's
  are split into ``encoder_params`` and ``decoder_params`` (the head, with its neck).
* ``gflops``: floating-point operations of one forward pass of one image, in units of 1e9, in
  **fvcore's convention** (:data:`GFLOPS_CONVENTION`), the one Cryo-Bench and PANGAEA-Bench
  report (``fvcore.nn.FlopCountAnalysis`` in Cryo-Bench's ``ModelProfiler``): one multiply-add
  counts as ONE FLOP for convolutions (transposed too), matrix products and attention; batch norm
  counts 2 per element in evaluation (1 without affine), layer/group norm 5 per element (4),
  bilinear interpolation 4 per output element, nearest 1, adaptive average pooling 1 per input
  element; additions, activations, max-pooling and dropout count nothing. Counted per ATen
  operator as the forward pass runs (:class:`FvcoreFlopCounter`), so fused attention kernels are
  counted too: fvcore's tracer cannot see inside ``scaled_dot_product_attention`` and silently
  counts 0 for it, so a published figure of a timm ViT with fused attention is ``gflops -
  attention_gflops`` (ViT-B/16 at 224 px: 17.58 G here, 16.87 G in fvcore with fused attention).
  Adaptive average pooling to 1×1 runs as a mean, which is not counted (a few thousand FLOPs).
* ``attention_gflops``: the attention part of ``gflops`` (QKᵀ and AV of
  scaled-dot-product-attention kernels).
* ``gflops_2_per_mac``: the multiply-adds of convolutions, matrix products and attention counted
  as 2 FLOPs each, as :mod:`torch.utils.flop_counter` does (norms, interpolation and pooling not
  counted); kept for comparison with papers using that convention, never shown as ``gflops``.
* ``latency_ms``: median wall-clock time of ``n_repeats`` forward passes of batch 1 after
  ``n_warmup`` warm-up passes (not timed), with ``torch.cuda.synchronize`` around each pass on GPU.
* ``peak_memory_mb``: on GPU, ``torch.cuda.max_memory_allocated`` during one forward pass minus the
  memory allocated before it (MiB). On CPU (Linux), the growth of the process's peak resident set
  size (``VmHWM`` in ``/proc/self/status``, reset through ``/proc/self/clear_refs``) over the RSS
  before the pass (MiB), after collecting garbage and giving the C heap's free pages back to the
  system (glibc's ``malloc_trim``: otherwise a pass reusing them does not show) — this includes
  allocator caching and is therefore an upper bound of the tensors' needs; when the peak RSS
  does not grow (the pass reused memory the process held) the value is missing and flagged
  rather than 0. Elsewhere it is not measured.

A quantity that cannot be measured is ``None`` and its reason is added to ``flags`` — never 0.
"""

from __future__ import annotations

import ctypes
import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

MIB = 1024 * 1024

#: How ``gflops`` is counted (stored and shown beside every figure).
GFLOPS_CONVENTION = "fvcore (1 multiply-add = 1 FLOP)"
#: How ``gflops_2_per_mac`` is counted.
GFLOPS_2_PER_MAC_CONVENTION = "torch.utils.flop_counter (1 multiply-add = 2 FLOPs)"


@dataclass
class Efficiency:
    """Measured cost of one forward pass.

    Attributes:
        params: number of parameters (None if unknown).
        gflops: GFLOPs of one forward pass at ``input_shape`` in :data:`GFLOPS_CONVENTION`
            (None if not counted).
        gflops_convention: how ``gflops`` is counted.
        attention_gflops: the attention part of ``gflops``.
        gflops_2_per_mac: multiply-adds × 2 (:data:`GFLOPS_2_PER_MAC_CONVENTION`).
        latency_ms: median latency in milliseconds (None if not measured).
        peak_memory_mb: peak extra memory in MiB (None if not measured).
        input_shape: shape of the measured input batch.
        device: device of the measurement (``cpu``, ``cuda`` or ``cuda:<name>``).
        memory_method: how peak memory was measured.
        flags: reasons for missing or approximate values.
    """

    params: int | None = None
    gflops: float | None = None
    gflops_convention: str = GFLOPS_CONVENTION
    attention_gflops: float | None = None
    gflops_2_per_mac: float | None = None
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


@dataclass
class FlopCount:
    """Operations of one forward pass (see the module docstring for the conventions).

    Attributes:
        flops: FLOPs in fvcore's convention.
        attention: the part of ``flops`` spent in attention kernels.
        macs: multiply-adds of convolutions, matrix products and attention.
        by_op: ``flops`` per ATen operator name.
    """

    flops: int = 0
    attention: int = 0
    macs: int = 0
    by_op: dict[str, int] = field(default_factory=dict)


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(int(d) for d in shape))


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape) if isinstance(t, Tensor) else ()


#: Multiply-add operators: name → formula(args, out) → multiply-adds.
def _mm(args: Sequence[Any], out: Any) -> int:
    a, b = args[-2], args[-1]  # addmm/baddbmm: (bias, a, b)
    return _numel(_shape(a)) * _shape(b)[-1]


def _conv(args: Sequence[Any], out: Any) -> int:
    x, w = _shape(args[0]), _shape(args[1])
    transposed = bool(args[6]) if len(args) > 6 else False
    spatial = x[2:] if transposed else _shape(out)[2:]
    return x[0] * _numel(w) * _numel(spatial)


def _attention(args: Sequence[Any], out: Any) -> int:
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    *batch, s_q, d_qk = q
    return _numel(batch) * s_q * k[-2] * (d_qk + v[-1])


_MAC_OPS: dict[str, Callable[[Sequence[Any], Any], int]] = {
    "mm": _mm, "addmm": _mm, "bmm": _mm, "baddbmm": _mm, "convolution": _conv,
}
_ATTENTION_OPS = frozenset({
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
})


def _batch_norm(name: str, args: Sequence[Any], out: Any) -> int:
    training = name != "_native_batch_norm_legit_no_training" and len(args) > 5 and bool(args[5])
    affine = args[1] is not None
    if training:
        return _numel(_shape(args[0])) * (5 if affine else 4)
    return _numel(_shape(args[0])) * (2 if affine else 1)


def _other_flops(name: str, args: Sequence[Any], out: Any) -> int:
    """fvcore's counts of the non-multiply-add operators it supports (0 for the others)."""
    first_out = out[0] if isinstance(out, tuple | list) else out
    if name in ("native_batch_norm", "_native_batch_norm_legit",
                "_native_batch_norm_legit_no_training", "cudnn_batch_norm"):
        return _batch_norm(name, args, out)
    if name == "native_layer_norm":
        return _numel(_shape(args[0])) * (5 if args[2] is not None else 4)
    if name == "native_group_norm":
        return _numel(_shape(args[0])) * (5 if args[1] is not None else 4)
    if name in ("upsample_bilinear2d", "grid_sampler_2d"):
        return 4 * _numel(_shape(first_out))
    if name == "upsample_nearest2d":
        return _numel(_shape(first_out))
    if name == "_adaptive_avg_pool2d":
        return _numel(_shape(args[0]))
    return 0


class FvcoreFlopCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the operations of the code run inside it, in fvcore's convention.

    Every ATen operator that reaches dispatch is counted once (its inner calls are not seen).

    Attributes:
        count: the :class:`FlopCount` so far.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.count = FlopCount()

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name in _MAC_OPS:
            macs, flops = _MAC_OPS[name](args, out), 0
            flops = macs
        elif name in _ATTENTION_OPS:
            macs = flops = _attention(args, out)
            self.count.attention += flops
        else:
            macs, flops = 0, _other_flops(name, args, out)
        if flops:
            self.count.flops += flops
            self.count.macs += macs
            self.count.by_op[name] = self.count.by_op.get(name, 0) + flops
        return out


def count_flops(fn: Callable[[Tensor], Any], x: Tensor) -> tuple[FlopCount | None, list[str]]:
    """Operations of ``fn(x)`` under ``torch.no_grad`` and the flags explaining a missing value.

    Works on any device, the ``meta`` device included (shapes are all it needs).

    Returns:
        ``(count, flags)``; ``count`` is None (never 0) when counting failed or found nothing.
    """
    flags: list[str] = []
    try:
        counter = FvcoreFlopCounter()
        with counter, torch.no_grad():
            fn(x)
    except Exception as exc:  # the counter runs arbitrary model code; report, do not crash
        flags.append(f"gflops: FLOP counting failed ({exc.__class__.__name__}: {exc})")
        return None, flags
    if counter.count.flops <= 0:
        flags.append("gflops: the FLOP counter saw no counted operation (unsupported ops)")
        return None, flags
    return counter.count, flags


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


def _release_free_memory() -> None:
    """Collect garbage and give the C heap's free pages back to the system (glibc's
    ``malloc_trim``), so that a pass reusing them shows in the peak RSS (they would otherwise
    be resident already, and the pass's memory invisible)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        pass


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
    _release_free_memory()
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


def device_description(device: torch.device) -> str:
    """The device a measurement ran on, named: ``cuda (NVIDIA A100 …)`` or ``cpu (<model>,
    <n> threads)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type != "cpu":
        return device.type
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if not model:
        import platform

        model = platform.processor() or platform.machine()
    threads = torch.get_num_threads()
    return f"cpu ({model}, {threads} thread{'s' if threads != 1 else ''})"


def measure_efficiency(
    fn: Callable[[Tensor], Any],
    x: Tensor,
    modules: nn.Module | Iterable[nn.Module],
    *,
    n_warmup: int = 3,
    n_repeats: int = 10,
    latency: bool = True,
    peak_memory: bool = True,
) -> Efficiency:
    """Parameters, GFLOPs, latency and peak memory of ``fn(x)`` (see the module docstring).

    Args:
        fn: one forward pass, e.g. ``lambda x: head(encoder.features(x), x.shape[-2:])``.
        x: an input batch on the measurement device, e.g. (1, C, S, S).
        modules: the modules whose parameters are counted.
        n_warmup: warm-up passes before timing (not timed).
        n_repeats: timed passes (median reported).
        latency: time the pass (False: ``latency_ms`` stays None, flagged).
        peak_memory: measure the pass's peak memory (False: None, flagged).
    """
    mods = [modules] if isinstance(modules, nn.Module) else list(modules)
    was = [m.training for m in mods]
    for m in mods:
        m.eval()
    try:
        eff = Efficiency(params=count_parameters(mods), input_shape=tuple(x.shape),
                         device=device_description(x.device))
        count, flags = count_flops(fn, x)
        eff.flags.extend(flags)
        if count is not None:
            eff.gflops = count.flops / 1e9
            eff.attention_gflops = count.attention / 1e9
            eff.gflops_2_per_mac = 2 * count.macs / 1e9
        if latency:
            eff.latency_ms = measure_latency(fn, x, n_warmup=n_warmup, n_repeats=n_repeats)
        else:
            eff.flags.append("latency_ms: not measured (asked not to)")
        if peak_memory:
            mem, method, flags = measure_peak_memory(fn, x)
            eff.peak_memory_mb, eff.memory_method = mem, method
            eff.flags.extend(flags)
        else:
            eff.flags.append("peak_memory_mb: not measured (asked not to)")
    finally:
        for m, w in zip(mods, was, strict=False):
            m.train(w)
    return eff


def model_efficiency(
    encoder: nn.Module,
    head: nn.Module,
    x: Tensor,
    *,
    forward: Callable[[Tensor], Any] | None = None,
    n_warmup: int = 3,
    n_repeats: int = 10,
    latency: bool = True,
    peak_memory: bool = True,
) -> dict[str, Any]:
    """Efficiency of an encoder + decoder on one image: what ``planetbench efficiency`` prints and
    what every dense run stores (the same function for both).

    Args:
        encoder: the encoder (an :class:`~planetbench.encoders.base.Encoder`).
        head: the decoder, called as ``head(encoder.features(x), x.shape[-2:])``.
        x: one image batch (1, C, S, S) on the measurement device, already standardised.
        forward: the pass to measure (default: encoder then head); a run passes its protocol's
            ``logits`` (which applies the band alignment first).
        n_warmup: warm-up passes before timing.
        n_repeats: timed passes.
        latency: time the pass.
        peak_memory: measure its peak memory.

    Returns:
        :meth:`Efficiency.to_dict` plus ``encoder_params``, ``decoder_params`` and the same in
        millions (``params_m``, ``encoder_params_m``, ``decoder_params_m``).
    """

    def default_forward(t: Tensor) -> Any:
        return head(encoder.features(t), tuple(t.shape[-2:]))  # type: ignore[operator]

    eff = measure_efficiency(
        forward or default_forward, x, [encoder, head], n_warmup=n_warmup,
        n_repeats=n_repeats, latency=latency, peak_memory=peak_memory,
    ).to_dict()
    eff["encoder_params"] = count_parameters(encoder)
    eff["decoder_params"] = count_parameters(head)
    for key in ("params", "encoder_params", "decoder_params"):
        eff[f"{key}_m"] = None if eff[key] is None else eff[key] / 1e6
    return eff


#: The ``--protocol`` value of ``planetbench efficiency`` meaning our default dense protocols
#: (``frozen`` and ``finetune`` build the same model).
DEFAULT_PROTOCOL = "default"

#: Keys of :func:`efficiency_of`'s answer that every output shows, in order.
EFFICIENCY_KEYS: tuple[str, ...] = (
    "encoder", "task", "protocol", "params_m", "encoder_params_m", "decoder_params_m", "gflops",
    "gflops_convention", "latency_ms", "device",
)


def efficiency_of(
    encoder: str,
    task: str,
    *,
    protocol: str = DEFAULT_PROTOCOL,
    input_size: int | None = None,
    band_policy: str | None = None,
    device: str | torch.device | None = None,
    n_warmup: int = 3,
    n_repeats: int = 10,
    latency: bool = True,
) -> dict[str, Any]:
    """Parameters, GFLOPs and latency of ``encoder`` + the protocol's decoder on ``task``, built
    with random weights (counting needs no weights, so it works offline; nothing is scored).

    The model is the one a run of ``protocol`` trains: the protocol's decoder for the encoder
    (UperNet, or Cryo-Bench's under ``cryobench``), the task's bands fed by the protocol's band
    policy, one image at the protocol's input size (512 px for ``default``; the encoder's input
    size under ``cryobench``) unless ``input_size`` is given. Measured by
    :func:`model_efficiency`, the function every run's stored efficiency comes from.

    Args:
        encoder: encoder id.
        task: task id (a segmentation task: its bands and classes size the model).
        protocol: ``default`` (``frozen``/``finetune``), ``cryobench`` or another dense protocol.
        input_size: image side in pixels (default: the protocol's, see above).
        band_policy: how the task's bands feed the encoder (default: the protocol's; when that
            one cannot apply to these bands, ``zero-fill``, noted in ``flags``: an encoder with
            fixed bands has the same cost either way).
        device: where to measure (default: CUDA when present, else CPU; ``meta`` counts
            parameters and FLOPs without memory or arithmetic, with ``latency=False``).
        n_warmup: warm-up passes before timing (not timed).
        n_repeats: timed passes of batch 1 (median reported).
        latency: time the passes and measure peak memory (False: counts only).

    Returns:
        :data:`EFFICIENCY_KEYS` (millions of parameters; GFLOPs in fvcore's convention, named in
        ``gflops_convention``; milliseconds per image; the device named), then ``input_size``,
        ``decoder``, ``band_policy``, ``weights`` (how they were initialised),
        ``attention_gflops``, ``gflops_2_per_mac`` with its convention, ``peak_memory_mb`` and
        ``flags``.

    Raises:
        UnknownNameError: an unknown encoder, task or protocol (did-you-mean).
        InvalidInputError: the task is not a segmentation task, or the input size does not suit
            the encoder.
        MissingDependencyError: the encoder's code is not installed.
    """
    from functools import partial

    from planetbench.encoders import get_encoder
    from planetbench.encoders.bands import apply
    from planetbench.encoders.base import default_device
    from planetbench.errors import InvalidInputError
    from planetbench.protocols.dense import DENSE_PROTOCOLS
    from planetbench.runs.jobs import check_available
    from planetbench.tasks import get_task

    registered = get_encoder(encoder)
    spec = get_task(task).spec
    whole = registered.spec.whole_model
    if whole and whole != "segmentation":
        raise InvalidInputError(
            f"{encoder!r} is Mars-Bench's whole {whole} model; `planetbench efficiency` measures "
            "segmentation models: give an encoder or a whole segmenter (mb-unet, mb-deeplabv3plus, "
            "mb-segformer, mb-dpt)"
        )
    if spec.kind != "segmentation":
        raise InvalidInputError(
            f"task {task!r} is a {spec.kind} task; `planetbench efficiency` measures an encoder "
            "with a segmentation decoder: give a segmentation task (planetbench data list)"
        )
    check_available(registered)
    if whole and protocol not in (DEFAULT_PROTOCOL, "frozen", "finetune", "scratch"):
        raise InvalidInputError(
            f"{encoder!r} is Mars-Bench's whole segmenter; it runs under frozen, finetune or "
            f"scratch (one model for all three), not {protocol!r}: drop --protocol"
        )
    if protocol != DEFAULT_PROTOCOL and protocol not in DENSE_PROTOCOLS:
        from planetbench.errors import UnknownNameError
        from planetbench.registry import did_you_mean

        choices = [DEFAULT_PROTOCOL, *DENSE_PROTOCOLS.list()]
        hint = did_you_mean(protocol, choices)
        raise UnknownNameError(
            f"unknown protocol {protocol!r}{'; ' + hint if hint else ''} Available: "
            f"{', '.join(choices)}"
        )
    settings: dict[str, Any]
    if whole:  # Mars-Bench's own input size (224), whatever the dense protocols' default
        settings = {"input_size": None, "band_policy": "auto", "head": "(whole model)"}
    else:
        cls = DENSE_PROTOCOLS.get("frozen" if protocol == DEFAULT_PROTOCOL else protocol)
        settings = cls.run_defaults(encoder)
    size = input_size or settings["input_size"] or registered.spec.input_size
    if size < 8:
        raise InvalidInputError(f"--input-size must be at least 8 px, got {size}")
    alignment, flags = _aligned(spec.bands, registered.spec, band_policy or
                                settings["band_policy"], fallback=band_policy is None)
    target = torch.device(device) if device is not None else default_device()
    identity = alignment.index_map == tuple(range(len(spec.bands)))
    align = (lambda t: t) if identity else partial(apply, alignment=alignment)
    if whole:
        whole_model, model, head = _whole_segmenter(registered, spec.n_classes, size, target)

        def forward(x: Tensor) -> Any:
            return whole_model(align(x))
    else:
        in_bands = getattr(alignment, "input_bands", None) or spec.bands
        model, head = _encoder_and_head(registered, in_bands, alignment, spec.n_classes,
                                        settings["head"], target)

        def forward(x: Tensor) -> Any:
            x = align(x)
            return head(model.features(x), tuple(x.shape[-2:]))

    x = torch.zeros(1, len(spec.bands), size, size, device=target)
    eff = model_efficiency(model, head, x, forward=forward, n_warmup=n_warmup,
                           n_repeats=n_repeats, latency=latency, peak_memory=latency)
    out: dict[str, Any] = {
        "encoder": encoder, "task": task, "protocol": protocol,
        "params_m": eff["params_m"], "encoder_params_m": eff["encoder_params_m"],
        "decoder_params_m": eff["decoder_params_m"], "gflops": eff["gflops"],
        "gflops_convention": eff["gflops_convention"], "latency_ms": eff["latency_ms"],
        "device": eff["device"],
        "input_size": size, "decoder": settings["head"], "band_policy": alignment.policy,
        "weights": "random (counting parameters and FLOPs needs no weights)",
        "attention_gflops": eff["attention_gflops"], "gflops_2_per_mac": eff["gflops_2_per_mac"],
        "gflops_2_per_mac_convention": GFLOPS_2_PER_MAC_CONVENTION,
        "peak_memory_mb": eff["peak_memory_mb"], "flags": [*flags, *eff["flags"]],
    }
    return out


def _encoder_and_head(registered: Any, in_bands: Any, alignment: Any, n_classes: int,
                      head_name: str, target: torch.device) -> tuple[Any, nn.Module]:
    """The encoder (random weights) and the protocol's decoder, on ``target``, in eval mode."""
    from planetbench.encoders.weights import random_weights_for_counting
    from planetbench.heads import build_head

    options: dict[str, Any] = {"in_bands": in_bands}
    if registered.spec.wavelength_conditioned:
        options["wavelengths_um"] = alignment.wavelengths_um
    with random_weights_for_counting(), torch.random.fork_rng(devices=[]), target:
        torch.manual_seed(0)
        model = registered.factory(**options).to(target).eval()
        head = build_head(head_name, in_channels=model.spec.feature_channels,
                          in_strides=model.spec.feature_strides,
                          n_classes=n_classes).to(target).eval()
    return model, head


def _whole_segmenter(registered: Any, n_classes: int, size: int, target: torch.device
                     ) -> tuple[nn.Module, nn.Module, nn.Module]:
    """A whole segmenter (random weights) on ``target`` in eval mode, with its encoder and the
    rest (decoder and segmentation head) for counting parameters apart."""
    from planetbench.protocols.whole_models import build_whole_model

    with torch.random.fork_rng(devices=[]), target:
        torch.manual_seed(0)
        segmenter = build_whole_model(registered.factory(random_init=True), n_classes=n_classes,
                                      train_encoder=True, input_size=size)
        smp_model = segmenter.get_submodule("model").to(target).eval()
    rest = nn.ModuleList(m for n, m in smp_model.named_children() if n != "encoder")
    return smp_model, smp_model.get_submodule("encoder"), rest


def _aligned(task_bands: Any, encoder_spec: Any, policy: str, *, fallback: bool) -> Any:
    """The band alignment under ``policy`` (or ``zero-fill`` when it cannot apply and
    ``fallback``), and the notes saying so."""
    import warnings

    from planetbench.errors import BandAlignmentError
    from planetbench.protocols.band_policies import BAND_POLICIES

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            alignment = BAND_POLICIES.get(policy)(task_bands, encoder_spec)
        except BandAlignmentError as exc:
            if not fallback or policy == "zero-fill":
                raise
            notes.append(f"band policy {policy!r} does not apply to these bands ({exc}); "
                         "counted with 'zero-fill' (the encoder's input channels, hence its "
                         "cost, are the same)")
            alignment = BAND_POLICIES.get("zero-fill")(task_bands, encoder_spec)
    notes.extend(str(w.message) for w in caught)
    return alignment, notes
