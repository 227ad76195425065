"""Station occupancy across a pool of servers (SPEC section 11): leases (sans-IO).

The local `OccupancyRegistry` (rcc/occupancy.py) knows the holders on this server;
`StationLeases` is what the pool knows. A logon whose station this server does not
hold yet asks the pool to `claim` it for the user before the INVITE is answered:
the answer comes later (`reply`, on the reactor thread) as

- `Granted`: free in the pool, or held by the same user through other servers;
- `Conflict` (rcc/occupancy.py): another user holds it through another server;
- `PoolUnavailable`: the pool cannot be asked (Redis unreachable): the logon is
  refused, since nobody can say the station is free.

Once the station's last local holder is gone, `release(station)` gives the lease
back. The server renews its leases in the background; a dead server's leases
lapse on their own (the Redis backend: rccserver/server/state_redis.py).
`LocalLeases` is the pool of one server: every claim is granted at once.
"""
from __future__ import annotations

from typing import Callable, Protocol, Union

import attrs

from rccserver.rcc.occupancy import Conflict

# The logon refused because the pool cannot be asked (documented in docs/admin-guide.md).
POOL_UNAVAILABLE_CODE = "Cs_StationPoolUnavailable"
POOL_UNAVAILABLE_STATUS = 503


@attrs.frozen
class Granted:
    station: str

    @property
    def ok(self) -> bool:
        return True


@attrs.frozen
class PoolUnavailable:
    station: str
    reason: str

    @property
    def ok(self) -> bool:
        return False


ClaimResult = Union[Granted, Conflict, PoolUnavailable]
ClaimReply = Callable[[ClaimResult], None]


class StationLeases(Protocol):
    def claim(self, station: str, user_id: str, reply: ClaimReply) -> None:
        """Take (or share, same user) the station's lease for this server; `reply` now or later."""

    def release(self, station: str) -> None:
        """This server holds the station no more."""


class LocalLeases:
    """A server alone: the local registry is the whole truth."""

    def claim(self, station: str, user_id: str, reply: ClaimReply) -> None:
        reply(Granted(station))

    def release(self, station: str) -> None:
        pass
