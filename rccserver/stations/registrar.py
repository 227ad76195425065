"""The registrar for SIP stations (RFC 3261 section 10), sans-IO.

`Registrar.handle_register(request, source=..., transport=..., now=...)` returns
the response to send and the events to log and count; `next_deadline()` and
`tick(now)` lapse bindings at their expiry. `bindings()`, `registration()` and
`counters` are what the admin API and the B2BUA read.

A REGISTER goes through these steps, in order; the first refusal answers it
and changes nothing (RFC 3261 section 10.3: all bindings of a request or none):

1. its source host is cooling down after repeated authentication failures:
   403 without a challenge (`auth_limiter`);
2. `Require` names an extension: 420 with `Unsupported`;
3. `To` is not a SIP URI with a user part (the address of record): 400;
4. digest authentication (`rccserver.sip.digest`): no credentials for our realm,
   401 with a challenge; wrong credentials or an unknown user, 401 with a fresh
   challenge and `AuthenticationFailed`; right credentials on a stale nonce,
   401 with `stale=true`; an unreadable `Authorization`, 400 and
   `AuthenticationFailed`;
5. the authenticated user is not the AOR's user: 403 and `AuthenticationFailed`;
6. the contacts: none is a query; `*` only alone and with `Expires: 0`, else
   400; each contact's expiry is its `expires` parameter, else `Expires`, else
   `default_expires`; above zero and below `min_expires`: 423 with
   `Min-Expires`; above `max_expires`: shortened; a station may hold
   `max_bindings_per_station` bindings (403 beyond);
7. per existing binding, Call-ID and CSeq: the same Call-ID with a CSeq not
   above the binding's is an old or reordered request: 400;
8. 200 listing every binding of the AOR with its remaining seconds.

No extension enumeration: up to step 4 nothing depends on whether the user
exists. An unknown user is challenged with the same headers a station would
get (see `credentials.StationCredentials.algorithms_for`) and refused the same way, with the same 401.
The Request-URI and the host part of `To` are not checked: phones name the
registrar by address, by domain or by whatever their administrator typed.
"""
from __future__ import annotations

from typing import Iterable
from urllib.parse import unquote

import attrs

from rccserver.cic.data import Station
from rccserver.common.clock import TimerQueue
from rccserver.sip.digest import (
    SERVER_ALGORITHMS,
    Algorithm,
    DigestError,
    DigestServer,
    Outcome,
    RandomBytes,
)
from rccserver.sip.errors import SipParseError
from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.uri import NameAddr, SipUri, parse_name_addr, uri_equal
from rccserver.stations.auth_limiter import AuthFailureLimiter
from rccserver.stations.binding import Binding, BindingAction, BindingInput, BindingSlot
from rccserver.stations.credentials import StationCredentials
from rccserver.stations.registrar_events import (
    Address,
    AuthenticationFailed,
    BindingAdded,
    BindingExpired,
    BindingRefreshed,
    BindingRemoved,
    RegistrarEvent,
    RegistrationRateLimited,
    SourceBlocked,
)

_MAX_DELTA_SECONDS = 2**32 - 1  # RFC 3261 section 20.19: larger values count as this
_MAX_USER_AGENT = 200


@attrs.frozen(kw_only=True)
class RegistrarSettings:
    """[stations_line] settings the registrar needs (SPEC section 9), plus our own limits."""

    realm: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600  # when a REGISTER names no expiry; above max_expires it is shortened too
    nonce_lifetime: float = 300.0
    max_bindings_per_station: int = 10
    failure_limit: int = 10  # authentication failures from one host ... (0: no limit)
    failure_window: float = 60.0  # ... within this many seconds ...
    failure_cooldown: float = 300.0  # ... refuse that host for this long
    # [stations_line] digest_algorithms: what is offered, most preferred first (credentials.py)
    algorithms: tuple[Algorithm, ...] = SERVER_ALGORITHMS

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.min_expires <= self.max_expires:
            raise ValueError(f"need 1 <= min_expires <= max_expires (got {self.min_expires}, {self.max_expires})")
        if self.default_expires < self.min_expires:
            raise ValueError(f"default_expires {self.default_expires} is below min_expires {self.min_expires}")
        if self.max_bindings_per_station < 1:
            raise ValueError("max_bindings_per_station must be at least 1")


