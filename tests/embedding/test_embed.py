"""embed_task: NeuCo-layout embedding files from registered encoders and tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.embed import embed_task
from planetbench.embedding.files import read_embeddings
from planetbench.errors import DatasetNotFoundError, InvalidInputError, UnknownNameError
from planetbench.tasks.demo import generate_scenes, write_demo_data

SMALL = {"n_images": 40, "size": 16, "seed": 0}


def test_writes_a_file_read_embeddings_accepts(tmp_path: Path) -> None:
    path = embed_task(
        "mosaiks",
        "demo",
        out=tmp_path / "m.csv",
        reader_options={**SMALL, "in_memory": True},
        encoder_options={"num_filters": 8},
        batch_size=16,
        progress=False,
    )
    table = read_embeddings(path)
    assert table.matrix.shape == (40, 16)
    assert sorted(table.ids) == sorted(generate_scenes(40, size=16, seed=0).ids)
    assert list(pd.read_csv(path, nrows=0).columns) == ["id", *map(str, range(16))]


def test_csv_and_parquet_agree_and_are_deterministic(tmp_path: Path) -> None:
    root = write_demo_data(tmp_path / "data", **SMALL)
    kwargs = {"root": root, "split": "val", "progress": False, "seed": 3}
    a = read_embeddings(embed_task("averaging", "demo-lake", out=tmp_path / "a.csv", **kwargs))
    b = read_embeddings(embed_task("averaging", "demo-lake", out=tmp_path / "b.parquet", **kwargs))
    c = read_embeddings(embed_task("averaging", "demo-lake", out=tmp_path / "c.csv", **kwargs))
    assert len(a.ids) == 8 and a.matrix.shape[1] == 3 * 8 * 8
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_allclose(a.matrix, b.matrix, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(a.matrix, c.matrix)


def test_averaging_embedding_carries_the_label_signal(tmp_path: Path) -> None:
    """Ridge on the averaging embedding explains snow cover (R² > 0.3); random does not."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import cross_val_score

    options = {"n_images": 120, "size": 16, "seed": 1, "in_memory": True}
    scenes = generate_scenes(120, size=16, seed=1)
    y = pd.Series(scenes.targets["demo-snow-cover"], index=scenes.ids)
    scores = {}
    for name in ("averaging", "random"):
        path = embed_task(
            name, "demo", out=tmp_path / f"{name}.csv", reader_options=options, progress=False
        )
        table = read_embeddings(path)
        ridge = RidgeCV(alphas=np.logspace(-3, 3, 7))
        scores[name] = cross_val_score(
            ridge, table.matrix, y.loc[table.ids].to_numpy(), cv=4, scoring="r2"
        ).mean()
    assert scores["averaging"] > 0.3
    assert scores["random"] < 0.1


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"\*.csv or \*.parquet"):
        embed_task("random", "demo", out=tmp_path / "x.txt")
    with pytest.raises(InvalidInputError, match="fmt must be 'csv' or 'parquet'"):
        embed_task("random", "demo", out=tmp_path / "x.csv", fmt="json")
    with pytest.raises(UnknownNameError, match="did you mean 'mosaiks'"):
        embed_task("mosaik", "demo", out=tmp_path / "x.csv")
    with pytest.raises(InvalidInputError, match="no split 'dev'"):
        embed_task("random", "demo", out=tmp_path / "x.csv", split="dev")
    with pytest.raises(InvalidInputError, match="batch_size must be a positive integer"):
        embed_task("random", "demo", out=tmp_path / "x.csv", batch_size=0)
    with pytest.raises(DatasetNotFoundError, match="write_demo_data"):
        embed_task("random", "demo", out=tmp_path / "x.csv", root=tmp_path / "missing")
    assert not (tmp_path / "x.csv").exists()


def test_non_demo_task_needs_root_and_band_mismatch_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from planetbench.encoders import ENCODERS, get_encoder
    from planetbench.errors import BandAlignmentError
    from planetbench.tasks import TASKS, get_task
    from planetbench.tasks.bands import SENTINEL1

    demo = get_task("demo-lake")
    real = replace(demo, spec=replace(demo.spec, name="toy-real", suite="cryo", synthetic=False))
    monkeypatch.setitem(TASKS._items, "toy-real", real)
    with pytest.raises(InvalidInputError, match="pass root=<folder holding its data>"):
        embed_task("random", "toy-real", out=tmp_path / "x.csv")

    base = get_encoder("random")
    sar_only = replace(base, spec=replace(base.spec, name="sar-only", bands=SENTINEL1))
    monkeypatch.setitem(ENCODERS._items, "sar-only", sar_only)
    with pytest.raises(BandAlignmentError, match=r"(?s)VV.*B02|B02.*VV"):
        embed_task("sar-only", "demo", out=tmp_path / "x.csv", band_policy="match")
    assert not (tmp_path / "x.csv").exists()


def test_fixed_band_encoders_get_aligned_bands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RGB encoder gets B04/B03/B02 of the 10-band scenes; DOFA gets their wavelengths."""
    from dataclasses import replace

    import torch

    from planetbench.encoders import ENCODERS, get_encoder
    from planetbench.tasks import get_task
    from planetbench.tasks.bands import RGB
    from planetbench.tasks.demo import write_demo_data

    root = write_demo_data(tmp_path / "data", n_images=12, size=16, seed=0, sar=False)
    seen: list[torch.Tensor] = []
    base = get_encoder("random")

    def rgb_factory(**kw: object) -> torch.nn.Module:
        enc = base.factory(**{**kw, "in_bands": RGB})
        original = enc.embed

        def embed(x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return original(x)

        enc.embed = embed  # type: ignore[method-assign]
        return enc

    rgb = replace(base, spec=replace(base.spec, name="rgb-only", bands=RGB),
                  factory=rgb_factory)
    monkeypatch.setitem(ENCODERS._items, "rgb-only", rgb)
    n_train = len(get_task("demo-lake").load(root, "train"))
    out = embed_task("rgb-only", "demo", out=tmp_path / "rgb.csv", root=root, split="train",
                     progress=False)
    assert read_embeddings(out).matrix.shape[0] == n_train
    size = base.factory(in_bands=RGB).spec.input_size  # images resized to the encoder's size
    assert seen and all(tuple(x.shape[1:]) == (3, size, size) for x in seen)  # 10 bands → RGB

    dofa = embed_task("dofa-base", "demo", out=tmp_path / "dofa.csv", root=root, split="train",
                      tiny=True, progress=False)
    table = read_embeddings(dofa)
    assert table.matrix.shape[0] == n_train
    assert np.isfinite(table.matrix).all() and table.matrix.std() > 0
