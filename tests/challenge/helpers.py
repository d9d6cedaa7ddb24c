"""Tiny seeded challenges written into tmp_path, and embedding files for them (SYNTHETIC)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
POSTGRES_ENV = "PLANETBENCH_TEST_POSTGRES_URL"


def phase(name: str = "dev", *, start: datetime | str = NOW - timedelta(days=1),
          end: datetime | str = NOW + timedelta(days=1), **extra: Any) -> dict[str, Any]:
    """A phase dict open at :data:`NOW` (overridable)."""
    def text(t: datetime | str) -> str:
        return t if isinstance(t, str) else t.isoformat()

    out: dict[str, Any] = {"name": name, "start": text(start), "end": text(end),
                           "tasks": "all", "k": 3, "seed": "fixed", "quota": {"total": 10},
                           "reveal": "mean_q"}
    out.update(extra)
    return out


def write_challenge(root: Path, *, name: str = "mini", phases: list[dict[str, Any]] | None = None,
                    n_ids: int = 60, dim: int = 6, seed: int = 0, **extra: Any) -> Path:
    """Hidden labels (one regression, one binary task), public ids, latent vectors and a YAML
    definition under ``root``; returns the YAML path."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:04d}" for i in range(n_ids)])
    latent = rng.normal(size=(n_ids, 4))
    labels = root / "hidden" / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    reg_rows = rng.permutation(n_ids)[: n_ids * 2 // 3]
    reg = latent[reg_rows] @ [1.0, -1.0, 0.5, 0.0] + rng.normal(scale=0.3, size=len(reg_rows))
    pd.DataFrame({"id": ids[reg_rows], "label": reg}).to_csv(labels / "biomass__regr.csv",
                                                             index=False)
    cls_rows = rng.permutation(n_ids)[: n_ids * 2 // 3]
    score = latent[cls_rows] @ [0.0, 1.0, 1.0, -1.0]
    pd.DataFrame({"id": ids[cls_rows], "label": (score > np.median(score)).astype(int)}).to_csv(
        labels / "crops__cls.csv", index=False)
    (root / "public").mkdir(exist_ok=True)
    (root / "public" / "ids.txt").write_text("\n".join(ids) + "\n")
    np.save(root / "latent.npy", latent)
    definition = {"name": name, "labels": "hidden/labels", "ids": "public/ids.txt",
                  "embedding_dim": dim, "probe": "auto", "phases": phases or [phase()]}
    definition.update(extra)
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return path


def write_embeddings(root: Path, file_name: str, *, noise: float = 0.5, dim: int = 6,
                     seed: int = 1, drop: int = 0) -> Path:
    """SYNTHETIC embeddings of every public id of the challenge in ``root`` (the latent vectors
    mapped to ``dim`` columns plus noise), without the last ``drop`` ids."""
    latent = np.load(root / "latent.npy")
    ids = (root / "public" / "ids.txt").read_text().split()
    rng = np.random.default_rng(seed)
    x = latent @ rng.normal(size=(latent.shape[1], dim)) + noise * rng.normal(
        size=(len(ids), dim))
    frame = pd.DataFrame(x, columns=[str(i) for i in range(dim)])
    frame.insert(0, "id", ids)
    frame = frame.iloc[: len(ids) - drop]
    path = root / file_name
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def postgres_url() -> str:
    """The CI PostgreSQL server's URL, or skip."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"${POSTGRES_ENV} is not set (CI starts a PostgreSQL server and sets it)")
    return url


def fresh_postgres_url() -> str:
    """A fresh, empty database on the test PostgreSQL server (dropped never: names are unique)."""
    import uuid

    import sqlalchemy as sa

    base = postgres_url()
    name = f"pbchallenge_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False))
