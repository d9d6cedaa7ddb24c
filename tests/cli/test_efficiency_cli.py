"""``planetbench efficiency``: table and JSON, conventions named, errors exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from planetbench.cli import _load_commands, app
from planetbench.runs.efficiency import EFFICIENCY_KEYS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_load_commands()
ENV = {"COLUMNS": "160"}


def test_json_has_the_documented_keys_and_names_the_convention() -> None:
    result = CliRunner().invoke(app, ["efficiency", "--encoder", "unet", "--task", "demo-lakes",
                                      "--input-size", "32", "--format", "json",
                                      "--repeats", "1"], env=ENV)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out)[: len(EFFICIENCY_KEYS)] == [
        "encoder", "task", "protocol", "params_m", "encoder_params_m", "decoder_params_m",
        "gflops", "gflops_convention", "latency_ms", "device"]
    assert out["gflops_convention"] == "fvcore (1 multiply-add = 1 FLOP)"
    assert out["params_m"] == pytest.approx(out["encoder_params_m"] + out["decoder_params_m"])
    assert out["gflops"] > 0 and out["latency_ms"] > 0 and out["device"].startswith("cpu")
    assert out["weights"].startswith("random")


def test_table_names_conventions_device_and_random_weights() -> None:
    result = CliRunner().invoke(app, ["efficiency", "--encoder", "unet", "--task", "demo-lakes",
                                      "--input-size", "32", "--repeats", "1"], env=ENV)
    assert result.exit_code == 0, result.output
    for text in ("parameters", "encoder", "decoder", "fvcore (1 multiply-add = 1 FLOP)",
                 "1 multiply-add = 2 FLOPs", "per image (batch 1, warm-up excluded)", "cpu (",
                 "random (counting parameters and FLOPs needs no weights)", "32 px"):
        assert text in result.output, text


@pytest.mark.parametrize(("args", "message"), [
    (["--encoder", "unet", "--task", "demo-lakes", "--format", "xml"], "--format 'xml'"),
    (["--encoder", "unte", "--task", "demo-lakes"], "did you mean 'unet'"),
    (["--encoder", "unet", "--task", "demo-lakes", "--protocol", "cryobnch"],
     "did you mean 'cryobench'"),
    (["--encoder", "unet", "--task", "demo-lakes", "--repeats", "0"], "--repeats must be"),
])
def test_bad_input_exits_2_with_the_fix(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["efficiency", *args], env=ENV)
    assert result.exit_code == 2
    assert message in result.output


def test_help_has_an_example() -> None:
    shown = CliRunner().invoke(app, ["efficiency", "--help"], env=ENV).output
    assert "Examples:" in shown and "planetbench efficiency --encoder" in shown
