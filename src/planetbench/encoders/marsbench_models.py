"""Mars-Bench's whole-model baselines (segmenters and detectors) as entries ``planetbench run`` takes.

Mars-Bench (``kerner-lab/Mars-Bench``) trains, besides its classifiers (:mod:`.marsbench`),
whole segmentation models of segmentation_models_pytorch (smp) and whole torchvision detectors.
They are not an encoder plus a head: each brings its own decoder or detector, built and trained as
Mars-Bench builds them. They are registered beside the encoders so that a run, an experiment grid
and a leaderboard name them like any model (``planetbench run --encoder mb-unet --task
mb-conequest_seg``; ``encoders: [mb-unet, dofa-base]``), but they are **whole models**
(:attr:`~planetbench.encoders.base.EncoderSpec.whole_model` names the task kind), listed apart
(:func:`list_whole_models`), and they have no ``features``/``embed``:

====================  ==================  =========================================================
id                    kind                architecture (built in :mod:`planetbench.heads`)
====================  ==================  =========================================================
``mb-unet``           segmentation        smp ``Unet``, ResNet-34 encoder (ImageNet, smp-hub)
``mb-deeplabv3plus``  segmentation        smp ``DeepLabV3Plus``, ResNet-34 encoder
``mb-segformer``      segmentation        smp ``Segformer`` on a ResNet-34 encoder (Mars-Bench's
                                          choice; not the MiT encoder of the SegFormer paper)
``mb-dpt``            segmentation        smp ``DPT``, timm ViT-B/16 ``augreg_in21k`` encoder
``mb-faster-rcnn``    detection           torchvision Faster R-CNN ResNet-50 FPN (COCO)
``mb-retinanet``      detection           torchvision RetinaNet ResNet-50 FPN v2 (COCO)
``mb-ssd``            detection           SSD head on torchvision ResNet-34 (ImageNet)
====================  ==================  =========================================================

The run's protocol is Mars-Bench's training type: ``frozen`` = ``feature_extraction`` (the
segmenter's encoder, or the detector's backbone, is frozen; the rest trains), ``finetune`` =
``transfer_learning``, ``scratch`` = ``scratch_training`` (Mars-Bench's own: its Faster R-CNN and
RetinaNet keep torchvision's ImageNet backbone there). Inputs are the task's bands aligned to RGB,
resized to 224 px and standardised with ImageNet's statistics, as Mars-Bench's transforms do.

The factory only records what to build (id, tiny, weights); the protocol builds the model once
it knows the task's classes (:mod:`planetbench.protocols.whole_models`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

from planetbench.encoders.base import (
    ENCODERS,
    Architecture,
    Encoder,
    EncoderSpec,
    PretrainedWeights,
    RegisteredEncoder,
)
from planetbench.encoders.marsbench import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MARSBENCH_NOTE,
    check_factory_options,
)
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import RGB, Band

#: Whole-model kinds.
WHOLE_MODEL_KINDS: tuple[str, ...] = ("segmentation", "detection")

_SMP_LICENCE = ("MIT (segmentation_models_pytorch); encoder weights ImageNet-1k under their "
                "publishers' terms (ImageNet: non-commercial research)")
_TV_LICENCE = ("BSD-3-Clause (torchvision code); COCO/ImageNet weights under torchvision's terms")
_SMP_RESNET34 = "smp-hub/resnet34.imagenet"
_SMP_RESNET34_REVISION = "7a57b34f723329ff020b3f8bc41771163c519d0c"


def _smp_resnet34() -> PretrainedWeights:
    return PretrainedWeights(
        source="url",
        url=(f"https://huggingface.co/{_SMP_RESNET34}/resolve/{_SMP_RESNET34_REVISION}/"
             "model.safetensors"),
        hf_hub_id=_SMP_RESNET34, hf_filename="model.safetensors",
        sha256_note="pinned by the repository revision smp names; loaded strictly",
        mean=IMAGENET_MEAN, std=IMAGENET_STD, pretraining="supervised (ImageNet-1k)",
        normalisation="ImageNet mean/std on 0–1 RGB (Mars-Bench: max 255)",
    )


def _torchvision(url: str, pretraining: str) -> PretrainedWeights:
    return PretrainedWeights(
        source="url", url=url,
        sha256_note="torch hub checks the hash prefix in the file name",
        mean=IMAGENET_MEAN, std=IMAGENET_STD, pretraining=pretraining,
        normalisation="ImageNet mean/std on 0–1 RGB (Mars-Bench: max 255), then the "
                      "detector's own ImageNet normalisation (as in Mars-Bench)",
    )


def _spec(name: str, kind: str, weights: PretrainedWeights, architecture: Architecture,
          citation: str, *, smp: bool) -> EncoderSpec:
    return EncoderSpec(
        name=name, bands=RGB, input_size=224, weights=weights, architecture=architecture,
        licence=_SMP_LICENCE if smp else _TV_LICENCE,
        citation=f"{citation}; {MARSBENCH_NOTE}",
        requires=("segmentation_models_pytorch",) if smp else (),
        whole_model=kind,
    )


#: Registry id → (the baseline id in :mod:`planetbench.heads`, spec).
WHOLE_MODELS: dict[str, tuple[str, EncoderSpec]] = {
    "mb-unet": ("unet", _spec(
        "mb-unet", "segmentation", _smp_resnet34(),
        Architecture("smp", "Unet(resnet34)", tiny_name="Unet(resnet18), small decoder"),
        "Ronneberger et al., U-Net, MICCAI 2015", smp=True)),
    "mb-deeplabv3plus": ("deeplabv3plus", _spec(
        "mb-deeplabv3plus", "segmentation", _smp_resnet34(),
        Architecture("smp", "DeepLabV3Plus(resnet34)", tiny_name="DeepLabV3Plus(resnet18)"),
        "Chen et al., DeepLabv3+, ECCV 2018", smp=True)),
    "mb-segformer": ("segformer", _spec(
        "mb-segformer", "segmentation", _smp_resnet34(),
        Architecture("smp", "Segformer(resnet34)", tiny_name="Segformer(resnet18)"),
        "Xie et al., SegFormer, NeurIPS 2021 (decoder; Mars-Bench's ResNet-34 encoder)",
        smp=True)),
    "mb-dpt": ("dpt", _spec(
        "mb-dpt", "segmentation",
        PretrainedWeights(
            source="url",
            url=("https://huggingface.co/timm/vit_base_patch16_224.augreg_in21k/resolve/main/"
                 "model.safetensors"),
            hf_hub_id="timm/vit_base_patch16_224.augreg_in21k", hf_filename="model.safetensors",
            sha256_note="timm's Hugging Face repository (no published digest); loaded strictly",
            mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), pretraining="supervised (ImageNet-21k)",
            normalisation="Mars-Bench feeds ImageNet mean/std whatever the encoder"),
        Architecture("smp", "DPT(tu-vit_base_patch16_224.augreg_in21k)",
                      tiny_name="DPT on a tiny ViT"),
        "Ranftl et al., DPT, ICCV 2021", smp=True)),
    "mb-faster-rcnn": ("faster-rcnn", _spec(
        "mb-faster-rcnn", "detection",
        _torchvision("https://download.pytorch.org/models/"
                     "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth", "COCO detection"),
        Architecture("torchvision", "fasterrcnn_resnet50_fpn", tiny_name="ResNet (1 block/stage)"),
        "Ren et al., Faster R-CNN, NeurIPS 2015", smp=False)),
    "mb-retinanet": ("retinanet", _spec(
        "mb-retinanet", "detection",
        _torchvision("https://download.pytorch.org/models/"
                     "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth", "COCO detection"),
        Architecture("torchvision", "retinanet_resnet50_fpn_v2",
                     tiny_name="ResNet (1 block/stage)"),
        "Lin et al., Focal Loss (RetinaNet), ICCV 2017", smp=False)),
    "mb-ssd": ("ssd", _spec(
        "mb-ssd", "detection",
        _torchvision("https://download.pytorch.org/models/resnet34-b627a593.pth",
                     "supervised (ImageNet-1k)"),
        Architecture("torchvision", "ssd(resnet34)", tiny_name="ResNet (1 block/stage)"),
        "Liu et al., SSD, ECCV 2016", smp=False)),
}


class WholeModel(Encoder):
    """A registered whole-model baseline: what to build, not yet built (it needs the classes).

    Args:
        spec: the registry entry's spec.
        baseline: the baseline id in :mod:`planetbench.heads` (``unet``, ``faster-rcnn`` …).
        tiny: build the miniature (tests).
        weights: None (published), ``"none"`` (random; scratch only) or a weights file.
        scratch: built for ``scratch`` (Mars-Bench's ``scratch_training``).

    Attributes:
        kind: the task kind it is built for.
        load_report: once a protocol has built it, the weights file it read (origin, path,
            sha256 …), or None for random weights; recorded in the run's result.
    """

    def __init__(self, spec: EncoderSpec, *, baseline: str, tiny: bool,
                 weights: str | Path | None, scratch: bool) -> None:
        super().__init__()
        self.spec = spec
        self.baseline = baseline
        self.kind = spec.whole_model
        self.tiny = tiny
        self.weights = weights
        self.scratch = scratch

    def _refuse(self) -> InvalidInputError:
        return InvalidInputError(
            f"{self.spec.name!r} is a whole {self.kind} model (Mars-Bench's baseline, with its "
            "own decoder/detector), not an encoder: it has no features or embeddings. Run it "
            f"with `planetbench run --encoder {self.spec.name}` on a {self.kind} task"
        )

    def features(self, x: Tensor) -> list[Tensor]:
        """Refused: a whole model has no feature maps of its own to give."""
        raise self._refuse()

    def embed(self, x: Tensor) -> Tensor:
        """Refused: a whole model gives no embeddings."""
        raise self._refuse()


def _factory(name: str) -> Any:
    baseline, spec = WHOLE_MODELS[name]

    def factory(
        *,
        in_bands: Sequence[Band] | None = None,
        tiny: bool = False,
        weights: str | Path | None = None,
        seed: int | None = None,
        random_init: bool = False,
        **options: Any,
    ) -> WholeModel:
        check_factory_options(name, options, random_init=random_init, weights=weights)
        if weights is not None and str(weights) != "none" and not Path(weights).expanduser(
        ).is_file():
            raise InvalidInputError(
                f"weights file {weights} of {name!r} does not exist; fix --weights {name}=PATH"
            )
        return WholeModel(spec, baseline=baseline, tiny=tiny,
                          weights=None if random_init else weights, scratch=random_init)

    return factory


for _name, (_, _spec_of) in WHOLE_MODELS.items():
    ENCODERS.register(_name, RegisteredEncoder(_spec_of, _factory(_name)))


def is_whole_model(spec: EncoderSpec) -> bool:
    """True for a whole-model baseline (see the module docstring)."""
    return bool(spec.whole_model)


__all__ = ["WHOLE_MODELS", "WHOLE_MODEL_KINDS", "WholeModel", "is_whole_model"]
