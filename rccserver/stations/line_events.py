"""What the phone line reports besides the registrar's events, for the server to log and count.

The endpoint hands these, and every `RegistrarEvent`, to its `observer`.
None of them carries a secret.
"""
from __future__ import annotations

from typing import Union

import attrs

from rccserver.stations.registrar_events import RegistrarEvent
from rccserver.stations.legs import LegRole

Address = tuple[str, int]


@attrs.frozen
class InviteAuthenticationFailed:
    """A phone's INVITE carried credentials that did not authenticate, or not as its From user."""

    user: str | None  # the digest user name sent (None when the header was unreadable)
    from_user: str | None
    source: Address
    reason: str


@attrs.frozen
class InviteSourceBlocked:
    """A host failed INVITE authentication too often: its INVITEs get 403 until `until`."""

    host: str
    failures: int
    until: float


@attrs.frozen
class InviteRefusedDuringCooldown:
    from_user: str | None
    source: Address
    until: float


@attrs.frozen
class LegStarted:
    leg_id: str
    station: str
    role: LegRole
    call_id: str
    peer: Address  # the phone (for an outgoing leg forked to several phones, the first one)


@attrs.frozen
class LegFinished:
    leg_id: str
    station: str
    reason: str  # as told to the call layer (for a failed outgoing leg: "<status> <reason>")


@attrs.frozen
class MessageDropped:
    """Bytes from a phone that are not a SIP message we can answer."""

    source: Address
    reason: str


LineEvent = Union[
    InviteAuthenticationFailed, InviteSourceBlocked, InviteRefusedDuringCooldown, LegStarted, LegFinished,
    MessageDropped,
]
StationsEvent = Union[RegistrarEvent, LineEvent]
