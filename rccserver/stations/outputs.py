"""What the phone line asks its driver to do: the RCC line's records plus datagrams.

The driver drains these after every input and after every scheduler tick
(`StationsEndpoint.take_output`) and carries them out: write on a live
connection (`Send`), open or reuse a connection towards a target and write
(`SendTo`, failures come back through `send_failed(key, reason)`), close a
connection (`Close`), or send one UDP datagram from the stations line's UDP
socket (`SendDatagram`).
"""
from __future__ import annotations

import attrs

from rccserver.sip.outputs import Close, Send, SendTo, Target

__all__ = ["Close", "LineOutput", "Send", "SendDatagram", "SendTo", "Target"]


@attrs.frozen(slots=True)
class SendDatagram:
    """One UDP datagram to `addr` (host, port)."""

    addr: tuple[str, int]
    data: bytes


LineOutput = Send | SendTo | Close | SendDatagram
