"""Store URLs that would lose results are refused; a read-only store is found before any compute."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import planetbench.cli.store  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.errors import InvalidInputError, StoreError
from planetbench.store import Result, ResultStore
from planetbench.store.migrations import HEAD

runner = CliRunner()


def _result(seed: int = 0) -> Result:
    return Result(model="m", task="t", protocol="probe", metric="r2", score=0.5, seed=seed)


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:",
     "sqlite:///file::memory:?cache=shared&uri=true", "sqlite:///file:x?mode=memory&uri=true"],
)
def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match=r"in-memory SQLite.*vanished.*--store results"):
        ResultStore(url)


@pytest.mark.parametrize("url", ["", "  "])
def test_empty_store_is_refused_naming_the_default(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PLANETBENCH_STORE", raising=False)
    with pytest.raises(InvalidInputError, match=r"is empty: results would have gone to the "
                       r"default store \(sqlite:///.*results\.sqlite\); omit --store"):
        ResultStore(url)


def test_unparsable_url_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="is not a database URL"):
        ResultStore("not a url://")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", ""])
def test_cli_refuses_store_urls_that_lose_results(url: str, store_url: str) -> None:
    result = runner.invoke(app, ["store-info", "--store", url])
    assert result.exit_code == 2, result.output
    assert "results would have gone to" in result.output
    assert "Traceback" not in result.output


def test_store_info_shows_where_revision_and_runs(store_url: str) -> None:
    ResultStore(store_url).add_many([_result(0), _result(1)])
    result = runner.invoke(app, ["store-info", "--store", store_url], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert store_url in result.output and "runs: 2" in result.output
    assert f"schema: {HEAD}" in result.output


def test_writable_store_passes_the_check(backend_url: str) -> None:
    store = ResultStore(backend_url)
    store.check_writable()
    assert len(store) == 0  # the check wrote nothing


def test_read_only_sqlite_connection_is_found_before_compute(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    ResultStore(f"sqlite:///{path}").add(_result())
    store = ResultStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert len(store) == 1  # reading works
    with pytest.raises(StoreError, match=rf"{path}.* is not writable: attempt to write a "
                       r"readonly database\. Nothing was computed; choose a writable store"):
        store.check_writable()


def _as_unprivileged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root passes every permission check; judge by the mode bits as another user would."""
    if os.geteuid() != 0:
        return
    real: Callable[..., bool] = os.access

    def access(path: str | os.PathLike[str], mode: int, **kwargs: object) -> bool:
        bits = os.stat(path).st_mode
        need = {os.R_OK: stat.S_IROTH, os.W_OK: stat.S_IWOTH, os.X_OK: stat.S_IXOTH}
        return all(bits & b for flag, b in need.items() if mode & flag) and real(path, mode)

    monkeypatch.setattr(os, "access", access)


def test_read_only_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.sqlite"
    ResultStore(f"sqlite:///{path}").add(_result())
    tmp_path.chmod(0o777)
    path.chmod(0o444)
    _as_unprivileged(monkeypatch)
    try:
        with pytest.raises(StoreError, match=rf"the file {path} is read-only for this user"):
            ResultStore(f"sqlite:///{path}").check_writable()
    finally:
        path.chmod(0o644)


def test_read_only_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    _as_unprivileged(monkeypatch)
    try:
        with pytest.raises(StoreError, match=rf"the folder {folder} is read-only for this user"):
            ResultStore(f"sqlite:///{folder / 'sub' / 'results.sqlite'}").check_writable()
    finally:
        folder.chmod(0o755)


def test_read_only_postgres_user_is_found_before_compute(postgres_url: str) -> None:
    ResultStore(postgres_url).add(_result())
    role = f"pb_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    read_only = sa.engine.make_url(postgres_url).set(username=role).render_as_string(False)
    try:
        store = ResultStore(read_only)
        assert len(store) == 1  # reading works
        with pytest.raises(StoreError, match=rf"{role}@.* is not writable: permission denied "
                           r"for table runs\. Nothing was computed"):
            store.check_writable()
        store.engine.dispose()
        # A new database this user cannot create tables in: refused when opening, saying why.
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP TABLE runs")
            conn.exec_driver_sql("DROP TABLE alembic_version")
        with pytest.raises(StoreError, match=r"needs a schema upgrade .* cannot be written: "
                           r"permission denied for schema public"):
            ResultStore(read_only).check_writable()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_writing_commands_refuse_a_read_only_store_before_any_compute(tmp_path: Path) -> None:
    """probe, neuco, run, import and demo check the store first: exit 2, nothing computed."""
    from planetbench.cli import _load_commands

    _load_commands()
    path = tmp_path / "results.sqlite"
    ResultStore(f"sqlite:///{path}").add(_result())
    ro = f"sqlite:///file:{path}?mode=ro&uri=true"
    table = tmp_path / "published.csv"
    table.write_text("model,task,metric,score\nm,t,miou,0.5\n")
    out = tmp_path / "out"
    commands = {
        "probe": ["probe", str(tmp_path / "emb.csv"), "--labels", str(tmp_path), "--out",
                  str(out)],
        "neuco": ["neuco", "--annotation_path", str(tmp_path), "--submission_file",
                  str(tmp_path / "emb.csv"), "--config", str(tmp_path / "c.yaml"),
                  "--method_name", "m", "--output_dir", str(out)],
        "run": ["run", "--encoder", "random", "--task", "demo-calving", "--root", str(tmp_path)],
        "import": ["import", str(table)],
        "demo": ["demo", "--out", str(out), "--quick", "--no-dense", "--no-report"],
    }
    for name, args in commands.items():
        result = runner.invoke(app, [*args, "--store", ro])
        assert result.exit_code == 2, (name, result.output)
        assert "is not writable: attempt to write a readonly database" in result.output, name
        assert not out.exists(), name
    assert len(ResultStore(f"sqlite:///{path}")) == 1
