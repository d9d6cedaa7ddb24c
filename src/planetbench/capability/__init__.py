"""Capability encoding: embed models and tasks, predict unmeasured scores, pick the next runs.

Pure NumPy/SciPy/pandas; importable without torch.
"""

from planetbench.capability.blocks import Block, connected_blocks
from planetbench.capability.encoding import (
    DISTANCES,
    CapabilityEncoder,
    aggregate_cells,
)
from planetbench.capability.plot import map_coordinates, plot_map
from planetbench.capability.recommend import recommend
from planetbench.capability.validate import (
    ValidationReport,
    bootstrap_mae,
    holdout_cells,
    leave_one_model_out,
    leave_one_task_out,
)

__all__ = [
    "DISTANCES",
    "Block",
    "CapabilityEncoder",
    "ValidationReport",
    "aggregate_cells",
    "bootstrap_mae",
    "connected_blocks",
    "holdout_cells",
    "leave_one_model_out",
    "leave_one_task_out",
    "map_coordinates",
    "plot_map",
    "recommend",
]
