"""The ``cryo`` suite: the five Cryo-Bench segmentation tasks, read from their published layouts.

Cryo-Bench (Kaushik et al., https://github.com/Sk-2103/Cryo-Bench, MIT) evaluates frozen encoders
with a UPerNet decoder on five cryosphere datasets, scored by mIoU. Each task below pairs a frozen
:class:`~planetbench.tasks.spec.TaskSpec` with a torch-free reader. Every reader yields
``{"image": (C, H, W) float32 in spec.bands order, "mask": (H, W) int64, "id": str}``.

On-disk layouts (``root`` is the folder passed as ``--root``):

* ``glid``, ``gld``, ``gsdd`` — tiles as Cryo-Bench's PANGAEA loaders read them, image and mask
  paired by file stem, masks holding 0 (background) and 1 (target): GLID (``datasets/glid.py``)
  ``root/<split>/images/<stem>.tif`` + ``root/<split>/masks/<stem>.tif``; GLD
  (``glnet_dataset.py``) and GSDD (``datasets/gssd.py``) ``root/<split>/image/<stem>.tif`` +
  ``root/<split>/mask/<stem>.tif``. PNG/JPEG tiles are read too.
* ``sicd`` — the AI4Arctic Sea Ice Challenge "ready-to-train" scenes as mirrored by torchgeo on
  Hugging Face: ``root/train/<scene>.nc`` holding the SAR variables and the ``SIC``/``SOD``/``FLOE``
  charts, and ``root/test/<scene>.nc`` with its charts in ``root/test/<scene>_reference.nc``.
  Upstream has no validation split; ``val`` is a fixed, hash-chosen tenth of the train scenes
  (:func:`sicd_split_of`). Scenes (about 5000 × 5000 px at 80 m) are yielded as sliding-window
  tiles of ``tile_size`` (default 512) px that together cover every pixel of every scene, and for
  val/test each scene pixel is scored by exactly one tile (see
  :mod:`planetbench.tasks.readers.tiling`), unlike the centre crop of Cryo-Bench's first loader;
  ``tile_size=None`` yields whole scenes.
* ``caffe`` — the CaFFe archive as torchgeo unpacks it: ``root/caffe/sar_images/<split>/X.png``
  with zone labels ``root/caffe/zones/<split>/X'.png`` where the zone name is the image name with
  ``_zones_`` inserted (``A_B_...`` ↔ ``A_B_zones_...``). Zone pixel values 0, 64, 127, 254 are
  the classes N/A, rock, glacier, ocean/ice mélange and become 0, 1, 2, 3.

What is and is not verified: the GLID/GLD/GSDD folder layouts are the ones Cryo-Bench's loaders
read; the internal layout of the Zenodo archives was not inspected (no copy was reachable), so
after ``planetbench data download`` the files may need arranging into that layout (the
missing-data error names the layout and points at a matching sub-folder when there is one).
Channel identities: see :data:`GLD_BANDS` and :data:`GSDD_BANDS`. Where a published range
identifies a layer (slope in degrees, elevation in metres) it is declared as such; the others are
declared as non-optical ancillary channels, so band alignment never feeds them to an encoder as
red-edge light.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band, get_band
from planetbench.tasks.download import RemoteFile
from planetbench.tasks.readers.geotiff import GEOTIFF_SUFFIXES, read_geotiff
from planetbench.tasks.readers.images import IMAGE_SUFFIXES, read_image, read_label_image
from planetbench.tasks.readers.tiling import SceneStitcher, Tiling, Window, sliding_windows
from planetbench.tasks.spec import Layout, PublishedStats, Task, TaskSpec

SUITE = "cryo"

CRYOBENCH_CITATION = (
    "Kaushik, S. et al. Cryo-Bench: a benchmark for evaluating geospatial foundation models on "
    "cryosphere applications. https://github.com/Sk-2103/Cryo-Bench"
)

_ZENODO_ARCHIVE = "https://zenodo.org/api/records/{}/files-archive"

_ZENODO_CHECKSUM_NOTE = (
    "not published: Zenodo lists an MD5 per file on the record page, but the whole-record "
    "files-archive zip is assembled on request and has no published checksum, so "
    "`planetbench data verify` cannot check it"
)


_IMAGE_MASK_LAYOUT = Layout(
    "cryobench",
    "root/<split>/image/<stem>.tif (10 bands) + root/<split>/mask/<stem>.tif",
    image_folder="image",
    mask_folder="mask",
)
"""GLD's and GSDD's layout as Cryo-Bench's loaders read it."""


