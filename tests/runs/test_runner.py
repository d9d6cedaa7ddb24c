"""Dense runner: grid → store, resume, efficiency, band policy, fractions, leaderboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from planetbench.config import DenseRunConfig, ExperimentSpec, validate_config
from planetbench.encoders import ENCODERS, load_builtin_encoders
from planetbench.errors import ConfigError, InvalidInputError
from planetbench.protocols.fraction import ids_sha256
from planetbench.report.dense_leaderboard import dense_leaderboard
from planetbench.runs.efficiency import count_flops, measure_efficiency
from planetbench.runs.preflight import GridError
from planetbench.runs.runner import (
    planned_run_key,
    run_experiment,
    run_model,
)
from planetbench.store import Result, ResultStore
from planetbench.tasks import TASKS, load_builtin_tasks
from planetbench.testing import (
    TinyConvEncoder,
    TinyViTEncoder,
    registered,
    tiny_encoders,
    tiny_segmentation_task,
    write_tiny_segmentation,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 6, "val": 3, "test": 3})


@pytest.fixture(autouse=True)
def _tiny_registry() -> Iterator[None]:
    load_builtin_encoders()
    load_builtin_tasks()
    with registered(ENCODERS, tiny_encoders()), \
            registered(TASKS, {"tiny-seg": tiny_segmentation_task(suite="test")}):
        yield


def _spec(data: Path, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["tiny-conv"], tasks=["tiny-seg"], protocols=["frozen"], root=str(data),
        input_size=32, epochs=2, batch_size=3, head="linear", latency_repeats=1,
        lrs=[1e-2], fraction_dir=str(tmp_path / "fractions"),
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def test_grid_runs_are_stored_with_efficiency_and_resume_skips_them(
    data: Path, tmp_path: Path
) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(data, tmp_path, encoders=["tiny-conv", "tiny-vit"],
                 protocols=["frozen", "finetune"])
    lines: list[str] = []
    summary = run_experiment(spec, store=store, progress=False, print_fn=lines.append)
    assert summary.n_total == 4 and summary.n_skipped == 0 and len(store) == 4
    df = store.query(task="tiny-seg")
    assert set(df["model"]) == {"tiny-conv", "tiny-vit"}
    assert set(df["protocol"]) == {"frozen", "finetune"}
    for _, row in df.iterrows():
        eff = row["efficiency"]
        assert eff["params"] > 0 and eff["gflops"] > 0 and eff["latency_ms"] > 0
        assert eff["input_shape"] == [1, 3, 32, 32]
        assert (eff["peak_memory_mb"] or 0) > 0 or any("peak_memory_mb" in f for f in eff["flags"])
        assert eff["encoder_params"] + eff["decoder_params"] == eff["params"]
        assert row["metrics"]["band_policy"] == "match"
        assert row["metrics"]["band_alignment"]["encoder_bands"] == ["red", "green", "blue"] \
            or row["metrics"]["band_alignment"]["index_map"] == [0, 1, 2]
        assert any("band policy match" in n for n in row["notes"])
        assert 0.0 <= row["score"] <= 1.0
        assert row["run_key"] == planned_run_key(DenseRunConfig(**row["config"]))
    frozen = df[df["protocol"] == "frozen"].iloc[0]
    assert any("feature cache: memory" in n for n in frozen["notes"])
    again = run_experiment(spec, store=store, progress=False, print_fn=lines.append)
    assert again.n_skipped == 4 and again.results == [] and len(store) == 4
    assert "skipping 4 already in the store" in lines[-1]


def test_fraction_ids_are_saved_hashed_and_shared_across_seeds(data: Path, tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(data, tmp_path, fractions=[0.5], seeds=[0, 1])
    run_experiment(spec, store=store, progress=False, print_fn=lambda s: None)
    df = store.query()
    files = list((tmp_path / "fractions" / "tiny-seg").glob("*.json"))
    assert len(files) == 1  # one id list, used by both seeds
    saved = json.loads(files[0].read_text())
    assert len(saved["ids"]) == 3 and saved["sha256"] == ids_sha256(saved["ids"])
    assert set(df["metrics"].map(lambda m: m["fraction_sha256"])) == {saved["sha256"]}
    assert set(df["metrics"].map(lambda m: m["n_train"])) == {3}
    assert sorted(df["seed"]) == [0, 1]


def test_encoder_options_name_the_method_and_reach_the_factory(data: Path, tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(data, tmp_path, encoder_options={"tiny-conv": {"channels": [4, 8, 8, 8]}})
    (result,) = run_experiment(spec, store=store, progress=False, print_fn=lambda s: None).results
    assert result.model == "tiny-conv (channels=[4, 8, 8, 8])"
    assert result.model == run_model(spec.runs()[0])
    assert result.efficiency["encoder_params"] == sum(
        p.numel() for p in TinyConvEncoder(channels=(4, 8, 8, 8)).parameters())
    bad = _spec(data, tmp_path, encoder_options={"tiny-conv": {"in_bands": []}})
    with pytest.raises(GridError, match="may not set in_bands"):
        run_experiment(bad, store=store, progress=False, print_fn=lambda s: None)
    assert len(store) == 1  # nothing more ran


def test_experiment_spec_refuses_nonsense() -> None:
    base: dict[str, Any] = {"encoders": ["unet"], "tasks": ["glid"]}
    with pytest.raises(ConfigError, match=r"encoder_options names \['vitt'\]"):
        validate_config(ExperimentSpec, {**base, "encoder_options": {"vitt": {}}}, source="x")
    with pytest.raises(ConfigError, match="fractions must lie in"):
        validate_config(ExperimentSpec, {**base, "fractions": [0.0]}, source="x")
    with pytest.raises(ConfigError, match="epoch: Extra inputs are not permitted"):
        validate_config(ExperimentSpec, {**base, "epoch": 3}, source="x")
    with pytest.raises(ConfigError, match="tasks lists a name twice"):
        validate_config(ExperimentSpec, {**base, "tasks": ["glid", "glid"]}, source="x")
    runs = validate_config(ExperimentSpec, {**base, "fractions": [1.0, 0.1], "seeds": [0, 1, 2]},
                           source="x").runs()
    assert len(runs) == 6 and {(r.fraction, r.seed) for r in runs} == {
        (f, s) for f in (1.0, 0.1) for s in (0, 1, 2)}


def _result(model: str, task: str, score: float, seed: int = 0, **kw: Any) -> Result:
    return Result(model=model, task=task, protocol=kw.pop("protocol", "frozen"), metric="miou",
                  score=score, suite="cryo", seed=seed, fraction=kw.pop("fraction", 1.0), **kw)


def test_dense_leaderboard_in_the_cryo_bench_layout(tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.add_many([
        _result("a", "glid", 0.8), _result("a", "glid", 0.6, seed=1),  # mean 0.7
        _result("a", "caffe", 0.4),
        _result("b", "glid", 0.9), _result("b", "caffe", 0.3),
        _result("c", "glid", 0.7),  # ties with a on glid, misses caffe
        _result("a", "caffe", 0.99, fraction=0.1),  # other fraction: left out
        _result("b", "caffe", 0.99, protocol="finetune"),  # other protocol: left out
    ])
    board = dense_leaderboard(store, suite="cryo", protocol="frozen")
    assert list(board.columns) == ["caffe", "glid", "avg_miou", "avg_rank", "n_tasks"]
    assert board.loc["a", "glid"] == pytest.approx(0.7)
    assert board.loc["a", "avg_miou"] == pytest.approx(0.55)
    assert board.loc["b", "avg_miou"] == pytest.approx(0.6)
    # glid: b 1st, a and c share 2nd; caffe: a 1st, b 2nd
    assert board.loc["a", "avg_rank"] == pytest.approx(1.5)
    assert board.loc["b", "avg_rank"] == pytest.approx(1.5)
    assert board.loc["c", "avg_rank"] == pytest.approx(2.0)
    assert board["avg_miou"].isna().tolist() == [False, False, True]
    assert list(board.index) == ["b", "a", "c"]  # rank, then average
    assert int(board.loc["c", "n_tasks"]) == 1
    mixed = dense_leaderboard(store, suite="cryo", protocol=None, fraction=None)
    assert set(mixed.index) == {"a · frozen · f=1", "b · frozen · f=1", "c · frozen · f=1",
                                "a · frozen · f=0.1", "b · finetune · f=1"}
    assert mixed.loc["a · frozen · f=0.1", "caffe"] == pytest.approx(0.99)
    assert mixed.loc["a · frozen · f=0.1", "avg_rank"] == 1.0  # ties b · finetune on caffe
    only_frozen = dense_leaderboard(store, suite="cryo", fraction=[1.0, 0.1])
    assert "b · finetune · f=1" not in only_frozen.index and len(only_frozen) == 4
    with pytest.raises(InvalidInputError, match="no stored miou results for suite='mars'"):
        dense_leaderboard(store, suite="mars")
    with pytest.raises(InvalidInputError, match=r"no results for task\(s\) \['sicd'\]"):
        dense_leaderboard(store, tasks=["glid", "sicd"])


def test_the_learning_rate_is_chosen_on_validation_not_test(tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.add_many([
        _result("a", "glid", 0.9, lr=1e-2, metrics={"val_miou": 0.5}),  # best test, worse val
        _result("a", "glid", 0.6, lr=1e-4, metrics={"val_miou": 0.7}),
        _result("a", "glid", 0.4, lr=1e-4, seed=1, metrics={"val_miou": 0.6}),
        _result("b", "glid", 0.7, lr=1e-3, metrics={"val_miou": 0.1}),  # one lr: kept
    ])
    board = dense_leaderboard(store)
    assert board.loc["a", "glid"] == pytest.approx(0.5)  # lr 1e-4, mean over its 2 seeds
    assert board.loc["b", "glid"] == pytest.approx(0.7)
    store.add(_result("a", "glid", 0.1, lr=1e-5))
    with pytest.raises(InvalidInputError, match="not all carry a validation mIoU"):
        dense_leaderboard(store)


def test_flop_counter_counts_attention_and_flags_failures() -> None:
    torch.manual_seed(0)
    vit = TinyViTEncoder(depth=1).eval()
    x = torch.zeros(1, 3, 64, 64)
    count, flags = count_flops(lambda t: vit.features(t), x)
    assert flags == [] and count is not None
    n, d = 16, 32  # 4×4 tokens of width 32; fvcore's convention: one multiply-add = 1 FLOP
    attention = n * n * (d // 2 + d // 2) * 2  # QKᵀ and AV over 2 heads of width 16
    linear = n * (d * 3 * d + d * d + d * 2 * d + 2 * d * d)  # qkv, proj, mlp
    patch = n * 3 * 16 * 16 * d
    norms = 3 * n * d * 5  # two pre-norms and the final norm, 5 per element (affine)
    assert count.flops == attention + linear + patch + norms
    assert count.attention == attention
    assert count.macs == attention + linear + patch  # norms are not multiply-adds

    def broken(t: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")

    assert count_flops(broken, x) == (None, ["gflops: FLOP counting failed (RuntimeError: boom)"])

    none, flags = count_flops(lambda t: t + 1, x)
    assert none is None and "no counted operation" in flags[0]
    eff = measure_efficiency(lambda t: t + 1, x, [vit], n_warmup=0, n_repeats=2)
    assert eff.gflops is None and eff.params == sum(p.numel() for p in vit.parameters())
    assert eff.latency_ms is not None and eff.latency_ms > 0
    big = measure_efficiency(lambda t: torch.ones(16, 1024, 1024) * t.sum(), x, [vit],
                             n_warmup=0, n_repeats=1)
    assert big.peak_memory_mb is not None and big.peak_memory_mb >= 48  # 64 MiB of float32
    assert big.memory_method.startswith("cpu peak RSS")
    with pytest.raises(InvalidInputError, match="n_repeats must be ≥ 1"):
        measure_efficiency(lambda t: t, x, [vit], n_repeats=0)


def test_sliding_window_tasks_are_tiled_at_the_run_input_size(data: Path, tmp_path: Path) -> None:
    """A task declaring a tile option (SICD) is read in tiles of the run's input size."""
    from dataclasses import replace

    from planetbench.tasks.spec import Task
    from planetbench.testing import read_npz_segmentation

    seen: list[dict[str, Any]] = []

    def tiled_reader(root: Path, split: str, **options: Any) -> Any:
        seen.append(dict(options))
        return read_npz_segmentation(root, split)

    base = tiny_segmentation_task(suite="test")
    tiled = Task(spec=replace(base.spec, name="tiny-tiled", tile_option="tile_size"),
                 reader=tiled_reader)
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with registered(TASKS, {"tiny-tiled": tiled}):
        run_experiment(_spec(data, tmp_path, tasks=["tiny-tiled"]), store=store, progress=False)
        assert seen and all(o == {"tile_size": 32} for o in seen)
        seen.clear()
        spec = _spec(data, tmp_path, tasks=["tiny-tiled"], seeds=[1],
                     data_options={"tiny-tiled": {"tile_size": 16}})
        run_experiment(spec, store=store, progress=False)
        assert seen and all(o == {"tile_size": 16} for o in seen)  # an explicit choice wins
    row = store.query(task="tiny-tiled").iloc[0]
    assert row["metrics"]["weights"] is None  # random init: nothing loaded, recorded as such


