"""Mars-Bench facts in code: per-dataset typed records, label-budget values and accepted layouts.

Sources (see ``shared/reference/mars-bench.md``): the Mars-Bench repository ``kerner-lab/Mars-Bench``
(dataset classes in ``marsbench/data``, configs in ``marsbench/configs/data``) and its paper
(Purohit et al., NeurIPS 2025 Datasets and Benchmarks, arXiv:2510.24010, Table 1). Where Mars-Bench
does not publish a fact (most class names and their index order, the data licences, the exact
archive layout), the record says so instead of guessing: class names of such tasks are
placeholders ``class_<i>`` and :attr:`MarsBenchInfo.class_note` says what is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["classification", "change", "multilabel", "segmentation", "detection"]
"""How a dataset is stored and read: single-label classification, change pairs (two grey images
stacked), multi-label classification, segmentation, detection."""

SegNaming = Literal["same_name", "jpg_png", "mmls"]
"""How a segmentation image finds its mask in the Zenodo layout: ``same_name`` (identical file
names, boulder/conequest/crater sets), ``jpg_png`` (``<stem>.jpg`` image, ``<stem>.png`` mask;
MarsSegMER/MSL, S5Mars), ``mmls`` (``Image<rest>`` image, ``Mask<rest>`` mask, 7-band tiffs)."""

LayoutName = Literal["zenodo", "hf-parquet", "hf-save-to-disk"]
LAYOUTS: tuple[LayoutName, ...] = ("zenodo", "hf-parquet", "hf-save-to-disk")
"""Accepted on-disk layouts of a Mars-Bench dataset folder ``<root>/<id>/``."""

BUDGET_FRACTIONS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20, 0.25, 0.50, 1.0)
"""Training fractions of Mars-Bench's label-budget study (paper §4.2, its result tables)."""

BUDGET_SHOTS: tuple[int, ...] = (1, 2, 5, 10, 15, 20)
"""Images per class of Mars-Bench's few-shot study (``configs/config.yaml``)."""

MARSBENCH_SEEDS: tuple[int, ...] = (0, 1, 10, 42, 123, 1000, 1234)
"""The seven seeds of every Mars-Bench result cell (paper Table 2)."""

HF_OWNER = "Mirali33"
"""Owner of Mars-Bench's Hugging Face dataset repositories (``HF_REGISTRY`` in
``marsbench/data/__init__.py``)."""

ZENODO_COMMUNITY = "https://zenodo.org/communities/mars-bench/records"
"""Where Mars-Bench's Zenodo archives are published (its README)."""

MARSBENCH_CITATION = (
    "Purohit, M., Gajera, B., Malaviya, V., Mehta, I., Kasodekar, K.S., Adler, J., Lu, S., "
    "Rebbapragada, U. and Kerner, H. (2025) Mars-Bench: A Benchmark for Evaluating Foundation "
    "Models for Mars Science Tasks, NeurIPS Datasets and Benchmarks, "
    "https://arxiv.org/abs/2510.24010"
)

LICENCE_NOTE = "unverified (the dataset cards and Zenodo records were not seen): see {hf} and {zenodo}"


def hf_url(task_id: str) -> str:
    """The Hugging Face page of Mars-Bench's copy of ``task_id``."""
    return f"https://huggingface.co/datasets/{HF_OWNER}/{task_id}"


@dataclass(frozen=True)
class MarsBenchInfo:
    """What Mars-Bench says about one of its datasets.

    Attributes:
        task_id: Mars-Bench's id, also the folder name ``<root>/<task_id>/`` and the HF repo name.
        marsbench_class: the dataset class / ``name`` in Mars-Bench's data config.
        family: how the data is stored (see :data:`Family`).
        image_size: image size as published (W × H, paper Table 1).
        native_bands: channels in the files (1 grey, 3 colour, 7 for MMLS); every image is fed as
            3 channels, as Mars-Bench loads it (``convert("RGB")``: grey → 3 equal channels).
        split_sizes: train/val/test images as published (paper Table 1).
        config_num_classes: ``num_classes`` of Mars-Bench's config (1 = binary with one logit;
            detection counts the background).
        class_note: what is and is not known of the class names and their index order.
        source: the source dataset(s) Mars-Bench builds on.
        seg_naming: image→mask file naming of a segmentation set in the Zenodo layout.
        published_shots: Mars-Bench publishes few-shot training sets (classification only).
        notes: other facts worth showing (paper conflicts, known defects of upstream loaders).
    """

    task_id: str
    marsbench_class: str
    family: Family
    image_size: str
    native_bands: int
    split_sizes: tuple[int, int, int]
    config_num_classes: int
    class_note: str
    source: str
    seg_naming: SegNaming | None = None
    published_shots: bool = False
    notes: tuple[str, ...] = ()

    @property
    def hf_repo(self) -> str:
        """The Hugging Face dataset repository, ``Mirali33/<task_id>``."""
        return f"{HF_OWNER}/{self.task_id}"

    @property
    def box_free_note(self) -> str:
        """How images without objects are treated (detection only; "" otherwise)."""
        if self.family != "detection":
            return ""
        return (
            "images without boxes are kept (boxes of shape (0, 4)); Mars-Bench's Zenodo reader "
            "drops them (only stems with at least one annotation survive); reader option "
            "drop_empty=True reproduces that"
        )