def _s2(*names: str) -> tuple[Band, ...]:
    return tuple(get_band(n) for n in names)


# --------------------------------------------------------------------------------------- specs

GLID_SPEC = TaskSpec(
    name="glid",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("background", "glacial_lake"),
    bands=_s2("red", "green", "blue"),
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/glid.yaml, computed on the train split (0-255 scale).
    band_mean=(120.08558725516001, 124.71967935959498, 123.13973035812378),
    band_std=(74.64604398949137, 74.35002658020812, 76.54707139907019),
    licence="unverified: see https://zenodo.org/records/14838695",
    citation=(
        "GLID glacial lake dataset (Himalaya; WorldView-2, Sentinel-2, Landsat-8, Gaofen-2 RGB), "
        "Journal of Hydrology (2025), "
        "https://www.sciencedirect.com/science/article/pii/S002216942500410X; data "
        "https://zenodo.org/records/14838695"
    ),
    url=_ZENODO_ARCHIVE.format(14838695),
    sha256="",
    files=(RemoteFile(_ZENODO_ARCHIVE.format(14838695), "glid-zenodo-14838695.zip"),),
    layouts=(
        Layout(
            "cryobench",
            "root/<split>/images/<stem>.tif + root/<split>/masks/<stem>.tif",
            image_folder="images",
            mask_folder="masks",
        ),
    ),
    checksum_note=_ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GLID: binary glacial-lake segmentation of RGB tiles (0-255) from several optical sensors."""

GLD_BANDS: tuple[Band, ...] = (
    *_s2("B02", "B03", "B04", "B08", "B11"),
    Band("thermal", "other"),
    get_band("coherence"),
    get_band("slope"),
    get_band("elevation"),
    Band("gld_aux10", "other"),
)
"""GLD channel order in the 10-band tiles (300 × 300 px).

The dataset paper's abstract (Kaushik et al. 2022; EGU22-2904) lists ten layers: SAR coherence,
thermal, visible (3), near infrared, shortwave infrared, ALOS DEM, slope and NDWI. Cryo-Bench's
loader (``pangaea/encoders/glnet_dataset.py``) takes file channel 7 (index 6) out as the SAR
input and keeps the other nine as "optical", and its ``glnet_dataset.yaml`` lists statistics in
that order (nine optical, then SAR). Put back in file order, the published ranges identify the
layers: 1-5 reflectance (B2, B3, B4, B8, B11), 6 thermal digital numbers (11624-29958), 7 the SAR
coherence channel Cryo-Bench feeds as SAR (128-253), 8 slope in degrees (0-88), 9 elevation in
metres (2631-6809). Channel 10 (36-255) is by elimination the NDWI layer of the abstract; its
scaling is not published, so it is declared as an unnamed ancillary layer. The config's names
B8A/B5/B6/B7 for channels 6 and 8-10 are not used: their values are not reflectances.
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
    url=_ZENODO_ARCHIVE.format(16986936),
    sha256="",
    files=(RemoteFile(_ZENODO_ARCHIVE.format(16986936), "gld-zenodo-16986936.zip"),),
    layouts=(_IMAGE_MASK_LAYOUT,),
    checksum_note=_ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GLD: binary glacial-lake segmentation from Sentinel-2 plus terrain and SAR coherence layers."""

GSDD_BANDS: tuple[Band, ...] = (
    *_s2("B02", "B03", "B04", "B08", "B11", "B12"),
    Band("gsdd_aux7", "other"),
    Band("gsdd_aux8", "other"),
    Band("gsdd_aux9", "other"),
    Band("gsdd_aux10", "other"),
)
"""GSDD channel order as read by Cryo-Bench's ``pangaea/datasets/gssd.py`` with ``gssd.yaml``: six
Sentinel-2 bands, then four channels the config names B8A/B5/B6/B7 whose statistics do not fit
reflectances (all ten are scaled to 0-1); the dataset paper lists slope, elevation and velocity as
ancillary layers, without an order we could verify, so they are declared as unnamed ancillary
layers."""

GSDD_SPEC = TaskSpec(
    name="gsdd",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("background", "supraglacial_debris"),
    bands=GSDD_BANDS,
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/gssd.yaml (values scaled to 0-1).
    band_mean=(0.2004, 0.2163, 0.2235, 0.2415, 0.183, 0.1761, 0.1813, 0.4101, 0.4689, 0.1117),
    band_std=(0.1966, 0.1941, 0.1919, 0.1762, 0.1627, 0.1567, 0.3303, 0.2306, 0.3337, 0.1794),
    licence="unverified: see https://zenodo.org/records/17161810",
    citation=(
        "Global supraglacial debris dataset (GSDD), Sentinel-2 with slope, elevation and velocity, "
        "https://www.sciencedirect.com/science/article/pii/S2666017225001257; data "
        "https://zenodo.org/records/17161810"
    ),
    url=_ZENODO_ARCHIVE.format(17161810),
    sha256="",
    files=(RemoteFile(_ZENODO_ARCHIVE.format(17161810), "gsdd-zenodo-17161810.zip"),),
    layouts=(_IMAGE_MASK_LAYOUT,),
    checksum_note=_ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GSDD: binary supraglacial-debris segmentation."""

_AI4ARCTIC_HF = (
    "https://huggingface.co/datasets/torchgeo/ai4artic-sea-ice-challenge/resolve/main/{}"
)

SICD_SAR_VARIABLES: tuple[str, ...] = (
    "nersc_sar_primary",
    "nersc_sar_secondary",
    "sar_incidenceangle",
)
"""netCDF variables read as image channels, in the order of the spec's bands: HH backscatter, HV
backscatter (both NERSC noise-corrected) and the SAR incidence angle."""

SICD_IGNORE = 255
"""Chart value where no ice chart exists (land, outside the chart, SAR no-data)."""

SICD_CHART = "SOD"
"""The chart used as the mask: stage of development, 6 classes, 255 where no chart exists."""

SICD_TILE_SIZE = 512
"""Default tile side in pixels (Cryo-Bench's ``img_size`` for SICD); ``tile_size=None`` reads
whole scenes instead."""

SICD_VAL_MODULUS = 10
"""One in ``SICD_VAL_MODULUS`` training scenes (by hash of the scene id) forms the ``val`` split."""

SICD_SPEC = TaskSpec(
    name="sicd",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=(
        "open_water",
        "new_ice",
        "young_ice",
        "thin_first_year_ice",
        "thick_first_year_ice",
        "old_ice",
    ),
    bands=(get_band("HH"), get_band("HV"), get_band("incidence_angle")),
    ignore_index=SICD_IGNORE,
    splits=("train", "val", "test"),
    # Not published for all three variables: Cryo-Bench's sicd_sar.yaml gives HH/HV only (kept in
    # published_stats); its third value in sicd_rgb.yaml (-0.12 ± 0.12) is a placeholder.
    band_mean=None,
    band_std=None,
    licence="CC-BY-4.0",
    citation=(
        "Buus-Hinkler, J. et al. (2022) AI4Arctic Sea Ice Challenge Dataset, Technical University "
        "of Denmark, doi:10.11583/DTU.c.6244065.v2, "
        "https://data.dtu.dk/articles/dataset/Ready-To-Train_AI4Arctic_Sea_Ice_Challenge_Dataset/"
        "21316608; Stokholm, A. et al. (2023) The AutoICE Challenge, "
        "https://egusphere.copernicus.org/preprints/2023/egusphere-2023-2648/"
    ),
    url=_AI4ARCTIC_HF.format("test.tar.gz"),
    sha256="",
    # MD5 digests as published by torchgeo's AI4ArcticSeaIce dataset; no SHA-256 is published.
    files=(
        RemoteFile(_AI4ARCTIC_HF.format("metadata.csv"), "metadata.csv",
                   md5="4b610118c2d182325ec7599434b37deb", extract=False),
        RemoteFile(_AI4ARCTIC_HF.format("train.tar.gzaa"), "train.tar.gzaa",
                   md5="847ea12d0a5100f0a00af4bb110404b4", part_of="train.tar.gz"),
        RemoteFile(_AI4ARCTIC_HF.format("train.tar.gzab"), "train.tar.gzab",
                   md5="3f4770c586487dc681d1d216c7003f2c", part_of="train.tar.gz"),
        RemoteFile(_AI4ARCTIC_HF.format("test.tar.gz"), "test.tar.gz",
                   md5="bca98ec6734783aa6f005382549a0d21"),
    ),
    layouts=(
        Layout(
            "torchgeo",
            "root/train/<scene>.nc, root/test/<scene>.nc + root/test/<scene>_reference.nc",
        ),
    ),
    checksum_note="MD5 only (published by torchgeo for each file); no SHA-256 is published",
    split_note=(
        "not upstream (the challenge ships train and test only): the train scenes whose "
        f"sha256(scene id) is 0 modulo {SICD_VAL_MODULUS}"
    ),
    published_stats=PublishedStats(
        source="Cryo-Bench configs/dataset/sicd_sar.yaml (HH, HV only)",
        band_names=("HH", "HV"),
        mean=(-0.16381396, -0.22024433),
        std=(0.61435765, 0.37416646),
    ),
    evaluation_note=(
        f"whole scenes by sliding window: tiles of {SICD_TILE_SIZE} px by default "
        "(reader options tile_size, stride); on val/test each scene pixel is scored by "
        "exactly one tile; tile_size=None yields whole scenes"
    ),
    benchmark_citation=CRYOBENCH_CITATION,
    # Reader option that sets the sliding-window tile side: the runner sets it to the run's
    # input size so that tiles are scored at full resolution and every pixel exactly once.
    tile_option="tile_size",
)
"""SICD: sea-ice stage of development from Sentinel-1 EW HH/HV scenes (AI4Arctic)."""

CAFFE_ZONE_VALUES: dict[int, int] = {0: 0, 64: 1, 127: 2, 254: 3}
"""Zone PNG pixel value → class index (N/A, rock, glacier, ocean/ice mélange)."""

_CAFFE_LUT = np.full(256, -2, dtype=np.int64)
for _value, _cls in CAFFE_ZONE_VALUES.items():
    _CAFFE_LUT[_value] = _cls

CAFFE_SPEC = TaskSpec(
    name="caffe",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("na", "rock", "glacier", "ocean_ice_melange"),
    # One 8-bit SAR amplitude channel from ERS-1/2, Envisat, RADARSAT-1, ALOS PALSAR, TerraSAR-X,
    # TanDEM-X and Sentinel-1, i.e. HH or VV depending on the scene: polarisation "mixed".
    bands=(Band("sar_amplitude", "sar", polarisation="mixed"),),
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/zone_mapping_sar.yaml (0-255 scale).
    band_mean=(73.7227,),
    band_std=(80.7074,),
    licence="CC-BY-4.0",
    citation=(
        "Gourmelon, N., Seehaus, T., Braun, M., Maier, A. and Christlein, V. (2022) Calving fronts "
        "and where to find them: a benchmark dataset and methodology for automatic glacier calving "
        "front delineation from synthetic aperture radar imagery, Earth Syst. Sci. Data 14, "
        "4287-4313; data https://doi.pangaea.de/10.1594/PANGAEA.940950"
    ),
    url="https://huggingface.co/datasets/torchgeo/caffe/resolve/"
    "cc96e8418981ce0f03afc9beace6422fdd7142c4/caffe.zip",
    sha256="",
    # MD5 as published by torchgeo's CaFFe dataset; no SHA-256 is published.
    files=(
        RemoteFile(
            "https://huggingface.co/datasets/torchgeo/caffe/resolve/"
            "cc96e8418981ce0f03afc9beace6422fdd7142c4/caffe.zip",
            "caffe.zip",
            md5="9a92fd6f05af74fbc41602595a55df0d",
        ),
    ),
    layouts=(Layout("torchgeo", "root/caffe/{sar_images,zones}/<split>/*.png"),),
    checksum_note="MD5 only (published by torchgeo for caffe.zip); no SHA-256 is published",
    evaluation_note=(
        "the mirror's 512 px patches as shipped (Cryo-Bench instead tiles the original "
        "full-size PANGAEA images at 1024 px); statistics are Cryo-Bench's"
    ),
    benchmark_citation=CRYOBENCH_CITATION,
)
"""CaFFe: glacier zone segmentation (4 classes) from single-channel SAR PNGs."""


# ------------------------------------------------------------------------------------- helpers


def _suggest_root(root: Path, relative: str) -> str:
    """A hint naming sub-folders of ``root`` (depth <= 3) that hold ``relative``, if any."""
    if not root.is_dir():
        return ""
    found: list[Path] = []
    for depth in range(1, 4):
        pattern = "/".join(["*"] * depth)
        found.extend(p for p in root.glob(pattern) if p.is_dir() and (p / relative).is_dir())
        if found:
            break
    if not found:
        return ""
    return f" Found {relative!r} under {str(found[0])!r}: did you mean --root {found[0]}?"


def _missing(
    spec: TaskSpec, root: Path, expected: str, relative: str = ""
) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"task {spec.name!r}: expected {expected} under --root {str(root)!r}, but it is not "
        f"there. Get the data with `planetbench data download {spec.name} --root {root}` "
        f"or from {spec.url}, then put the files in this layout under the root: "
        f"{spec.layout_description or expected}."
        + (_suggest_root(root, relative) if relative else "")
    )


