"""Band statistics: one rule for constant bands, and `run` and `embed` feed identical inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor

from planetbench.embedding.embed import embed_task
from planetbench.encoders import ENCODERS, load_builtin_encoders
from planetbench.encoders.base import RegisteredEncoder
from planetbench.errors import InvalidInputError
from planetbench.protocols.band_stats import (
    CONSTANT_BAND_RTOL,
    BandStats,
    Standardiser,
    band_statistics,
    images_of,
    published_band_stats,
)
from planetbench.protocols.dense import FrozenProtocol
from planetbench.tasks import TASKS, load_builtin_tasks
from planetbench.testing import (
    TinyConvEncoder,
    registered,
    tiny_segmentation_task,
    write_tiny_segmentation,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Band 1 of every image: 0.3 in float32, and one float32 step above it on a checkerboard, i.e.
#: constant up to rounding (std ≈ 1.5e-8). The old `run` path divided it by that std (values ±1)
#: and the old `embed` path by a floor of 1e-6 (values ±0.015): they fed different inputs.
LOW = np.float32(0.3)
HIGH = np.nextafter(LOW, np.float32(1.0))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny segmentation data whose band 1 is constant up to float32 rounding."""
    root = write_tiny_segmentation(tmp_path_factory.mktemp("const"),
                                   n_per_split={"train": 5, "val": 2, "test": 2})
    for path in root.glob("*/*.npz"):
        with np.load(path) as z:
            image, mask = z["image"].copy(), z["mask"]
        yy, xx = np.indices(image.shape[1:])
        image[1] = np.where((yy + xx) % 2 == 0, LOW, HIGH)
        np.savez(path, image=image, mask=mask)
    return root


def test_constant_bands_get_std_one_and_real_spreads_are_kept() -> None:
    stats = BandStats.from_moments([1.0, 0.0, 1.0, 2.0], [0.0, 0.0, 1e-5, 1e-7], source="x")
    assert stats.std.tolist() == [1.0, 1.0, 1e-5, 1.0]
    assert stats.constant == (0, 1, 3) and stats.source == "x"
    assert "constant band(s) [0, 1, 3] standardised with std 1" in stats.note()
    edge = BandStats.from_moments([10.0], [10.0 * CONSTANT_BAND_RTOL * 1.01], source="x")
    assert edge.constant == ()  # just above the tolerance: a real spread
    with pytest.raises(InvalidInputError, match="one mean and one std per band"):
        BandStats.from_moments([1.0, 2.0], [1.0], source="x")
    with pytest.raises(InvalidInputError, match="finite with std ≥ 0"):
        BandStats.from_moments([1.0], [-1.0], source="x")
    with pytest.raises(InvalidInputError, match="have 1 values but the images have 3 bands"):
        stats_one = BandStats.from_moments([1.0], [1.0], source="task")
        stats_one.check_bands(3)


def test_statistics_over_images_match_numpy_and_flag_the_constant_band(data: Path) -> None:
    train = tiny_segmentation_task().load(data, "train")
    stats = band_statistics(images_of(train))
    stack = np.stack([train[i]["image"] for i in range(len(train))]).astype(np.float64)
    np.testing.assert_allclose(stats.mean, stack.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(stats.std[[0, 2]], stack.std(axis=(0, 2, 3))[[0, 2]])
    assert stats.constant == (1,) and stats.std[1] == 1.0
    assert 0 < stack[:, 1].std() < 1e-7  # rounding noise, found constant all the same
    standardised = Standardiser(stats)(torch.as_tensor(stack, dtype=torch.float32))
    assert standardised[:, 1].abs().max() < 1e-7  # x − mean, not rounding noise blown up to ±1
    with pytest.raises(InvalidInputError, match="different band counts"):
        band_statistics([np.zeros((3, 2, 2)), np.zeros((2, 2, 2))])
    spec = tiny_segmentation_task().spec
    assert published_band_stats(spec) is None


class _Capturing(TinyConvEncoder):
    """Records every batch its ``features`` receives (the encoder inputs)."""

    seen: ClassVar[list[Tensor]] = []

    def features(self, x: Tensor) -> list[Tensor]:
        type(self).seen.append(x.detach().clone())
        return super().features(x)


def _capturing_factory(*, in_bands: Any = (), tiny: bool = False, weights: Any = None,
                       seed: int = 0, **options: Any) -> _Capturing:
    return _Capturing(in_chans=len(in_bands), name="capture")


def test_run_and_embed_feed_the_encoder_identical_inputs(data: Path, tmp_path: Path) -> None:
    """The dense protocol (`planetbench run`) and `embed` standardise the same images to the
    same float32 tensors, the constant band included."""
    task = tiny_segmentation_task()
    load_builtin_encoders()
    load_builtin_tasks()
    entry = RegisteredEncoder(spec=_Capturing(name="capture").spec, factory=_capturing_factory)
    with registered(ENCODERS, {"capture": entry}), registered(TASKS, {"tiny-seg": task}):
        _Capturing.seen = []
        train, val = task.load(data, "train"), task.load(data, "val")
        torch.manual_seed(0)
        proto = FrozenProtocol.from_task(task.spec, _Capturing(name="capture"), input_size=32,
                                         epochs=1, batch_size=2, head="linear", cache="memory")
        proto.fit(train, val)
        # the feature cache runs the encoder once per image, training images first, in order
        run_inputs = torch.cat(_Capturing.seen)[: len(train)]
        _Capturing.seen = []
        embed_task("capture", "tiny-seg", out=tmp_path / "e.csv", split="train", root=data,
                   batch_size=2, progress=False)
        embed_inputs = torch.cat(_Capturing.seen)
    assert run_inputs.shape == embed_inputs.shape == (len(train), 3, 32, 32)
    assert torch.equal(run_inputs, embed_inputs)
    assert proto.band_stats_.constant == (1,)
    assert embed_inputs[:, 1].abs().max() < 1e-7
    assert embed_inputs[:, 0].std() > 0.5  # a real band is standardised, not zeroed
