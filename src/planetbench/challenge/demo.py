"""A local SYNTHETIC challenge: hidden tasks, 3 teams and a baseline, a few submissions, scored.

Everything is generated from a seed: a latent vector per sample drives the hidden labels (two
regression and two binary tasks); each team's embeddings are a random linear map of the latent
vectors plus noise, the noise shrinking with each submission (teams improve), and the baseline
embeds pure noise. The results are labelled synthetic (challenge title and description).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from planetbench.challenge.service import ChallengeDB, now_utc

#: (team, noise level of each submission in order); the baseline is pure noise.
DEMO_TEAMS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("aurora", (2.0, 1.0, 0.5)),
    ("boreal", (1.2, 0.9)),
    ("cirrus", (3.0, 0.3)),
)
BASELINE = "random-baseline"


@dataclass(frozen=True)
class DemoChallenge:
    """What the demo made.

    Attributes:
        name: challenge name.
        definition: the YAML file written.
        store: the store URL.
        uploads: the uploads folder.
        organiser_token: the organiser token.
        tokens: team → token.
        submissions: ids of the scored submissions.
    """

    name: str
    definition: Path
    store: str
    uploads: Path
    organiser_token: str
    tokens: dict[str, str]
    submissions: list[str]


def write_demo_files(root: Path, *, n_ids: int = 400, dim: int = 32, seed: int = 0,
                     now: datetime | None = None, name: str = "demo-challenge") -> Path:
    """Write SYNTHETIC hidden labels, the public ids and a definition YAML; returns the YAML.

    Also writes ``root/latent.npy`` (the latent vectors the embeddings are made from).
    """
    rng = np.random.default_rng(seed)
    now = now or now_utc()
    ids = np.array([f"sample-{i:05d}" for i in range(n_ids)])
    latent = rng.normal(size=(n_ids, 8))
    labels = root / "hidden" / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    for t, kind in enumerate(("regr", "regr", "cls", "cls")):
        rows = rng.permutation(n_ids)[: n_ids * 3 // 4]
        signal = latent[rows] @ rng.normal(size=8) + rng.normal(scale=0.5, size=len(rows))
        label = signal if kind == "regr" else (signal > np.median(signal)).astype(int)
        pd.DataFrame({"id": ids[rows], "label": label}).to_csv(
            labels / f"{('biomass', 'height', 'crops', 'water')[t]}__{kind}.csv", index=False)
    (root / "public").mkdir(exist_ok=True)
    (root / "public" / "ids.txt").write_text("\n".join(ids) + "\n")
    np.save(root / "latent.npy", latent)
    day = now.replace(microsecond=0)
    text = f"""\
name: {name}
title: "Demo challenge (SYNTHETIC data)"
description: "A synthetic challenge made by `planetbench challenge demo`: hidden tasks, three
  teams and a noise baseline. The numbers mean nothing about any real model."
labels: hidden/labels
ids: public/ids.txt
embedding_dim: {dim}
probe: auto
phases:
  - name: dev
    start: {(day - timedelta(days=1)).isoformat()}
    end: {(day + timedelta(days=13)).isoformat()}
    tasks: [biomass, crops, water]
    sample_fraction: 0.6
    k: 10
    seed: fixed
    quota: {{per_day: 10}}
    reveal: mean_q
  - name: final
    start: {(day + timedelta(days=14)).isoformat()}
    end: {(day + timedelta(days=17)).isoformat()}
    tasks: all
    k: 20
    seed: random
    quota: {{total: 3}}
    reveal: none
"""
    path = root / "challenge.yaml"
    path.write_text(text)
    return path


def write_embeddings(path: Path, latent: np.ndarray, ids: list[str], *, dim: int, noise: float,
                     seed: int) -> Path:
    """SYNTHETIC embeddings: a random linear map of the latent vectors plus noise (``noise`` =
    inf for pure noise), as Parquet in the NeuCo layout."""
    rng = np.random.default_rng(seed)
    signal = latent @ rng.normal(size=(latent.shape[1], dim))
    x = (rng.normal(size=signal.shape) if not np.isfinite(noise)
         else signal + noise * rng.normal(size=signal.shape))
    frame = pd.DataFrame(x.astype(np.float32), columns=[str(i) for i in range(dim)])
    frame.insert(0, "id", ids)
    frame.to_parquet(path, index=False)
    return path


def run_demo(root: str | Path, *, store: str | None = None, seed: int = 0,
             now: datetime | None = None) -> DemoChallenge:
    """Make the synthetic challenge in ``root``, register the teams, submit and score.

    Args:
        root: folder for the generated files (and the store and uploads by default).
        store: store URL (default: ``root/challenge.sqlite``).
        seed: seed of everything generated.
        now: the current time (the dev phase is open around it).
    """
    from planetbench.challenge.definition import load_definition
    from planetbench.challenge.local import submit_local
    from planetbench.challenge.worker import Worker

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    now = now or now_utc()
    url = store or f"sqlite:///{(root / 'challenge.sqlite').resolve()}"
    yaml_path = write_demo_files(root, seed=seed, now=now)
    definition = load_definition(yaml_path)
    db = ChallengeDB(url)
    created = db.create(definition)
    uploads = root / "uploads"
    latent = np.load(root / "latent.npy")
    ids = db.public_ids(definition.name)
    submissions_dir = root / "submissions"
    submissions_dir.mkdir(exist_ok=True)
    tokens: dict[str, str] = {}
    plan: list[tuple[str, float]] = [(BASELINE, float("inf"))]
    for team, noises in DEMO_TEAMS:
        plan += [(team, n) for n in noises]
    teams = {}
    for team in [BASELINE, *(t for t, _ in DEMO_TEAMS)]:
        teams[team], tokens[team] = db.add_team(definition.name, team,
                                                baseline=team == BASELINE)
    # Interleave the teams' submissions (round robin) as a real phase would see them.
    order = sorted(range(len(plan)), key=lambda i: (
        sum(1 for j in range(i) if plan[j][0] == plan[i][0]), i))
    worker = Worker(url, uploads, name="demo-worker")
    subs = []
    for k, i in enumerate(order):
        team, noise = plan[i]
        path = write_embeddings(submissions_dir / f"{team}-{k}.parquet", latent, ids,
                                dim=definition.embedding_dim, noise=noise, seed=seed + 100 + k)
        subs.append(submit_local(db, uploads, teams[team], "dev", path, now=now))
        worker.run(idle_exit=True)
    return DemoChallenge(name=definition.name, definition=yaml_path, store=url, uploads=uploads,
                         organiser_token=created.organiser_token, tokens=tokens,
                         submissions=subs)


__all__ = ["BASELINE", "DEMO_TEAMS", "DemoChallenge", "run_demo", "write_demo_files",
           "write_embeddings"]
