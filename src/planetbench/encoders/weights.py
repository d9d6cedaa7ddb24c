"""One shared, strict loader for pretrained encoder weights.

Weights come from, in this order: an explicit file (``--weights PATH``), the local cache
(``$PLANETBENCH_CACHE/weights/<encoder>/<file>`` or the platformdirs user cache; torch hub's
``checkpoints`` folder is also looked at because torchgeo caches there), or a download from the
spec's URL into the cache. Loading is strict: only the keys that the spec's weights declare in
``allowed_missing_keys`` may be absent, and any other missing or unexpected key or any shape
mismatch raises :class:`~planetbench.errors.WeightsMismatchError`. There is never a random
fallback. The one exception is explicit: inside :func:`random_weights_for_counting` every encoder
builds with random weights and loads nothing, for counting parameters and FLOPs
(``planetbench efficiency``), which need no weights; nothing built there is ever scored.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from planetbench.encoders.base import EncoderSpec, LoadReport
from planetbench.errors import ChecksumError, WeightsMismatchError, WeightsUnavailableError

StateDict = dict[str, Tensor]
KeyMap = Callable[[StateDict], StateDict]

#: Wrapper keys under which checkpoints commonly nest the model's state dict.
_WRAPPER_KEYS: tuple[str, ...] = ("state_dict", "model", "module", "teacher", "encoder")

def cache_dir() -> Path:
    """Folder of downloaded weights: ``$PLANETBENCH_CACHE/weights`` or the user cache folder."""
    root = os.environ.get("PLANETBENCH_CACHE")
    if root:
        return Path(root).expanduser() / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("planetbench")) / "weights"


def _url_filename(url: str) -> str:
    name = Path(urllib.parse.urlparse(url).path).name
    return name or hashlib.sha256(url.encode()).hexdigest()[:16] + ".pth"


def cache_path(spec: EncoderSpec) -> Path:
    """Where the weights of ``spec`` are (or would be) cached.

    Raises:
        WeightsUnavailableError: if the spec publishes no weights URL.
    """
    if not spec.weights_url:
        raise WeightsUnavailableError(
            f"encoder {spec.name!r} publishes no weights URL; pass a local file with --weights PATH"
        )
    return cache_dir() / spec.name / _url_filename(spec.weights_url)


def _torch_hub_path(spec: EncoderSpec) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / _url_filename(spec.weights_url)


def find_cached(spec: EncoderSpec) -> Path | None:
    """The cached weights file of ``spec`` if one exists (our cache or torch hub's), else None."""
    if not spec.weights_url:
        return None
    for candidate in (cache_path(spec), _torch_hub_path(spec)):
        if candidate.is_file():
            return candidate
    return None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(path: Path, spec: EncoderSpec, *, downloaded: bool = False) -> str:
    """Check a weights file against the digest its spec publishes, and return its SHA-256.

    The digest is ``spec.weights.sha256`` when published, else the SHA-256 prefix in the file
    name of the URL (torch hub's ``name-<hex>.pth``), else there is nothing to check against
    (``spec.weights.sha256_note`` says why) and the file's SHA-256 is only recorded.

    Args:
        path: the cached or downloaded file.
        spec: the encoder's spec.
        downloaded: the file was just downloaded; a corrupt download is deleted, so that the
            next attempt downloads it again.

    Returns:
        The hex SHA-256 of the file.

    Raises:
        ChecksumError: naming the file, the expected and the found digest, and what to do.
    """
    digest = sha256_of(path)
    weights = spec.weights
    if weights is None:
        return digest
    if weights.sha256:
        expected, what = weights.sha256.lower(), "the published sha256"
    elif weights.hash_prefix:
        expected = weights.hash_prefix
        what = f"the sha256 prefix in its file name {weights.file_name!r}"
    else:
        return digest
    if digest.startswith(expected):
        return digest
    if downloaded:
        path.unlink(missing_ok=True)
        advice = (
            "the download is corrupt or the server now serves another file, so it was deleted. "
            f"Run again to download it afresh, or get {weights.url} by hand, check its sha256 "
            "and pass it with --weights PATH"
        )
    else:
        advice = (
            f"the cached file is corrupt or another version: delete {path} and run again to "
            "download it afresh, or pass the right file with --weights PATH"
        )
    raise ChecksumError(
        f"weights file {path} of encoder {spec.name!r} has sha256 {digest}, but {what} is "
        f"{expected}: {advice}"
    )


def download_weights(spec: EncoderSpec, *, progress: bool = False) -> Path:
    """Download the weights of ``spec`` into the cache and return the file.

    Raises:
        WeightsUnavailableError: when offline, refused, or the server answers with an error; the
            message names the URL and the cache path where the file can be put by hand.
    """
    target = cache_path(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(spec.weights_url, str(target), progress=progress)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason: object = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise WeightsUnavailableError(
            f"could not download the weights of encoder {spec.name!r} from {spec.weights_url} "
            f"({reason}). Download that file by hand and put it at {target}, or pass a local "
            "file with --weights PATH"
        ) from exc
    return target


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> StateDict:
    out: StateDict = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Tensor):
            out[name] = value
        elif isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
    return out


def read_state_dict(path: str | Path) -> StateDict:
    """Read a checkpoint file into a flat ``{key: tensor}`` dict.

    Common wrappers (``{"state_dict": …}``, ``{"model": …}``) are unwrapped; nested dicts of
    tensors are flattened with dotted keys (``{"s2_encoder": {"w": t}}`` → ``"s2_encoder.w"``).
    Only tensors are kept (``weights_only`` loading: no code runs from the file).

    Raises:
        WeightsUnavailableError: if the file does not exist.
        WeightsMismatchError: if the file holds no tensors or is not a checkpoint.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {path} does not exist; check --weights PATH")
    obj: Any
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        raise WeightsMismatchError(
            f"weights file {path} is not a readable PyTorch checkpoint ({exc}); "
            "pass a .pt/.pth state dict saved with torch.save"
        ) from exc
    if isinstance(obj, nn.Module):  # pragma: no cover - weights_only refuses modules
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise WeightsMismatchError(
            f"weights file {path} holds a {type(obj).__name__}, not a state dict"
        )
    while True:
        wrapper = next((k for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if wrapper is None or any(isinstance(v, Tensor) for v in obj.values()):
            break
        obj = obj[wrapper]
    state = _flatten(obj)
    if not state:
        raise WeightsMismatchError(f"weights file {path} contains no tensors")
    return state


def check_state_dict(
    model: nn.Module, state: StateDict, spec: EncoderSpec
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Compare ``state`` with ``model`` strictly.

    Returns:
        (missing keys that the spec allows, checkpoint keys ignored by the spec's declared
        prefixes).

    Raises:
        WeightsMismatchError: listing every disallowed missing key, unexpected key and shape
            mismatch.
    """
    expected = model.state_dict()
    declared = spec.weights
    prefixes = declared.ignored_prefixes if declared is not None else ()
    ignored = tuple(sorted(k for k in state if k not in expected and k.startswith(prefixes)))
    for key in ignored:
        del state[key]
    allowed = set(declared.allowed_missing_keys if declared is not None else ())
    missing = sorted(set(expected) - set(state))
    bad_missing = [k for k in missing if k not in allowed]
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    if bad_missing or unexpected or shapes:
        parts = []
        if bad_missing:
            parts.append(f"missing keys ({len(bad_missing)}): {', '.join(bad_missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {', '.join(shapes)}")
        raise WeightsMismatchError(
            f"weights do not match encoder {spec.name!r}: " + "; ".join(parts) + ". "
            f"Only these keys may be missing: {sorted(allowed) or 'none'}. Check that the file "
            "holds the weights of this architecture (and the right tiny/full variant)."
        )
    return tuple(k for k in missing if k in allowed), ignored


@dataclass(frozen=True)
class WeightsFile:
    """A weights file found (or downloaded) for an encoder, before it is read.

    Attributes:
        path: the file.
        origin: ``"file"`` (``--weights PATH``), ``"cache"`` or ``"download"``.
        url: the spec's URL ('' for a local file).
        sha256: checksum of the file.
    """

    path: Path
    origin: str
    url: str
    sha256: str


def fetch_weights(
    spec: EncoderSpec, source: str | Path | None, *, progress: bool = False
) -> WeightsFile:
    """Find the weights file of ``spec``: the given file, else the cache, else a download.

    Factories call this *before* building the architecture, so that missing weights fail fast
    (no minutes spent building a large model first).

    Args:
        spec: the encoder's spec (URL, sha256).
        source: a local file (``--weights PATH``), or None for the spec's published weights.
        progress: show a download progress bar.

    Returns:
        The :class:`WeightsFile` to pass to :func:`load_weights`.

    Raises:
        WeightsUnavailableError: ``source`` does not exist, ``"none"`` was given, the spec has no
            URL, or the download failed (the message names the URL and the cache path).
        ChecksumError: the cached or downloaded file does not match the published sha256 (or
            the sha256 prefix in its file name); see :func:`verify_weights`.
    """
    if source is not None and str(source) == "none":
        raise WeightsUnavailableError(
            f"weights='none' was asked of the weights loader for encoder {spec.name!r}; random "
            "initialisation is the factory's job and only allowed for from-scratch baselines"
        )
    if source is not None:
        path = Path(source).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(
                f"weights file {path} for encoder {spec.name!r} does not exist; check --weights"
            )
        return WeightsFile(path=path, origin="file", url="", sha256=sha256_of(path))
    if not spec.weights_url:
        page = spec.weights.page if spec.weights is not None else ""
        where = f" Get them from {page}." if page else ""
        raise WeightsUnavailableError(
            f"encoder {spec.name!r} publishes no weights URL that can be downloaded "
            f"automatically; pass a local file with --weights PATH.{where}"
        )
    cached = find_cached(spec)
    if cached is not None:
        return WeightsFile(
            path=cached, origin="cache", url=spec.weights_url, sha256=verify_weights(cached, spec)
        )
    path = download_weights(spec, progress=progress)
    sha256 = verify_weights(path, spec, downloaded=True)
    return WeightsFile(path=path, origin="download", url=spec.weights_url, sha256=sha256)


def load_weights(
    model: nn.Module,
    spec: EncoderSpec,
    *,
    source: str | Path | WeightsFile | None,
    key_map: KeyMap | None = None,
    progress: bool = False,
) -> LoadReport:
    """Load pretrained weights into ``model`` strictly.

    Args:
        model: the module whose ``state_dict`` keys the checkpoint must match (after ``key_map``).
        spec: the encoder's spec (its ``weights``: URL, sha256, allowed missing keys, ignored
            checkpoint prefixes).
        source: a :class:`WeightsFile` from :func:`fetch_weights`, a local file
            (``--weights PATH``), or None for the spec's published weights (cache first, else
            download).
        key_map: converts the upstream checkpoint's keys/tensors to the model's layout (e.g.
            select a sub-encoder, rename ``visual.*``, resize a position embedding); it must not
            invent tensors.
        progress: show a download progress bar.

    Returns:
        A :class:`LoadReport` to record with the run.

    Raises:
        WeightsUnavailableError: no file and no download possible (message has URL + cache path).
        WeightsMismatchError: keys or shapes differ beyond what the spec allows; the message
            lists every disallowed missing key, every unexpected key and every shape mismatch.
        ChecksumError: the file does not match the published sha256.
    """
    found = (
        source
        if isinstance(source, WeightsFile)
        else fetch_weights(spec, source, progress=progress)
    )
    state = read_state_dict(found.path)
    if key_map is not None:
        state = key_map(state)
    missing_allowed, ignored = check_state_dict(model, state, spec)
    model.load_state_dict(state, strict=False)
    return LoadReport(
        origin=found.origin,
        path=found.path,
        url=found.url,
        sha256=found.sha256,
        n_tensors=len(state),
        missing_allowed=missing_allowed,
        ignored=ignored,
    )


def pos_embed_key_map(
    model: nn.Module, *, key: str = "pos_embed", num_prefix_tokens: int = 1
) -> KeyMap:
    """A key map that resamples a ViT's absolute position embedding to the model's grid.

    Checkpoints are trained at one input size (e.g. 224 px, a 14 × 14 grid for patch 16); a
    model built for another size has another grid. The patch part of ``state[key]``
    (shape (1, prefix + n², D)) is resized bicubically to the model's grid, as timm's
    ``resample_abs_pos_embed`` does (Dosovitskiy et al. 2021, sec. 3.2); prefix (class)
    tokens are kept. Other keys are untouched and nothing is invented.

    Args:
        model: the module whose ``state_dict()[key]`` gives the target shape.
        key: state-dict key of the position embedding.
        num_prefix_tokens: number of class/register tokens at the start of the embedding.
    """
    target = model.state_dict()[key].shape

    def convert(state: StateDict) -> StateDict:
        pos = state.get(key)
        if pos is None or pos.shape == target or pos.ndim != 3 or pos.shape[-1] != target[-1]:
            return state
        from timm.layers.pos_embed import resample_abs_pos_embed

        n_new = target[1] - num_prefix_tokens
        n_old = pos.shape[1] - num_prefix_tokens
        side_new, side_old = round(n_new**0.5), round(n_old**0.5)
        if side_new**2 != n_new or side_old**2 != n_old:
            return state  # not a square grid: let the strict check report the mismatch
        state = dict(state)
        state[key] = resample_abs_pos_embed(
            pos,
            new_size=[side_new, side_new],
            old_size=[side_old, side_old],
            num_prefix_tokens=num_prefix_tokens,
        )
        return state

    return convert


WeightsMode = Literal["pretrained", "random", "file"]


_COUNTING: ContextVar[bool] = ContextVar("planetbench_random_weights_for_counting",
                                         default=False)


@contextmanager
def random_weights_for_counting() -> Iterator[None]:
    """Inside the block, every encoder factory builds with random weights and loads nothing
    (no cache lookup, no download, no file): for counting parameters and FLOPs, which need no
    weights. Never used for a run that is scored."""
    token = _COUNTING.set(True)
    try:
        yield
    finally:
        _COUNTING.reset(token)


def weights_mode(
    spec: EncoderSpec, weights: str | Path | None, *, tiny: bool, from_scratch: bool = False
) -> WeightsMode:
    """Validate a factory's ``weights`` argument and say what to do with it.

    Args:
        spec: the encoder's spec.
        weights: None (the spec's pretrained weights), ``"none"`` (random initialisation) or a
            local file path.
        tiny: the tiny test variant was asked for. Tiny variants have no published weights, so
            None and ``"none"`` both mean random initialisation for them.
        from_scratch: the encoder is a from-scratch baseline (random init is its point).

    Returns:
        ``"pretrained"``, ``"random"`` or ``"file"``.

    Raises:
        WeightsUnavailableError: ``"none"`` for a pretrained encoder, or the encoder is listed
            as unavailable.
    """
    if not spec.available:
        raise WeightsUnavailableError(
            f"encoder {spec.name!r} is not available: {spec.unavailable_reason}"
        )
    if _COUNTING.get():
        return "random"
    if weights is not None and str(weights) != "none":
        return "file"
    if from_scratch or tiny:
        return "random"
    if weights is None:
        return "pretrained"
    raise WeightsUnavailableError(
        f"weights='none' was given for the pretrained encoder {spec.name!r}: random weights are "
        "only allowed for the from-scratch baselines ('unet', 'vit'). Leave --weights unset to "
        "use the published weights, or pass a local file with --weights PATH"
    )


def prepare_weights(
    spec: EncoderSpec,
    weights: str | Path | None,
    *,
    tiny: bool,
    from_scratch: bool = False,
    progress: bool = False,
) -> WeightsFile | None:
    """Validate a factory's ``weights`` argument and find the file, before anything is built.

    Args:
        spec: the encoder's registered spec.
        weights: None (the spec's pretrained weights), ``"none"`` (random initialisation) or a
            local file path.
        tiny: the tiny test variant was asked for (no published weights: random unless a file).
        from_scratch: the encoder is a from-scratch baseline (random init is its point).
        progress: show a download progress bar.

    Returns:
        The :class:`WeightsFile` to load after building, or None for random initialisation.

    Raises:
        WeightsUnavailableError: see :func:`weights_mode` and :func:`fetch_weights`.
        ChecksumError: see :func:`fetch_weights`.
    """
    mode = weights_mode(spec, weights, tiny=tiny, from_scratch=from_scratch)
    if mode == "random":
        return None
    return fetch_weights(spec, None if mode == "pretrained" else weights, progress=progress)


def weights_status(spec: EncoderSpec) -> str:
    """Weights state of ``spec``.

    Returns:
        ``"cached"`` or ``"not cached"`` (published URL), ``"manual"`` (published weights that
        must be downloaded by hand and passed with ``--weights PATH``) or ``"none"`` (a
        from-scratch baseline without published weights).
    """
    if spec.weights is not None and spec.weights.source == "file" and not spec.weights_url:
        return "manual"
    if spec.weights is None or not spec.weights_url:
        return "none"
    return "cached" if find_cached(spec) is not None else "not cached"


__all__ = [
    "LoadReport",
    "WeightsFile",
    "cache_dir",
    "cache_path",
    "check_state_dict",
    "download_weights",
    "fetch_weights",
    "find_cached",
    "load_weights",
    "pos_embed_key_map",
    "prepare_weights",
    "random_weights_for_counting",
    "read_state_dict",
    "sha256_of",
    "verify_weights",
    "weights_mode",
    "weights_status",
]