def _unknown(n: int) -> tuple[str, ...]:
    return tuple(f"class_{i}" for i in range(n))


UNKNOWN_BINARY = "names and which index is positive are not published in Mars-Bench's code"

INFOS: dict[str, MarsBenchInfo] = {
    i.task_id: i
    for i in (
        MarsBenchInfo(
            "mb-atmospheric_dust_cls_edr", "Atmospheric_Dust_Classification_EDR",
            "classification", "100×100", 1, (9817, 4969, 5214), 1, UNKNOWN_BINARY,
            "Doran et al. 2019, atmospheric dust, EDR products (paper ref. 7)", published_shots=True,
            notes=("paper Table 1 gives identical split sizes for the EDR and RDR sets "
                   "(suspicious in both OCRs of the paper)",),
        ),
        MarsBenchInfo(
            "mb-atmospheric_dust_cls_rdr", "Atmospheric_Dust_Classification_RDR",
            "classification", "100×100", 1, (9817, 4969, 5214), 1, UNKNOWN_BINARY,
            "Doran et al. 2019, atmospheric dust, RDR products (paper ref. 7)", published_shots=True,
        ),
        MarsBenchInfo(
            "mb-change_cls_ctx", "Change_Classification_CTX", "change", "150×150", 2,
            (36, 10, 10), 1, UNKNOWN_BINARY,
            "Kerner et al. 2019 (surface change detection, CTX before/after pairs)",
            published_shots=False,
            notes=("each sample is a before/after pair of grey images read as Mars-Bench stacks "
                   "them: channels (zeros, after, before)",
                   "every Mars-Bench run scores 0.7111 on this set (a constant dataset); no "
                   "few-shot results exist for it and its partitions start at 0.05"),
        ),
        MarsBenchInfo(
            "mb-change_cls_hirise", "Change_Classification_HiRISE", "change", "100×100", 2,
            (3103, 670, 670), 1, UNKNOWN_BINARY,
            "Kerner et al. 2019 (surface change detection, HiRISE before/after pairs)",
            published_shots=True,
            notes=("each sample is a before/after pair of grey images read as Mars-Bench stacks "
                   "them: channels (zeros, after, before)",),
        ),
        MarsBenchInfo(
            "mb-domars16k", "DoMars16k", "classification", "200×200", 1, (11305, 3231, 1614),
            15,
            "15 landform classes ael aec cli rid fsf sfe fsg fse fss cra sfx mix rou smo tex "
            "(Mars-Bench configs/prompts/classification/domars16k.yaml); their index order is not "
            "published: the reader reports it from annotation.csv (feature_name per label) or "
            "the Hub ClassLabel names",
            "DoMars16k (paper ref. 46; Zenodo 4291940)", published_shots=True,
            notes=("paper OCRs disagree on val/test sizes: 3231/1614 vs 1231/1014",),
        ),
        MarsBenchInfo(
            "mb-frost_cls", "Frost_Classification", "classification", "299×299", 1,
            (30124, 11415, 12249), 1,
            "0 = background, 1 = frost (Mars-Bench's annotation notebook at d1b1a9b)",
            "frost dataset (paper ref. 8; JPL dataverse doi:10.48577/jpl.QJ9PYA)",
            published_shots=True,
            notes=("paper OCRs disagree on the image size (299 vs 250 px) and test size "
                   "(12249 vs 12289)",),
        ),
        MarsBenchInfo(
            "mb-landmark_cls", "Landmark_Classification", "classification", "227×227", 1,
            (6997, 2025, 1793), 8,
            "8 classes; the source (HiRISE map-projected landmarks v3.2) names other, crater, "
            "dark dune, slope streak, bright dune, impact ejecta, swiss cheese, spider; "
            "Mars-Bench's index order is not published",
            "HiRISE map-projected landmarks v3.2 (paper ref. 44; Zenodo 4002935)", published_shots=True,
        ),
        MarsBenchInfo(
            "mb-surface_cls", "Surface_Classification", "classification", "256×256", 3,
            (6580, 1293, 1594), 36,
            "36 three-letter codes; only some indices were seen in third-party code (8 dri, 9 drh, "
            "10 drp, 11 drt, 12 flr, 13 gro, 16 lar, 28 rrd, 29 san, 30 sco; not authoritative)",
            "MSL surface images (paper refs. 44, 45; Zenodo 4033453)", published_shots=True,
        ),
        MarsBenchInfo(
            "mb-surface_multi_label_cls", "Multi_Label_MER", "multilabel", "1024×1024", 1,
            (1762, 443, 739), 25,
            "25 labels; the paper's figure names some (rover tracks, soil, spherules, nearby "
            "surface, float rocks, clasts, distant vista, sky); indices are not published",
            "MER Opportunity and Spirit Pancam labelled set (paper ref. 4; Zenodo 4302760)",
            published_shots=True,
            notes=("Mars-Bench cannot load this set from Hugging Face (int(label) on a list); "
                   "planetbench reads index lists, their string form and 0/1 vectors",),
        ),
        MarsBenchInfo(
            "mb-boulder_seg", "Boulder_Segmentation", "segmentation", "500×500", 1, (39, 6, 4),
            2, "0 = background, 1 = boulder", "MarsBoulder (paper ref. 32)",
            seg_naming="same_name",
            notes=("Mars-Bench's partitions of this set start at 0.05",),
        ),
        MarsBenchInfo(
            "mb-conequest_seg", "ConeQuest_Segmentation", "segmentation", "512×512", 1,
            (2236, 319, 643), 2, "0 = background, 1 = cone", "ConeQuest (paper ref. 33)",
            seg_naming="same_name",
        ),
        MarsBenchInfo(
            "mb-crater_binary_seg", "Crater_Binary_Segmentation", "segmentation", "512×512", 1,
            (3600, 900, 900), 2, "0 = background, 1 = crater",
            "THEMIS crater masks after Robbins & Hynek / Lagain et al. (paper refs. 40, 19)",
            seg_naming="same_name",
        ),
        MarsBenchInfo(
            "mb-crater_multi_seg", "Crater_Multi_Segmentation", "segmentation", "512×512", 1,
            (3600, 900, 900), 5,
            "background + 4 crater types (the paper's figure names other, layered, buried, "
            "secondary); index order is not published",
            "THEMIS crater masks after Robbins & Hynek / Lagain et al. (paper refs. 40, 19)",
            seg_naming="same_name",
        ),
        MarsBenchInfo(
            "mb-mars_seg_mer", "MarsSegMER", "segmentation", "1024×1024", 1, (744, 106, 214), 7,
            "background + 6 classes; names and index order are not published",
            "MarsSeg, MER part (paper ref. 21)", seg_naming="jpg_png",
        ),
        MarsBenchInfo(
            "mb-mars_seg_msl", "MarsSegMSL", "segmentation", "560×500", 3, (2893, 413, 828), 7,
            "background + 6 classes; names and index order are not published",
            "MarsSeg, MSL Mastcam part (paper ref. 21)", seg_naming="jpg_png",
        ),
        MarsBenchInfo(
            "mb-mmls", "MMLS", "segmentation", "128×128", 7, (275, 31, 256), 2,
            "0 = background, 1 = landslide",
            "Paheding et al. 2024, MarsLS-Net multimodal Martian landslide set (WACV)",
            seg_naming="mmls",
            notes=("7-band tiffs (the dataset papers list RGB, DEM, slope, thermal inertia and "
                   "grayscale layers); Mars-Bench feeds file channels 2, 1, 0 (its comment calls "
                   "0-2 BGR), which the spec's red, green, blue are",
                   "Mars-Bench's own reader raises AttributeError for every sample (self.ground); "
                   "planetbench reads the mask files"),
        ),
        MarsBenchInfo(
            "mb-s5mars", "S5Mars", "segmentation", "1200×1200", 3, (4997, 200, 800), 10,
            "10 classes by Mars-Bench's config: background + sky, ridge, soil, sand, bedrock, "
            "rock, rover, trace, hole (S5Mars.py docstring); index order is not published and "
            "third-party code lists only 9 ids",
            "S5Mars (paper ref. 49)", seg_naming="jpg_png",
            notes=("paper OCRs disagree on the train size: 4997 vs 6997",),
        ),
        MarsBenchInfo(
            "mb-boulder_det", "Boulder_Detection", "detection", "500×500", 1, (39, 6, 4), 2,
            "one object class, boulder", "MarsBoulder (paper ref. 32)",
            notes=("Mars-Bench's default partition of this set is 0.05",),
        ),
        MarsBenchInfo(
            "mb-conequest_det", "ConeQuest_Detection", "detection", "512×512", 1,
            (1158, 167, 333), 2, "one object class, cone", "ConeQuest (paper ref. 33)",
        ),
        MarsBenchInfo(
            "mb-dust_devil_det", "Dust_Devil_Detection", "detection", "about 750×750 (varies)", 1,
            (1404, 201, 402), 2, "one object class, dust devil", "dust devils (paper ref. 12)",
        ),
    )
}
"""Every Mars-Bench dataset by id, in the paper's order."""

