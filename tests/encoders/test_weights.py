"""The shared strict weights loader: local files, cache, loopback downloads, refusals."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from pathlib import Path

import pytest
import torch
from torch import nn

from planetbench.encoders.base import EncoderSpec, PretrainedWeights
from planetbench.encoders.weights import (
    cache_path,
    load_weights,
    read_state_dict,
    sha256_of,
    weights_mode,
    weights_status,
)
from planetbench.errors import ChecksumError, WeightsMismatchError, WeightsUnavailableError


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def _spec(url: str = "", **kw: object) -> EncoderSpec:
    page = "" if url else "https://example.org/weights"
    weights = PretrainedWeights(source="url", url=url, page=page, sha256_note="a test", **kw)  # type: ignore[arg-type]
    return EncoderSpec(name="toy", weights=weights)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    state = _model(seed=1).state_dict()
    path = tmp_path / "toy.pth"
    torch.save(state, path)
    return path, state


def test_local_file_loads_exactly(saved: tuple[Path, dict[str, torch.Tensor]]) -> None:
    path, state = saved
    model = _model(seed=0)
    report = load_weights(model, _spec(), source=path)
    assert report.origin == "file"
    assert report.n_tensors == len(state)
    assert report.sha256 == sha256_of(path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_wrapped_and_nested_checkpoints_are_unwrapped(tmp_path: Path) -> None:
    state = _model(seed=2).state_dict()
    nested = {"0": {k[2:]: v for k, v in state.items() if k.startswith("0.")},
              "1": {k[2:]: v for k, v in state.items() if k.startswith("1.")}}  # fmt: skip
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": nested, "epoch": 3}, path)
    assert set(read_state_dict(path)) == set(state)
    model = _model(seed=0)
    load_weights(model, _spec(), source=path)
    assert torch.equal(model.state_dict()["0.weight"], state["0.weight"])


def test_missing_key_fails(tmp_path: Path) -> None:
    state = _model(seed=1).state_dict()
    del state["0.bias"]
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(WeightsMismatchError, match=r"missing keys \(1\): 0\.bias"):
        load_weights(_model(), _spec(), source=tmp_path / "w.pth")


def test_allowed_missing_key_is_reported(tmp_path: Path) -> None:
    state = _model(seed=1).state_dict()
    del state["0.bias"]
    torch.save(state, tmp_path / "w.pth")
    report = load_weights(
        _model(), _spec(allowed_missing_keys=("0.bias",)), source=tmp_path / "w.pth"
    )
    assert report.missing_allowed == ("0.bias",)


def test_unexpected_key_fails_unless_declared_ignored(tmp_path: Path) -> None:
    state = _model(seed=1).state_dict()
    state["decoder.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(WeightsMismatchError, match=r"unexpected keys \(1\): decoder\.weight"):
        load_weights(_model(), _spec(), source=tmp_path / "w.pth")
    spec = _spec(ignored_prefixes=("decoder.",))
    report = load_weights(_model(), spec, source=tmp_path / "w.pth")
    assert report.ignored == ("decoder.weight",)


def test_shape_mismatch_fails(tmp_path: Path) -> None:
    state = _model(seed=1).state_dict()
    state["0.weight"] = torch.zeros(3, 5)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(
        WeightsMismatchError, match=r"0\.weight: checkpoint \(3, 5\) vs model \(3, 4\)"
    ):
        load_weights(_model(), _spec(), source=tmp_path / "w.pth")


def test_missing_file_and_no_url_fail(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        load_weights(_model(), _spec(), source=tmp_path / "nope.pth")
    with pytest.raises(WeightsUnavailableError, match="publishes no weights URL"):
        load_weights(_model(), _spec(), source=None)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_download_names_url_and_cache_path() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/toy-weights.pth"
    spec = _spec(url)
    with pytest.raises(WeightsUnavailableError) as info:
        load_weights(_model(), spec, source=None)
    message = str(info.value)
    assert url in message
    assert str(cache_path(spec)) in message
    assert "--weights PATH" in message


def test_loopback_download_then_cache(server: tuple[str, Path]) -> None:
    base, root = server
    state = _model(seed=3).state_dict()
    torch.save(state, root / "toy-weights.pth")
    spec = _spec(f"{base}/toy-weights.pth", sha256=sha256_of(root / "toy-weights.pth"))
    assert weights_status(spec) == "not cached"
    model = _model(seed=0)
    report = load_weights(model, spec, source=None)
    assert report.origin == "download"
    assert report.path == cache_path(spec) and report.path.is_file()
    assert torch.equal(model.state_dict()["0.weight"], state["0.weight"])
    assert weights_status(spec) == "cached"
    (root / "toy-weights.pth").unlink()  # the second load must not need the server
    assert load_weights(_model(), spec, source=None).origin == "cache"


def test_http_error_is_unavailable(server: tuple[str, Path]) -> None:
    base, _ = server
    with pytest.raises(WeightsUnavailableError, match="HTTP 404"):
        load_weights(_model(), _spec(f"{base}/absent.pth"), source=None)


def test_checksum_mismatch(server: tuple[str, Path]) -> None:
    base, root = server
    torch.save(_model(seed=3).state_dict(), root / "w.pth")
    spec = _spec(f"{base}/w.pth", sha256="0" * 64)
    with pytest.raises(ChecksumError, match=f"the published sha256 is {'0' * 64}"):
        load_weights(_model(), spec, source=None)


def test_weights_mode_rules() -> None:
    spec = _spec("http://127.0.0.1:1/w.pth")
    assert weights_mode(spec, None, tiny=False) == "pretrained"
    assert weights_mode(spec, None, tiny=True) == "random"
    assert weights_mode(spec, "some/file.pth", tiny=False) == "file"
    assert weights_mode(spec, "none", tiny=False, from_scratch=True) == "random"
    with pytest.raises(
        WeightsUnavailableError, match=r"only allowed for the from-scratch.*--weights PATH"
    ):
        weights_mode(spec, "none", tiny=False)
    gone = dataclasses.replace(spec, available=False, unavailable_reason="no package")
    with pytest.raises(WeightsUnavailableError, match="not available: no package"):
        weights_mode(gone, None, tiny=False)


# ------------------------------------------------------------------ digests of downloaded weights


def _served(root: Path, name: str, seed: int = 3) -> bytes:
    torch.save(_model(seed=seed).state_dict(), root / name)
    return (root / name).read_bytes()


def test_download_is_checked_against_the_hash_prefix_in_its_name(
    server: tuple[str, Path],
) -> None:
    base, root = server
    body = _served(root, "staging.pth")
    prefix = hashlib.sha256(body).hexdigest()[:8]
    (root / "staging.pth").rename(root / f"toy-{prefix}.pth")
    spec = _spec(f"{base}/toy-{prefix}.pth")
    assert spec.weights is not None and spec.weights.hash_prefix == prefix
    report = load_weights(_model(), spec, source=None)
    assert report.origin == "download" and report.sha256.startswith(prefix)


def test_corrupt_download_is_refused_named_and_deleted(server: tuple[str, Path]) -> None:
    base, root = server
    body = _served(root, "w.pth")
    good = hashlib.sha256(body).hexdigest()
    (root / f"toy-{good[:8]}.pth").write_bytes(body[:-7] + b"corrupt")  # served, but damaged
    found = hashlib.sha256((root / f"toy-{good[:8]}.pth").read_bytes()).hexdigest()
    spec = _spec(f"{base}/toy-{good[:8]}.pth")
    with pytest.raises(ChecksumError) as info:
        load_weights(_model(), spec, source=None)
    message = " ".join(str(info.value).split())
    assert str(cache_path(spec)) in message  # the file
    assert f"has sha256 {found}" in message  # what was found
    assert f"prefix in its file name 'toy-{good[:8]}.pth' is {good[:8]}" in message  # expected
    assert "Run again to download it afresh" in message and "--weights PATH" in message
    assert not cache_path(spec).exists()  # the corrupt download is not kept in the cache


def test_corrupt_download_against_a_published_sha256(server: tuple[str, Path]) -> None:
    base, root = server
    body = _served(root, "w.pth")
    good = hashlib.sha256(body).hexdigest()
    spec = _spec(f"{base}/w.pth", sha256=good)
    assert load_weights(_model(), spec, source=None).sha256 == good
    cache_path(spec).unlink()
    (root / "w.pth").write_bytes(body[:-1] + bytes([body[-1] ^ 1]))  # one flipped bit
    with pytest.raises(ChecksumError, match=rf"but the published sha256 is {good}"):
        load_weights(_model(), spec, source=None)
    assert not cache_path(spec).exists()


def test_corrupt_cached_file_says_delete_it(server: tuple[str, Path]) -> None:
    base, root = server
    body = _served(root, "w.pth")
    spec = _spec(f"{base}/w.pth", sha256=hashlib.sha256(body).hexdigest())
    load_weights(_model(), spec, source=None)
    cache_path(spec).write_bytes(body + b"tail")
    with pytest.raises(ChecksumError, match=r"cached file is corrupt .* delete .*w\.pth"):
        load_weights(_model(), spec, source=None)
    assert cache_path(spec).exists()  # not ours to delete: the message says what to do


def test_weights_without_digest_are_recorded_unchecked(server: tuple[str, Path]) -> None:
    base, root = server
    body = _served(root, "plain.pth")
    spec = _spec(f"{base}/plain.pth")
    assert spec.weights is not None and spec.weights.hash_prefix is None
    report = load_weights(_model(), spec, source=None)
    assert report.sha256 == hashlib.sha256(body).hexdigest()