def _check_mask(spec: TaskSpec, mask: np.ndarray, source: str) -> np.ndarray:
    allowed = set(range(spec.n_classes))
    if spec.ignore_index is not None:
        allowed.add(spec.ignore_index)
    bad = sorted(set(np.unique(mask).tolist()) - allowed)
    if bad:
        raise LabelFileError(
            f"task {spec.name!r}: mask {source} holds value(s) {bad[:10]}; allowed are class "
            f"indices 0..{spec.n_classes - 1}"
            + (f" and ignore index {spec.ignore_index}" if spec.ignore_index is not None else "")
        )
    return mask


def _no_options(spec: TaskSpec, options: dict[str, Any]) -> None:
    if options:
        raise InvalidInputError(
            f"task {spec.name!r} reader takes no options; got {', '.join(sorted(options))}"
        )


def _read_any(path: Path) -> np.ndarray:
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        return read_geotiff(path)
    return read_image(path)


def _read_any_mask(path: Path) -> np.ndarray:
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        arr = read_geotiff(path, dtype=np.int64)
        if arr.shape[0] != 1:
            raise LabelFileError(f"mask {path} has {arr.shape[0]} bands; expected 1")
        return np.asarray(arr[0])
    return read_label_image(path)


# ------------------------------------------------------------------------ image/mask folders


