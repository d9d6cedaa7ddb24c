"""Object detection metrics: COCO mean average precision and recall (Lin et al. 2014, "Microsoft
COCO: Common Objects in Context"), as Mars-Bench reports them.

Mars-Bench scores detection with torchmetrics' ``MeanAveragePrecision(iou_type="bbox")``, which runs
pycocotools' ``COCOeval`` with torchmetrics' thresholds. This module re-implements that evaluation
(NumPy, no pycocotools needed) and is tested against it; the conventions are COCO's:

* Boxes are ``xyxy`` in pixels. As in torchmetrics they are held in float32 and converted to
  ``xywh`` in float32; IoU and areas are then computed in float64 like pycocotools' ``bbIou``.
* Per image and class, detections are sorted by score (stable) and the best 100 kept. For each
  IoU threshold t (10 values 0.50:0.05:0.95, the float32 values torchmetrics passes: a box at
  IoU exactly 0.6 does *not* match at t = float32(0.6) = 0.6000000238), detections
  are matched greedily in score order, each to the unmatched ground-truth box of highest IoU ≥ t
  (the last one on ties). Unmatched detections are false positives, also in images without any
  ground truth (which count like any other image).
* Per class, detections of all images are pooled and sorted by score; precision is made monotone
  and read at 101 recall points 0:0.01:1 (COCO's interpolation); AP is their mean. ``map``
  averages AP over the thresholds and over the classes that have ground truth; a class with no
  ground-truth box is left out (torchmetrics reports −1 for it; here None).
* Sizes (``map_small`` …) score only ground truth of area < 32², 32²–96², > 96² px² (bounds
  inclusive as in COCO); unmatched detections outside the range are ignored, not false
  positives.
* Recall ``mar_1``/``mar_10``/``mar_100``: recall with at most 1/10/100 detections per image
  and class, averaged over thresholds and classes.

Names (as the store records them; fractions in [0, 1], higher is better, None where undefined):
``map`` (= Mars-Bench's "mAP"), ``map_50``, ``map_75``, ``map_small``, ``map_medium``,
``map_large``, ``mar_1``, ``mar_10``, ``mar_100``, ``mar_small``, ``mar_medium``, ``mar_large``,
and ``map_per_class`` (class name → AP or None).

Mars-Bench drops images without boxes from its detection sets; planetbench keeps them for
evaluation, so false positives on empty images lower the score (a protocol difference, not a
metric one).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError

#: Metric name → whether higher is better.
DETECTION_METRICS: dict[str, bool] = {
    name: True
    for name in ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1",
                 "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large")
}


@functools.cache
def _torch_linspace(start: float, stop: float, num: int) -> tuple[float, ...]:
    """``torch.linspace(start, stop, num).tolist()``, exactly as torchmetrics builds its thresholds.

    The values are float32 and torch may round them differently on different CPUs (fused
    multiply-add), so they are computed by torch at run time rather than written down: this way
    they equal what Mars-Bench's torchmetrics passes to COCOeval on the same machine.
    """
    import torch

    return tuple(torch.linspace(start, stop, num).tolist())


def coco_iou_thresholds() -> tuple[float, ...]:
    """IoU thresholds 0.50:0.05:0.95 (10 float32 values, as torchmetrics passes them)."""
    return _torch_linspace(0.5, 0.95, 10)


def coco_recall_thresholds() -> tuple[float, ...]:
    """Recall points 0:0.01:1 of COCO's 101-point interpolation (float32, as torchmetrics)."""
    return _torch_linspace(0.0, 1.0, 101)


#: Maximum detections per image and class for ``mar_1``, ``mar_10``, ``mar_100`` (and AP at 100).
COCO_MAX_DETECTIONS: tuple[int, int, int] = (1, 10, 100)
#: Area ranges in px² (all, small, medium, large), bounds inclusive.
COCO_AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}


@dataclass(frozen=True)
class _Image:
    """One image's boxes: xywh float64 (from float32), areas, labels, scores (detections)."""

    gt_xywh: np.ndarray
    gt_labels: np.ndarray
    dt_xywh: np.ndarray
    dt_labels: np.ndarray
    dt_scores: np.ndarray


@dataclass(frozen=True)
class _EvalImg:
    """Per (class, area range, image) matching result, detections sorted by score."""

    scores: np.ndarray  # (D,)
    matched: np.ndarray  # (T, D) bool
    ignored: np.ndarray  # (T, D) bool
    n_gt: int  # ground truth boxes not ignored in this area range


