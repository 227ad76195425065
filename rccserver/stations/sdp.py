"""The little a B2BUA must do to the SDP it passes between phones (RFC 4566, RFC 3264).

Media flows phone to phone; rccserver relays no RTP.  It passes each phone's
session description on to the other side unchanged except for two things:

* the origin line (`o=`): towards each phone rccserver is one session whose
  version grows with every description it sends (RFC 3264 section 8), whoever
  the media now comes from;
* the direction attribute, when rccserver itself holds or parks a leg
  (`a=inactive`) or a phone's hold is answered.

Descriptions are bytes in, bytes out; a body that is not SDP raises SdpError.
"""
from __future__ import annotations

import attrs

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


class SdpError(ValueError):
    """A body that is not a session description we can pass on."""


def _lines(body: bytes) -> list[str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SdpError(f"SDP is not UTF-8: {error}") from None
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0].strip() != "v=0":
        raise SdpError("SDP must begin with v=0")
    if not any(line.startswith("m=") for line in lines):
        raise SdpError("SDP without a media line")
    return lines


def _join(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


@attrs.define
class Origin:
    """rccserver's own `o=` towards one phone: fixed session id, growing version."""

    session_id: int
    address: str
    version: int = 0

    def next_line(self) -> str:
        self.version += 1
        family = "IP6" if ":" in self.address else "IP4"
        return f"o=rccserver {self.session_id} {self.version} IN {family} {self.address}"


def restamp(body: bytes, origin: Origin) -> bytes:
    """`body` with its origin line replaced by the next one of `origin`."""
    lines = _lines(body)
    stamped = origin.next_line()
    out = [stamped if line.startswith("o=") else line for line in lines]
    if not any(line.startswith("o=") for line in lines):
        out.insert(1, stamped)
    return _join(out)


def direction_of(body: bytes) -> str:
    """The first media section's direction (else the session's; default sendrecv)."""
    session_direction = "sendrecv"
    seen_media = False
    for line in _lines(body):
        if line.startswith("m="):
            if seen_media:
                break
            seen_media = True
        elif line.startswith("a=") and line[2:].strip() in DIRECTIONS:
            if seen_media:
                return line[2:].strip()
            session_direction = line[2:].strip()
    return session_direction


def with_direction(body: bytes, direction: str) -> bytes:
    """`body` with every media section set to `direction` (session-level ones removed)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown SDP direction {direction!r}")
    lines = [line for line in _lines(body) if not (line.startswith("a=") and line[2:].strip() in DIRECTIONS)]
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        next_is_media_or_end = index + 1 == len(lines) or lines[index + 1].startswith("m=")
        if next_is_media_or_end and any(seen.startswith("m=") for seen in out):
            out.append(f"a={direction}")
    return _join(out)


def answer_direction(offer_direction: str) -> str:
    """What an answerer that is willing to do everything replies to an offer's direction."""
    return _ANSWER_DIRECTION[offer_direction]


def media_of(body: bytes) -> tuple[str, ...]:
    """The connection addresses and media lines: what decides where RTP goes."""
    return tuple(line for line in _lines(body) if line.startswith(("c=", "m=")))


def placeholder_offer(address: str) -> bytes:
    """A description for a phone whose far end has no media (a simulated station, an
    external party without a trunk): one audio stream, PCMU, inactive, port 9 (discard)."""
    family = "IP6" if ":" in address else "IP4"
    return _join([
        "v=0", f"o=rccserver 0 0 IN {family} {address}", "s=rccserver", f"c=IN {family} {address}",
        "t=0 0", "m=audio 9 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=inactive",
    ])