@dataclass(frozen=True)
class TilePair:
    """One sample on disk: its id (file stem), image file and mask file."""

    id: str
    image: Path
    mask: Path


class FolderSegmentation:
    """Image/mask tile pairs of one split (GLID, GLD, GSDD).

    Args:
        spec: the task; images must have ``len(spec.bands)`` channels.
        pairs: the samples, as listed by :func:`read_folder_split`.
    """

    def __init__(self, spec: TaskSpec, pairs: Sequence[TilePair]) -> None:
        self.spec = spec
        self.pairs = tuple(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image (C, H, W) float32, mask (H, W) int64, id."""
        pair = self.pairs[index]
        image = _read_any(pair.image)
        if image.shape[0] != len(self.spec.bands):
            raise InvalidInputError(
                f"task {self.spec.name!r}: {pair.image} has {image.shape[0]} channels, expected "
                f"{len(self.spec.bands)} ({', '.join(self.spec.band_names)})"
            )
        mask = _read_any_mask(pair.mask)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(
                f"task {self.spec.name!r}: mask {pair.mask} is {mask.shape}, image {pair.image} is "
                f"{image.shape[1:]}"
            )
        return {
            "image": image.astype(np.float32, copy=False),
            "mask": _check_mask(self.spec, mask, str(pair.mask)),
            "id": pair.id,
        }


_TILE_SUFFIXES = GEOTIFF_SUFFIXES + IMAGE_SUFFIXES


def _folders(spec: TaskSpec) -> tuple[str, str]:
    for layout in spec.layouts:
        if layout.image_folder and layout.mask_folder:
            return layout.image_folder, layout.mask_folder
    raise InvalidInputError(f"task {spec.name!r} declares no image/mask folder layout")


def read_folder_split(spec: TaskSpec, root: Path, split: str) -> FolderSegmentation:
    """List ``root/<split>/<image folder>`` and ``root/<split>/<mask folder>`` and pair by stem.

    The folder names are those Cryo-Bench's loaders read (the spec's layout's ``image_folder``
    and ``mask_folder``):
    ``images``/``masks`` for GLID, ``image``/``mask`` for GLD and GSDD.
    """
    image_name, mask_name = _folders(spec)
    img_dir, msk_dir = root / split / image_name, root / split / mask_name
    for folder in (img_dir, msk_dir):
        if not folder.is_dir():
            rel = str(folder.relative_to(root))
            raise _missing(spec, root, f"the folder {rel!r}", rel)
    images = {p.stem: p for p in img_dir.iterdir() if p.suffix.lower() in _TILE_SUFFIXES}
    masks = {p.stem: p for p in msk_dir.iterdir() if p.suffix.lower() in _TILE_SUFFIXES}
    if not images:
        raise _missing(spec, root, f"image tiles (*.tif/*.png) in {str(img_dir)!r}")
    unmatched = sorted(set(images) ^ set(masks))
    if unmatched:
        raise LabelFileError(
            f"task {spec.name!r}: {len(unmatched)} file stem(s) in {img_dir} and {msk_dir} have no "
            f"partner, e.g. {', '.join(unmatched[:5])}; every image needs a mask of the same stem"
        )
    return FolderSegmentation(spec, [TilePair(s, images[s], masks[s]) for s in sorted(images)])


def _folder_reader(spec: TaskSpec) -> Any:
    def read(root: Path, split: str, **options: Any) -> FolderSegmentation:
        _no_options(spec, options)
        return read_folder_split(spec, Path(root), split)

    read.__doc__ = f"Read split ``split`` of {spec.name!r} from ``root`` (see module docstring)."
    return read


# --------------------------------------------------------------------------------------- CaFFe


class CaFFe:
    """CaFFe zone segmentation of one split (torchgeo layout; see module docstring).

    Args:
        zone_files: zone label PNGs of the split; images are found by dropping ``_zones``.
        image_dir: ``root/caffe/sar_images/<split>``.
    """

    def __init__(self, zone_files: Sequence[Path], image_dir: Path) -> None:
        self.zone_files = tuple(zone_files)
        self.image_dir = image_dir

    def __len__(self) -> int:
        return len(self.zone_files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image (1, H, W) float32 0-255, mask (H, W) int64 in 0..3, id."""
        zone_path = self.zone_files[index]
        name = zone_path.name.replace("_zones_", "_")
        image_path = self.image_dir / name
        if not image_path.is_file():
            raise DatasetNotFoundError(
                f"task 'caffe': zone label {zone_path} has no SAR image at {image_path}"
            )
        image = read_image(image_path)
        if image.shape[0] != 1:
            raise InvalidInputError(f"CaFFe image {image_path} has {image.shape[0]} channels; "
                                    "expected 1 (grey SAR)")
        raw = read_label_image(zone_path)
        if raw.min() < 0 or raw.max() > 255 or np.any(_CAFFE_LUT[raw] == -2):
            bad = sorted(set(np.unique(raw).tolist()) - set(CAFFE_ZONE_VALUES))
            raise LabelFileError(
                f"task 'caffe': zone mask {zone_path} holds pixel value(s) {bad[:10]}; "
                f"allowed are {sorted(CAFFE_ZONE_VALUES)} (N/A, rock, glacier, ocean/ice melange)"
            )
        mask = _CAFFE_LUT[raw]
        if mask.shape != image.shape[1:]:
            raise LabelFileError(f"CaFFe mask {zone_path} is {mask.shape}, image is "
                                 f"{image.shape[1:]}")
        return {"image": image, "mask": mask, "id": Path(name).stem}