def test_resume_with_loaded_weights_and_unrelated_option_changes(
    data: Path, tmp_path: Path
) -> None:
    """A run that loaded a weights file (sha differs from the spec's) is still found on resume,
    and adding options for another encoder does not re-run it."""
    from dataclasses import replace

    from planetbench.encoders.weights import LoadReport

    base = tiny_encoders()["tiny-conv"]

    def loading_factory(**kw: Any) -> Any:
        enc = base.factory(**kw)
        enc.load_report = LoadReport(origin="file", path=tmp_path / "w.pth", url="",
                                     sha256="f" * 64, n_tensors=3)
        return enc

    entry = replace(base, factory=loading_factory)
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with registered(ENCODERS, {"tiny-loaded": entry}):
        spec = _spec(data, tmp_path, encoders=["tiny-loaded"])
        first = run_experiment(spec, store=store, progress=False)
        assert first.n_skipped == 0 and len(store) == 1
        row = store.query().iloc[0]
        assert row["input_sha256"] == "f" * 64  # what was really loaded is recorded
        assert row["metrics"]["weights"]["sha256"] == "f" * 64
        again = run_experiment(spec, store=store, progress=False)
        assert again.n_skipped == 1 and len(store) == 1

        grid = dict(encoders=["tiny-loaded", "tiny-vit"])
        run_experiment(_spec(data, tmp_path, **grid), store=store, progress=False)
        assert len(store) == 2
        changed = _spec(data, tmp_path, **grid, encoder_options={"tiny-vit": {"dim": 16}})
        third = run_experiment(changed, store=store, progress=False)
        # only the run whose own options changed runs again
        assert third.n_skipped == 1 and len(store) == 3
        assert set(store.query()["model"]) == {"tiny-loaded", "tiny-vit", "tiny-vit (dim=16)"}