@attrs.define
class RegistrarCounters:
    requests: int = 0  # REGISTER requests handled
    registrations: int = 0  # of them answered 200 (registered, refreshed, removed or queried)
    challenges: int = 0  # 401s sent
    auth_failures: int = 0  # credentials that did not authenticate (or not for the AOR)
    rate_limited: int = 0  # REGISTERs refused during a source's cool-down
    refused: int = 0  # other refusals: 400, 403, 420, 423
    bindings_added: int = 0
    bindings_refreshed: int = 0
    bindings_removed: int = 0
    bindings_expired: int = 0


@attrs.frozen
class RegisterResult:
    response: Response
    events: tuple[RegistrarEvent, ...]


class _Refusal(Exception):
    """A REGISTER that cannot be carried out: answer it with this status and change nothing."""

    def __init__(self, status: int, reason: str | None = None, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = headers


class Registrar:
    """Bindings of the SIP stations' phones, kept current by REGISTER and by time.

    `secret` signs digest nonces (share it between servers of a pool, keep it across
    restarts if you can; see rccserver.sip.digest). `random_bytes` makes nonces and tags.
    """

    def __init__(
        self,
        stations: Iterable[Station],
        settings: RegistrarSettings,
        *,
        secret: bytes,
        random_bytes: RandomBytes,
        server_header: str | None = None,
    ) -> None:
        self.settings = settings
        self._digest = DigestServer(realm=settings.realm, secret=secret, random_bytes=random_bytes,
                                    nonce_lifetime=settings.nonce_lifetime)
        self._credentials = StationCredentials((), secret=secret, offered=settings.algorithms)
        self._random_bytes = random_bytes
        self._server_header = server_header
        self._limiter = AuthFailureLimiter(limit=settings.failure_limit, window=settings.failure_window,
                                           cooldown=settings.failure_cooldown)
        self._timers: TimerQueue[BindingSlot] = TimerQueue()
        self._slots: dict[str, list[BindingSlot]] = {}  # sip_user -> live bindings, oldest first
        self._counters = RegistrarCounters()
        self._stations: dict[str, Station] = {}
        self._by_extension: dict[str, Station] = {}
        self._install(stations)

    # --- stations

    def _install(self, stations: Iterable[Station]) -> None:
        sip = sorted((s for s in stations if s.is_sip and s.sip_user), key=lambda s: s.sip_user or "")
        self._stations = {s.sip_user: s for s in sip if s.sip_user}
        self._credentials.replace(sip)
        self._by_extension = {s.extension: s for s in sip}

    def replace_stations(self, stations: Iterable[Station]) -> list[RegistrarEvent]:
        """New CIC data (a reload): stations that are no longer SIP stations lose their bindings.

        Bindings of stations that stay are kept, even if their credentials changed:
        the phone proves the new ones at its next refresh.
        """
        before = self._stations
        self._install(stations)
        events: list[RegistrarEvent] = []
        for sip_user in [user for user in self._slots if user not in self._stations]:
            for slot in list(self._slots[sip_user]):
                self._feed(slot, BindingInput.STATION_GONE, events, extension=before[sip_user].extension,
                           source=slot.binding.source, reason="station removed")
        return events

    def restore_binding(self, binding: Binding, now: float) -> bool:
        """Bind a contact saved before a restart (rccserver.state) until its own `expires_at`,
        as if its REGISTER had just been accepted, so the phone is reachable without
        registering again. Nothing is reported (it counts in `bindings_added`). Refused
        (False) when it has expired by `now`, its user is no longer a SIP station's, the
        contact is bound already, or the station holds `max_bindings_per_station`."""
        if binding.sip_user not in self._stations or binding.expires_at <= now:
            return False
        slots = self._slots.get(binding.sip_user, [])
        if len(slots) >= self.settings.max_bindings_per_station \
                or any(uri_equal(slot.binding.contact, binding.contact) for slot in slots):
            return False
        slot = BindingSlot(binding)
        self._slots.setdefault(binding.sip_user, []).append(slot)
        self._feed(slot, BindingInput.REGISTER, [], extension=self._extension_of(binding.sip_user),
                   granted=binding.expires_in(now))
        return True

    def adopt_bindings(self, sip_user: str, bindings: Iterable[Binding], now: float) -> None:
        """The pool's bindings of `sip_user`, saved by another server of the pool, replace
        this registrar's: a phone that registered there is reachable from here, and one that
        unregistered there is no longer called from here. Nothing is reported (the server
        that took the REGISTER did), so adopting never echoes back into the store."""
        if sip_user not in self._stations:
            return
        extension = self._extension_of(sip_user)
        wanted = [binding for binding in bindings if binding.sip_user == sip_user and binding.expires_at > now]
        for slot in list(self._slots.get(sip_user, [])):
            if not any(uri_equal(slot.binding.contact, binding.contact) for binding in wanted):
                self._feed(slot, BindingInput.UNREGISTER, [], extension=extension)
        for binding in wanted:
            slot = next((s for s in self._slots.get(sip_user, []) if uri_equal(s.binding.contact, binding.contact)), None)
            if slot is None:
                self.restore_binding(binding, now)
            elif slot.binding != binding:
                slot.binding = binding
                self._feed(slot, BindingInput.REGISTER, [], extension=extension, granted=binding.expires_in(now))

    # --- time

    def next_deadline(self) -> float | None:
        """When the earliest binding lapses (None: no bindings)."""
        return self._timers.next_deadline()

    def tick(self, now: float) -> list[RegistrarEvent]:
        """Lapse every binding whose expiry is due at `now`."""
        events: list[RegistrarEvent] = []
        while (due := self._timers.pop_next_due(now)) is not None:
            slot = due[1]
            slot.timer = None
            self._feed(slot, BindingInput.LAPSE, events, extension=self._extension_of(slot.binding.sip_user))
        return events

    # --- queries

    def bindings(self, sip_user: str) -> tuple[Binding, ...]:
        """The live bindings of a station's AOR, oldest first."""
        return tuple(slot.binding for slot in self._slots.get(sip_user, ()))

    def bindings_of_extension(self, extension: str) -> tuple[Binding, ...]:
        station = self._by_extension.get(extension)
        return self.bindings(station.sip_user) if station is not None and station.sip_user else ()

    def registration(self, extension: str, now: float) -> dict | None:
        """GET /api/stations' `registration` (SPEC section 9): the most recently registered binding."""
        bindings = self.bindings_of_extension(extension)
        if not bindings:
            return None
        latest = max(bindings, key=lambda binding: binding.updated_at)
        return {"contact": str(latest.contact), "transport": latest.transport,
                "expires_in": latest.expires_in(now), "user_agent": latest.user_agent}

    @property
    def binding_count(self) -> int:
        return sum(len(slots) for slots in self._slots.values())

    @property
    def counters(self) -> RegistrarCounters:
        """A copy of the counters (they only ever grow)."""
        return attrs.evolve(self._counters)

    # --- REGISTER

    def handle_register(self, request: Request, *, source: Address, transport: str, now: float) -> RegisterResult:
        """Answer one REGISTER that arrived from `source` over `transport` ("udp", "tcp", "tls")."""
        if request.method != "REGISTER":
            raise ValueError(f"the registrar handles REGISTER, not {request.method}")
        events = self.tick(now)  # a binding that lapsed by now is neither refreshed nor listed
        self._counters.requests += 1
        try:
            response = self._process(request, source, transport.lower(), now, events)
        except _Refusal as refusal:
            self._counters.refused += 1
            response = self._reply(request, refusal.status, refusal.reason, refusal.headers)
        if self._server_header:
            response.headers.add("Server", self._server_header)
        return RegisterResult(response, tuple(events))

    def _process(self, request: Request, source: Address, transport: str, now: float,
                 events: list[RegistrarEvent]) -> Response:
        aor_user = _aor_user(request)
        until = self._limiter.blocked_until(source[0], now)
        if until is not None:
            self._counters.rate_limited += 1
            events.append(RegistrationRateLimited(aor_user, source, until))
            return self._reply(request, 403)
        required = request.headers.get_all("Require")
        if required:
            raise _Refusal(420, headers=(("Unsupported", ", ".join(required)),))
        if aor_user is None:
            raise _Refusal(400, "To Must Name A SIP User")
        try:
            credentials = self._digest.credentials_in(request)
        except DigestError as error:
            self._failed(None, aor_user, source, f"unreadable Authorization: {error.reason}", now, events)
            raise _Refusal(400, "Malformed Authorization") from None
        if credentials is None:
            return self._challenge(request, aor_user, now)
        verdict = self._digest.verify(credentials, method="REGISTER", uri=request.uri,
                                      secret=self._credentials.secret(credentials.username), now=now)
        if verdict.outcome is Outcome.STALE:
            return self._challenge(request, aor_user, now, stale=True)
        if verdict.outcome is Outcome.REJECTED:
            if self._failed(credentials.username, aor_user, source, verdict.reason, now, events):
                return self._reply(request, 403)
            return self._challenge(request, aor_user, now)
        if credentials.username != aor_user:
            self._counters.auth_failures += 1
            events.append(AuthenticationFailed(credentials.username, aor_user, source,
                                               f"authenticated as {credentials.username!r}, "
                                               f"which does not own {aor_user!r}"))
            raise _Refusal(403)
        return self._update(request, self._stations[aor_user], source, transport, now, events)

    def _failed(self, user: str | None, aor_user: str | None, source: Address, reason: str, now: float,
                events: list[RegistrarEvent]) -> bool:
        """Count and report one authentication failure; True if it started the source's cool-down."""
        self._counters.auth_failures += 1
        events.append(AuthenticationFailed(user, aor_user, source, reason))
        until = self._limiter.record_failure(source[0], now)
        if until is None:
            return False
        events.append(SourceBlocked(source[0], self.settings.failure_limit, until))
        return True

    def _challenge(self, request: Request, aor_user: str, now: float, *, stale: bool = False) -> Response:
        self._counters.challenges += 1
        headers = self._digest.challenge_headers(now, self._credentials.algorithms_for(aor_user), stale=stale)
        return self._reply(request, 401, headers=headers)

    def _update(self, request: Request, station: Station, source: Address, transport: str, now: float,
                events: list[RegistrarEvent]) -> Response:
        sip_user = station.sip_user
        assert sip_user is not None  # only SIP stations with a sip_user are installed
        slots = self._slots.get(sip_user, [])
        plan = self._plan(request, slots)
        cseq = request.cseq[0]
        for slot, _, _ in plan:
            if slot is not None and slot.binding.call_id == request.call_id and cseq <= slot.binding.cseq:
                raise _Refusal(400, "Out of Order CSeq")
        kept = len(slots) - sum(1 for slot, _, granted in plan if slot is not None and granted == 0)
        added = sum(1 for slot, _, granted in plan if slot is None and granted > 0)
        if added and kept + added > self.settings.max_bindings_per_station:
            raise _Refusal(403, "Too Many Bindings")
        user_agent = request.headers.get("User-Agent")
        if user_agent is not None:
            user_agent = user_agent[:_MAX_USER_AGENT]
        for slot, contact, granted in plan:
            if granted == 0:
                if slot is not None:
                    self._feed(slot, BindingInput.UNREGISTER, events, extension=station.extension, source=source,
                               reason="unregistered")
                continue
            assert contact is not None and isinstance(contact.uri, SipUri)  # checked by _plan
            binding = Binding(
                sip_user=sip_user, contact=contact.uri,
                contact_params=tuple(p for p in contact.params if p[0].lower() != "expires"),
                call_id=request.call_id, cseq=cseq, transport=transport, source=source, user_agent=user_agent,
                registered_at=now if slot is None else slot.binding.registered_at, updated_at=now,
                expires_at=now + granted)
            if slot is None:
                slot = BindingSlot(binding)
                self._slots.setdefault(sip_user, []).append(slot)
            else:
                slot.binding = binding
            self._feed(slot, BindingInput.REGISTER, events, extension=station.extension, granted=granted)
        self._counters.registrations += 1
        contacts = [("Contact", str(NameAddr(uri=slot.binding.contact,
                                             params=slot.binding.contact_params
                                             + (("expires", str(slot.binding.expires_in(now))),))))
                    for slot in self._slots.get(sip_user, ())]
        return self._reply(request, 200, headers=contacts)

    def _plan(self, request: Request, slots: list[BindingSlot]) -> list[tuple[BindingSlot | None, NameAddr | None, int]]:
        """(existing binding or None, contact, seconds to grant; 0 removes) per contact, or a _Refusal."""
        settings = self.settings
        contacts = request.headers.get_all("Contact")
        header = request.headers.get("Expires")
        header_expires = None if header is None else _delta_seconds(header.strip(" \t"), "Invalid Expires")
        if "*" in contacts:
            if len(contacts) != 1 or header_expires != 0:
                raise _Refusal(400, "Invalid Wildcard Contact")
            return [(slot, None, 0) for slot in slots]
        plan: list[tuple[BindingSlot | None, NameAddr | None, int]] = []
        for text in contacts:
            try:
                contact = parse_name_addr(text)
            except SipParseError:
                raise _Refusal(400, "Invalid Contact") from None
            if not isinstance(contact.uri, SipUri):
                raise _Refusal(400, "Contact Must Be A SIP URI")
            param = contact.param("expires")
            if param is not None:
                requested = _delta_seconds(param, "Invalid Contact Expires")
            elif header_expires is not None:
                requested = header_expires
            else:
                requested = settings.default_expires
            if 0 < requested < settings.min_expires:
                raise _Refusal(423, headers=(("Min-Expires", str(settings.min_expires)),))
            granted = min(requested, settings.max_expires)
            existing = next((slot for slot in slots if uri_equal(slot.binding.contact, contact.uri)), None)
            # The same contact twice in one request: the later one counts.
            plan = [entry for entry in plan if entry[1] is None or not uri_equal(entry[1].uri, contact.uri)]
            plan.append((existing, contact, granted))
        return plan

    # --- carrying out the binding table

    def _feed(self, slot: BindingSlot, input_: BindingInput, events: list[RegistrarEvent], *, extension: str,
              granted: int = 0, source: Address | None = None, reason: str = "") -> None:
        binding = slot.binding
        for action in slot.feed(input_):
            if action is BindingAction.ARM_TIMER:
                slot.timer = self._timers.schedule(binding.expires_at, slot)
            elif action is BindingAction.REARM_TIMER:
                if slot.timer is not None:
                    self._timers.cancel(slot.timer)
                slot.timer = self._timers.schedule(binding.expires_at, slot)
            elif action is BindingAction.CANCEL_TIMER:
                if slot.timer is not None:
                    self._timers.cancel(slot.timer)
                slot.timer = None
            elif action is BindingAction.REPORT_ADDED:
                self._counters.bindings_added += 1
                events.append(BindingAdded(binding.sip_user, extension, str(binding.contact), binding.transport,
                                           binding.source, binding.user_agent, granted))
            elif action is BindingAction.REPORT_REFRESHED:
                self._counters.bindings_refreshed += 1
                events.append(BindingRefreshed(binding.sip_user, extension, str(binding.contact), binding.transport,
                                               binding.source, binding.user_agent, granted))
            elif action is BindingAction.REPORT_REMOVED:
                self._counters.bindings_removed += 1
                events.append(BindingRemoved(binding.sip_user, extension, str(binding.contact),
                                             source or binding.source, reason))
            elif action is BindingAction.REPORT_EXPIRED:
                self._counters.bindings_expired += 1
                events.append(BindingExpired(binding.sip_user, extension, str(binding.contact), binding.source))
            elif action is BindingAction.FORGET:
                slots = self._slots[binding.sip_user]
                slots.remove(slot)
                if not slots:
                    del self._slots[binding.sip_user]

    def _extension_of(self, sip_user: str) -> str:
        station = self._stations.get(sip_user)
        return station.extension if station is not None else ""

    # --- responses

    def _reply(self, request: Request, status: int, reason: str | None = None,
               headers: Iterable[tuple[str, str]] = ()) -> Response:
        return make_response(request, status, reason, to_tag=self._random_bytes(8).hex(), headers=headers)


def _aor_user(request: Request) -> str | None:
    """The user part of To, %-escapes decoded; None if To is no SIP URI with a user."""
    try:
        uri = request.to.uri
    except SipParseError:
        return None
    if not isinstance(uri, SipUri) or not uri.user:
        return None
    return unquote(uri.user, errors="surrogateescape")


def _delta_seconds(text: str, reason: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise _Refusal(400, reason)
    if len(text) > 10:  # also keeps int() away from huge digit strings
        return _MAX_DELTA_SECONDS
    return min(int(text), _MAX_DELTA_SECONDS)