def read_caffe(root: Path, split: str, **options: Any) -> CaFFe:
    """Read split ``split`` of CaFFe from ``root/caffe`` (torchgeo's unpacked ``caffe.zip``)."""
    _no_options(CAFFE_SPEC, options)
    root = Path(root)
    zones = root / "caffe" / "zones" / split
    images = root / "caffe" / "sar_images" / split
    for folder in (zones, images):
        if not folder.is_dir():
            rel = str(folder.relative_to(root))
            raise _missing(CAFFE_SPEC, root, f"the folder {rel!r}", rel)
    files = sorted(zones.glob("*_zones_*.png"))
    if not files:
        raise _missing(CAFFE_SPEC, root, f"zone PNGs named *_zones_*.png in {str(zones)!r}")
    return CaFFe(files, images)


# ---------------------------------------------------------------------------------------- SICD


def sicd_split_of(scene_id: str) -> str:
    """``val`` or ``train`` for a scene of the upstream ``train/`` folder (hash of its id)."""
    digest = int(hashlib.sha256(scene_id.encode("utf-8")).hexdigest(), 16)
    return "val" if digest % SICD_VAL_MODULUS == 0 else "train"


def _scene_files(root: Path, split: str) -> list[Path]:
    folder = root / ("test" if split == "test" else "train")
    if not folder.is_dir():
        raise _missing(
            SICD_SPEC, root, f"the folder {folder.name!r} of AI4Arctic .nc scenes", folder.name
        )
    files = sorted(p for p in folder.glob("*.nc") if not p.name.endswith("_reference.nc"))
    if not files:
        raise _missing(SICD_SPEC, root, f"AI4Arctic scene files (*.nc) in {str(folder)!r}")
    if split == "test":
        return files
    chosen = [p for p in files if sicd_split_of(p.stem) == split]
    if not chosen:
        raise DatasetNotFoundError(
            f"task 'sicd': none of the {len(files)} scene(s) in {folder} falls in split {split!r} "
            f"({SICD_SPEC.split_note}); the full training set has about 512 scenes"
        )
    return chosen


