"""GLD: binary glacial-lake segmentation from Sentinel-2 plus terrain and SAR coherence layers.

Layout (Cryo-Bench's ``glnet_dataset.py``): ``root/<split>/image/<stem>.tif`` (10 bands) with its
mask at ``root/<split>/mask/<stem>.tif``, masks holding 0 (background) and 1 (glacial lake). The
channel identities are argued in :data:`GLD_BANDS`.
"""

from __future__ import annotations

from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band, get_band
from planetbench.tasks.cryo.folders import IMAGE_MASK_LAYOUT, folder_reader
from planetbench.tasks.cryo.suite import (
    CRYOBENCH_CITATION,
    SUITE,
    ZENODO_ARCHIVE,
    ZENODO_CHECKSUM_NOTE,
    s2_bands,
)
from planetbench.tasks.spec import RemoteFile, Task, TaskSpec

GLD_BANDS: tuple[Band, ...] = (
    *s2_bands("B02", "B03", "B04", "B08", "B11"),
    Band("thermal", "other"),
    get_band("coherence"),
    get_band("slope"),
    get_band("elevation"),
    Band("gld_aux10", "other"),
)
"""GLD channel order in the 10-band tiles (300 × 300 px).

The dataset paper's abstract (Kaushik et al. 2022; EGU22-2904) lists ten layers: SAR coherence,
thermal, visible (3), near infrared, shortwave infrared, ALOS DEM, slope and NDWI. Cryo-Bench's
loader (``pangaea/datasets/glnet_dataset.py``) takes file channel 7 (index 6) out as the SAR
input and keeps the other nine as "optical", and its ``glnet_dataset.yaml`` lists statistics in
that order (nine optical, then SAR). Put back in file order, the published ranges identify the
layers: 1-5 reflectance (B2, B3, B4, B8, B11), 6 thermal digital numbers (11624-29958), 7 the SAR
coherence channel Cryo-Bench feeds as SAR (128-253), 8 slope in degrees (0-88), 9 elevation in
metres (2631-6809). Channel 10 (36-255) is by elimination the NDWI layer of the abstract; its
scaling is not published, so it is declared as an unnamed ancillary layer. The config's names
B8A/B5/B6/B7 for channels 6 and 8-10 (their values are not reflectances) and VV for channel 7 are
used only by the band policy ``cryobench`` (:mod:`planetbench.tasks.cryo.labels`).
"""

GLD_SPEC = TaskSpec(
    name="gld",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("background", "glacial_lake"),
    bands=GLD_BANDS,
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench pangaea-bench/configs/dataset/glnet_dataset.yaml (raw units), reordered from
    # (optical 1-6, 8-10; sar 7) into file order.
    band_mean=(1741.8805, 1683.5054, 1765.5715, 1910.0586, 1588.4366, 18645.6567, 174.6983,
               25.4476, 4865.1832, 124.7062),
    band_std=(1443.3646, 1463.0639, 1562.9365, 1451.6475, 1131.9605, 2583.5562, 30.9665,
              14.9909, 561.2580, 29.5390),
    licence="unverified: see https://zenodo.org/records/16986936",
    citation=(
        "Kaushik, S., Singh, T., Joshi, P.K. and Dietz, A.J. (2022) Automated mapping of glacial "
        "lakes using multisource remote sensing data and deep convolutional neural network, "
        "Int. J. Appl. Earth Obs. Geoinf. 115, 103085, doi:10.1016/j.jag.2022.103085; data "
        "https://zenodo.org/records/16986936"
    ),
    url=ZENODO_ARCHIVE.format(16986936),
    sha256="",
    files=(RemoteFile(ZENODO_ARCHIVE.format(16986936), "gld-zenodo-16986936.zip"),),
    layouts=(IMAGE_MASK_LAYOUT,),
    checksum_note=ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GLD: binary glacial-lake segmentation from Sentinel-2 plus terrain and SAR coherence layers."""

GLD: Task = TASKS.register("gld", Task(GLD_SPEC, folder_reader(GLD_SPEC)))

__all__ = ["GLD", "GLD_BANDS", "GLD_SPEC"]
