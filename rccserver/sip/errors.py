"""Errors raised by the SIP syntax layer.

Every parse function in this package raises only `SipParseError` (or a subclass)
for bad input, whatever the bytes; anything else escaping is a bug.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rccserver.sip.message import Request


class SipParseError(ValueError):
    """Input that is not valid SIP.

    `reason` says precisely what is wrong (it is also the exception text).
    `status` is the SIP status to answer a request with: 400 normally, 505 for an
    unsupported SIP version.
    `partial` is the request as far as it could be read (start line plus the raw
    header fields), so that the endpoint can still answer it; it is None for
    responses and when the request line or the header section could not be read.
    """

    def __init__(self, reason: str, status: int = 400, partial: Request | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.partial = partial


class UriError(SipParseError):
    """A URI (or name-addr) that does not follow RFC 3261 / RFC 3966 syntax."""


class HeaderError(SipParseError):
    """A header field value that does not follow its grammar."""
