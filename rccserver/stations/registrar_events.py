"""What the registrar reports: binding changes and refusals, for the server to log and count.

Every event names the phone's account (`sip_user`) and, where the station is
known, its extension; `source` is the (host, port) the REGISTER came from.
None of them carries a secret.
"""
from __future__ import annotations

from typing import Union

import attrs

Address = tuple[str, int]


@attrs.frozen
class BindingAdded:
    sip_user: str
    extension: str
    contact: str
    transport: str
    source: Address
    user_agent: str | None
    expires: int  # seconds granted


@attrs.frozen
class BindingRefreshed:
    sip_user: str
    extension: str
    contact: str
    transport: str
    source: Address
    user_agent: str | None
    expires: int


@attrs.frozen
class BindingRemoved:
    sip_user: str
    extension: str
    contact: str
    source: Address  # of the REGISTER that removed it, or of the binding when the station went away
    reason: str  # "unregistered" or "station removed"


@attrs.frozen
class BindingExpired:
    sip_user: str
    extension: str
    contact: str
    source: Address  # where the phone last registered from


@attrs.frozen
class AuthenticationFailed:
    """Credentials that did not authenticate, or that authenticated as someone else than the AOR."""

    user: str | None  # the digest user name sent (None when the header was unreadable)
    aor_user: str | None  # the user part of To
    source: Address
    reason: str


@attrs.frozen
class SourceBlocked:
    """A source host failed authentication too often: its REGISTERs are refused until `until`."""

    host: str
    failures: int
    until: float


@attrs.frozen
class RegistrationRateLimited:
    """A REGISTER refused (403, no challenge) because its source host is in a cool-down."""

    aor_user: str | None
    source: Address
    until: float


RegistrarEvent = Union[
    BindingAdded, BindingRefreshed, BindingRemoved, BindingExpired, AuthenticationFailed, SourceBlocked,
    RegistrationRateLimited,
]
