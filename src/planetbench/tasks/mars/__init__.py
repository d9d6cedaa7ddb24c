"""The ``mars`` suite: the 20 Mars-Bench tasks, read from Mars-Bench's published layouts.

Mars-Bench (Purohit et al. 2025, https://github.com/kerner-lab/Mars-Bench, MIT) standardises 20
Mars datasets: orbital CTX/HiRISE/THEMIS and rover Mastcam/MAHLI/Pancam/Navcam images for binary,
multi-class and multi-label classification, segmentation and object detection. Each task below is
a :class:`~planetbench.tasks.mars.base.MarsTask`: a frozen
:class:`~planetbench.tasks.spec.TaskSpec`, a reader of Mars-Bench's layouts (Zenodo folder, a
local copy of the Hugging Face repository ``Mirali33/<id>``, or ``save_to_disk`` output; see
:mod:`planetbench.tasks.mars.base`) and Mars-Bench's facts
(:class:`~planetbench.tasks.mars.info.MarsBenchInfo`).

Specs: every image is fed as 3 channels (``red``, ``green``, ``blue``) exactly as Mars-Bench loads
it (``convert("RGB")``: a grey CTX/HiRISE/THEMIS/Pancam image becomes 3 equal channels; see
``info.native_bands`` for what the files hold). Metrics are those Mars-Bench reports: ``f1``
(binary, positive-class F1 as torchmetrics computes it for Mars-Bench's ``F1Score_weighted``),
``f1_weighted`` (multi-class and multi-label), ``miou`` (segmentation, background included) and
``map`` (detection, COCO mAP@[.5:.95]). Binary tasks have two classes (Mars-Bench configures one
logit). Class names are Mars-Bench's where it publishes them, ``class_<i>`` placeholders
otherwise (``info.class_note`` says what is known; a split's ``class_names`` reports names found
in the files).

The ``mars-real`` suite (:mod:`planetbench.tasks.mars.real`) reads the small real Mars sets of
``shared/data`` in place.
"""

from __future__ import annotations

from planetbench.tasks import TASKS
from planetbench.tasks.bands import RGB
from planetbench.tasks.mars import classification, detection, segmentation
from planetbench.tasks.mars.base import MarsReader, MarsSplit, MarsTask
from planetbench.tasks.mars.info import (
    BUDGET_FRACTIONS,
    BUDGET_SHOTS,
    INFOS,
    LICENCE_NOTE,
    MARSBENCH_CITATION,
    ZENODO_COMMUNITY,
    MarsBenchInfo,
    class_names,
    hf_url,
    layout_descriptions,
)
from planetbench.tasks.spec import Layout, TaskKind, TaskSpec

SUITE = "mars"

_KIND: dict[str, TaskKind] = {
    "change": "classification",
    "multilabel": "multilabel",
    "segmentation": "segmentation",
    "detection": "detection",
}

_METRIC: dict[TaskKind, str] = {
    "classification": "f1",
    "multiclass": "f1_weighted",
    "multilabel": "f1_weighted",
    "segmentation": "miou",
    "detection": "map",
}


def _kind(info: MarsBenchInfo) -> TaskKind:
    if info.family == "classification":
        return "classification" if info.config_num_classes == 1 else "multiclass"
    return _KIND[info.family]


def mars_spec(info: MarsBenchInfo) -> TaskSpec:
    """The TaskSpec of a Mars-Bench dataset."""
    kind = _kind(info)
    return TaskSpec(
        name=info.task_id,
        suite=SUITE,
        kind=kind,
        metric=_METRIC[kind],
        classes=class_names(info),
        bands=RGB,
        ignore_index=None,
        splits=("train", "val", "test"),
        licence=LICENCE_NOTE.format(hf=hf_url(info.task_id), zenodo=ZENODO_COMMUNITY),
        citation=f"{info.source}; as standardised by Mars-Bench",
        benchmark_citation=MARSBENCH_CITATION,
        layouts=tuple(Layout(name, text) for name, text in layout_descriptions(info).items()),
        evaluation_note=info.box_free_note,
        # No single archive to download: the data is Mars-Bench's Zenodo zip or its Hugging Face
        # repository (named in the missing-data error and by `planetbench data info`).
        url="",
    )


def mars_task(info: MarsBenchInfo) -> MarsTask:
    """The task (spec + reader + facts) of a Mars-Bench dataset."""
    spec = mars_spec(info)
    family = {
        "classification": classification, "change": classification,
        "multilabel": classification, "segmentation": segmentation, "detection": detection,
    }[info.family]
    options = detection.DETECTION_OPTIONS if info.family == "detection" else ()
    reader = MarsReader(spec, info, family.open_zenodo, family.open_hf, options)
    return MarsTask(spec, reader, info=info)


MARS_TASKS: tuple[str, ...] = tuple(INFOS)
"""Ids of the 20 Mars-Bench tasks, in the paper's order."""

for _id, _info in INFOS.items():
    TASKS.register(_id, mars_task(_info))

from planetbench.tasks.mars import real  # noqa: E402  (registers the mars-real suite)

__all__ = [
    "BUDGET_FRACTIONS",
    "BUDGET_SHOTS",
    "INFOS",
    "MARS_TASKS",
    "SUITE",
    "MarsBenchInfo",
    "MarsReader",
    "MarsSplit",
    "MarsTask",
    "mars_spec",
    "mars_task",
    "real",
]
