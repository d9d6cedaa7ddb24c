"""Band policy ``cryobench``: the band names of Cryo-Bench's dataset configs, PANGAEA's zero-fill.

Each test builds the expected channels from the task's fake data by hand (which file channel
Cryo-Bench's config names what) and checks what the policy feeds the encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.fakes import fake_writer

from planetbench.config import DenseRunConfig
from planetbench.encoders import get_encoder
from planetbench.encoders.bands import PANGAEA_WAVELENGTHS_UM, align_bands, apply
from planetbench.errors import BandAlignmentError
from planetbench.tasks import get_task
from planetbench.tasks.bands import bands
from planetbench.tasks.cryo.labels import CRYOBENCH_CONFIGS, cryobench_config


def _sample(task: str, root: Path) -> torch.Tensor:
    """The first train image of the task's fake data as a (1, C, H, W) batch."""
    data = get_task(task).load(fake_writer(task)(root), "train")  # type: ignore[misc]
    return torch.from_numpy(np.asarray(data[0]["image"]))[None]


def test_gld_ancillary_layers_feed_ssl4eo_as_red_edge_and_missing_bands_are_zero(
    tmp_path: Path,
) -> None:
    spec = get_encoder("ssl4eo-moco-vits16").spec  # B1 … B12 with B8A and B10
    task = get_task("gld").spec
    with pytest.raises(BandAlignmentError, match="missing from the task"):
        align_bands(task.bands, spec)  # auto refuses: thermal, slope … are not red-edge light
    with pytest.warns(UserWarning, match=r"zero-filled 4 of 13 .*\['B01', 'B09', 'B10', 'B12'\]"):
        alignment = align_bands(task.bands, spec, policy="cryobench")
    # glnet_dataset.yaml names file channels 1-6, 8-10 B2 B3 B4 B8 B11 B8A B5 B6 B7
    want = {"B02": 0, "B03": 1, "B04": 2, "B08": 3, "B11": 4, "B8A": 5, "B05": 7, "B06": 8,
            "B07": 9}
    x = _sample("gld", tmp_path)
    out = apply(x, alignment)
    assert out.shape[1] == 13
    for j, band in enumerate(spec.bands):
        expected = x[:, want[band.name]] if band.name in want else torch.zeros_like(x[:, 0])
        assert torch.equal(out[:, j], expected), band.name
    record = alignment.to_record()
    assert record["policy"] == "cryobench"
    assert any("glnet_dataset.yaml" in w for w in record["warnings"])
    assert any("task channel 5 'thermal' is named optical B8A" in w for w in record["warnings"])


def test_gld_coherence_is_vv_and_gsdd_ancillary_layers_fill_satlas(tmp_path: Path) -> None:
    s1 = get_encoder("terramind-v1-large-s1").spec  # VV, VH
    with pytest.warns(UserWarning, match=r"\['VH'\]"):
        sar = align_bands(get_task("gld").spec.bands, s1, policy="cryobench")
    assert sar.index_map == (6, None)  # file channel 7 is the 'sar' VV of glnet_dataset.py
    satlas = get_encoder("satlas-swin-b").spec  # B04 B03 B02 B05 B06 B07 B08 B11 B12
    aligned = align_bands(get_task("gsdd").spec.bands, satlas, policy="cryobench")
    # gssd.yaml: B2 B3 B4 B8 B11 B12 B8A B5 B6 B7 in file order: nothing is missing
    assert aligned.index_map == (2, 1, 0, 7, 8, 9, 3, 4, 5)
    x = _sample("gsdd", tmp_path)
    assert torch.equal(apply(x, aligned)[:, 3], x[:, 7])


def test_sar_tasks_use_the_rgb_config_for_optical_encoders(tmp_path: Path) -> None:
    resnet = get_encoder("resnet50").spec  # red, green, blue
    caffe = align_bands(get_task("caffe").spec.bands, resnet, policy="cryobench")
    assert caffe.index_map == (0, 0, 0)  # zone_mapping_optical.py repeats the grey channel
    x = _sample("caffe", tmp_path)
    assert all(torch.equal(c, x[:, 0]) for c in apply(x, caffe).unbind(1))
    sicd = get_task("sicd").spec
    optical = align_bands(sicd.bands, resnet, policy="cryobench")
    assert optical.index_map == (0, 1, 2)  # ai4arctic_rgb.yaml: channels 1-3 are B4 B3 B2
    sar = align_bands(sicd.bands, get_encoder("terramind-v1-large-s1").spec, policy="cryobench")
    assert sar.index_map == (0, 1)  # ai4arctic.yaml: HH, HV named VV, VH
    assert any("HH" in w and "VV" in w for w in sar.warnings)