def test_plugins_registered_by_name_are_chosen_in_an_experiment_file(
    data: Path, tmp_path: Path
) -> None:
    """A head, a protocol, a band policy and a cache mode registered by a plugin run from YAML."""
    from planetbench.encoders.bands import align_bands
    from planetbench.heads import HEADS, LinearHead
    from planetbench.protocols.band_policies import BAND_POLICIES
    from planetbench.protocols.dense import DENSE_PROTOCOLS, FrozenProtocol
    from planetbench.protocols.feature_cache import CACHE_MODES, CacheMode
    from planetbench.runs.experiment import load_experiment

    calls: dict[str, int] = {"head": 0, "policy": 0, "allocate": 0}

    def plugin_head(in_channels: Any, n_classes: int) -> LinearHead:
        calls["head"] += 1
        return LinearHead(in_channels, n_classes)

    def plugin_policy(task_bands: Any, encoder_spec: Any) -> Any:
        calls["policy"] += 1
        return align_bands(task_bands, encoder_spec, policy="match")

    def plugin_allocate(shape: tuple[int, ...], directory: Any, level: int) -> torch.Tensor:
        calls["allocate"] += 1
        return torch.empty(shape, dtype=torch.float16)

    class PluginFrozen(FrozenProtocol):
        name = "plugin-frozen"

    path = tmp_path / "exp.yaml"
    path.write_text(
        f"encoders: [tiny-conv]\ntasks: [tiny-seg]\nprotocols: [plugin-frozen]\nlrs: [0.01]\n"
        f"root: {data}\ninput_size: 32\nepochs: 1\nbatch_size: 3\nlatency_repeats: 1\n"
        f"fraction_dir: {tmp_path / 'fractions'}\n"
        "head: plugin-head\nband_policy: plugin-policy\ncache: plugin-cache\n"
    )
    with pytest.raises(ConfigError, match="unknown head 'plugin-head'"):
        load_experiment(path)  # not registered yet: refused when the file is loaded
    with registered(HEADS, {"plugin-head": plugin_head}), \
            registered(DENSE_PROTOCOLS, {"plugin-frozen": PluginFrozen}), \
            registered(BAND_POLICIES, {"plugin-policy": plugin_policy}), \
            registered(CACHE_MODES, {"plugin-cache": CacheMode("test", plugin_allocate)}):
        spec = load_experiment(path)
        store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
        (result,) = run_experiment(spec, store=store, progress=False).results
    assert result.protocol == "plugin-frozen"
    assert result.config["head"] == "plugin-head" and result.config["cache"] == "plugin-cache"
    assert "feature cache: plugin-cache" in result.notes
    assert any("requested plugin-policy" in n for n in result.notes)
    assert calls["head"] >= 1 and calls["policy"] >= 1 and calls["allocate"] >= 1


def test_execute_run_returns_the_result_of_one_run_unstored(data: Path, tmp_path: Path) -> None:
    from planetbench.runs.runner import execute_run

    (run,) = _spec(data, tmp_path, protocols=["finetune"]).runs()
    result = execute_run(run)
    assert result.run_key == planned_run_key(run) and result.protocol == "finetune"
    assert result.metrics["epochs_run"] == 2 and len(result.metrics["history"]) == 2
    assert "band statistics from the train" in result.notes
    assert not any(n.startswith("feature cache") for n in result.notes)  # finetune caches nothing
