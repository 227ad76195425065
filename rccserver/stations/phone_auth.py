"""Digest authentication of the INVITEs phones send (RFC 3261 section 22.3, proxy style), sans-IO.

A phone that dials is challenged with `407 Proxy-Authenticate`, as a phone
expects of the proxy it registered with, and its next INVITE carries
`Proxy-Authorization`.  The rules mirror the registrar's (`registrar.py`):

1. a source host cooling down after repeated failures: 403, no challenge;
2. no credentials for our realm: 407 with a challenge;
3. an unreadable `Proxy-Authorization`: 400, counted as a failure;
4. a stale nonce with a right response: 407 with `stale=true`;
5. wrong credentials or an unknown user: 407 with a fresh challenge, counted;
6. right credentials for another user than the From user: 403, counted;
7. otherwise the phone is the SIP station whose `sip_user` it proved.

No user enumeration: an unknown From user gets the same challenge shape as
the registrar gives it (the same keyed choice among the stations' shapes, so
the REGISTER and INVITE challenges of a name agree whether it exists or not),
and is refused the same way as a wrong password.

A registration is not required, only valid credentials: the credentials are
what proves a phone may place calls (the toll-fraud guard of SPEC section 9),
and a phone whose registration just lapsed, or that is set up not to
register, can still dial.

Failures are counted per source host by an `AuthFailureLimiter` of the phone
line's own (the registrar keeps another for REGISTER): a guesser that turns to
INVITE is cut off the same way.  Nonces are signed with a key derived from
the registrar's secret, so REGISTER and INVITE nonces are independent.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Protocol
from urllib.parse import unquote

import attrs

from rccserver.cic.data import Station
from rccserver.sip.digest import (
    SERVER_ALGORITHMS,
    Algorithm,
    DigestError,
    DigestServer,
    Outcome,
    RandomBytes,
)
from rccserver.sip.errors import SipParseError
from rccserver.sip.message import Request
from rccserver.stations.credentials import StationCredentials
from rccserver.sip.uri import SipUri
from rccserver.stations.auth_limiter import AuthFailureLimiter
from rccserver.stations.line_events import (
    Address,
    InviteAuthenticationFailed,
    InviteRefusedDuringCooldown,
    InviteSourceBlocked,
    LineEvent,
)


class StationLookup(Protocol):
    """What the phone line reads of the CIC data (`rccserver.cic.data.CicData` is one)."""

    def station_by_sip_user(self, sip_user: str) -> Station | None: ...

    def station_by_extension(self, extension: str) -> Station | None: ...

    @property
    def sip_stations(self) -> tuple[Station, ...]: ...


class _NoStations:
    """The lookup until the CIC data is handed in: nobody can authenticate."""

    def station_by_sip_user(self, sip_user: str) -> Station | None:
        return None

    def station_by_extension(self, extension: str) -> Station | None:
        return None

    @property
    def sip_stations(self) -> tuple[Station, ...]:
        return ()


NO_STATIONS: StationLookup = _NoStations()


@attrs.frozen
class InviteVerdict:
    """`station` when the INVITE may go on; otherwise the response to send (status, headers)."""

    station: Station | None
    status: int = 0
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    events: tuple[LineEvent, ...] = ()


class InviteAuthenticator:
    def __init__(
        self,
        stations: StationLookup,
        *,
        realm: str,
        secret: bytes,
        random_bytes: RandomBytes,
        nonce_lifetime: float = 300.0,
        failure_limit: int = 10,
        failure_window: float = 60.0,
        failure_cooldown: float = 300.0,
        algorithms: tuple[Algorithm, ...] = SERVER_ALGORITHMS,
    ) -> None:
        nonce_key = hmac.new(secret, b"rccserver stations INVITE nonces", hashlib.sha256).digest()
        self._digest = DigestServer(realm=realm, secret=nonce_key, random_bytes=random_bytes,
                                    nonce_lifetime=nonce_lifetime, proxy=True)
        # The registrar's credentials, built from the same secret: a name is challenged alike by both.
        self._credentials = StationCredentials((), secret=secret, offered=algorithms)
        self._limiter = AuthFailureLimiter(limit=failure_limit, window=failure_window, cooldown=failure_cooldown)
        self.failure_limit = failure_limit
        self._stations = stations
        self.replace_stations(stations)

    def replace_stations(self, stations: StationLookup) -> None:
        self._stations = stations
        self._credentials.replace(stations.sip_stations)

    def check(self, request: Request, *, source: Address, now: float) -> InviteVerdict:
        from_user = _from_user(request)
        until = self._limiter.blocked_until(source[0], now)
        if until is not None:
            return InviteVerdict(None, 403, events=(InviteRefusedDuringCooldown(from_user, source, until),))
        try:
            credentials = self._digest.credentials_in(request)
        except DigestError as error:
            events = self._failed(None, from_user, source, f"unreadable Proxy-Authorization: {error.reason}", now)
            return InviteVerdict(None, 400, "Malformed Proxy-Authorization", events=events)
        if credentials is None:
            return self._challenge(from_user, now)
        station = self._stations.station_by_sip_user(credentials.username)
        secret = self._credentials.secret(credentials.username) if station is not None and station.is_sip else None
        verdict = self._digest.verify(credentials, method="INVITE", uri=request.uri, secret=secret, now=now)
        if verdict.outcome is Outcome.STALE:
            return self._challenge(from_user, now, stale=True)
        if verdict.outcome is Outcome.REJECTED:
            events = self._failed(credentials.username, from_user, source, verdict.reason, now)
            if any(isinstance(event, InviteSourceBlocked) for event in events):
                return InviteVerdict(None, 403, events=events)
            return attrs.evolve(self._challenge(from_user, now), events=events)
        if credentials.username != from_user:
            reason = f"authenticated as {credentials.username!r}, which is not the From user {from_user!r}"
            return InviteVerdict(None, 403, events=(
                InviteAuthenticationFailed(credentials.username, from_user, source, reason),))
        return InviteVerdict(station)

    def _challenge(self, from_user: str | None, now: float, *, stale: bool = False) -> InviteVerdict:
        headers = self._digest.challenge_headers(now, self._credentials.algorithms_for(from_user or ""), stale=stale)
        return InviteVerdict(None, 407, headers=tuple(headers))

    def _failed(self, user: str | None, from_user: str | None, source: Address, reason: str,
                now: float) -> tuple[LineEvent, ...]:
        events: list[LineEvent] = [InviteAuthenticationFailed(user, from_user, source, reason)]
        until = self._limiter.record_failure(source[0], now)
        if until is not None:
            events.append(InviteSourceBlocked(source[0], self.failure_limit, until))
        return tuple(events)


def _from_user(request: Request) -> str | None:
    """The user part of From, %-escapes decoded; None if From is no SIP URI with a user."""
    try:
        uri = request.from_.uri
    except SipParseError:
        return None
    if not isinstance(uri, SipUri) or not uri.user:
        return None
    return unquote(uri.user, errors="surrogateescape")