def _label_file(scene: Path, split: str) -> Path:
    if split != "test":
        return scene
    ref = scene.with_name(scene.stem + "_reference.nc")
    if not ref.is_file():
        raise DatasetNotFoundError(
            f"task 'sicd': test scene {scene} has no chart file {ref}; the test charts ship as "
            f"<scene>_reference.nc in test.tar.gz ({SICD_SPEC.url})"
        )
    return ref


def read_sicd_scene(
    scene: Path, split: str, window: tuple[int, int, int, int] | None = None
) -> dict[str, Any]:
    """Read one AI4Arctic scene, whole or a ``(y0, x0, y1, x1)`` window of it.

    Pixels where any input variable is NaN (no data) become 0 in the image and the ignore index
    (255) in the mask, so they never count in a metric.

    Returns:
        ``{"image": (3, H, W) float32 HH/HV/incidence angle, "mask": (H, W) int64 SOD or 255,
        "id": scene stem}`` (H, W of the window when one is given).
    """
    from planetbench.tasks.readers.netcdf import read_netcdf_variables

    sar = read_netcdf_variables(scene, SICD_SAR_VARIABLES, window=window)
    chart = read_netcdf_variables(
        _label_file(scene, split), (SICD_CHART,), mask_fill=False, window=window
    )
    image = np.stack([sar[v] for v in SICD_SAR_VARIABLES]).astype(np.float32)
    mask = np.asarray(chart[SICD_CHART]).astype(np.int64)
    if mask.shape != image.shape[1:]:
        raise LabelFileError(
            f"task 'sicd': chart {SICD_CHART} in {scene} is {mask.shape}, SAR is {image.shape[1:]}"
        )
    nodata = ~np.isfinite(image).all(axis=0)
    if nodata.any():
        image = np.where(np.isfinite(image), image, np.float32(0.0))
        mask = np.where(nodata, SICD_IGNORE, mask)
    return {"image": image, "mask": _check_mask(SICD_SPEC, mask, str(scene)), "id": scene.stem}


