"""A real uvicorn server on 127.0.0.1 with concurrent httpx clients, killed workers, restarts,
raw-socket path tricks and a headless browser (SQLite, and PostgreSQL where CI runs it)."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the challenge extra is not installed")
pytest.importorskip("uvicorn", reason="the challenge extra is not installed")

import httpx

from planetbench.challenge import ChallengeDB, load_definition, queue
from planetbench.store import ResultStore
from tests.challenge.helpers import phase, write_challenge, write_embeddings
from tests.challenge.server_process import Child, Server, wait_for

pytestmark = pytest.mark.timeout(300)


@dataclass
class Live:
    """A challenge in a store, ready to be served."""

    root: Path
    url: str
    db: ChallengeDB
    organiser: str
    tokens: dict[str, str]

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def server(self, *, workers: int = 0, lease_s: float = 60.0) -> Server:
        return Server(self.url, self.uploads, self.root / "server.log", workers=workers,
                      lease_s=lease_s)

    def worker(self, name: str, lease_s: float) -> Child:
        return Child(["worker", "--store", self.url, "--uploads", str(self.uploads), "--lease",
                      str(lease_s), "--poll", "0.1"], self.root / f"{name}.log")


def _live(root: Path, url: str, **definition: object) -> Live:
    now = datetime.now(timezone.utc)
    db = ChallengeDB(url)
    created = db.create(load_definition(write_challenge(root, phases=[
        phase("dev", start=now - timedelta(days=1), end=now + timedelta(days=1),
              quota={"total": 3}, reveal="per_task")], **definition)))
    tokens = {t: db.add_team("mini", t)[1] for t in ("aurora", "boreal")}
    db.dispose()
    return Live(root, url, db, created.organiser_token, tokens)


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Live:
    return _live(tmp_path, db_url)


def _post(base: str, token: str, path: Path) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(f"{base}/api/v1/challenges/mini/phases/dev/submissions",
                          headers={"Authorization": f"Bearer {token}"},
                          files={"file": (path.name, fh)}, timeout=60)


def test_twenty_simultaneous_submissions_against_a_quota_of_three(live: Live) -> None:
    emb = write_embeddings(live.root, "e.parquet")
    server = live.server()
    try:
        barrier = threading.Barrier(20)
        codes: list[int] = []
        lock = threading.Lock()

        def one() -> None:
            barrier.wait()
            r = _post(server.base, live.tokens["aurora"], emb)
            with lock:
                codes.append(r.status_code)

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(codes) == [202] * 3 + [429] * 17
        # The other team's quota is its own.
        assert _post(server.base, live.tokens["boreal"], emb).status_code == 202
    finally:
        server.stop()
    log = (live.root / "server.log").read_text()
    assert live.tokens["aurora"] not in log and "Bearer" not in log  # tokens are never logged
    assert "POST /api/v1/challenges/mini/phases/dev/submissions" in log


def test_a_worker_killed_mid_scoring_is_replaced_and_scores_once(tmp_path: Path,
                                                                 db_url: str) -> None:
    # The neuco probe with many epochs makes scoring last seconds: time to kill the worker.
    live = _live(tmp_path, db_url, probe="neuco", neuco_epochs=800, n_ids=150)
    server = live.server()
    first = second = None
    try:
        r = _post(server.base, live.tokens["aurora"], write_embeddings(live.root, "e.parquet"))
        sub = r.json()["id"]
        db = ChallengeDB(live.url)
        first = live.worker("w1", lease_s=2)
        wait_for(lambda: queue.get(db.engine, sub)["status"] == "running")  # type: ignore[index]
        first.kill()  # SIGKILL mid-scoring: no clean-up, the lease stays until it expires
        row = queue.get(db.engine, sub)
        assert row is not None and row["status"] == "running" and row["attempts"] == 1
        assert ResultStore(live.url).query(suite="mini").empty
        second = live.worker("w2", lease_s=30)
        wait_for(lambda: queue.get(db.engine, sub)["status"] == "scored",  # type: ignore[index]
                 timeout_s=180, poll_s=0.3)
        row = queue.get(db.engine, sub)
        assert row is not None and row["attempts"] == 2
        frame = ResultStore(live.url).query(suite="mini")
        assert sorted(frame["task"]) == ["biomass", "crops"]  # once per task, not twice
        seen = httpx.get(f"{server.base}/api/v1/submissions/{sub}",
                         headers={"Authorization": f"Bearer {live.tokens['aurora']}"}).json()
        assert seen["status"] == "scored" and len(seen["tasks"]) == 2
        db.dispose()
    finally:
        for child in (first, second):
            if child is not None:
                child.stop()
        server.stop()


def test_a_restarted_server_resumes_the_queue(tmp_path: Path) -> None:
    live = _live(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite'}")
    server = live.server(workers=0)
    try:
        sub = _post(server.base, live.tokens["aurora"],
                    write_embeddings(live.root, "e.csv")).json()["id"]
    finally:
        server.kill()  # a crash, not a clean shutdown
    server = live.server(workers=1)
    try:
        headers = {"Authorization": f"Bearer {live.tokens['aurora']}"}

        def scored() -> bool:
            r = httpx.get(f"{server.base}/api/v1/submissions/{sub}", headers=headers)
            return bool(r.json()["status"] == "scored")

        wait_for(scored, timeout_s=120, poll_s=0.3)
        board = httpx.get(f"{server.base}/api/v1/challenges/mini/leaderboard").json()
        assert board["rows"][0]["team"] == "aurora" and board["rows"][0]["rank"] == 1
    finally:
        server.stop()


def _raw_get(port: int, target: str) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


def test_hidden_labels_are_unreachable_through_raw_paths(tmp_path: Path) -> None:
    live = _live(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite'}")
    lines = (live.root / "hidden" / "labels" / "crops__cls.csv").read_text().splitlines()
    server = live.server()
    try:
        for target in ["/../hidden/labels/crops__cls.csv", "/..%2f..%2fhidden/labels",
                       "/challenges/..%2F..%2Fhidden%2Flabels%2Fcrops__cls.csv",
                       "/%2e%2e/%2e%2e/hidden/labels/crops__cls.csv",
                       "//hidden/labels/crops__cls.csv", "/api/v1/challenges/mini/../../hidden",
                       "/api/v1/challenges/mini%2F..%2F..%2Fhidden/ids",
                       str(live.root / "hidden" / "labels" / "crops__cls.csv")]:
            status, body = _raw_get(server.port, target)
            assert status in (400, 404), (target, status)
            assert lines[1] not in body and lines[2] not in body, target
    finally:
        server.stop()


@pytest.fixture
def chromedriver() -> Iterator[tuple[str, str]]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium and its driver are not installed "
                    "(apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (planetbench[challenge])")
    yield browser, driver


def test_the_page_in_a_real_browser_shows_the_board_and_the_chart(
    tmp_path: Path, chromedriver: tuple[str, str]
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    live = _live(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite'}")
    server = live.server(workers=1)
    browser = None
    try:
        for team, noise in (("aurora", 0.2), ("boreal", 2.0), ("aurora", 0.1)):
            r = _post(server.base, live.tokens[team],
                      write_embeddings(live.root, f"{team}-{noise}.parquet", noise=noise))
            assert r.status_code == 202
        db = ChallengeDB(live.url)
        wait_for(lambda: len(queue.rows(db.engine, "mini", statuses=("scored",))) == 3,
                 timeout_s=120, poll_s=0.3)
        db.dispose()
        options = webdriver.ChromeOptions()
        options.binary_location = chromedriver[0]
        for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service(chromedriver[1]), options=options)
        browser.set_page_load_timeout(60)
        browser.get(f"{server.base}/challenges/mini")
        rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-table tbody tr")
        assert [r.get_attribute("data-team") for r in rows] == ["aurora", "boreal"]
        cells = rows[0].find_elements(By.TAG_NAME, "td")
        assert cells[0].text == "1" and cells[1].text == "aurora"
        assert browser.find_element(By.ID, "mean-q-winner").text.endswith("aurora")
        lines = browser.find_elements(By.CSS_SELECTOR, "svg.rank-chart g.team-line")
        assert sorted(g.get_attribute("data-team") for g in lines) == ["aurora", "boreal"]
        points = browser.find_elements(By.CSS_SELECTOR,
                                       'svg.rank-chart g[data-team="aurora"] circle')
        assert len(points) == 3  # aurora was on the board after each of the 3 scored submissions
        chart = browser.find_element(By.CSS_SELECTOR, "svg.rank-chart")
        assert chart.size["width"] > 100 and chart.size["height"] > 20
        assert browser.find_element(By.CSS_SELECTOR, ".clock").text.startswith("closes in")
        assert "How scores are computed" in browser.page_source
    finally:
        if browser is not None:
            browser.quit()
        server.stop()
