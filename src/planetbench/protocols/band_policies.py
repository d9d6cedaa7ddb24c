"""Band policies by name: how a task's bands feed an encoder's inputs.

A band policy is a function ``policy(task_bands, encoder_spec) -> BandAlignment`` (see
:class:`planetbench.encoders.bands.BandAlignment`, which records what was done). The built-in
policies ``auto``, ``match``, ``sar-rgb``, ``wavelength``, ``zero-fill`` and ``cryobench`` are
those of :func:`planetbench.encoders.bands.align_bands`. A plugin adds one by registering a function in
:data:`BAND_POLICIES` (or under the entry-point group ``planetbench.band_policies``); an experiment
file or ``--band-policy`` can then name it. ``planetbench run`` and ``planetbench embed`` both
resolve the name here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from planetbench.encoders.bands import POLICIES, BandAlignment, align_bands
from planetbench.encoders.base import EncoderSpec
from planetbench.registry import Registry
from planetbench.tasks.bands import Band

BandPolicy = Callable[[Sequence[Band], EncoderSpec], BandAlignment]
"""``policy(task_bands, encoder_spec) -> BandAlignment``; raises ``BandAlignmentError`` when it
cannot apply."""

#: Band policies by name: the built-in ones and any plugin's.
BAND_POLICIES: Registry[BandPolicy] = Registry(
    "band policy", entry_point_group="planetbench.band_policies"
)
for _name in POLICIES:
    BAND_POLICIES.register(_name, partial(align_bands, policy=_name))


def align(task_bands: Sequence[Band], encoder_spec: EncoderSpec, policy: str) -> BandAlignment:
    """Align ``task_bands`` to the encoder's inputs with the band policy named ``policy``.

    Raises:
        UnknownNameError: ``policy`` is not registered (with near misses and the list).
        BandAlignmentError: the policy does not apply to these bands (the message lists both
            band sets and the policies that would).
    """
    return BAND_POLICIES.get(policy)(task_bands, encoder_spec)


__all__ = ["BAND_POLICIES", "BandPolicy", "align"]
