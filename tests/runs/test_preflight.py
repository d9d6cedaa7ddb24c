"""The grid preflight: every problem of a grid found before the first run, each named once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from planetbench.config import ExperimentSpec, validate_config
from planetbench.errors import ConfigError
from planetbench.runs.jobs import RunJob
from planetbench.runs.preflight import GridError, check_choices, check_grid, check_work
from planetbench.runs.runner import run_experiment
from planetbench.store import ResultStore
from planetbench.testing import write_tiny_segmentation

pytestmark = pytest.mark.usefixtures("tiny_dense_registry")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 4, "val": 2, "test": 2})


def _spec(data: Path | None, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["tiny-conv"], tasks=["tiny-seg"], protocols=["frozen"], input_size=32,
        epochs=1, batch_size=2, head="linear", latency_repeats=1, lrs=[1e-2],
        fraction_dir=str(tmp_path / "fractions"), num_threads=1,
    )
    if data is not None:
        values["root"] = str(data)
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def _problems(spec: ExperimentSpec, tmp_path: Path) -> list[str]:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with pytest.raises(GridError) as info:
        run_experiment(spec, store=store, progress=False, print_fn=lambda s: None)
    assert len(store) == 0  # nothing ran
    assert str(info.value).startswith(f"the experiment cannot run ({len(info.value.problems)} "
                                      "problem(s); nothing was run):")
    return info.value.problems


def test_unknown_names_are_all_listed_with_near_misses(tmp_path: Path) -> None:
    spec = _spec(None, tmp_path, encoders=["tiny-cnv", "tiny-vit"], tasks=["tiny-sg"],
                 protocols=["frozen", "finetun"], head="unt", band_policy="mach", cache="disk")
    with pytest.raises(GridError) as info:
        check_choices(spec.runs())
    problems = info.value.problems
    assert problems[0].startswith("encoders: unknown encoder 'tiny-cnv'; did you mean "
                                  "'tiny-conv'")
    assert problems[1].startswith("tasks: unknown task 'tiny-sg'; did you mean 'tiny-seg'")
    assert problems[2:] == [
        "protocols: unknown dense protocol 'finetun'; did you mean 'finetune'? Available: "
        "cryobench, cryobench-finetune, finetune, frozen, scratch",
        "head: unknown head 'unt'; did you mean 'unet' or 'upernet'? Available: linear, unet, "
        "unet-pangaea, upernet, upernet-pangaea",
        "band_policy: unknown band policy 'mach'; did you mean 'match'? Available: auto, "
        "cryobench, match, sar-rgb, wavelength, zero-fill",
    ]
    assert _problems(spec, tmp_path) == problems  # the runner checks the same first


def test_settings_problems_are_listed_once_each_before_any_run(data: Path, tmp_path: Path) -> None:
    spec = _spec(data, tmp_path, tasks=["tiny-seg", "tiny-seg2", "demo-snow-cover"],
                 roots={}, root=None, seeds=[0, 1, 2],
                 encoder_options={"tiny-conv": {"in_bands": [], "wavelengths_um": []}})
    problems = _problems(spec, tmp_path)
    assert problems[:3] == [
        "no data folder for task 'tiny-seg': set 'root' (or roots: {tiny-seg: DIR} in the "
        "experiment file, or --root on the command line)",
        "no data folder for task 'tiny-seg2': set 'root' (or roots: {tiny-seg2: DIR} in the "
        "experiment file, or --root on the command line)",
        "task 'demo-snow-cover' is a regression task; `planetbench run` evaluates segmentation, "
        "classification and detection tasks (use the embedding commands for the others)",
    ]
    assert problems[3].startswith("no data folder for task 'demo-snow-cover'")
    assert problems[4] == (
        "encoder_options of 'tiny-conv' may not set in_bands/wavelengths_um; they come from the "
        "task's bands and the band policy: remove them from encoder_options")
    assert len(problems) == 5  # 9 runs share these problems; each is named once


def test_missing_data_is_found_once_per_task_before_any_run(data: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    spec = _spec(data, tmp_path, tasks=["tiny-seg", "tiny-seg2"], seeds=[0, 1],
                 encoders=["tiny-conv", "tiny-vit"], roots={"tiny-seg2": str(missing)})
    (problem,) = _problems(spec, tmp_path)  # 4 runs of tiny-seg2, one line
    assert problem == (f"task 'tiny-seg2': no .npz files in {missing / 'train'}; write the toy "
                       f"data with planetbench.testing.write_tiny_segmentation('{missing}')")


def test_too_few_images_are_found_before_any_run(data: Path, tmp_path: Path) -> None:
    small = tmp_path / "small"
    shutil.copytree(data, small)
    for path in sorted((small / "train").glob("*.npz"))[1:]:
        path.unlink()
    (problem,) = _problems(_spec(small, tmp_path), tmp_path)
    assert problem.endswith("holds 1 train / 2 val / 2 test image(s); dense runs need at least "
                            "2 / 1 / 1")


def test_options_an_encoder_or_head_refuses_are_found_before_any_run(
    data: Path, tmp_path: Path
) -> None:
    spec = _spec(data, tmp_path, encoders=["tiny-conv", "tiny-vit"], seeds=[0, 1],
                 encoder_options={"tiny-vit": {"dims": 16}}, head="upernet",
                 head_options={"chanels": 8})
    problems = _problems(spec, tmp_path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("encoder 'tiny-conv' on task 'tiny-seg': head 'upernet' "
                                  "refused head_options {\"chanels\": 8}: ")
    assert "unexpected keyword argument 'chanels'" in problems[0]
    assert problems[1].startswith("encoder 'tiny-vit' on task 'tiny-seg': the encoder factory "
                                  "refused encoder_options {\"dims\": 16}: ")
    assert "'dims'" in problems[1] and problems[1].endswith(
        "fix or remove them under encoder_options.tiny-vit")


def test_protocol_settings_that_do_not_suit_the_encoder_are_found(data: Path,
                                                                   tmp_path: Path) -> None:
    (problem,) = _problems(_spec(data, tmp_path, encoders=["tiny-vit"], input_size=40), tmp_path)
    assert problem.startswith("encoder 'tiny-vit' on task 'tiny-seg': input_size=40 is not a "
                              "multiple of the encoder's coarsest stride 16")


def test_band_policies_that_cannot_apply_are_found(data: Path, tmp_path: Path) -> None:
    (problem,) = _problems(_spec(data, tmp_path, band_policy="sar-rgb"), tmp_path)
    assert problem.startswith("encoder 'tiny-conv' on task 'tiny-seg' (band_policy 'sar-rgb'): "
                              "cannot align the task's bands")
    assert "policy 'sar-rgb' does not apply to an encoder built for the task's own bands" in problem


def test_checks_leave_the_random_state_alone(data: Path, tmp_path: Path) -> None:
    spec = _spec(data, tmp_path, encoders=["tiny-conv", "tiny-vit"], head="upernet",
                 head_options={"channels": 8})
    torch.manual_seed(123)
    before = torch.get_rng_state()
    check_grid(spec.runs())
    check_work([RunJob.resolve(r) for r in spec.runs()])
    assert torch.equal(before, torch.get_rng_state())


def test_stored_runs_need_no_data_to_resume(data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(copy, tmp_path)
    run_experiment(spec, store=store, progress=False, print_fn=lambda s: None)
    shutil.rmtree(copy)
    again = run_experiment(spec, store=store, progress=False, print_fn=lambda s: None)
    assert again.n_skipped == 1 and len(store) == 1
    more = _spec(copy, tmp_path, seeds=[0, 1])  # the new run needs the data: refused up front
    with pytest.raises(GridError, match=r"no \.npz files in"):
        run_experiment(more, store=store, progress=False, print_fn=lambda s: None)
    assert len(store) == 1


def test_grid_error_is_a_config_error() -> None:
    error = GridError(["a", "b"])
    assert isinstance(error, ConfigError) and isinstance(error, ValueError)
    assert str(error) == "the experiment cannot run (2 problem(s); nothing was run):\n  - a\n  - b"
