"""``planetbench encoders``: every registered encoder with its availability, as table or JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

# Register two command modules: with a single command Typer would drop the command name.
import planetbench.cli.data
import planetbench.cli.encoders  # noqa: F401
from planetbench.cli import app
from planetbench.encoders import get_encoder, list_encoders, list_whole_models
from planetbench.encoders.weights import cache_path

runner = CliRunner()


def _json(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["encoders", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


@pytest.mark.usefixtures("without_terratorch")
def test_json_lists_every_encoder_with_availability() -> None:
    rows = {str(r["name"]): r for r in _json()}
    assert sorted(rows) == sorted(list_encoders() + list_whole_models())
    assert {n for n, r in rows.items() if r["whole_model"]} == set(list_whole_models())
    assert rows["mb-unet"]["whole_model"] == "segmentation"
    assert rows["mb-faster-rcnn"]["whole_model"] == "detection"
    assert rows["unet"]["available"] is True and rows["unet"]["weights"] == "none"
    assert rows["dofa-base"]["weights"] == "not cached"
    assert rows["dofa-base"]["wavelength_conditioned"] is True
    spec = get_encoder("dofa-base").spec
    assert rows["dofa-base"]["weights_url"] == spec.weights_url
    assert rows["dofa-base"]["weights_path"] == str(cache_path(spec))
    prithvi = rows["prithvi-eo-v2-300"]
    assert prithvi["available"] is False and prithvi["missing"] == ["terratorch"]
    assert "pip install 'planetbench[terratorch]'" in str(prithvi["reason"])
    gfm = rows["gfm-swin"]
    assert gfm["available"] is True and gfm["weights"] == "manual"
    assert "github.com/mmendiet/GFM" in str(gfm["weights_page"])
    assert rows["spectralgpt"]["available"] is False
    assert "no installable package" in str(rows["spectralgpt"]["reason"])


def test_cached_weights_are_reported(tmp_path: Path) -> None:
    spec = get_encoder("ssl4eo-moco-vits16").spec
    path = cache_path(spec)  # under $PLANETBENCH_CACHE, a tmp folder (tests/conftest.py)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not read by the listing")
    rows = {str(r["name"]): r for r in _json()}
    assert rows["ssl4eo-moco-vits16"]["weights"] == "cached"
    assert rows["ssl4eo-dino-vits16"]["weights"] == "not cached"


@pytest.mark.usefixtures("without_terratorch")
def test_available_only_filter() -> None:
    names = {str(r["name"]) for r in _json("--available")}
    assert "unet" in names and "dofa-base" in names
    assert "gfm-swin" in names  # architecture from timm; weights passed by hand
    assert "prithvi-eo-v2-300" not in names and "spectralgpt" not in names
    every = {str(r["name"]) for r in _json("--no-available")}
    assert every == set(list_encoders() + list_whole_models()) and names < every


def test_help_ends_with_examples() -> None:
    result = runner.invoke(app, ["encoders", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--available" in result.stdout and "--no-available" in result.stdout
    assert result.stdout.rstrip().endswith("planetbench encoders --format json")


@pytest.mark.usefixtures("without_terratorch")
def test_table_shows_every_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = runner.invoke(app, ["encoders"])
    assert result.exit_code == 0, result.output
    assert f"{len(list_encoders())} encoders" in result.output
    for name in list_encoders() + list_whole_models():
        assert name in result.output, name
    assert f"{len(list_whole_models())} whole models" in result.output
    assert "terratorch is not installed" in result.output


@pytest.mark.skipif(
    importlib.util.find_spec("terratorch") is None, reason="terratorch is not installed here"
)
def test_installed_terratorch_encoders_are_available() -> None:
    rows = {str(r["name"]): r for r in _json("--available")}
    assert rows["prithvi-eo-v2-300"]["missing"] == []
    assert "terramind-v1-large" in rows


def test_unknown_format_is_refused() -> None:
    result = runner.invoke(app, ["encoders", "--format", "xml"])
    assert result.exit_code == 2
    assert "--format 'xml' is not supported; use 'table' or 'json'" in result.output
