"""Connected blocks of a results matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planetbench.capability import CapabilityEncoder, connected_blocks
from planetbench.errors import InvalidInputError


def _cells(models: list[str], tasks: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"model": m, "task": t, "metric": "miou", "score": rng.uniform()}
                         for m in models for t in tasks])


def test_blocks_by_hand() -> None:
    one = _cells(["a", "b"], ["x", "y"])
    two = _cells(["c", "d", "e"], ["z"])
    blocks = connected_blocks(pd.concat([one, two]))
    assert [(b.models, b.tasks, b.n_cells) for b in blocks] == [
        (("a", "b"), ("x", "y"), 4), (("c", "d", "e"), ("z",), 3)
    ]
    # one shared cell joins them
    joined = pd.concat([one, two, pd.DataFrame([{"model": "a", "task": "z"}])])
    assert len(connected_blocks(joined)) == 1
    assert "2 model(s) × 2 task(s)" in blocks[0].describe()
    with pytest.raises(InvalidInputError, match="lack column"):
        connected_blocks(pd.DataFrame({"model": ["a"]}))


def test_fit_refuses_disconnected_blocks() -> None:
    cells = pd.concat([_cells([f"a{i}" for i in range(3)], ["x", "y", "w"]),
                       _cells([f"b{i}" for i in range(3)], ["u", "v", "z"], seed=1)])
    with pytest.raises(InvalidInputError, match="2 disconnected blocks"):
        CapabilityEncoder(dim=2, min_results=2, n_ensemble=1).fit(cells)
    enc = CapabilityEncoder(dim=2, min_results=2, n_ensemble=1).fit(cells[cells["model"]
                                                                         .str.startswith("a")])
    assert enc.metrics_ == {"w": "miou", "x": "miou", "y": "miou"}
    restored = CapabilityEncoder.from_dict(enc.to_dict())
    assert restored.metrics_ == enc.metrics_
    assert set(restored.predict()["metric"]) == {"miou"}


def test_map_axes_state_the_explained_variance() -> None:
    from planetbench.capability import map_coordinates
    from planetbench.capability.plot import map_projection, plot_map

    cells = _cells([f"m{i}" for i in range(6)], [f"t{j}" for j in range(5)], seed=3)
    enc = CapabilityEncoder(dim=4, min_results=2, n_ensemble=1).fit(cells)
    models, _tasks, explained = map_projection(enc)
    assert explained is not None and 1.0 >= explained[0] >= explained[1] >= 0.0
    assert np.allclose(models, map_coordinates(enc)[0])
    ax = plot_map(enc).axes[0]
    assert ax.get_xlabel().startswith("PC1 (") and "% of the variance" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("PC2 (")
    flat = CapabilityEncoder(dim=2, min_results=2, n_ensemble=1).fit(cells)
    assert map_projection(flat)[2] is None and plot_map(flat).axes[0].get_xlabel() == "dim 1"
