"""``planetbench run``: experiment YAML, single-run flags, resume, bad input → exit 2."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planetbench.cli import _load_commands, app
from planetbench.store import ResultStore
from planetbench.testing import (
    write_tiny_segmentation,
)

_load_commands()  # every command, as `planetbench` has them (one alone would be collapsed)
runner = CliRunner()
ENV = {"COLUMNS": "200"}


pytestmark = pytest.mark.usefixtures("tiny_dense_registry")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 4, "val": 2, "test": 2})


def _yaml(tmp_path: Path, data: Path, extra: str = "") -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "encoders: [tiny-conv]\n"
        "tasks: [tiny-seg]\n"
        "protocols: [frozen]\n"
        "lrs: [0.01]\n"
        f"root: {data}\n"
        "input_size: 32\nepochs: 1\nbatch_size: 2\nhead: linear\nlatency_repeats: 1\n"
        f"fraction_dir: {tmp_path / 'fractions'}\n" + extra
    )
    return path


def test_run_experiment_file_stores_and_resumes(store_url: str, tmp_path: Path,
                                                data: Path) -> None:
    path = _yaml(tmp_path, data, "seeds: [0, 1]\n")
    first = runner.invoke(app, ["run", str(path)], env=ENV)
    assert first.exit_code == 0, first.output
    assert "2 run(s) in the grid; skipping 0" in first.output
    assert "tiny-conv · tiny-seg · frozen · f=1 · lr=0.01 · seed=1: test mIoU" in first.output
    assert len(ResultStore(store_url)) == 2  # $PLANETBENCH_STORE
    assert "Cryo-Bench layout" in first.output and "avg_rank" in first.output
    again = runner.invoke(app, ["run", str(path), "--no-progress"], env=ENV)
    assert again.exit_code == 0, again.output
    assert "skipping 2 already in the store; running 0" in again.output
    assert len(ResultStore(store_url)) == 2


def test_single_run_flags_and_store_option(tmp_path: Path, data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    args = ["run", "--encoder", "tiny-vit", "--task", "tiny-seg", "--protocol", "finetune",
            "--lr", "0.001", "--seed", "3", "--root", str(data), "--input-size", "32",
            "--epochs", "1", "--batch-size", "2", "--head", "linear", "--store", url,
            "--threads", "1", "--no-progress"]
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    (row,) = ResultStore(url).query().itertuples()
    assert (row.model, row.protocol, row.lr, row.seed) == ("tiny-vit", "finetune", 1e-3, 3)
    assert row.config["input_size"] == 32 and row.config["head"] == "linear"
    assert row.config["num_threads"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("encoders: [tiny-conv\n", "is not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("encoders: [tiny-conv]\ntasks: [tiny-seg]\nepoch: 3\n",
         "invalid configuration in .*epoch: Extra inputs are not permitted"),
        ("encoders: [tiny-conv]\ntasks: [tiny-seg]\nprotocols: [frozn]\n",
         "protocols: unknown dense protocol 'frozn'; did you mean 'frozen'\\?"),
        ("encoders: [tiny-conv]\ntasks: [tiny-seg]\nhead: upernt\ncache: dsk\n"
         "band_policy: wavelenght\n",
         "3 problem.*head: unknown head 'upernt'; did you mean 'upernet'.*band_policy: unknown "
         "band policy 'wavelenght'; did you mean 'wavelength'.*cache: unknown feature cache mode "
         "'dsk'; did you mean 'disk'"),
    ],
)
def test_bad_experiment_file_exits_2_with_a_clear_message(
    store_url: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["run", str(path)], env=ENV)
    assert result.exit_code == 2
    assert result.stdout == ""
    import re

    assert re.search(message, " ".join(result.stderr.split())), result.stderr


def test_usage_errors_exit_2(store_url: str, tmp_path: Path, data: Path) -> None:
    cases = [
        (["run"], "nothing to run"),
        (["run", str(tmp_path / "missing.yaml")], "does not exist"),
        (["run", str(_yaml(tmp_path, data)), "--encoder", "tiny-conv"], "not both"),
        (["run", "--encoder", "tiny-cnv", "--task", "tiny-seg", "--root", str(data)],
         "did you mean 'tiny-conv'"),
        (["run", "--encoder", "tiny-conv", "--task", "tiny-seg"], "no data folder"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env=ENV)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)


def test_executor_options_are_checked(store_url: str, tmp_path: Path, data: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(_yaml(tmp_path, data))
    cases = [
        (["run", path, "--executor", "dask"], "--executor must be one of local, ray, got 'dask'"),
        (["run", path, "--ray-address", "auto"], "--ray-address only apply to --executor ray"),
        (["run", path, "--gpus-per-run", "1"], "--gpus-per-run only apply to --executor ray"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env=ENV)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
    monkeypatch.setitem(sys.modules, "ray", None)  # ray not installed
    result = runner.invoke(app, ["run", path, "--executor", "ray", "--no-progress"], env=ENV)
    assert result.exit_code == 2, result.output
    # the hint keeps its brackets (error text is escaped, never read as Rich markup)
    assert "ray is required for this feature but is not installed; install it with: pip install " \
        "'planetbench[ray]'" in " ".join(result.stderr.split())
    assert len(ResultStore(store_url)) == 0
    # the experiment file can choose the executor too (the command line wins)
    in_file = str(_yaml(tmp_path, data, "executor: ray\n"))
    result = runner.invoke(app, ["run", in_file, "--no-progress"], env=ENV)
    assert result.exit_code == 2 and "pip install 'planetbench[ray]'" in result.stderr
    local = runner.invoke(app, ["run", in_file, "--executor", "local", "--no-progress"], env=ENV)
    assert local.exit_code == 0, local.output
    bad = runner.invoke(app, ["run", str(_yaml(tmp_path, data, "executor: dask\n"))], env=ENV)
    assert bad.exit_code == 2 and "executor" in bad.stderr


def test_failed_run_exits_1_with_its_traceback_and_keeps_the_others(
    store_url: str, tmp_path: Path, data: Path
) -> None:
    corrupt = tmp_path / "corrupt"  # opens, then fails when its first image is read
    shutil.copytree(data, corrupt)
    first = sorted((corrupt / "train").glob("*.npz"))[0]
    first.write_bytes(first.read_bytes()[:40])
    path = _yaml(tmp_path, data, f"roots: {{tiny-seg2: {corrupt}}}\n").read_text()
    (tmp_path / "exp.yaml").write_text(path.replace("tasks: [tiny-seg]", "tasks: [tiny-seg, tiny-seg2]"))
    result = runner.invoke(app, ["run", str(tmp_path / "exp.yaml"), "--no-progress"], env=ENV)
    assert result.exit_code == 1, result.output
    assert "tiny-conv · tiny-seg · frozen · f=1 · lr=0.01 · seed=0: test mIoU" in result.stdout
    assert "stored 1 result(s)" in result.stdout
    err = " ".join(result.stderr.split())
    assert "traceback of tiny-conv · tiny-seg2 · frozen" in err and "Traceback" in err
    assert "1 of 2 run(s) failed (1 stored, 0 already in the store)" in err
    assert "BadZipFile" in err
    assert list(ResultStore(store_url).query()["task"]) == ["tiny-seg"]


def test_input_errors_are_exit_2_before_any_run(store_url: str, tmp_path: Path,
                                                data: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"encoders: [tiny-conv]\n\xff\xfe\x00\x81 tasks")
    unknown_option = _yaml(tmp_path, data, "seeds: [0, 1]\nencoder_options: {tiny-conv: {widht: 4}}\n")
    cases = [
        (["run", str(binary)], "is not UTF-8 text (byte 22 is b'\\xff')"),
        (["run", str(unknown_option)], "the experiment cannot run (1 problem(s); nothing was "
         "run): - encoder 'tiny-conv' on task 'tiny-seg': the encoder factory refused "
         "encoder_options {\"widht\": 4}"),
        (["run", "--encoder", "tiny-conv", "--task", "tiny-seg"],
         "no data folder for task 'tiny-seg': set 'root'"),
        (["run", "--encoder", "tiny-conv", "--task", "tiny-seg", "--root",
          str(tmp_path / "nowhere")], "task 'tiny-seg': no .npz files in"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env=ENV)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
        assert "Traceback" not in result.output
    assert len(ResultStore(store_url)) == 0


def test_renamed_flags_keep_their_old_spelling_hidden(tmp_path: Path, data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    base = ["run", str(_yaml(tmp_path, data)), "--store", url, "--no-progress"]
    old = runner.invoke(app, [*base, "--threads", "1", "--keep-going"], env=ENV)
    assert old.exit_code == 0, old.output
    (row,) = ResultStore(url).query().itertuples()
    assert row.config["num_threads"] == 1
    both = runner.invoke(app, [*base, "--threads", "1", "--num-threads", "2"], env=ENV)
    assert both.exit_code == 2
    assert "--threads is the old spelling of --num-threads; give --num-threads only" in both.stderr
    shown = runner.invoke(app, ["run", "--help"], env=ENV).stdout
    assert "--num-threads" in shown and "--no-fail-fast" in shown
    assert "--threads " not in shown and "--keep-going" not in shown  # hidden aliases
    assert "Examples:" in shown and "planetbench run experiment.yaml" in shown
    assert "[upernet;" in shown and "[8]" in shown  # defaults in brackets shown as written
    assert "\\[" not in shown  # plain help (no rich markup): no escape characters shown


def test_weights_flag_takes_encoder_path_or_a_bare_path_for_one_encoder(
    store_url: str, tmp_path: Path, data: Path
) -> None:
    import torch

    from planetbench.encoders import build_encoder
    from planetbench.tasks.bands import RGB

    path = tmp_path / "unet.pt"
    torch.save(build_encoder("unet", in_bands=RGB, tiny=True, seed=1).state_dict(), path)
    args = ["run", "--encoder", "unet", "--task", "tiny-seg", "--root", str(data),
            "--protocol", "finetune", "--input-size", "32", "--epochs", "1", "--batch-size", "2",
            "--head", "linear", "--no-progress"]
    tiny = tmp_path / "tiny.yaml"  # the tiny unet needs its option: an experiment file
    tiny.write_text(
        f"encoders: [unet]\nencoder_options: {{unet: {{tiny: true}}}}\ntasks: [tiny-seg]\n"
        f"protocols: [finetune]\nroot: {data}\ninput_size: 32\nepochs: 1\nbatch_size: 2\n"
        f"head: linear\nlatency_repeats: 1\nfraction_dir: {tmp_path / 'f'}\n")
    bare = runner.invoke(app, ["run", str(tiny), "--weights", str(path), "--no-progress"], env=ENV)
    assert bare.exit_code == 0, bare.output
    (row,) = ResultStore(store_url).query().to_dict(orient="records")
    assert row["metrics"]["weights"]["origin"] == "file"
    twice = runner.invoke(app, [*args, "--weights", f"unet={path}", "--weights", f"unet={path}"],
                          env=ENV)
    assert twice.exit_code == 2 and "--weights gives 'unet' twice" in twice.output
    several = tmp_path / "two.yaml"
    several.write_text(tiny.read_text().replace("encoders: [unet]", "encoders: [unet, vit]"))
    ambiguous = runner.invoke(app, ["run", str(several), "--weights", str(path)], env=ENV)
    assert ambiguous.exit_code == 2
    assert "does not say which encoder it is for" in ambiguous.output
    assert "--weights ENCODER=PATH" in ambiguous.output
    missing = runner.invoke(app, [*args, "--weights", f"unet={tmp_path / 'no.pt'}"], env=ENV)
    assert missing.exit_code == 2 and "fix the path given with --weights unet=PATH" in (
        missing.output)


def test_memory_check_refuses_and_can_be_switched_off(
    store_url: str, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.runs.memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda device: (1024, "available RAM"))
    args = ["run", str(_yaml(tmp_path, data)), "--no-progress"]
    refused = runner.invoke(app, args, env=ENV)
    assert refused.exit_code == 2
    assert "a training step needs about" in refused.output and "--no-memory-check" in (
        refused.output)
    assert len(ResultStore(store_url)) == 0
    allowed = runner.invoke(app, [*args, "--no-memory-check"], env=ENV)
    assert allowed.exit_code == 0, allowed.output
    assert len(ResultStore(store_url)) == 1


def test_the_epoch_line_keeps_its_validation_score_in_a_narrow_terminal(
    store_url: str, tmp_path: Path, data: Path
) -> None:
    # A 50-column terminal crops the progress line: the run's label goes, the score stays.
    result = runner.invoke(app, ["run", str(_yaml(tmp_path, data))], env={"COLUMNS": "50"})
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("epoch 1 ")]
    assert re.match(r"epoch 1 val mIoU \d\.\d{3} · ", line), line
