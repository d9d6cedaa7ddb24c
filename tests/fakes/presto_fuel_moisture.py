"""Seeded toy copy of Presto's fuel-moisture arrays (``fuel_moisture/npy/*.npy``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Plausible raw ranges per band (VV, VH, 11 S2 bands, temperature K, precipitation m, elevation
#: m, slope deg, NDVI), as in Presto's exports.
RAW_LOW = np.array([-20.0, -28.0, *([300.0] * 11), 270.0, 0.0, 100.0, 0.0, 0.0])
RAW_HIGH = np.array([-5.0, -12.0, *([4000.0] * 11), 305.0, 0.01, 3000.0, 30.0, 0.9])


def write_presto_task(
    root: str | Path,
    folder: str,
    *,
    n_per_split: int,
    n_timesteps: int,
    seed: int,
    classes: int | None,
    group: str,
) -> Path:
    """Write ``root/<folder>/npy/*.npy`` with ``n_per_split`` train and test samples.

    Targets depend on the mean NDVI-like band 17 of each sample (regression) or take
    ``classes`` values 1..classes cyclically (classification), so both are learnable and every
    class is present in both splits.
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_per_split
    npy = Path(root) / folder / "npy"
    npy.mkdir(parents=True, exist_ok=True)
    x = rng.uniform(RAW_LOW, RAW_HIGH, size=(n, n_timesteps, 18))
    if classes is None:
        target = 50.0 + 200.0 * x[:, :, 17].mean(axis=1)
    else:
        target = np.arange(n) % classes + 1
    arrays = {
        "s1_s2_era5_srtm": x,
        "dynamic_world": rng.integers(0, 9, size=(n, n_timesteps)).astype(np.uint8),
        "month": (rng.integers(0, 12, size=(n, 1)) + np.arange(n_timesteps)) % 12,
        "latlon": np.stack([rng.uniform(30, 48, n), rng.uniform(-120, -80, n)], axis=1),
        "is_test": np.arange(n) % 2,
        "target": target,
    }
    if group == "site":
        arrays["site"] = np.array([f"site {i % 3}" for i in range(n)])
    else:
        arrays["uid"] = np.array([f"u{i:03d}" for i in range(n)])
    for name, value in arrays.items():
        np.save(npy / f"{name}.npy", value)
    return Path(root)


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Toy fuel moisture: T = 3 steps, regression targets, sites (``size`` is unused)."""
    return write_presto_task(root, "fuel_moisture", n_per_split=n_per_split, n_timesteps=3,
                             seed=seed, classes=None, group="site")  # fmt: skip