def _tile_dict(
    scene_id: str, image: np.ndarray, mask: np.ndarray | None, window: Window, owned: Window
) -> dict[str, Any]:
    return {
        "image": image,
        "mask": mask,
        "id": f"{scene_id}@{window[0]}_{window[1]}",
        "scene": scene_id,
        "window": np.asarray(window, dtype=np.int64),
        "owned": np.asarray(owned, dtype=np.int64),
    }


def iter_scene_tiles(
    scene: dict[str, Any], size: int, stride: int | None = None, *, owned_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Cut a whole scene into the windows of :class:`Tiling`, padded to ``size``.

    Yields:
        ``{"image": (C, size, size) float32, "mask": (size, size) int64, "id":
        "<scene>@<y0>_<x0>", "scene": scene id, "window": int64 (y0, x0, y1, x1), "owned": int64
        (y0, x0, y1, x1)}``. Padding is 0 in the image and the ignore index (255) in the mask;
        with ``owned_only`` mask pixels outside the owned rectangle are 255 too, so that metrics
        over all tiles count every scene pixel exactly once.
    """
    _, h, w = scene["image"].shape
    tiling = Tiling(h, w, size, stride)
    for i, (window, owned) in enumerate(zip(tiling.windows, tiling.owned, strict=True)):
        image, mask = tiling.cut(
            scene["image"], i, mask=scene["mask"], ignore_index=SICD_IGNORE, owned_only=owned_only
        )
        yield _tile_dict(scene["id"], image, mask, window, owned)


class SICDScenes:
    """Whole AI4Arctic scenes of one split, one sample per scene (see :func:`read_sicd_scene`).

    Args:
        files: scene ``.nc`` files.
        split: ``train``, ``val`` or ``test`` (test charts live in ``<scene>_reference.nc``).
    """

    def __init__(self, files: Sequence[Path], split: str) -> None:
        self.files = tuple(files)
        self.split = split

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Scene ``index`` as a whole."""
        return read_sicd_scene(self.files[index], self.split)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]


