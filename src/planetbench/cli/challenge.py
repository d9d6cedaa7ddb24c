"""``planetbench challenge``: run a hidden-task embedding challenge (organisers and teams)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planetbench.cli._app import StoreOption, app, console, err_console, handle_errors
from planetbench.errors import InvalidInputError

challenge_app = typer.Typer(
    help="Run a hidden-task embedding challenge: define, serve, score, submit, rank.",
    no_args_is_help=True,
)
team_app = typer.Typer(help="Manage the teams of a challenge.", no_args_is_help=True)
challenge_app.add_typer(team_app, name="team")
app.add_typer(challenge_app, name="challenge")

_FORMATS = ("table", "json", "csv")
ChallengeOption = typer.Option("--challenge", "-c", help="Challenge name.")
UploadsOption = typer.Option(
    "--uploads", help="Uploads folder (default: beside a SQLite store, else the user data "
    "folder). Workers on other machines need the same folder (a shared mount).")


def _check_format(value: str) -> str:
    if value not in _FORMATS:
        raise InvalidInputError(f"--format {value!r} is unknown; choose one of {list(_FORMATS)}")
    return value


@challenge_app.command("create")
@handle_errors
def create_cmd(
    definition: Annotated[Path, typer.Argument(help="Challenge definition (YAML).")],
    store: str | None = StoreOption,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Check a challenge definition against its files and store it (labels are copied into the
    store, never served); prints the organiser token once.

    Example: planetbench challenge create e2s-mini.yaml --store challenge.sqlite
    """
    from planetbench.challenge import ChallengeDB, load_definition

    _check_format(format)
    created = ChallengeDB(store).create(load_definition(definition))
    d = created.definition
    if format == "json":
        console.print_json(json.dumps({"challenge": d.name,
                                       "organiser_token": created.organiser_token}))
        return
    console.print(f"created challenge {d.name!r} with {len(d.phases)} phase(s): "
                  f"{', '.join(p.name for p in d.phases)}", highlight=False)
    console.print(f"organiser token (shown once, keep it secret): {created.organiser_token}",
                  highlight=False, soft_wrap=True)


