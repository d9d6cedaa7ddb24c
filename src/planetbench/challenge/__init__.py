"""Challenge mode: hidden-task embedding challenges with phases, quotas and a live leaderboard.

An organiser writes a definition (:mod:`~planetbench.challenge.definition`), creates the
challenge and its teams in the store (:class:`~planetbench.challenge.service.ChallengeDB`), and
serves it (:func:`~planetbench.challenge.server.serve`, a FastAPI app); teams upload embeddings of
the public ids; scoring workers (:class:`~planetbench.challenge.worker.Worker`) claim them from a
queue table and store the scores as ordinary results (suite = the challenge); the leaderboard
(:mod:`~planetbench.challenge.leaderboard`) ranks teams with NeuCo-Bench's rank-then-aggregate.

The web parts need the ``challenge`` extra: ``pip install 'planetbench[challenge]'``.
"""

from planetbench.challenge.definition import (
    ChallengeDefinition,
    PhaseDefinition,
    load_definition,
)
from planetbench.challenge.service import ChallengeDB, Team
from planetbench.challenge.worker import Worker

__all__ = ["ChallengeDB", "ChallengeDefinition", "PhaseDefinition", "Team", "Worker",
           "load_definition"]
