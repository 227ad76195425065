"""What the sans-IO endpoint asks its driver to do, and what it knows of a connection.

The driver drains these records after every input (`Endpoint.take_output`) and
carries them out: write on a live connection, open (or reuse) one towards a
target, or close one.
"""
from __future__ import annotations

from typing import NamedTuple

import attrs


@attrs.frozen(slots=True)
class Target:
    """Where to open (or reuse) a connection for a message that has no live one."""

    host: str
    port: int
    transport: str  # "tcp" or "tls"


class Send(NamedTuple):
    """Write `data` on the live connection `conn_id`.

    A named tuple, not an attrs class: one is made for every message sent, and a
    frozen attrs class pays object.__setattr__ per field. Immutable, equal by value
    and matched by isinstance and attribute as before."""

    conn_id: int
    data: bytes


@attrs.frozen(slots=True)
class SendTo:
    target: Target
    data: bytes
    key: object  # handed back in send_failed(key, reason)


@attrs.frozen(slots=True)
class Close:
    conn_id: int


Output = Send | SendTo | Close


@attrs.define(slots=True)
class Connection:
    """A live connection as the endpoint sees it."""

    conn_id: int
    peer: tuple[str, int]
    transport: str
    local: tuple[str, int]