def _array(obj: Mapping[str, Any], key: str, where: str) -> np.ndarray:
    if key not in obj:
        raise InvalidInputError(f"{where} has no {key!r}; give boxes, labels (and scores for "
                                "predictions)")
    value = obj[key]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _boxes(obj: Mapping[str, Any], where: str) -> np.ndarray:
    b = _array(obj, "boxes", where)
    if b.size == 0:
        return np.zeros((0, 4), dtype=np.float32)
    if b.ndim != 2 or b.shape[1] != 4:
        raise InvalidInputError(f"{where}: boxes must have shape (N, 4) (xyxy pixels); got "
                                f"{b.shape}")
    b = b.astype(np.float32)
    if not np.isfinite(b).all():
        raise InvalidInputError(f"{where}: boxes hold NaN or inf")
    if ((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any():
        raise InvalidInputError(f"{where}: boxes must be xyxy with x2 ≥ x1 and y2 ≥ y1 (convert "
                                "xywh or cxcywh boxes first)")
    return b


def _xywh(b: np.ndarray) -> np.ndarray:
    """xyxy float32 → xywh computed in float32 (torchvision's box_convert), returned as float64."""
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    return np.stack([b[:, 0], b[:, 1], w, h], axis=1).astype(np.float64)


def _labels(obj: Mapping[str, Any], n: int, where: str) -> np.ndarray:
    lab = _array(obj, "labels", where).reshape(-1)
    if len(lab) != n:
        raise InvalidInputError(f"{where}: {n} boxes but {len(lab)} labels")
    if n and not (np.issubdtype(lab.dtype, np.integer) and lab.min() >= 0):
        raise InvalidInputError(f"{where}: labels must be non-negative integers; got {lab[:5]}")
    return lab.astype(np.int64)


def iou_xywh(dt: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of every detection with every ground-truth box, as pycocotools' ``bbIou``.

    Args:
        dt: (D, 4) boxes ``x, y, w, h`` in pixels.
        gt: (G, 4) boxes ``x, y, w, h`` in pixels.

    Returns:
        (D, G) float64 IoU (0 where boxes do not overlap or both have zero area).
    """
    if len(dt) == 0 or len(gt) == 0:
        return np.zeros((len(dt), len(gt)))
    w = (np.minimum(dt[:, None, 0] + dt[:, None, 2], gt[None, :, 0] + gt[None, :, 2])
         - np.maximum(dt[:, None, 0], gt[None, :, 0]))
    h = (np.minimum(dt[:, None, 1] + dt[:, None, 3], gt[None, :, 1] + gt[None, :, 3])
         - np.maximum(dt[:, None, 1], gt[None, :, 1]))
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = (dt[:, 2] * dt[:, 3])[:, None] + (gt[:, 2] * gt[:, 3])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _last_argmax(values: np.ndarray) -> np.ndarray:
    """Index of the last maximum of each row."""
    return values.shape[1] - 1 - np.argmax(values[:, ::-1], axis=1)


def _match(
    ious: np.ndarray, gt_ignore: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching of score-sorted detections to ground truth (no crowd boxes).

    Args:
        ious: (D, G) IoU, detections in score order.
        gt_ignore: (G,) bool, True for ground truth outside the area range.
        thresholds: (T,) IoU thresholds.

    Returns:
        ``matched`` (T, D) bool and ``matched_ignored`` (T, D) bool (matched to ignored gt).
    """
    n_t, (n_d, n_g) = len(thresholds), ious.shape
    matched = np.zeros((n_t, n_d), dtype=bool)
    on_ignored = np.zeros((n_t, n_d), dtype=bool)
    if n_d == 0 or n_g == 0:
        return matched, on_ignored
    taken = np.zeros((n_t, n_g), dtype=bool)
    thr = np.minimum(thresholds, 1 - 1e-10)[:, None]
    rows = np.arange(n_t)
    for d in range(n_d):
        ok = ~taken & (ious[d][None, :] >= thr)
        for ignored in (False, True):  # regular ground truth first, ignored only as a fallback
            cand = ok & (gt_ignore[None, :] == ignored) & ~matched[:, d : d + 1]
            if not cand.any():
                continue
            best = _last_argmax(np.where(cand, ious[d][None, :], -1.0))
            hit = cand[rows, best]
            taken[rows[hit], best[hit]] = True
            matched[hit, d] = True
            on_ignored[hit, d] = ignored
    return matched, on_ignored


@dataclass
class DetectionMeter:
    """Accumulates predictions and ground truth image by image; :meth:`compute` gives COCO metrics.

    Args:
        class_names: names of the object classes with labels 1..C (0 is the background and never
            a box label); when given, labels outside 1..C are refused. Empty: any non-negative
            integer label, named by its number.
    """

    class_names: tuple[str, ...] = ()
    _images: list[_Image] = field(default_factory=list, repr=False)

    def reset(self) -> None:
        """Forget every update."""
        self._images = []

    def update(
        self, preds: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add images: one prediction dict and one target dict per image.

        Args:
            preds: per image ``boxes`` (N, 4) xyxy px, ``scores`` (N,), ``labels`` (N,) — what a
                torchvision detector returns in eval mode.
            targets: per image ``boxes`` (M, 4) xyxy px (shape (0, 4) or empty for an image without
                objects) and ``labels`` (M,).

        Raises:
            InvalidInputError: lengths differ, a key is missing, boxes are not (N, 4) xyxy with
                x2 ≥ x1, labels are out of range or scores are not finite.
        """
        if len(preds) != len(targets):
            raise InvalidInputError(
                f"got {len(preds)} prediction dicts for {len(targets)} target dicts; give one of "
                "each per image"
            )
        start = len(self._images)
        for i, (p, t) in enumerate(zip(preds, targets, strict=True)):
            where = f"image {start + i}"
            gt = _boxes(t, f"{where} target")
            dt = _boxes(p, f"{where} prediction")
            scores = _array(p, "scores", f"{where} prediction").reshape(-1).astype(np.float32)
            if len(scores) != len(dt) or not np.isfinite(scores).all():
                raise InvalidInputError(
                    f"{where} prediction: {len(dt)} boxes but {len(scores)} scores, or scores "
                    "not finite"
                )
            image = _Image(_xywh(gt), _labels(t, len(gt), f"{where} target"), _xywh(dt),
                           _labels(p, len(dt), f"{where} prediction"), scores.astype(np.float64))
            if self.class_names:
                n = len(self.class_names)
                for lab in (image.gt_labels, image.dt_labels):
                    if lab.size and (lab.min() < 1 or lab.max() > n):
                        raise InvalidInputError(
                            f"{where}: labels must lie in 1..{n} (0 is the background) for the "
                            f"classes {self.class_names}; got {sorted(set(lab.tolist()))}"
                        )
            self._images.append(image)

    # ----------------------------------------------------------------------------- evaluation

    def _evaluate_class(
        self, label: int, thresholds: np.ndarray, max_det: int
    ) -> dict[str, list[_EvalImg]]:
        out: dict[str, list[_EvalImg]] = {a: [] for a in COCO_AREA_RANGES}
        for img in self._images:
            g = img.gt_xywh[img.gt_labels == label]
            keep = img.dt_labels == label
            if len(g) == 0 and not keep.any():
                continue
            order = np.argsort(-img.dt_scores[keep], kind="mergesort")[:max_det]
            d = img.dt_xywh[keep][order]
            scores = img.dt_scores[keep][order]
            ious = iou_xywh(d, g)
            g_area = g[:, 2] * g[:, 3]
            d_area = d[:, 2] * d[:, 3]
            for name, (lo, hi) in COCO_AREA_RANGES.items():
                g_ig = (g_area < lo) | (g_area > hi)
                gt_order = np.argsort(g_ig, kind="mergesort")  # regular ground truth first
                matched, on_ig = _match(ious[:, gt_order], g_ig[gt_order], thresholds)
                outside = (d_area < lo) | (d_area > hi)
                ignored = on_ig | (~matched & outside[None, :])
                out[name].append(_EvalImg(scores, matched, ignored, int((~g_ig).sum())))
        return out

    @staticmethod
    def _accumulate(
        evals: list[_EvalImg], max_det: int, rec_thr: np.ndarray, n_t: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Interpolated precision (T, R) and recall (T,) of one class and area, None without gt."""
        n_gt = sum(e.n_gt for e in evals)
        if not evals or n_gt == 0:
            return None
        scores = np.concatenate([e.scores[:max_det] for e in evals])
        order = np.argsort(-scores, kind="mergesort")
        matched = np.concatenate([e.matched[:, :max_det] for e in evals], axis=1)[:, order]
        ignored = np.concatenate([e.ignored[:, :max_det] for e in evals], axis=1)[:, order]
        tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
        fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
        n_d = tp.shape[1]
        precision = np.zeros((n_t, len(rec_thr)))
        recall = np.zeros(n_t)
        if n_d == 0:
            return precision, recall
        rc = tp / n_gt
        pr = tp / (fp + tp + np.spacing(1))
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # monotone envelope
        recall = rc[:, -1]
        for t in range(n_t):
            idx = np.searchsorted(rc[t], rec_thr, side="left")
            inside = idx < n_d
            precision[t, inside] = pr[t, idx[inside]]
        return precision, recall

    def compute(self) -> dict[str, Any]:
        """COCO metrics of every image added so far (names in the module docstring).

        Returns:
            The floats of :data:`DETECTION_METRICS` (None where no class has ground truth),
            ``map_per_class`` (class name → AP or None), ``n_images`` and ``n_boxes`` (ground
            truth).
        """
        thresholds = np.asarray(coco_iou_thresholds())
        rec_thr = np.asarray(coco_recall_thresholds())
        n_t = len(thresholds)
        labels = sorted(
            {int(v) for img in self._images for v in (*img.gt_labels, *img.dt_labels)}
            | set(range(1, len(self.class_names) + 1))
        )
        # per area → list over classes of (precision (T, R), recall per max_det {m: (T,)}) or None
        ap: dict[str, list[np.ndarray | None]] = {a: [] for a in COCO_AREA_RANGES}
        ar: dict[tuple[str, int], list[np.ndarray | None]] = {}
        for label in labels:
            evals = self._evaluate_class(label, thresholds, COCO_MAX_DETECTIONS[-1])
            for area, per_image in evals.items():
                for m in COCO_MAX_DETECTIONS:
                    res = self._accumulate(per_image, m, rec_thr, n_t)
                    if m == COCO_MAX_DETECTIONS[-1]:
                        ap[area].append(None if res is None else res[0])
                    ar.setdefault((area, m), []).append(None if res is None else res[1])

        def mean(values: list[np.ndarray | None], t: int | None = None) -> float | None:
            got = [v if t is None else v[t] for v in values if v is not None]
            return float(np.mean(got)) if got else None

        t50 = int(np.flatnonzero(thresholds == 0.5)[0])
        t75 = int(np.flatnonzero(thresholds == 0.75)[0])
        m_last = COCO_MAX_DETECTIONS[-1]
        out: dict[str, Any] = {
            "map": mean(ap["all"]),
            "map_50": mean(ap["all"], t50),
            "map_75": mean(ap["all"], t75),
            "map_small": mean(ap["small"]),
            "map_medium": mean(ap["medium"]),
            "map_large": mean(ap["large"]),
        }
        for m in COCO_MAX_DETECTIONS:
            out[f"mar_{m}"] = mean(ar.get(("all", m), []))
        for size in ("small", "medium", "large"):
            out[f"mar_{size}"] = mean(ar.get((size, m_last), []))

        def name(label: int) -> str:
            if self.class_names and 1 <= label <= len(self.class_names):
                return self.class_names[label - 1]
            return str(label)

        out["map_per_class"] = {
            name(label): (None if p is None else float(p.mean()))
            for label, p in zip(labels, ap["all"], strict=True)
        }
        out["n_images"] = len(self._images)
        out["n_boxes"] = int(sum(len(img.gt_labels) for img in self._images))
        return out


def detection_metrics(
    preds: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    *,
    class_names: Sequence[str] = (),
) -> dict[str, Any]:
    """COCO detection metrics of one split (see :class:`DetectionMeter` and the module docstring).

    Example:
        >>> import numpy as np
        >>> gt = {"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])}
        >>> dt = {"boxes": np.array([[0, 0, 10, 10]]), "scores": np.array([0.9]),
        ...       "labels": np.array([1])}
        >>> round(detection_metrics([dt], [gt])["map"], 6)  # precision is tp / (tp + fp + eps)
        1.0
    """
    meter = DetectionMeter(tuple(class_names))
    meter.update(preds, targets)
    return meter.compute()


__all__ = [
    "COCO_AREA_RANGES",
    "COCO_MAX_DETECTIONS",
    "DETECTION_METRICS",
    "DetectionMeter",
    "coco_iou_thresholds",
    "coco_recall_thresholds",
    "detection_metrics",
    "iou_xywh",
]
