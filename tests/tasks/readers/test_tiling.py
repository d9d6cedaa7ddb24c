"""Sliding windows, owned regions and scene stitching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planetbench.errors import InvalidInputError
from planetbench.tasks.readers.tiling import SceneStitcher, Tiling, predict_scene, sliding_windows


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 70), w=st.integers(1, 70), size=st.integers(1, 40), data=st.data()
)
def test_sliding_windows_cover_scene(h: int, w: int, size: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(1, size))
    windows = sliding_windows(h, w, size, stride)
    cover = np.zeros((h, w), dtype=np.int64)
    for y0, x0, y1, x1 in windows:
        assert 0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w
        assert y1 - y0 == min(size, h) and x1 - x0 == min(size, w)
        cover[y0:y1, x0:x1] += 1
    assert (cover >= 1).all()
    assert max(y1 for _, _, y1, _ in windows) == h and max(x1 for *_, x1 in windows) == w
    if stride == size and h % size == 0 and w % size == 0:
        assert (cover == 1).all()


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 60), w=st.integers(1, 60), size=st.integers(1, 24), data=st.data()
)
def test_owned_regions_partition_the_scene(h: int, w: int, size: int, data: st.DataObject) -> None:
    """Each pixel is owned by exactly one window, and lies inside that window."""
    tiling = Tiling(h, w, size, data.draw(st.integers(1, size)))
    owner = np.full((h, w), -1, dtype=np.int64)
    for i, ((y0, x0, y1, x1), (r0, c0, r1, c1)) in enumerate(
        zip(tiling.windows, tiling.owned, strict=True)
    ):
        assert y0 <= r0 < r1 <= y1 and x0 <= c0 < c1 <= x1
        assert (owner[r0:r1, c0:c1] == -1).all()
        owner[r0:r1, c0:c1] = i
    assert (owner >= 0).all()


def test_predict_scene_stitches_each_pixel_once() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(2, 23, 30)).astype(np.float32)
    calls: list[int] = []

    def predict(batch: np.ndarray) -> np.ndarray:  # scores: the two channels, then their sum
        calls.append(len(batch))
        return np.concatenate([batch, batch.sum(1, keepdims=True)], axis=1)

    out = predict_scene(image, predict, size=8, stride=5, batch_size=4)
    assert out.shape == (3, 23, 30) and out.dtype == np.float32
    np.testing.assert_allclose(out[:2], image)
    np.testing.assert_allclose(out[2], image.sum(0), rtol=1e-6)
    assert sum(calls) == len(Tiling(23, 30, 8, 5)) and max(calls) == 4
    labels = predict_scene(image, lambda b: (b[:, 0] > 0).astype(np.int64), size=8)
    np.testing.assert_array_equal(labels, (image[0] > 0).astype(np.int64))
    with pytest.raises(InvalidInputError, match=r"predict returned shape \(8,\) for a batch of 8"):
        predict_scene(image, lambda b: np.zeros(len(b)), size=8)


def test_stitcher_refuses_gaps_repeats_and_wrong_shapes() -> None:
    tiling = Tiling(10, 10, 6, 4)
    stitcher = SceneStitcher(tiling, n_channels=2, dtype=np.float32)
    stitcher.add(0, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match="window 0 was already added"):
        stitcher.add(0, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match=r"must have shape \(2, 6, 6\); got \(6, 6\)"):
        stitcher.add(1, np.zeros((6, 6)))
    with pytest.raises(InvalidInputError, match=r"window index 9 is outside 0\.\.3"):
        stitcher.add(9, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match=r"3 of 4 windows were not added"):
        stitcher.result()
    with pytest.raises(InvalidInputError, match=r"must have shape \(C, 10, 10\)"):
        tiling.cut(np.zeros((1, 9, 10)), 0)


def test_sliding_windows_validation() -> None:
    assert sliding_windows(4, 4, 2) == [(0, 0, 2, 2), (0, 2, 2, 4), (2, 0, 4, 2), (2, 2, 4, 4)]
    with pytest.raises(InvalidInputError, match=r"stride \(5\) must not exceed size \(4\)"):
        sliding_windows(10, 10, 4, 5)
    with pytest.raises(InvalidInputError, match="size must be a positive integer; got 0"):
        sliding_windows(10, 10, 0)
