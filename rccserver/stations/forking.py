"""The forks of an outgoing INVITE: one per registered binding of the station, in parallel.

The first 2xx wins; the other forks are cancelled, and a 2xx from one of them
that crossed the CANCEL is ACKed and ended with BYE (RFC 3261 19.3 leaves
each fork's dialog to the UAC).  When every fork ended without a 2xx, the
call layer hears one status, picked as a forking proxy would (RFC 3261 16.7
step 6): a 6xx wins outright, then a real response beats our own stand-ins
(408 for no answer, 503 for a transport failure), then the lower class
(3xx before 4xx before 5xx), then the first that came.
"""
from __future__ import annotations

from typing import Iterable

import attrs

from rccserver.sip.message import Request
from rccserver.sip.transaction_matching import ClientKey
from rccserver.stations.flows import Flow

NO_ANSWER = 408  # the fork's INVITE timed out
UNREACHABLE = 503  # the fork's INVITE could not be sent


@attrs.frozen
class ForkOutcome:
    status: int
    reason: str
    synthetic: bool = False  # our stand-in, not the phone's response


@attrs.define(eq=False)
class Fork:
    key: ClientKey
    invite: Request
    flow: Flow
    outcome: ForkOutcome | None = None  # set once the fork ended without a 2xx
    answered: bool = False  # a 2xx came on it

    @property
    def pending(self) -> bool:
        """No final response yet (the one a CANCEL is for)."""
        return self.outcome is None and not self.answered


def best_outcome(outcomes: Iterable[ForkOutcome]) -> ForkOutcome:
    ranked = sorted(enumerate(outcomes), key=lambda item: (
        0 if item[1].status >= 600 else 1, item[1].synthetic, item[1].status // 100, item[0]))
    if not ranked:
        raise ValueError("no outcome to choose from")
    return ranked[0][1]
