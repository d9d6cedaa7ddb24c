"""Search, then seeds: selection on validation only, resume, reproducible seed runs, pruning,
errors, and the executors (a fake remote one, and Ray)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from planetbench.config import DenseRunConfig
from planetbench.errors import ConfigError, MissingDependencyError
from planetbench.runs.executors import Outcome
from planetbench.runs.identity import planned_run_key, run_model
from planetbench.runs.jobs import RunJob
from planetbench.runs.runner import RunStopped, run_grid
from planetbench.runs.search import (
    SearchSettings,
    format_search,
    grid_of,
    resolve_space,
    run_search,
)
from planetbench.store import Result, ResultStore
from planetbench.testing_mars import write_mars_fake

TASK = "mb-domars16k"


@pytest.fixture(scope="module")
def mars_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mars")
    write_mars_fake(root, TASK, n_per_split=4, size=32)
    write_mars_fake(root, "mb-conequest_seg", n_per_split=3, size=32)
    return root


@pytest.fixture
def tiny(tiny_dense_registry: None) -> Iterator[None]:
    yield


def _base(root: Path, tmp_path: Path, **kw: Any) -> DenseRunConfig:
    values: dict[str, Any] = dict(encoder="tiny-conv", task=TASK, root=str(root), input_size=32,
                                  latency_repeats=1, num_threads=1,
                                  fraction_dir=str(tmp_path / "fractions"))
    values.update(kw)
    return DenseRunConfig.model_validate(values)


def _settings(**kw: Any) -> SearchSettings:
    return SearchSettings.model_validate(kw)


def _quiet(_: str) -> None:
    pass


class ScriptedExecutor:
    """A remote-like executor whose 'runs' return scripted validation and test scores."""

    in_process = False

    def __init__(self, scores: Callable[[DenseRunConfig], tuple[float, float]]) -> None:
        self.scores = scores
        self.runs: list[DenseRunConfig] = []

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]
            ) -> Generator[Outcome[Any], None, None]:
        for i, job in enumerate(items):
            assert isinstance(job, RunJob)
            self.runs.append(job.run)
            val, test = self.scores(job.run)
            yield Outcome(index=i, value=Result(
                model=run_model(job.run), task=job.run.task, protocol=job.run.protocol,
                metric="f1_weighted", score=test, suite="mars-search" if job.run.search_study
                else "mars", seed=job.run.seed, lr=job.run.lr, config=job.run.model_dump(),
                metrics={"val_score": val, "f1_weighted": test},
                run_key=planned_run_key(job.run)))


def test_search_picks_on_validation_never_on_test(tiny: None, mars_root: Path,
                                                  tmp_path: Path) -> None:
    # lr 1e-3 wins on validation and loses on test; lr 1e-4 the opposite
    def scores(run: DenseRunConfig) -> tuple[float, float]:
        return (0.9, 0.1) if run.lr == 1e-3 else (0.5, 0.95)

    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    for method in ("grid", "optuna"):
        executor = ScriptedExecutor(scores)
        settings = _settings(method=method, space={"lr": [1e-4, 1e-3]}, n_trials=2,
                             seeds=[0, 1234])
        summary = run_search(_base(mars_root, tmp_path), settings, store=store,
                             executor=executor, progress=False, print_fn=_quiet)
        complete = [t for t in summary.trials if t.state == "complete"]
        assert summary.best.val_score == max(t.val_score or 0 for t in complete)
        if method == "grid":
            assert summary.best.params == {"lr": 1e-3} and summary.best_run.lr == 1e-3
            seed_runs = [r for r in executor.runs if r.search_study is None]
            assert [(r.lr, r.seed) for r in seed_runs] == [(1e-3, 0), (1e-3, 1234)]
        assert all(r.search_study == summary.study for r in executor.runs[:2] if
                   r.search_study is not None)
    trial_rows = store.query(suite="mars-search")
    assert len(trial_rows) >= 2 and set(store.query(suite="mars")["seed"]) == {0, 1234}


def test_search_resumes_skipping_finished_trials(tiny: None, mars_root: Path,
                                                 tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    base = _base(mars_root, tmp_path)
    first = run_search(base, _settings(budget="tiny", n_trials=2, seeds=[]), store=store,
                       progress=False, print_fn=_quiet)
    assert [t.reused for t in first.trials] == [False, False] and len(store) == 2
    more = run_search(base, _settings(budget="tiny", n_trials=3, seeds=[]), store=store,
                      progress=False, print_fn=_quiet)
    assert [t.reused for t in more.trials] == [True, True, False]
    assert [t.params for t in more.trials[:2]] == [t.params for t in first.trials]
    assert len(store) == 3 and more.study == first.study
    grid = _settings(method="grid", space={"lr": [1e-3, 1e-2]}, budget="tiny", seeds=[0])
    run_search(base, grid, store=store, progress=False, print_fn=_quiet)
    again = run_search(base, grid, store=store, progress=False, print_fn=_quiet)
    assert all(t.reused for t in again.trials) and again.seeds is not None
    assert again.seeds.n_skipped == 1 and not again.seeds.results
    assert "best: trial" in "\n".join(format_search(again))


def test_seed_runs_are_reproducible(tiny: None, mars_root: Path, tmp_path: Path) -> None:
    settings = _settings(method="grid", space={"lr": [1e-2], "optimizer": ["sgd"]},
                         budget="tiny", seeds=[0, 42])
    scores = []
    for name in ("a", "b"):
        store = ResultStore(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
        summary = run_search(_base(mars_root, tmp_path, protocol="finetune"), settings,
                             store=store, progress=False, print_fn=_quiet)
        rows = store.query(run_key=summary.seed_keys).sort_values("seed")
        scores.append([(r.seed, r.score, r.metrics["history"][-1]["train_loss"])
                       for r in rows.itertuples()])
    assert scores[0] == scores[1] and [s[0] for s in scores[0]] == [0, 42]
    assert scores[0][0][2] != scores[0][1][2]  # the seed changes the run


def test_a_stopped_run_is_reported_not_stored(tiny: None, mars_root: Path,
                                              tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    run = _base(mars_root, tmp_path, epochs=3, patience=3)

    def stop(_run: DenseRunConfig, record: Any) -> None:
        if record.epoch == 2:
            raise RunStopped("pruned", epoch=2, values={1: 0.1, 2: 0.2})

    summary = run_grid([run], store=store, progress=False, print_fn=_quiet, on_epoch=stop)
    assert len(summary.stopped) == 1 and not summary.failures and len(store) == 0
    error = summary.stopped[0].error
    assert isinstance(error, RunStopped) and error.values == {1: 0.1, 2: 0.2}


def test_the_pruning_hook_reports_epochs_and_stops_pruned_trials() -> None:
    from planetbench.runs.identity import run_config_hash
    from planetbench.runs.search import _pruning_hook

    class FakeTrial:
        def __init__(self) -> None:
            self.reported: list[tuple[float, int]] = []

        def report(self, value: float, step: int) -> None:
            self.reported.append((value, step))

        def should_prune(self) -> bool:
            return len(self.reported) >= 2

    run = DenseRunConfig.model_validate({"encoder": "tiny-conv", "task": TASK})
    trial = FakeTrial()
    hook = _pruning_hook({run_config_hash(run): trial})

    class Record:
        def __init__(self, epoch: int, val_score: float | None) -> None:
            self.epoch, self.val_score = epoch, val_score

    hook(run, Record(1, 0.3))
    with pytest.raises(RunStopped, match="after epoch 2") as info:
        hook(run, Record(2, 0.2))
    assert trial.reported == [(0.3, 1), (0.2, 2)] and info.value.values == {1: 0.3, 2: 0.2}


def test_search_settings_errors(tiny: None, mars_root: Path, tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    base = _base(mars_root, tmp_path)
    with pytest.raises(ConfigError, match="did you mean 'optuna'"):
        run_search(base, _settings(method="optna"), store=store)
    with pytest.raises(ConfigError, match="'lrr' is not a searchable setting; did you mean 'lr'"):
        resolve_space("multiclass", _settings(space={"lrr": [1e-3]}))
    with pytest.raises(ConfigError, match="the grid has 648 configurations but n_trials is 5"):
        run_search(base, _settings(method="grid", n_trials=5), store=store)
    with pytest.raises(ConfigError, match="optimizer, scheduler cannot vary for segmentation"):
        resolve_space("segmentation", _settings(space={"optimizer": ["sgd"],
                                                       "scheduler": ["step"]}))
    assert len(grid_of(resolve_space("classification", _settings()))) == 4 * 3 * 3 * 3 * 3 * 2 * 2


def test_search_without_optuna_says_how_to_install(tiny: None, mars_root: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with pytest.raises(MissingDependencyError, match=r"pip install 'planetbench\[search\]'"):
        run_search(_base(mars_root, tmp_path), _settings(budget="tiny"), store=store,
                   progress=False, print_fn=_quiet)


def test_segmentation_search_varies_the_dice_weight(tiny: None, mars_root: Path,
                                                    tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    base = _base(mars_root, tmp_path, task="mb-conequest_seg", head="linear", batch_size=2)
    settings = _settings(method="grid", space={"dice_weight": [0.0, 1.0]}, seeds=[])
    summary = run_search(base, settings, store=store, progress=False, print_fn=_quiet)
    assert [t.params for t in summary.trials] == [{"dice_weight": 0.0}, {"dice_weight": 1.0}]
    assert summary.metric == "miou" and all(t.state == "complete" for t in summary.trials)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow  # starts Ray worker processes (each imports torch)
def test_search_runs_its_trials_and_seeds_on_ray(ray_local: Any, tiny: None, mars_root: Path,
                                                 tmp_path: Path) -> None:
    from planetbench.runs.executors import RayExecutor

    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    settings = _settings(budget="tiny", n_trials=2, batch=2, seeds=[0])
    summary = run_search(_base(mars_root, tmp_path), settings, store=store,
                         executor=RayExecutor(num_cpus_per_run=1), progress=False,
                         print_fn=_quiet)
    assert [t.state for t in summary.trials] == ["complete", "complete"]
    assert summary.notes == ["pruning off: the executor runs trials in other processes, which "
                             "do not report their epochs back"]
    assert len(store) == 3


def test_cli_search_prints_trials_choice_and_seeds(tiny: None, mars_root: Path,
                                                   tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from planetbench.cli import _load_commands, app

    _load_commands()
    args = ["search", "--encoder", "tiny-conv", "--task", TASK, "--root", str(mars_root),
            "--input-size", "32", "--num-threads", "1", "--store", str(tmp_path / "s.sqlite"),
            "--no-progress", "--method", "grid", "--space", "lr=1e-3,1e-2", "--budget", "tiny",
            "--seeds", "0,1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "selected on the validation f1_weighted (the test score is not looked at)" in out
    assert "trial 1: complete" in out and "best: trial" in out
    assert "seed 1: test f1_weighted" in out and "Mars-Bench's f1_weighted_mb" in out
    assert "over 2 seed(s): mean" in out
    bad = CliRunner().invoke(app, [*args[:-2], "--seeds", "0,x"])
    assert bad.exit_code == 2 and "--seeds '0,x': give comma-separated integers" in bad.output
    bad = CliRunner().invoke(app, [*args, "--space", "lrr=1"])
    assert bad.exit_code == 2 and "did you mean 'lr'" in bad.output