@team_app.command("add")
@handle_errors
def team_add_cmd(
    name: Annotated[str, typer.Argument(help="Team name (lower-case letters, digits, - and _).")],
    challenge: Annotated[str, ChallengeOption],
    store: str | None = StoreOption,
    baseline: Annotated[bool, typer.Option(
        "--baseline/--no-baseline", help="Mark as an organisers' baseline.")] = False,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Register a team and print its token once (it is stored only hashed).

    Example: planetbench challenge team add aurora --challenge e2s-mini --format json
    """
    from planetbench.challenge import ChallengeDB

    _check_format(format)
    team, token = ChallengeDB(store).add_team(challenge, name, baseline=baseline)
    if format == "json":
        console.print_json(json.dumps({"team": team.name, "token": token}))
        return
    console.print(f"team {team.name!r} added to {challenge!r}; its token (shown once): {token}",
                  highlight=False, soft_wrap=True)


@team_app.command("list")
@handle_errors
def team_list_cmd(
    challenge: Annotated[str, ChallengeOption],
    store: str | None = StoreOption,
) -> None:
    """List the teams of a challenge.

    Example: planetbench challenge team list --challenge e2s-mini
    """
    from planetbench.challenge import ChallengeDB

    for team in ChallengeDB(store).teams(challenge):
        console.print(team.name + (" (baseline)" if team.baseline else ""), highlight=False)


@challenge_app.command("serve")
@handle_errors
def serve_cmd(
    store: str | None = StoreOption,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(
        "--workers", help="Scoring worker processes started beside the server.")] = 1,
    uploads: Annotated[Path | None, UploadsOption] = None,
    lease: Annotated[float, typer.Option(
        "--lease", help="Seconds a worker's claim lasts without renewal.")] = 60.0,
    log_level: Annotated[str, typer.Option(
        "--log-level", help="uvicorn log level (info logs each request, never tokens).")] = "info",
) -> None:
    """Serve every challenge of the store (JSON API, HTML pages, /docs) with scoring workers.

    Example: planetbench challenge serve --store challenge.sqlite --port 8000 --workers 2
    """
    from planetbench.challenge.server import serve

    serve(store, host=host, port=port, workers=workers, uploads=uploads, lease_s=lease,
          log_level=log_level)


@challenge_app.command("worker")
@handle_errors
def worker_cmd(
    store: str | None = StoreOption,
    uploads: Annotated[Path | None, UploadsOption] = None,
    lease: Annotated[float, typer.Option(
        "--lease", help="Seconds a claim lasts without renewal.")] = 60.0,
    poll: Annotated[float, typer.Option(
        "--poll", help="Seconds to wait when the queue is empty.")] = 1.0,
    once: Annotated[bool, typer.Option(
        "--once/--forever", help="Stop when the queue is empty.")] = False,
    nice: Annotated[int, typer.Option(
        "--nice", help="Niceness added to the worker (0: none; 10 yields to a web server "
        "on the same machine).")] = 0,
    n_jobs: Annotated[int | None, typer.Option(
        "--n-jobs", help="Tasks probed at once (default: automatic).")] = None,
) -> None:
    """Score queued submissions (run any number of workers, on any machine that reaches the
    store and the uploads folder).

    Example: planetbench challenge worker --store postgresql+psycopg://host/db --uploads /mnt/up
    """
    import logging

    from planetbench.challenge import ChallengeDB, Worker
    from planetbench.challenge.uploads import default_uploads_dir

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    if lease <= 0 or poll <= 0:
        raise InvalidInputError("--lease and --poll must be positive")
    if n_jobs is not None and n_jobs < 1:
        raise InvalidInputError(f"--n-jobs must be 1 or more; got {n_jobs}")
    if nice:
        import os

        os.nice(nice)
    url = ChallengeDB(store).url
    worker = Worker(url, uploads or default_uploads_dir(url), lease_s=lease, n_jobs=n_jobs)
    try:
        n = worker.run(poll_s=poll, idle_exit=once)
    except KeyboardInterrupt:
        n = 0
    err_console.print(f"worker {worker.name} scored {n} submission(s)", highlight=False)


@challenge_app.command("submit")
@handle_errors
def submit_cmd(
    file: Annotated[Path, typer.Argument(help="Embeddings (.csv/.parquet): id + columns 0..d-1.")],
    url: Annotated[str, typer.Option("--url", help="Challenge server address.")],
    challenge: Annotated[str, ChallengeOption],
    phase: Annotated[str, typer.Option("--phase", help="Phase name.")],
    token: Annotated[str, typer.Option("--token", envvar="PLANETBENCH_CHALLENGE_TOKEN",
                                       help="Team token (or $PLANETBENCH_CHALLENGE_TOKEN).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait",
                                       help="Wait until the submission is scored.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 600.0,
) -> None:
    """Upload a file of embeddings to a challenge server (the team's side).

    Example: planetbench challenge submit emb.parquet --url http://127.0.0.1:8000 -c e2s-mini
    --phase dev --token $TOKEN --wait
    """
    from planetbench.challenge import client

    answer = client.submit(file, url=url, challenge=challenge, phase=phase, token=token)
    if wait:
        answer = client.wait(url, answer["id"], token, timeout_s=timeout, poll_s=1.0)
    console.print_json(json.dumps(answer))


@challenge_app.command("results")
@handle_errors
def results_cmd(
    challenge: Annotated[str, ChallengeOption],
    phase: Annotated[str | None, typer.Option("--phase", help="One phase (default: all).")] = None,
    store: str | None = StoreOption,
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Standings of every phase as the organiser sees them (ranks, mean Q, Q per task).

    Example: planetbench challenge results --challenge e2s-mini --phase final --format csv
    """
    from planetbench.challenge import ChallengeDB
    from planetbench.challenge.standings import standings, standings_frame

    _check_format(format)
    boards = standings(ChallengeDB(store), challenge, phase)
    if format == "json":
        console.print_json(json.dumps(boards))
        return
    frame = standings_frame(boards)
    if format == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    for board in boards:
        table = Table(title=f"{challenge} · phase {board['phase']} "
                            f"(highest mean Q: {board.get('mean_q_winner') or '–'})")
        for col in ("rank", "team", "weighted score", "mean Q", "submissions"):
            table.add_column(col, justify="left" if col == "team" else "right")
        for r in board["rows"]:
            table.add_row("–" if r.get("rank") is None else str(r["rank"]),
                          r["team"] + (" (baseline)" if r["baseline"] else ""),
                          "–" if r.get("weighted_score") is None else f"{r['weighted_score']:.3f}",
                          "–" if r.get("mean_q") is None else f"{r['mean_q']:.2f}",
                          str(r["submissions_used"]))
        console.print(table)


@challenge_app.command("demo")
@handle_errors
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the generated files.")] = Path(
        "challenge-demo"),
    store: str | None = typer.Option(None, "--store", help="Store URL (default: a SQLite file "
                                     "in --out)."),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 0,
) -> None:
    """A local SYNTHETIC challenge: hidden tasks, 3 teams and a baseline, scored; then prints
    the leaderboard and how to serve it.

    Example: planetbench challenge demo --out challenge-demo
    """
    from planetbench.challenge.demo import run_demo

    demo = run_demo(out, store=store, seed=seed)
    results_cmd(challenge=demo.name, phase="dev", store=demo.store, format="table")
    console.print(
        f"SYNTHETIC data. Serve it: planetbench challenge serve --store {demo.store} "
        f"--uploads {demo.uploads}\nthen open http://127.0.0.1:8000/challenges/{demo.name}",
        highlight=False, soft_wrap=True)