class SICDTiles:
    """Sliding-window tiles over every scene of a split; together they cover every pixel.

    Args:
        files: scene ``.nc`` files.
        split: ``train``, ``val`` or ``test``.
        tilings: one :class:`Tiling` per file.
        owned_only: mask pixels outside each tile's owned rectangle with the ignore index, so
            that a metric over all tiles counts every scene pixel once (used for val and test).

    Items are those of :func:`iter_scene_tiles`. Each tile reads only its window from disk
    (netCDF-4 chunks), so shuffled access during training never decodes whole scenes.
    ``index_of[i]`` is ``(scene index, window index)`` of tile ``i``; :meth:`stitcher` gives a
    :class:`SceneStitcher` to reassemble one scene's tile predictions.
    """

    def __init__(
        self, files: Sequence[Path], split: str, tilings: Sequence[Tiling], *, owned_only: bool
    ) -> None:
        self.files = tuple(files)
        self.split = split
        self.tilings = tuple(tilings)
        self.owned_only = owned_only
        self.index_of = tuple((s, w) for s, t in enumerate(self.tilings) for w in range(len(t)))

    def __len__(self) -> int:
        return len(self.index_of)

    @property
    def size(self) -> int:
        """Tile side in pixels."""
        return self.tilings[0].size

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Tile ``index`` (see :func:`iter_scene_tiles` for the keys)."""
        scene_idx, window_idx = self.index_of[index]
        tiling = self.tilings[scene_idx]
        window = tiling.windows[window_idx]
        part = read_sicd_scene(self.files[scene_idx], self.split, window)
        image, mask = tiling.place(
            part["image"], window_idx, mask=part["mask"], ignore_index=SICD_IGNORE,
            owned_only=self.owned_only,
        )
        return _tile_dict(part["id"], image, mask, window, tiling.owned[window_idx])

    def stitcher(self, scene_index: int, n_channels: int | None = None) -> SceneStitcher:
        """A stitcher for scene ``scene_index``; add predictions by window index."""
        return SceneStitcher(self.tilings[scene_index], n_channels=n_channels)


def read_sicd(root: Path, split: str, **options: Any) -> SICDScenes | SICDTiles:
    """Read split ``split`` of SICD as sliding-window tiles (default) or whole scenes.

    Args:
        root: folder holding ``train/`` and ``test/`` (see module docstring).
        split: ``train``, ``val`` (a fixed tenth of the upstream train scenes) or ``test``.
        **options: ``tile_size`` (tile side in pixels, default :data:`SICD_TILE_SIZE`; None
            yields whole scenes), ``stride`` (step between tiles, default ``tile_size``) and
            ``owned_only`` (default True for val/test, False for train; see :class:`SICDTiles`).
    """
    unknown = sorted(set(options) - {"tile_size", "stride", "owned_only"})
    if unknown:
        raise InvalidInputError(
            f"task 'sicd' reader options are tile_size, stride and owned_only; got "
            f"{', '.join(unknown)}"
        )
    tile_size: int | None = options.get("tile_size", SICD_TILE_SIZE)
    stride: int | None = options.get("stride")
    owned_only = bool(options.get("owned_only", split != "train"))
    from planetbench.tasks.readers.netcdf import netcdf_variable_shape

    root = Path(root)
    files = _scene_files(root, split)
    if tile_size is None:
        if stride is not None or "owned_only" in options:
            raise InvalidInputError(
                "task 'sicd': stride and owned_only only apply together with tile_size"
            )
        return SICDScenes(files, split)
    tilings: list[Tiling] = []
    for path in files:
        shape = netcdf_variable_shape(path, SICD_SAR_VARIABLES[0])
        if len(shape) != 2:
            raise InvalidInputError(f"{path}: {SICD_SAR_VARIABLES[0]} has shape {shape}; want 2-D")
        tilings.append(Tiling(shape[0], shape[1], tile_size, stride))
    return SICDTiles(files, split, tilings, owned_only=owned_only)


# ------------------------------------------------------------------------------------ registry

GLID = TASKS.register("glid", Task(GLID_SPEC, _folder_reader(GLID_SPEC)))
GLD = TASKS.register("gld", Task(GLD_SPEC, _folder_reader(GLD_SPEC)))
GSDD = TASKS.register("gsdd", Task(GSDD_SPEC, _folder_reader(GSDD_SPEC)))
SICD = TASKS.register("sicd", Task(SICD_SPEC, read_sicd))
CAFFE = TASKS.register("caffe", Task(CAFFE_SPEC, read_caffe))

CRYO_TASKS: tuple[str, ...] = ("glid", "gld", "gsdd", "sicd", "caffe")
"""Ids of the cryo suite, in Cryo-Bench's table order."""

__all__ = [
    "CAFFE_SPEC",
    "CAFFE_ZONE_VALUES",
    "CRYO_TASKS",
    "GLD_SPEC",
    "GLID_SPEC",
    "GSDD_SPEC",
    "SICD_SPEC",
    "SICD_TILE_SIZE",
    "CaFFe",
    "FolderSegmentation",
    "SICDScenes",
    "SICDTiles",
    "iter_scene_tiles",
    "read_caffe",
    "read_folder_split",
    "read_sicd",
    "read_sicd_scene",
    "sicd_split_of",
    "sliding_windows",
]
