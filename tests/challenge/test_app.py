"""The HTTP API and pages in-process (FastAPI's TestClient): statuses, reveal rules, security."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the challenge extra is not installed")

from fastapi.testclient import TestClient

from planetbench.challenge import ChallengeDB, Worker, load_definition
from planetbench.challenge.app import create_app
from planetbench.embedding.files import read_embeddings
from planetbench.errors import EmbeddingFileError
from tests.challenge.helpers import NOW, phase, write_challenge, write_embeddings


class Clock:
    """A movable clock for the app."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Site:
    """A challenge served in-process, with two teams and the organiser token."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.db = ChallengeDB(url)
        created = self.db.create(load_definition(write_challenge(
            root, title="<script>alert('x')</script> Mini", description="a & b <i>c</i>",
            max_upload_mb=0.05, phases=[
                phase("dev", quota={"total": 2}),
                phase("tasks", reveal="per_task", show_task_names=False),
                phase("blind", reveal="none"),
                phase("later", start=NOW + timedelta(days=5), end=NOW + timedelta(days=6)),
            ])))
        self.organiser = created.organiser_token
        _, self.aurora = self.db.add_team("mini", "aurora")
        _, self.boreal = self.db.add_team("mini", "boreal")
        self.uploads = root / "uploads"
        self.clock = Clock()
        self.client = TestClient(create_app(url, self.uploads, clock=self.clock))

    def post(self, path: Path | None, token: str | None, phase_name: str = "dev",
             **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        files = {"file": (path.name, path.read_bytes())} if path is not None else None
        return self.client.post(f"/api/v1/challenges/mini/phases/{phase_name}/submissions",
                                files=files, headers=headers, **kwargs)

    def get(self, url: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(url, headers=headers)

    def score(self) -> None:
        Worker(self.db.url, self.uploads).run(idle_exit=True)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite'}")
    with s.client:
        yield s


def test_submit_score_and_see_only_what_the_phase_reveals(site: Site) -> None:
    good = write_embeddings(site.root, "good.parquet")
    ids = {}
    for ph in ("dev", "tasks", "blind"):
        r = site.post(good, site.aurora, ph)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "queued"
        ids[ph] = r.json()["id"]
    assert site.get(f"/api/v1/submissions/{ids['dev']}", site.aurora).json()["status"] == "queued"
    site.score()
    dev = site.get(f"/api/v1/submissions/{ids['dev']}", site.aurora).json()
    assert dev["status"] == "scored" and isinstance(dev["mean_q"], float)
    assert "tasks" not in dev and "seed" not in dev
    tasks = site.get(f"/api/v1/submissions/{ids['tasks']}", site.aurora).json()
    assert sorted(t["task"] for t in tasks["tasks"]) == ["task-1", "task-2"]
    assert all(set(t) == {"task", "q"} for t in tasks["tasks"])  # no metric: it tells the kind
    blind = site.get(f"/api/v1/submissions/{ids['blind']}", site.aurora).json()
    assert "mean_q" not in blind and "revealed when the phase ends" in blind[
        "scores_hidden_because"]
    site.clock.now = NOW + timedelta(days=2)  # every phase but 'later' has ended
    assert "mean_q" in site.get(f"/api/v1/submissions/{ids['blind']}", site.aurora).json()
    full = site.get(f"/api/v1/submissions/{ids['tasks']}", site.organiser).json()
    assert sorted(t["task"] for t in full["tasks"]) == ["biomass", "crops"]
    assert full["seed"] == 42


def test_teams_see_only_their_own_submissions(site: Site) -> None:
    r = site.post(write_embeddings(site.root, "a.csv"), site.aurora)
    sub = r.json()["id"]
    for token in (site.boreal, None, "pbt_forged"):
        other = site.get(f"/api/v1/submissions/{sub}", token)
        assert other.status_code == 404 and sub not in other.text.replace(
            f"no submission {sub!r} of yours", "")
    assert site.get("/api/v1/challenges/mini/submissions", site.boreal).json() == []
    assert [s["id"] for s in site.get("/api/v1/challenges/mini/submissions",
                                      site.aurora).json()] == [sub]
    assert site.get("/api/v1/challenges/mini/submissions", None).status_code == 401


def test_http_statuses_of_every_refusal(site: Site) -> None:
    good = write_embeddings(site.root, "good.csv")
    r = site.post(good, None)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    assert site.post(good, "pbt_wrong").status_code == 401
    assert site.post(good, site.organiser).status_code == 401  # the organiser is no team
    r = site.post(good, site.aurora, "later")
    assert r.status_code == 403 and "accepts submissions from" in r.json()["detail"]
    r = site.post(good, site.aurora, "dve")
    assert r.status_code == 404 and "did you mean 'dev'" in r.json()["detail"]
    r = site.client.post("/api/v1/challenges/minni/phases/dev/submissions")
    assert r.status_code == 404 and "did you mean 'mini'" in r.json()["detail"]
    big = write_embeddings(site.root, "big.csv", dim=6)
    big.write_text(big.read_text() * 10)  # > 0.05 MiB
    r = site.post(big, site.aurora)
    assert r.status_code == 413 and "larger than this challenge's limit of 0.05 MiB" in r.text
    assert site.post(good, site.aurora).status_code == 202
    assert site.post(good, site.aurora).status_code == 202
    r = site.post(good, site.aurora)
    assert r.status_code == 429 and "used all 2 submission(s)" in r.json()["detail"]


def test_streamed_uploads_past_the_limit_are_cut_off(site: Site) -> None:
    boundary = "pbboundary"

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it early
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"x.csv\"\r\n\r\n").encode()
        for _ in range(200):
            yield b"0" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    r = site.client.post("/api/v1/challenges/mini/phases/dev/submissions", content=body(),
                         headers={"Authorization": f"Bearer {site.aurora}",
                                  "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text
    assert not list((site.uploads / "tmp").glob("*"))
    row = site.get("/api/v1/challenges/mini/submissions", site.organiser).json()
    assert [s["status"] for s in row] == ["rejected"]  # the quota is given back


def test_bad_files_get_the_probe_commands_message(site: Site) -> None:
    bad = write_embeddings(site.root, "bad.csv")
    bad.write_text(bad.read_text().replace("s0003,", "s0003x,", 1).replace(",", ",nan,", 1))
    with pytest.raises(EmbeddingFileError) as local:
        read_embeddings(bad, dim=6)
    r = site.post(bad, site.aurora)
    assert r.status_code == 400
    # The text of `planetbench probe`, naming the client's file instead of a path.
    assert r.json()["detail"] == str(local.value).replace(str(bad), "bad.csv")
    assert "non-digit column name(s) 'nan'" in r.json()["detail"]
    assert str(site.uploads) not in r.text and site.db.url not in r.text
    r = site.post(write_embeddings(site.root, "short.parquet", drop=2), site.aurora)
    assert r.status_code == 400 and "lacks 2 of the 60 public ids" in r.json()["detail"]
    r = site.post(write_embeddings(site.root, "x.txt"), site.aurora)
    assert r.status_code == 400 and "unknown suffix '.txt'" in r.json()["detail"]
    r = site.client.post("/api/v1/challenges/mini/phases/dev/submissions", content=b"id,0\n",
                         headers={"Authorization": f"Bearer {site.aurora}"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["detail"]
    r = site.client.post("/api/v1/challenges/mini/phases/dev/submissions", data={"x": "1"},
                         headers={"Authorization": f"Bearer {site.aurora}"})
    assert r.status_code == 400 and "field 'file'" in r.json()["detail"]
    statuses = [s["status"] for s in site.get("/api/v1/challenges/mini/submissions",
                                              site.organiser).json()]
    assert statuses == ["rejected"] * 5


def test_leaderboard_json_and_the_organiser_view(site: Site) -> None:
    site.post(write_embeddings(site.root, "a.parquet", noise=0.1), site.aurora, "tasks")
    site.post(write_embeddings(site.root, "b.parquet", noise=3.0, seed=5), site.boreal, "tasks")
    site.score()
    public = site.get("/api/v1/challenges/mini/leaderboard?phase=tasks").json()
    assert [r["team"] for r in public["rows"]] == ["aurora", "boreal"]
    assert public["rows"][0]["rank"] == 1 and public["rows"][0]["submissions_used"] == 1
    assert set(public["rows"][0]["q"]) == {"task-1", "task-2"}
    assert public["mean_q_winner"] == "aurora" and "task_weights" not in public
    organiser = site.get("/api/v1/challenges/mini/leaderboard?phase=tasks", site.organiser).json()
    assert set(organiser["task_weights"]) == {"biomass", "crops"}
    assert set(organiser["rows"][0]["q"]) == {"biomass", "crops"}
    # A team token is not the organiser's.
    assert "task_weights" not in site.get("/api/v1/challenges/mini/leaderboard?phase=tasks",
                                          site.aurora).json()
    default = site.get("/api/v1/challenges/mini/leaderboard").json()
    assert default["phase"] == "dev"  # the open phase


def test_public_facts_hide_task_names_and_serve_the_id_list(site: Site) -> None:
    info = site.get("/api/v1/challenges/mini").json()
    text = str(info)
    for secret in ("biomass", "crops", "__regr", "__cls", str(site.root), "labels"):
        assert secret not in text, secret
    assert [p["state"] for p in info["phases"]] == ["open", "open", "open", "upcoming"]
    assert info["current_phase"] == "dev"
    ids = site.client.get("/api/v1/challenges/mini/ids").text.split()
    assert len(ids) == 60 and ids[0] == "s0000"
    assert site.client.get("/docs").status_code == 200
    assert "/api/v1/challenges/{challenge}/leaderboard" in site.client.get(
        "/openapi.json").json()["paths"]


@pytest.mark.parametrize("path", [
    "/hidden/labels/biomass__regr.csv",
    "/../hidden/labels/biomass__regr.csv",
    "/challenges/..%2F..%2Fhidden%2Flabels%2Fbiomass__regr.csv",
    "/challenges/mini/..%2F..%2Fhidden%2Flabels",
    "/api/v1/challenges/..%2Fhidden/ids",
    "/api/v1/challenges/mini/labels",
    "/api/v1/challenges/mini/phases/dev/submissions/..%2F..%2F..%2Flabels",
    "/static/../hidden/labels/crops__cls.csv",
    "/uploads/tmp",
    "/%2e%2e/%2e%2e/hidden/labels/crops__cls.csv",
    "/challenges/mini?phase=..%2F..%2Fhidden",
])
def test_hidden_labels_are_unreachable(site: Site, path: str) -> None:
    labels = (site.root / "hidden" / "labels" / "biomass__regr.csv").read_text().splitlines()
    r = site.client.get(path)
    assert r.status_code in (404, 405), (path, r.status_code)
    assert "label" not in r.text.lower() or "biomass" not in r.text
    assert labels[1] not in r.text and labels[2] not in r.text


def test_pages_escape_every_name_and_show_the_board(site: Site) -> None:
    site.post(write_embeddings(site.root, "a.parquet"), site.aurora)
    site.score()
    page = site.client.get("/challenges/mini", headers={"accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)" in html
    assert "a &amp; b &lt;i&gt;c&lt;/i&gt;" in html
    assert 'data-team="aurora"' in html and 'class="rank-chart"' in html
    assert "Highest mean Q" in html and "How scores are computed" in html
    assert "closes in 1d 00:00:00" in html
    index = site.client.get("/").text
    assert "&lt;script&gt;" in index and "/challenges/mini" in index
    blind = site.client.get("/challenges/mini?phase=blind").text
    assert "Scores are hidden" in blind and 'class="rank-chart"' not in blind


def test_a_fresh_public_board_is_served_on_the_event_loop(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.challenge.app as app_module

    site.post(write_embeddings(site.root, "a.parquet", noise=0.1), site.aurora, "tasks")
    site.score()
    url = "/api/v1/challenges/mini/leaderboard?phase=tasks"
    first = site.get(url)  # read from the database in a worker thread, then cached

    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the fresh public board went to a worker thread")

    monkeypatch.setattr(app_module, "run_in_threadpool", no_thread)
    again = site.get(url)
    assert again.status_code == 200 and again.content == first.content
    # Tokens and unknown challenges never take the fast path (they need the database).
    with pytest.raises(AssertionError, match="worker thread"):
        site.get(url, site.organiser)
    with pytest.raises(AssertionError, match="worker thread"):
        site.get("/api/v1/challenges/nope/leaderboard")
    monkeypatch.undo()
    organiser = site.get(url, site.organiser).json()
    assert set(organiser["rows"][0]["q"]) == {"biomass", "crops"}  # not the public body


def test_board_cache_serves_without_the_database_only_while_fresh(tmp_path: Path) -> None:
    from planetbench.challenge.app import BoardCache
    from planetbench.challenge.leaderboard import view_for

    db = ChallengeDB(f"sqlite:///{tmp_path / 'store.sqlite'}")
    definition = load_definition(write_challenge(tmp_path))
    db.create(definition)
    ph = definition.phases[0]
    view = view_for(ph, NOW, organiser=False)
    cache = BoardCache(db, refresh_s=60.0)
    assert cache.fresh(definition, ph, view) is None  # nothing read yet
    body = cache.encoded(definition, ph, view)
    assert cache.fresh(definition, ph, view) == body
    stale = BoardCache(db, refresh_s=0.0)  # every version check is already too old
    stale.encoded(definition, ph, view)
    assert stale.fresh(definition, ph, view) is None