KNOWN_CLASSES: dict[str, tuple[str, ...]] = {
    "mb-frost_cls": ("background", "frost"),
    "mb-boulder_seg": ("background", "boulder"),
    "mb-conequest_seg": ("background", "cone"),
    "mb-crater_binary_seg": ("background", "crater"),
    "mb-mmls": ("background", "landslide"),
    "mb-boulder_det": ("boulder",),
    "mb-conequest_det": ("cone",),
    "mb-dust_devil_det": ("dust_devil",),
}
"""Class names in index order where Mars-Bench publishes them."""


def class_names(info: MarsBenchInfo) -> tuple[str, ...]:
    """Class names in index order, or placeholders ``class_<i>`` where they are not published.

    Binary classification has two classes (Mars-Bench configures one logit, ``num_classes: 1``).
    """
    known = KNOWN_CLASSES.get(info.task_id)
    if known is not None:
        return known
    n = 2 if info.config_num_classes == 1 else info.config_num_classes
    return _unknown(n)


def layout_descriptions(info: MarsBenchInfo) -> dict[LayoutName, str]:
    """Human-readable description of each accepted layout for this dataset."""
    base = f"<root>/{info.task_id}/"
    if info.family in ("classification", "change"):
        zen = (
            f"{base}annotation.csv (columns file_id, feature_name, label, split) and "
            f"{base}data/<split>/<feature_name>/<file_id>"
        )
        if info.family == "change":
            zen += (" (each row names the 'before' image; the 'after' image is the same path "
                    "with 'before' replaced by 'after')")
        columns = "image, label"
    elif info.family == "multilabel":
        zen = (f"{base}annotation.csv (columns file_id, label as a list like '[1, 4]', split) "
               f"and {base}data/<split>/<file_id>")
        columns = "image, label (index list, its string form, or a 0/1 vector)"
    elif info.family == "segmentation":
        naming = {
            "same_name": "the mask has the image's file name",
            "jpg_png": "image <stem>.jpg, mask <stem>.png",
            "mmls": "image Image<rest>.tif (7 bands), mask Mask<rest>.tif",
        }[info.seg_naming or "same_name"]
        zen = f"{base}data/<split>/images/ and {base}data/<split>/masks/ ({naming})"
        columns = "image, mask"
    else:
        zen = (
            f"{base}data/<split>/images/<stem>.<ext> with boxes in any of "
            f"{base}data/<split>/pascal_voc/<stem>.xml, {base}data/<split>/coco_annotations.json, "
            f"{base}data/<split>/labels/<stem>.txt (YOLO)"
        )
        columns = "image, pascal_voc_annotation | coco_annotation | yolo_annotation"
    budget = (
        f"; label budgets in {base}partitions/<p>x_partition.csv"
        + (f" and {base}few_shot/<n>_shot.csv" if info.published_shots else "")
        + " (train rows plus all val and test rows)"
    )
    part = "partition_train_<p>x_partition" if info.family != "detection" else "<p>x_partition"
    shots = ", few_shot_train_<n>_shot" if info.published_shots else ""
    hub_splits = f"train, val, test, {part}{shots}"
    return {
        "zenodo": zen + budget,
        "hf-parquet": (
            f"{base}README.md and {base}data/<split>-<k>-of-<n>.parquet, a local copy of "
            f"{hf_url(info.task_id)} (`huggingface-cli download {info.hf_repo} --repo-type "
            f"dataset --local-dir {base}`); splits {hub_splits}; columns {columns}"
        ),
        "hf-save-to-disk": (
            f"{base}dataset_dict.json and {base}<split>/ (state.json, data-<k>-of-<n>.arrow) as "
            f"`datasets.DatasetDict.save_to_disk` writes; splits {hub_splits}; columns {columns}"
        ),
    }


__all__ = [
    "BUDGET_FRACTIONS",
    "BUDGET_SHOTS",
    "HF_OWNER",
    "INFOS",
    "KNOWN_CLASSES",
    "LAYOUTS",
    "MARSBENCH_CITATION",
    "MARSBENCH_SEEDS",
    "ZENODO_COMMUNITY",
    "Family",
    "LayoutName",
    "MarsBenchInfo",
    "SegNaming",
    "class_names",
    "hf_url",
    "layout_descriptions",
]
