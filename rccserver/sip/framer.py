"""Cutting a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3, RFC 5626 §4.4.1).

A message is its header section (up to the first CRLFCRLF) plus Content-Length
body octets. Between messages a CRLFCRLF is a keep-alive "ping" (the transport
answers with one CRLF) and a lone CRLF is a "pong", swallowed silently.

Choices:
* A message without Content-Length has an empty body. RFC 3261 makes the header
  mandatory on streams; taking 0 keeps the stream in step for peers that omit it
  on body-less requests, and a body sent anyway then fails to parse as a message.
* The whole message (header section + body) must fit in `max_message_size`
  bytes, and the header section in `max_header_count` lines. An oversized body
  is refused as soon as its Content-Length is read, before it is buffered.
* A bad Content-Length (not a number, negative, several different values) or an
  oversized message yields one `FramingError` and kills the framer: the stream
  cannot be resynchronised, so the transport answers (if `head` allows) and
  closes. Later `feed` calls return nothing.

The buffer is scanned once: a scan offset remembers how far the search for the
end of the header section got, so slow trickles stay linear.
"""
from __future__ import annotations

import re

import attrs

from rccserver.common.records import record_maker

_CRLF = b"\r\n"
_PING = b"\r\n\r\n"
_END_OF_HEADERS = b"\r\n\r\n"
# A Content-Length field anywhere in the header section (long or compact form, any
# case, spaces before ':', folded value); the section is searched from its start line's CRLF.
_CONTENT_LENGTH_RE = re.compile(
    rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", re.IGNORECASE
)


@attrs.frozen
class FramedMessage:
    """Exactly one complete message (header section and body), ready for parse_message."""

    data: bytes


@attrs.frozen
class KeepAlive:
    """A CRLFCRLF ping between messages; answer it with a single CRLF."""

    data: bytes


@attrs.frozen
class FramingError:
    """The stream is broken. `head` is the complete header section if it was read
    (enough to answer 400), else b''. The framer accepts nothing after this."""

    reason: str
    status: int
    head: bytes


FrameEvent = FramedMessage | KeepAlive | FramingError
# One per message: made without attrs' frozen __init__ (nothing to skip but the stores).
_framed_message = record_maker(FramedMessage)
_KEEPALIVE = KeepAlive(_PING)  # immutable: one for every ping


class StreamFramer:
    """Feed it bytes as they arrive; it returns the complete events they finish."""

    def __init__(self, max_message_size: int = 65536, max_header_count: int = 256) -> None:
        if max_message_size < 16 or max_header_count < 1:
            raise ValueError("max_message_size must be >= 16 and max_header_count >= 1")
        self.max_message_size = max_message_size
        self.max_header_count = max_header_count
        self._buffer = bytearray()
        self._pos = 0  # start of the current (incomplete) message in _buffer
        self._scan = 0  # where the next search for CRLFCRLF may start
        self._total = -1  # length of the current message once its headers are in
        self._failed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as an event."""
        return len(self._buffer) - self._pos

    @property
    def failed(self) -> bool:
        """True after a FramingError: the connection must be closed."""
        return self._failed

    def feed(self, data: bytes) -> list[FrameEvent]:
        if self._failed:
            return []
        buf = self._buffer
        buf += data
        events: list[FrameEvent] = []
        # One loop, no call per message on the common path: each turn returns one event,
        # skips a pong, or stops when the buffer holds no complete event.
        while True:
            pos = self._pos
            if self._total < 0:
                if len(buf) == pos or buf[pos] == 13:  # a message never starts with CR: a ping or pong may
                    prefix = bytes(buf[pos: pos + 4])
                    if len(prefix) < 4 and _PING.startswith(prefix):
                        break  # nothing yet, or the start of a ping/pong: wait for more
                    if prefix == _PING:
                        self._consume(4)
                        events.append(_KEEPALIVE)
                        continue
                    if prefix.startswith(_CRLF):
                        self._consume(2)  # pong, or a stray CRLF before a start line (RFC 3261 §7.5)
                        continue
                failure = self._read_head()
                if failure is not None:
                    events.append(failure)
                    self._failed = True
                    buf.clear()
                    self._pos = self._scan = 0
                    return events
                if self._total < 0:
                    break
            end = pos + self._total
            if len(buf) < end:
                break
            events.append(_framed_message(bytes(buf[pos:end])))
            self._pos = self._scan = end
            self._total = -1
        # Drop consumed bytes now and then, not on every message.
        if self._pos and (self._pos > 65536 or self._pos == len(buf)):
            del buf[: self._pos]
            self._scan -= self._pos
            self._pos = 0
        return events

    def _consume(self, count: int) -> None:
        self._pos += count
        self._scan = self._pos
        self._total = -1

    def _read_head(self) -> FramingError | None:
        """Sets `_total` once the header section is in; a FramingError if it is unacceptable."""
        buf, pos = self._buffer, self._pos
        end = buf.find(_END_OF_HEADERS, max(self._scan, pos))
        if end < 0:
            self._scan = max(pos, len(buf) - 3)
            if len(buf) - pos > self.max_message_size:
                return FramingError("Message too large: header section exceeds the size limit", 400, b"")
            return None
        head_end = end + 4
        head_length = head_end - pos
        if head_length > self.max_message_size:
            return FramingError("Message too large: header section exceeds the size limit", 400, bytes(buf[pos:head_end]))
        # Before the final CRLFCRLF, two CRLFs are at least 3 bytes apart (else that would be
        # the end), so a header section of n bytes has at most (n - 4) / 3 field lines: the
        # count is needed only for sections long enough to exceed the limit.
        if head_length > 3 * self.max_header_count + 4 and \
                buf.count(_CRLF, pos, head_end) - 2 > self.max_header_count:  # minus start line and empty line
            return FramingError(f"too many header lines (limit {self.max_header_count})", 400, bytes(buf[pos:head_end]))
        lengths = _CONTENT_LENGTH_RE.findall(buf, pos, head_end)  # in place: no copy of the section
        if not lengths:
            body_length = 0
        else:
            text = lengths[0].strip(b" \t\r\n")
            for other in lengths[1:]:
                if other.strip(b" \t\r\n") != text:
                    return FramingError("multiple Content-Length header fields with different values", 400,
                                        bytes(buf[pos:head_end]))
            if not text.isdigit():
                shown = text[:20].decode("latin-1")
                return FramingError(f"bad Content-Length {shown!r}", 400, bytes(buf[pos:head_end]))
            if len(text.lstrip(b"0")) > 10:
                return FramingError("Message too large: Content-Length exceeds the size limit", 400,
                                    bytes(buf[pos:head_end]))
            body_length = int(text)
        if head_length + body_length > self.max_message_size:
            return FramingError(
                f"Message too large: {head_length + body_length} bytes exceed the limit of "
                f"{self.max_message_size}", 400, bytes(buf[pos:head_end]))
        self._total = head_length + body_length
        return None
