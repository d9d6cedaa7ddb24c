"""Frozen-feature cache: stored once in fp16, memory or memmap, disabled by augmentation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.protocols.dense import FrozenProtocol
from planetbench.protocols.feature_cache import FeatureCache, cache_decision
from planetbench.testing import TinyConvEncoder, tiny_segmentation_task, write_tiny_segmentation

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 6, "val": 3, "test": 3})


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_cache_holds_the_encoder_maps_in_fp16(storage: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = TinyConvEncoder().eval()
    x = torch.randn(5, 3, 32, 32)
    calls = []

    def encode(batch: torch.Tensor) -> list[torch.Tensor]:
        calls.append(batch.shape[0])
        return enc.features(batch)

    cache = FeatureCache.build(encode, [x[:3], x[3:]], 5, storage=storage,  # type: ignore[arg-type]
                               directory=tmp_path)
    assert calls == [3, 2] and len(cache) == 5
    with torch.no_grad():
        ref = enc.features(x)
    got = cache.get([4, 0, 2], torch.device("cpu"))  # unsorted on purpose
    for r, g in zip(ref, got, strict=True):
        torch.testing.assert_close(g, r[[4, 0, 2]], atol=2e-3, rtol=2e-3)
    assert cache.nbytes == sum(int(np.prod(r.shape)) * 2 for r in ref)
    if storage == "disk":
        assert cache.directory is not None and cache.directory.parent == tmp_path
        assert len(list(cache.directory.glob("*.f16"))) == 4
        folder = cache.directory
        cache.close()
        assert not folder.exists()


def test_cache_build_checks_the_image_count() -> None:
    enc = TinyConvEncoder().eval()
    with pytest.raises(InvalidInputError, match="held 2 images but n_images is 3"):
        FeatureCache.build(enc.features, [torch.randn(2, 3, 32, 32)], 3)
    with pytest.raises(InvalidInputError, match="cache mode 'none' stores nothing"):
        FeatureCache.build(enc.features, [], 0, storage="none")
    with pytest.raises(UnknownNameError, match="unknown feature cache mode 'memroy'; did you "
                       "mean 'memory'"):
        FeatureCache.build(enc.features, [], 0, storage="memroy")


def test_augmentation_disables_the_cache_explicitly() -> None:
    with pytest.warns(UserWarning, match="feature cache disabled"):
        d = cache_decision("memory", augment=True)
    assert not d.enabled and d.requested == "memory" and "augmentation" in d.reason
    assert cache_decision("disk", augment=False).enabled
    assert not cache_decision("none", augment=True).reason  # nothing to disable
    with pytest.raises(UnknownNameError, match="Available: disk, memory, none"):
        cache_decision("gpu", augment=False)


def _frozen(cache: str, augment: bool = False, **kw: object) -> FrozenProtocol:
    torch.manual_seed(0)
    spec = tiny_segmentation_task().spec
    params: dict[str, object] = dict(input_size=32, epochs=2, batch_size=3, lr=1e-2,
                                     head="linear", seed=0)
    params.update(kw)
    return FrozenProtocol.from_task(  # type: ignore[return-value]
        spec, TinyConvEncoder(), cache=cache, augment=augment, **params
    )


def test_cache_and_recompute_train_identically_with_dropout_in_the_head(data: Path) -> None:
    task = tiny_segmentation_task()
    train, val = task.load(data, "train"), task.load(data, "val")
    runs = [_frozen(c, head="upernet", head_options={"channels": 8}, epochs=3).fit(train, val)
            for c in ("disk", "none")]
    assert [r.train_loss for r in runs[0].history_] == [r.train_loss for r in runs[1].history_]
    assert [r.val_miou for r in runs[0].history_] == [r.val_miou for r in runs[1].history_]


def test_frozen_protocol_runs_the_encoder_once_per_image_with_the_cache(data: Path) -> None:
    task = tiny_segmentation_task()
    train, val = task.load(data, "train"), task.load(data, "val")
    proto = _frozen("memory")
    n_calls = []
    real = proto.encoder.features
    proto.encoder.features = lambda x: (n_calls.append(x.shape[0]), real(x))[1]  # type: ignore[method-assign]
    proto.fit(train, val)
    assert sum(n_calls) == len(train) + len(val)  # 2 epochs, yet one pass per image
    assert proto.cache_.enabled and proto.timings_["cache_s"] > 0
    nocache = _frozen("none")
    calls2 = []
    real2 = nocache.encoder.features
    nocache.encoder.features = lambda x: (calls2.append(x.shape[0]), real2(x))[1]  # type: ignore[method-assign]
    nocache.fit(train, val)
    assert sum(calls2) == 2 * (len(train) + len(val))
    # same training with and without the cache: both paths see the maps rounded to fp16
    for a, b in zip(proto.history_, nocache.history_, strict=True):
        assert a.train_loss == pytest.approx(b.train_loss, abs=1e-5)
        assert a.val_miou == b.val_miou


def test_frozen_protocol_records_the_disabled_cache(data: Path) -> None:
    task = tiny_segmentation_task()
    proto = _frozen("memory", augment=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto.fit(task.load(data, "train"), task.load(data, "val"))
    assert not proto.cache_.enabled
    assert any("feature cache disabled" in w for w in proto.warnings_)
