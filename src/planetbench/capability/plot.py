"""A 2-D map of a capability encoding: models and tasks as points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from planetbench.capability.encoding import CapabilityEncoder, points
from planetbench.errors import InvalidInputError

PROJECTIONS: tuple[str, ...] = ("pca", "first")


def _points(encoder: CapabilityEncoder, member: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Model and task points of the point fit (``member`` None) or of one ensemble member."""
    if not hasattr(encoder, "model_params_"):
        raise InvalidInputError("the encoder is not fitted; fit or load it before drawing a map")
    n_members = encoder.model_params_.shape[0]
    if member is None:
        u = points(encoder.point_model_params_, encoder.distance)
        v = points(encoder.point_task_params_, encoder.distance)
    elif isinstance(member, int) and 0 <= member < n_members:
        u = points(encoder.model_params_[member], encoder.distance)
        v = points(encoder.task_params_[member], encoder.distance)
    else:
        raise InvalidInputError(
            f"member={member} must lie in [0, {n_members - 1}] (or be None for the point fit)"
        )
    if encoder.distance == "cosine":  # only directions matter
        u = u / np.linalg.norm(u, axis=1, keepdims=True).clip(1e-12)
        v = v / np.linalg.norm(v, axis=1, keepdims=True).clip(1e-12)
    return u, v


def map_projection(
    encoder: CapabilityEncoder, *, projection: str = "pca", member: int | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """2-D coordinates of models and tasks, and the share of variance each axis shows.

    Args:
        encoder: a fitted encoder.
        projection: ``pca`` (principal axes of the joint model + task point cloud, via SVD) or
            ``first`` (the first two dimensions as they are).
        member: ensemble member to draw; default (None) the point fit.

    Returns:
        ``(model_xy, task_xy, explained)``: arrays of shapes (n_models, 2) and (n_tasks, 2) (a
        1-D encoding gets a zero second coordinate), and for a PCA of more than two dimensions
        the fractions of the point cloud's variance along the two axes (else None).

    Raises:
        InvalidInputError: unknown projection or member, unfitted encoder.
    """
    if projection not in PROJECTIONS:
        raise InvalidInputError(
            f"projection {projection!r} is unknown; choose one of {list(PROJECTIONS)}"
        )
    u, v = _points(encoder, member)
    joint = np.concatenate([u, v])
    explained: tuple[float, float] | None = None
    if projection == "pca" and joint.shape[1] > 2:
        centred = joint - joint.mean(axis=0)
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
        joint = centred @ vt[:2].T
        share = sv**2 / max(float(np.sum(sv**2)), 1e-300)
        explained = (float(share[0]), float(share[1]))
    joint = joint[:, :2]
    if joint.shape[1] == 1:
        joint = np.concatenate([joint, np.zeros_like(joint)], axis=1)
    return joint[: len(u)], joint[len(u):], explained


def map_coordinates(
    encoder: CapabilityEncoder, *, projection: str = "pca", member: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of models and tasks (see :func:`map_projection`).

    Fits are not aligned with each other (distances are invariant to rotations), so one fit is
    drawn: by default the point fit (all cells), or one ensemble member.

    Returns:
        ``(model_xy, task_xy)`` of shapes (n_models, 2) and (n_tasks, 2).
    """
    model_xy, task_xy, _ = map_projection(encoder, projection=projection, member=member)
    return model_xy, task_xy


def plot_map(
    encoder: CapabilityEncoder,
    *,
    path: str | Path | None = None,
    projection: str = "pca",
    member: int | None = None,
    title: str | None = None,
) -> Any:
    """Draw models (circles) and tasks (triangles) of an encoding; save a PNG when ``path`` given.

    Args:
        encoder: a fitted encoder.
        path: where to write the PNG (optional).
        projection: see :func:`map_coordinates`.
        member: see :func:`map_coordinates`.
        title: figure title; default names the distance and dimension.

    Returns:
        The matplotlib ``Figure`` (drawn with the Agg backend).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    model_xy, task_xy, explained = map_projection(encoder, projection=projection, member=member)
    fig = Figure(figsize=(8.5, 7.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(model_xy[:, 0], model_xy[:, 1], marker="o", color="tab:blue", label="model")
    ax.scatter(task_xy[:, 0], task_xy[:, 1], marker="^", color="tab:orange", label="task")
    texts = [ax.text(x, y, name, fontsize=7, color="tab:blue")
             for name, (x, y) in zip(encoder.models_, model_xy, strict=True)]
    texts += [ax.text(x, y, name, fontsize=7, color="tab:orange")
              for name, (x, y) in zip(encoder.tasks_, task_xy, strict=True)]
    if encoder.distance == "poincare" and encoder.dim == 2 and projection == "first":
        theta = np.linspace(0.0, 2.0 * np.pi, 256)
        ax.plot(np.cos(theta), np.sin(theta), color="grey", lw=0.8)
    if explained is not None:
        ax.set_xlabel(f"PC1 ({explained[0]:.0%} of the variance of the {encoder.dim}-D points)")
        ax.set_ylabel(f"PC2 ({explained[1]:.0%} of the variance)")
    else:
        ax.set_xlabel("dim 1")
        ax.set_ylabel("dim 2")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or f"capability map ({encoder.distance}, d={encoder.dim}); "
                 "near = model does well on task")
    fig.tight_layout()
    if len(texts) > 1:
        from adjustText import adjust_text

        # Labels moved apart, with a thin leader line to their point when moved.
        adjust_text(texts, ax=ax, arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})
    if path is not None:
        try:
            fig.savefig(Path(path), dpi=120, bbox_inches="tight")
        except OSError as exc:
            raise InvalidInputError(f"cannot write the map to {str(path)!r}: {exc}") from exc
    return fig


__all__ = ["PROJECTIONS", "map_coordinates", "map_projection", "plot_map"]
