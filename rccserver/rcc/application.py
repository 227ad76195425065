"""The RCC application: what rccserver does with each SIP dialog (sans-IO).

It implements the endpoint's Application interface:
- initial INVITE: decode RequestSystemStatus, decide the logon (SPEC section 6),
  take the station (and, in a pool of servers, its lease: rcc/pool.py, answered
  later), answer 200 + RequestSystemStatusResponse or refuse with the code in a
  Warning header;
- INFO: decode the CSTA request, run the service (rcc/services.py), answer the
  CSTA response (or CSTAErrorCode) in the 200 OK; a forwarding or DND change is
  answered once the state store holds it (rccserver/state/settings.py);
- re-INVITE: a fresh RequestSystemStatusResponse;
- dialog end: drop the monitors, release the station.
It also sends what the server originates in each dialog: CSTA events for the
monitored station (rcc/eventmap.py) and keep-alive INFOs with SystemStatus.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Protocol

import attrs

from rccserver import csta
from rccserver.common.clock import Scheduler, TimerWheel
from rccserver.rcc.logon import STATUS, LogonAttempt, LogonDecision, decide_logon, warning_header
from rccserver.rcc.pool import (POOL_UNAVAILABLE_CODE, POOL_UNAVAILABLE_STATUS, LocalLeases, PoolUnavailable,
                                StationLeases)
from rccserver.rcc.session import RccSession, SessionRegistry
from rccserver.sip.application import IncomingRequest, TransactionTimeout, TransportFailure
from rccserver.sip.message import Response
from rccserver.state import MemoryStore
from rccserver.state.settings import StationSettings

CSTA_CONTENT_TYPE = "application/csta+xml"
CSTA_HEADERS = (
    ("Content-Type", CSTA_CONTENT_TYPE),
    ("Content-Disposition", "signal;handling=required"),
)


@attrs.define
class CurrentData:
    """The directory cache and CIC data in force; a reload replaces both attributes."""

    directory: Any  # rccserver.directory.cache.DirectoryCache
    cic: Any  # rccserver.cic.data.CicData


class SessionIds:
    """Unguessable session ids (16 hex digits, as secrets.token_hex(8) gives), cut from one
    os.urandom draw per 512 logons: each draw is a system call, several us on its own."""

    _IDS_PER_DRAW = 512

    def __init__(self) -> None:
        self._random = b""
        self._at = 0

    def next(self) -> str:
        at = self._at
        if at >= len(self._random):
            self._random = os.urandom(8 * self._IDS_PER_DRAW)
            at = 0
        self._at = at + 8
        return self._random[at:at + 8].hex()


class LogonAnswers:
    """The RequestSystemStatusResponse body of every accepted logon, encoded once per CSTA
    namespace by the codec (it never varies) instead of once per logon."""

    def __init__(self) -> None:
        self._bodies: dict[Any, bytes] = {}

    def body(self, namespace) -> bytes:
        body = self._bodies.get(namespace)
        if body is None:
            body = csta.encode(csta.RequestSystemStatusResponse(system_status="normal"), namespace)
            self._bodies[namespace] = body
        return body


class RccObserver(Protocol):
    """Logging and metrics hooks; the Twisted edge implements them."""

    def logon(self, decision: LogonDecision, peer: tuple[str, int] | None) -> None: ...
    def session_started(self, session: RccSession) -> None: ...
    def session_ended(self, session: RccSession, reason: str) -> None: ...
    def keepalive_failed(self, session: RccSession, outcome: str, ends_session: bool) -> None: ...
    def csta_request(self, session: RccSession | None, service: str, result: str) -> None: ...
    def event_sent(self, session: RccSession, event: str) -> None: ...


class NullObserver:
    def logon(self, decision, peer) -> None: pass
    def session_started(self, session) -> None: pass
    def session_ended(self, session, reason) -> None: pass
    def keepalive_failed(self, session, outcome, ends_session) -> None: pass
    def csta_request(self, session, service, result) -> None: pass
    def event_sent(self, session, event) -> None: pass


def _outcome_label(outcome) -> str:
    if isinstance(outcome, Response):
        return f"{outcome.status} {outcome.reason}".strip()
    if isinstance(outcome, TransactionTimeout):
        return "no answer"
    if isinstance(outcome, TransportFailure):
        return f"transport failure: {outcome.reason}"
    return repr(outcome)


def _lost(outcome, statuses: tuple[int, ...]) -> bool:
    return isinstance(outcome, TransportFailure) or (isinstance(outcome, Response) and outcome.status in statuses)


def keepalive_lost(outcome) -> bool:
    """SPEC 7: a 481 or a transport failure (no route to the dialog) to a keep-alive ends
    the session at once.  A 408 or no answer is a miss: a front end answers 408 for a
    client that is merely slow, so only `keepalive_misses` of them in a row end it."""
    return _lost(outcome, (481,))


def event_lost(outcome) -> bool:
    """Only a 481 or a transport failure: a client may never answer an event INFO (sipe),
    and a proxy in front of it then answers 408 for it, which counts as delivered."""
    return _lost(outcome, (481,))


class RccApplication:
    def __init__(
        self,
        *,
        data: CurrentData,
        occupancy,
        switch,
        session_timeout: int,
        domain_name: str,
        keepalive_misses: int = 3,
        scheduler: Scheduler,
        wall_clock: Callable[[], float],
        observer: RccObserver | None = None,
        number_presentation: Callable[[str], str | None] | None = None,
        settings: StationSettings | None = None,
        leases: StationLeases | None = None,
    ) -> None:
        from rccserver.rcc.eventmap import EventMapper
        from rccserver.rcc.services import ServiceRunner

        self.data = data
        self.occupancy = occupancy
        self.switch = switch
        self.session_timeout = session_timeout
        self.keepalive_misses = keepalive_misses  # SPEC 7; 0: misses never end a session
        self.domain_name = domain_name
        self.scheduler = scheduler
        self.wall_clock = wall_clock  # epoch seconds, only for display (session start)
        self.observer: RccObserver = observer or NullObserver()
        # An outside party's number -> the tel URI Lync is shown (E.164: SPEC 10), or None.
        self.number_presentation = number_presentation
        # Forwarding and DND changes go through it: durable before they are confirmed.
        self.settings = settings or StationSettings(switch, MemoryStore())
        # The pool's station leases (SPEC 11): a logon takes one before its 200; LocalLeases alone.
        self.leases: StationLeases = leases or LocalLeases()
        self._leased: set[str] = set()  # stations whose lease this server holds
        self._session_ids = SessionIds()
        self._logon_answers = LogonAnswers()
        self.sessions = SessionRegistry()
        # One wheel for every session's next keep-alive: no Timer and closure per session.
        self.keepalives: TimerWheel[RccSession] = TimerWheel(scheduler, self._keepalive_due)
        self.endpoint = None  # set by attach(); the endpoint needs us first
        self.services = ServiceRunner(self)
        self.events = EventMapper(self)

        # Events a ringing timer leaves (auto-answer, no-answer forwarding) go out at once.
        switch.on_timer_events = self.events.flush

    def attach(self, endpoint) -> None:
        self.endpoint = endpoint

    # -- keep-alives (timers in the shared scheduler) ----------------------
    def _schedule_keepalive(self, session: RccSession) -> None:
        self.keepalives.call_later(self.session_timeout, session)

    def _keepalive_due(self, session: RccSession) -> None:
        if not session.ended:
            self._send_keepalive(session)

    # -- Application interface --------------------------------------------
    def on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        content_type = request.content_type
        message, namespace = None, csta.ED3
        if content_type == CSTA_CONTENT_TYPE:
            try:
                message, namespace = csta.decode_document(request.body)
            except csta.CstaDecodeError:
                message = None
        csta_ok = isinstance(message, csta.RequestSystemStatus)
        peer = self._peer(incoming)
        attempt = LogonAttempt(
            content_type=content_type,
            csta_ok=csta_ok,
            line=message.line if csta_ok else None,
            from_uri=str(request.from_.uri),
        )
        session_id = self._session_ids.next()
        data = self.data
        decision = decide_logon(attempt, data.directory, data.cic, self.occupancy)
        if not (decision.ok and decision.station is not None):
            self._answer_logon(incoming, decision, session_id, namespace, peer)
            return
        station = decision.station
        already_leased = station in self._leased
        # decide_logon saw the station free or held by this user; nothing ran in between.
        # Held locally at once, so another user's logon here is refused while the pool answers.
        claim = self.occupancy.acquire(station, decision.cic_user, session_id, "rcc")
        assert claim.ok, claim
        if already_leased:  # this server holds the pool's lease for this user already
            self._answer_logon(incoming, decision, session_id, namespace, peer)
            return
        if type(self.leases) is LocalLeases:
            # A server alone: LocalLeases grants every claim at once (what `claimed` below
            # does with its Granted), without a closure and a Granted per logon.
            self._leased.add(station)
            self._answer_logon(incoming, decision, session_id, namespace, peer)
            return

        def claimed(result) -> None:
            if result.ok:
                self._leased.add(station)
                if self.occupancy.held_by(session_id) is None:  # gone while the pool answered
                    self._release_lease_if_unused(station)
                    return
                self._answer_logon(incoming, decision, session_id, namespace, peer)
                return
            self._release_holder(session_id)
            if isinstance(result, PoolUnavailable):
                refused = attrs.evolve(decision, code=POOL_UNAVAILABLE_CODE, sip_status=POOL_UNAVAILABLE_STATUS,
                                       detail=f"station {station} ({decision.station_name}) cannot be checked "
                                              f"against the other servers of the pool: {result.reason}")
            else:
                refused = attrs.evolve(decision, code="Cs_StationInUseByAnotherUser",
                                       sip_status=STATUS["Cs_StationInUseByAnotherUser"],
                                       detail=f"station {station} ({decision.station_name}) is in use by CIC user "
                                              f"{result.other_user} through another server of the pool",
                                       other_user=result.other_user)
            self._answer_logon(incoming, refused, session_id, namespace, peer)

        self.leases.claim(station, decision.cic_user, claimed)

    def _answer_logon(self, incoming: IncomingRequest, decision: LogonDecision, session_id: str,
                      namespace, peer) -> None:
        """Log the decision and answer the INVITE (at once, or once the pool granted the lease)."""
        self.observer.logon(decision, peer)
        if decision.sip_status != 200:
            incoming.respond(
                decision.sip_status,
                headers=[("Warning", warning_header(decision, self.domain_name))],
            )
            return
        incoming.respond(200, headers=CSTA_HEADERS, body=self._logon_answers.body(namespace))
        dialog = incoming.dialog
        if dialog is None:  # cancelled before our 200 went out: no dialog, give the station back
            if decision.station is not None:
                self._release_holder(session_id)
            return
        if decision.station is not None:
            device = decision.station
        else:
            device = self.services.remote_logon(decision.cic_user, decision.remote_number)
        session = RccSession(
            session_id=session_id,
            dialog=dialog,
            lync_uri=decision.lync_uri,
            domain_account=decision.domain_account,
            cic_user=decision.cic_user,
            line=decision.line,
            station=decision.station,
            remote_number=decision.remote_number,
            device=device,
            namespace=namespace,
            peer=peer,
            started_at=self.wall_clock(),
        )
        dialog.app_data = session
        self.sessions.add(session)
        if self.session_timeout > 0:
            self._schedule_keepalive(session)
        self.observer.session_started(session)

    def hold_station(self, station: str, user_id: str, holder: str, kind: str, reply) -> None:
        """A hold other than an RCC dialog (a CIC client logon): the station locally at once,
        then the pool's lease; `reply(None)` once held, else `reply(Conflict | PoolUnavailable)`
        with nothing held."""
        claim = self.occupancy.acquire(station, user_id, holder, kind)
        if not claim.ok:
            reply(claim)
            return
        if station in self._leased:
            reply(None)
            return

        def claimed(result) -> None:
            if result.ok:
                self._leased.add(station)
                if self.occupancy.held_by(holder) is None:  # released while the pool answered
                    self._release_lease_if_unused(station)
                reply(None)
                return
            self._release_holder(holder)
            reply(result)

        self.leases.claim(station, user_id, claimed)

    def release_holder(self, holder: str) -> bool:
        """Drop a hold taken with hold_station; False if it held nothing."""
        held = self.occupancy.held_by(holder) is not None
        self._release_holder(holder)
        return held

    def _release_holder(self, holder: str) -> None:
        """Drop a local hold; the pool's lease goes once the station's last local holder is gone."""
        held = self.occupancy.held_by(holder)
        if self.occupancy.release(holder) and held is not None:
            self._release_lease_if_unused(held.station)

    def _release_lease_if_unused(self, station: str) -> None:
        if station in self._leased and self.occupancy.occupant(station) is None:
            self._leased.discard(station)
            self.leases.release(station)

    def on_reinvite(self, incoming: IncomingRequest) -> None:
        session = self._session_of(incoming)
        namespace = session.namespace if session is not None else csta.ED3
        if incoming.request.body:
            try:
                _, namespace = csta.decode_document(incoming.request.body)
            except csta.CstaDecodeError:
                pass  # a refresh is a refresh; answer in the session's namespace
        incoming.respond(
            200,
            headers=CSTA_HEADERS,
            body=csta.encode(csta.RequestSystemStatusResponse(system_status="normal"), namespace),
        )

    def on_update(self, incoming: IncomingRequest) -> None:
        """Session refresh by UPDATE; the endpoint has answered it."""

    def on_info(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        session = self._session_of(incoming)
        if request.content_type not in (None, CSTA_CONTENT_TYPE) and request.body:
            incoming.respond(415, headers=[("Accept", CSTA_CONTENT_TYPE)])
            return
        self.services.handle(session, request.body, incoming)

    def answer_csta(self, incoming: IncomingRequest, session: RccSession | None, body: bytes, service: str,
                    result: str) -> None:
        """The 200 OK with the CSTA response to one INFO (ServiceRunner.handle calls it), maybe
        later than on_info: a setting is answered once the state store holds it."""
        self.observer.csta_request(session, service, result)
        incoming.respond(200, headers=CSTA_HEADERS, body=body)
        self.events.flush()

    def on_bye(self, dialog, request) -> None:
        """The peer signed out; on_dialog_ended does the cleanup."""

    def on_dialog_ended(self, dialog, reason: str) -> None:
        session = dialog.app_data
        if not isinstance(session, RccSession) or session.ended:
            return
        self.sessions.remove(session)
        self.keepalives.cancel(session)
        self._release_holder(session.session_id)
        if session.remote_number is not None:
            self.services.remote_logoff(session)
        self.observer.session_ended(session, reason)
        dialog.app_data = None  # the session keeps its dialog; no loop is left for the collector

    # -- what we send ------------------------------------------------------
    def send_info(self, session: RccSession, body: bytes, on_outcome) -> None:
        if session.ended or not session.dialog.is_live:
            return
        self.endpoint.send_request(session.dialog, "INFO", headers=CSTA_HEADERS, body=body, on_outcome=on_outcome)

    def send_event(self, session: RccSession, event) -> None:
        body = csta.encode(event, session.namespace)
        name = type(event).__name__

        def outcome(result) -> None:
            if event_lost(result) and not session.ended:
                self.observer.keepalive_failed(session, f"event {name}: {_outcome_label(result)}", True)
                self.end_session(session, "event-delivery-failed")

        self.send_info(session, body, outcome)
        self.observer.event_sent(session, name)

    def _send_keepalive(self, session: RccSession) -> None:
        body = csta.encode(csta.SystemStatus(system_status="normal"), session.namespace)

        def outcome(result) -> None:
            if session.ended:
                return
            if isinstance(result, Response) and 200 <= result.status < 300:
                session.keepalives_missed = 0
            elif keepalive_lost(result):
                self.observer.keepalive_failed(session, _outcome_label(result), True)
                self.end_session(session, "keepalive-failed")
            else:
                session.keepalives_missed += 1
                ends = 0 < self.keepalive_misses <= session.keepalives_missed
                self.observer.keepalive_failed(session, _outcome_label(result), ends)
                if ends:
                    self.end_session(session, "keepalive-failed")

        self.send_info(session, body, outcome)
        if self.session_timeout > 0 and not session.ended:
            self._schedule_keepalive(session)

    def end_session(self, session: RccSession, reason: str) -> None:
        if session.dialog.is_live:
            self.endpoint.end_dialog(session.dialog, reason)  # calls on_dialog_ended
        else:
            self.on_dialog_ended(session.dialog, reason)

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _session_of(incoming: IncomingRequest) -> RccSession | None:
        dialog = incoming.dialog
        session = dialog.app_data if dialog is not None else None
        return session if isinstance(session, RccSession) else None

    def _peer(self, incoming: IncomingRequest) -> tuple[str, int] | None:
        return self.endpoint.connection_peer(incoming.conn_id)