def test_baselines_take_every_named_channel_and_are_built_for_them(tmp_path: Path) -> None:
    entry = get_encoder("unet")
    alignment = align_bands(get_task("caffe").spec.bands, entry.spec, policy="cryobench")
    assert alignment.index_map == (0, 0, 0)
    assert [b.name for b in alignment.input_bands] == ["B04", "B03", "B02"]
    encoder = entry.factory(in_bands=alignment.input_bands, tiny=True)
    x = _sample("caffe", tmp_path)
    maps = encoder.features(apply(x, alignment))
    assert maps[0].shape[:2] == (1, encoder.spec.feature_channels[0])
    gld = align_bands(get_task("gld").spec.bands, entry.spec, policy="cryobench")
    assert gld.index_map == (0, 1, 2, 3, 4, 5, 7, 8, 9, 6)  # 'optical' list, then 'sar'


def test_dofa_gets_pangaea_wavelengths_of_the_cryobench_names(tmp_path: Path) -> None:
    entry = get_encoder("dofa-base")
    alignment = align_bands(get_task("gld").spec.bands, entry.spec, policy="cryobench")
    assert alignment.index_map == (0, 1, 2, 3, 4, 5, 7, 8, 9, 6)
    wavelengths = alignment.wavelengths_um
    assert wavelengths is not None
    assert wavelengths[5] == PANGAEA_WAVELENGTHS_UM["B8A"] == 0.864  # the thermal channel
    assert wavelengths[-1] == 3.75  # the coherence channel, as SAR
    encoder = entry.factory(in_bands=alignment.input_bands, tiny=True,
                            wavelengths_um=wavelengths)
    out = encoder.features(apply(_sample("gld", tmp_path), alignment))
    assert len(out) == 4 and torch.isfinite(out[-1]).all()
    caffe = align_bands(get_task("caffe").spec.bands, entry.spec, policy="cryobench")
    assert caffe.index_map == (0,) and caffe.wavelengths_um == (3.75,)  # zone_mapping_sar.yaml


def test_other_tasks_keep_their_names_and_refusals_say_why() -> None:
    croma = get_encoder("croma-large").spec
    with pytest.warns(UserWarning, match="zero-filled 9 of 12"):
        own = align_bands(bands("B02", "B03", "B04", "HH"), croma, policy="cryobench")
    assert own.index_map[1:4] == (0, 1, 2)
    assert any("the task's own band names" in w for w in own.warnings)
    with pytest.raises(BandAlignmentError, match="PANGAEA would refuse it too"):
        align_bands(get_task("glid").spec.bands, get_encoder("terramind-v1-large-s1").spec,
                    policy="cryobench")
    with pytest.raises(BandAlignmentError, match="Cryo-Bench runs no other"):
        align_bands(bands("B02"), get_encoder("panopticon-vitb14").spec, policy="cryobench")


def test_the_table_names_every_cryo_task_and_the_policy_is_a_run_setting() -> None:
    assert set(CRYOBENCH_CONFIGS) == {"glid", "gld", "gsdd", "sicd", "caffe"}
    for name in CRYOBENCH_CONFIGS:
        spec = get_task(name).spec
        for sar in (False, True):
            config = cryobench_config(spec.bands, sar_encoder=sar)
            assert config is not None and config.task == name
    assert cryobench_config(bands("B02"), sar_encoder=False) is None
    from planetbench.protocols.band_policies import align

    # the policy is a run setting by name (planetbench run --band-policy cryobench)
    run = DenseRunConfig(encoder="dofa-base", task="gld", root="/d", band_policy="cryobench")
    aligned = align(get_task(run.task).spec.bands, get_encoder(run.encoder).spec, run.band_policy)
    assert aligned.policy == "cryobench" and aligned.to_record()["policy"] == "cryobench"
