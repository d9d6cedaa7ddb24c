"""Checks of an import against what the store already holds: metric spelling and score scale.

Two mistakes make a bad import look like new results:

* **a metric spelled differently** — ``mIoU`` beside the stored ``miou`` would start a second
  metric and split every board; a name that equals a stored one once case, spaces, hyphens and
  underscores are ignored is refused (rename it), and a close misspelling gets a warning;
* **a score on another scale** — mIoU in percent (70.0) beside mIoU as a fraction (0.7). For
  metrics bounded by 1 (IoU, accuracy, F1, precision, recall, AUC, mAP, kappa, R²) a value above
  1.5 means percent. Within one suite the scales must agree (its boards would rank 70 above 0.9):
  refused; across suites they may differ as each source published them (Cryo-Bench prints
  percent, GEO-Bench-2 fractions): a warning, since no board mixes suites.
"""

from __future__ import annotations

import difflib
import re

import pandas as pd

from planetbench.errors import InvalidInputError

#: Metrics whose values cannot exceed 1 as fractions (so a value above 1 is a percentage).
_BOUNDED = re.compile(
    r"^(m?iou|jaccard|accuracy|acc|f1|precision|recall|auc|roc_auc|map|kappa|r2|dice)"
)


def metric_key(name: str) -> str:
    """A metric name with case, spaces, hyphens and underscores ignored (``mIoU`` → ``miou``)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def is_bounded(metric: str) -> bool:
    """Whether the metric's fraction scale ends at 1 (IoU, accuracy, F1, mAP, R² …)."""
    return bool(_BOUNDED.match(str(metric).lower()))


#: Largest value still read as a fraction: room for rounding above 1, far below any percentage
#: table (whose best scores are tens of points).
FRACTION_MAX = 1.5


def scale_of(scores: pd.Series) -> str:
    """``"percent"`` when a score of a bounded metric exceeds :data:`FRACTION_MAX`, else
    ``"fraction"``."""
    return "percent" if float(pd.to_numeric(scores).abs().max()) > FRACTION_MAX else "fraction"


def _spelling(new: pd.DataFrame, stored_names: list[str]) -> list[str]:
    notes = []
    names = sorted(set(new["metric"].astype(str)))
    by_key: dict[str, set[str]] = {}
    for name in [*names, *stored_names]:
        by_key.setdefault(metric_key(name), set()).add(name)
    clashes = {k: sorted(v) for k, v in by_key.items() if len(v) > 1}
    for spellings in clashes.values():
        kept = [s for s in spellings if s in stored_names] or [min(spellings, key=str.lower)]
        others = [s for s in spellings if s not in kept]
        raise InvalidInputError(
            f"metric name(s) {others} differ only in case or punctuation from {kept[0]!r}"
            f"{' (already in the store)' if kept[0] in stored_names else ''}; they would be "
            f"stored as separate metrics and split every board. Rename them to {kept[0]!r} in "
            "the file (column 'metric') and import again"
        )
    for name in names:
        if name in stored_names:
            continue
        close = difflib.get_close_matches(name, stored_names, n=1, cutoff=0.85)
        if close:
            notes.append(
                f"metric {name!r} is new to the store but close to the stored {close[0]!r}; if "
                f"it is the same metric, retract this import (planetbench store retract) and "
                f"rename it to {close[0]!r}"
            )
    return notes


def _scales(new: pd.DataFrame, stored: pd.DataFrame) -> list[str]:
    notes = []
    both = pd.concat([stored.assign(_new=False), new.assign(_new=True)], ignore_index=True)
    both = both[both["metric"].map(is_bounded)]
    for metric, part in both.groupby("metric", sort=True):
        per_suite = part.groupby("suite", sort=True)
        for suite, rows in per_suite:
            scales = rows.groupby("_new")["score"].agg(scale_of).to_dict()
            where = f"suite {suite!r}" if suite else "rows without a suite"
            fresh = rows[rows["_new"]]
            if fresh.empty:
                continue
            inside = {scale_of(g["score"]) for _, g in fresh.groupby("task")} | {scales[True]}
            fix = ("write every score of a metric on one scale (0.731, not 73.1, or the "
                   "reverse) and import again")
            if len(inside) > 1:
                raise InvalidInputError(
                    f"metric {metric!r} of {where} mixes percent (0-100) and fraction (0-1) "
                    f"scores in the file; {fix}"
                )
            if False in scales and scales[False] != scales[True]:
                raise InvalidInputError(
                    f"metric {metric!r} of {where}: the new scores are on a {scales[True]} "
                    f"scale (largest {fresh['score'].abs().max():g}) but the store holds them "
                    f"on a {scales[False]} scale; {fix}"
                )
        suites = {str(s): scale_of(rows["score"]) for s, rows in per_suite}
        if len(set(suites.values())) > 1 and any(part["_new"]):
            listed = ", ".join(f"{s or '(none)'}: {v}" for s, v in sorted(suites.items()))
            notes.append(
                f"metric {metric!r} is stored on different scales by suite ({listed}); each "
                "suite's boards use its own, but do not compare numbers across these suites"
            )
    return notes


def check_against_store(new: pd.DataFrame, stored: pd.DataFrame) -> list[str]:
    """Refuse an import whose metric names or score scales clash with the store; warn on near
    misses.

    Args:
        new: validated long-schema rows about to be written (``metric``, ``suite``, ``task``,
            ``score``).
        stored: the store's rows (``ResultStore.query``; the same columns).

    Returns:
        Warnings as sentences (empty when nothing is suspicious).

    Raises:
        InvalidInputError: a metric name that equals a stored (or another new) one but for case
            or punctuation, or a bounded metric whose new scores are on another scale than the
            stored ones of the same suite (or mix scales within the file).
    """
    cols = ["metric", "suite", "task", "score"]
    stored = stored[cols].dropna(subset=["score"]) if not stored.empty else pd.DataFrame(
        columns=cols)
    notes = _spelling(new, sorted(set(stored["metric"].astype(str))))
    notes += _scales(new[cols], stored)
    return notes


__all__ = ["FRACTION_MAX", "check_against_store", "is_bounded", "metric_key", "scale_of"]
