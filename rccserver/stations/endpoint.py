"""The phone line: the sans-IO SIP endpoint that SIP stations' phones talk to (SPEC section 9).

It is the phones' registrar (`registrar.Registrar`) and the B2BUA's SIP side
towards them: it implements `legs.PhoneLine` for the call layer and hands it
`legs.Leg`s (`leg.PhoneLeg`), telling it what happens through its
`legs.LegListener`.

Inputs (from the Twisted edge):
* UDP: `datagram_received(data, addr, local)`;
* TCP/TLS: `connection_made(conn_id, peer, transport, local)`,
  `receive(conn_id, data)` with exactly one framed message, `connection_lost(conn_id)`;
* `send_failed(key, reason)` for a `SendTo` that could not be carried out.
Outputs: `take_output()` returns `Send`, `SendTo`, `Close` and `SendDatagram`
records (`stations.outputs`).  Drain it after every input *and after every tick
of the shared scheduler*: retransmissions, and whatever the call layer does
from other components' inputs, are produced there.

Time: every timer lives in the shared `Scheduler`.  The transaction layer and
the registrar keep their own timer queues; the endpoint keeps one scheduler
timer armed for each one's `next_deadline()` and re-arms them after every input.

Callbacks to the call layer are queued and delivered at the end of the
current input, after the protocol work is done; when the call layer acts from
outside an input of ours (from the switch's timers or an RCC request), its
callbacks wait for a zero-delay scheduler timer, so that no `Leg` method ever
calls back into the call layer.

Routing of requests from phones:
* REGISTER -> the registrar; its events go to `observer`.
* OPTIONS outside a dialog -> 200 with Allow, Accept and Supported.
* INVITE outside a dialog -> digest challenge `407` (`phone_auth`), then an
  INCOMING leg and `listener.phone_dialled(leg)`.
* In a leg's dialog: ACK, INVITE (re-INVITE), BYE, REFER -> the leg's table;
  INFO, NOTIFY, OPTIONS -> 200; a CANCEL -> 200, then the leg (when its
  INVITE is still unanswered).  A dialog we do not know: 481.
* Other methods: 405 for the ones we know of (SUBSCRIBE, PUBLISH, MESSAGE,
  UPDATE, PRACK), 501 for the rest.  A `Require` we do not support: 420.
"""
from __future__ import annotations

import collections
import ipaddress
import itertools
import secrets
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote

import attrs

from rccserver.common.clock import Scheduler, Timer
from rccserver.common.product import PRODUCT
from rccserver.sip.digest import DigestClient, RandomBytes
from rccserver.sip.grammar import safe_reason, tag_of, unsupported_options
from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.routing import response_target
from rccserver.sip.transaction_layer import Ended, TimedOut, ToTU, TransactionLayer, Transmit, TransportFailed
from rccserver.sip.transaction_layer import Output as TransactionOutput
from rccserver.sip.transaction_matching import (
    MAGIC_COOKIE,
    ClientKey,
    Rfc2543Key,
    Rfc3261Key,
    ServerKey,
    cancel_target_key,
)
from rccserver.sip.transaction_tables import ServerInviteState
from rccserver.sip.transaction_timers import TimerSettings
from rccserver.sip.uri import SipUri, TelUri, split_header_list
from rccserver.stations.binding import Binding
from rccserver.stations.flows import Connections, Flow, contact_target, default_port
from rccserver.stations.leg import PhoneLeg, Purpose
from rccserver.stations.legs import AutoAnswer, LegListener, LegRole, NotRegistered
from rccserver.stations.line_events import LegFinished, LegStarted, MessageDropped, StationsEvent
from rccserver.stations.outputs import LineOutput, Target
from rccserver.stations.phone_auth import NO_STATIONS, InviteAuthenticator, StationLookup
from rccserver.stations.phone_dialog import DialogKey, PhoneDialog
from rccserver.stations.registrar import Registrar

__all__ = ["StationsEndpoint"]

ALLOW_METHODS = ("INVITE", "ACK", "CANCEL", "BYE", "REFER", "NOTIFY", "INFO", "OPTIONS", "REGISTER")
ACCEPT_TYPES = ("application/sdp",)
SUPPORTED_OPTIONS = ("norefersub",)  # RFC 4488: a phone may ask for a REFER without NOTIFYs
KNOWN_NOT_ALLOWED = frozenset({"SUBSCRIBE", "PUBLISH", "MESSAGE", "UPDATE", "PRACK"})
IN_DIALOG_ANSWERED_200 = frozenset({"INFO", "NOTIFY", "OPTIONS"})  # nothing in them changes a call
SIP_SCHEMES = frozenset({"sip", "sips"})
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}
ANSWERABLE_WITH = ("Via", "From", "To", "Call-ID", "CSeq")  # what a 400 copies from a broken request

Address = tuple[str, int]


@attrs.frozen(slots=True)
class _Incoming:
    """A request the transaction layer passed up, with the flow it came by."""

    key: ServerKey
    request: Request
    flow: Flow


@attrs.frozen(slots=True)
class _Unroutable:
    """A message of transaction `key` had no way to be sent."""

    key: object


_NO_REPORT = object()  # SendTo key of messages outside transactions (ACKs): a failure changes nothing

_Event = _Incoming | _Unroutable | ToTU | TimedOut | TransportFailed | Ended


class StationsEndpoint:
    """The SIP endpoint of the stations line: registrar, phone authentication, transactions, legs."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        registrar: Registrar,
        domain_name: str,
        listener: LegListener | None = None,
        stations: StationLookup | None = None,
        realm: str | None = None,
        secret: bytes | None = None,
        random_bytes: RandomBytes = secrets.token_bytes,
        user_agent: str = PRODUCT,
        contact_host: str | None = None,
        local_ports: dict[str, int] | None = None,
        timer_settings: TimerSettings | None = None,
        observer: Callable[[StationsEvent], None] | None = None,
        nonce_lifetime: float = 300.0,
        failure_limit: int = 10,
        failure_window: float = 60.0,
        failure_cooldown: float = 300.0,
    ) -> None:
        """`listener` may be set later (`endpoint.listener = ...`), before the first input.

        `stations` is where phones' INVITEs find their credentials (the CIC data;
        `replace_stations` on reload): without it no phone can dial.  `realm`
        defaults to the registrar's.  `secret` signs the INVITE nonces: pass the
        registrar's, so that an unknown user gets the same challenge shape from
        both (a fresh random one otherwise).  `contact_host` is the host phones
        reach us by, in our Contact and Via (default `domain_name`); `local_ports`
        our listening port per transport (learnt from the inputs as well).
        """
        self.scheduler = scheduler
        self.registrar = registrar
        self.domain_name = domain_name
        self.listener = listener  # type: ignore[assignment]
        self.user_agent = user_agent
        self.contact_host = contact_host or domain_name
        self.timer_settings = timer_settings if timer_settings is not None else TimerSettings()
        self._ports = dict(DEFAULT_PORTS, **(local_ports or {}))
        self._observer = observer
        self._random_bytes = random_bytes
        self._auth = InviteAuthenticator(
            stations if stations is not None else NO_STATIONS, realm=realm or registrar.settings.realm,
            secret=secret if secret is not None else random_bytes(32), random_bytes=random_bytes,
            nonce_lifetime=nonce_lifetime,
            failure_limit=failure_limit, failure_window=failure_window, failure_cooldown=failure_cooldown,
            algorithms=registrar.settings.algorithms)
        self._tl = TransactionLayer(self.timer_settings)
        self._connections = Connections()
        self._legs: dict[str, PhoneLeg] = {}  # legs not ENDED yet
        self._dialogs: dict[DialogKey, PhoneLeg] = {}
        self._client_owners: dict[ClientKey, tuple[PhoneLeg, Purpose]] = {}
        self._server_owners: dict[ServerKey, PhoneLeg] = {}  # the phones' INVITEs and re-INVITEs
        self._events: collections.deque[_Event] = collections.deque()
        self._callbacks: collections.deque[Callable[[], None]] = collections.deque()
        self._outputs: list[LineOutput] = []
        self._busy = False  # inside an input of ours (callbacks are delivered at its end)
        self._tx_timer: Timer | None = None
        self._registrar_timer: Timer | None = None
        self._flush_timer: Timer | None = None
        self._leg_ids = itertools.count(1)
        self._leg_prefix = random_bytes(4).hex()
        self._capabilities = [("Allow", ", ".join(ALLOW_METHODS)), ("Supported", ", ".join(SUPPORTED_OPTIONS))]
        self._trunk: _TrunkPeer | None = None
        self._pings: dict[ClientKey, Callable[[int, str], None]] = {}  # OPTIONS to the trunk peer

    # ------------------------------------------------------------------
    # Introspection (admin API, tests)

    @property
    def legs(self) -> Iterator[PhoneLeg]:
        """The legs that have not ended."""
        return iter(list(self._legs.values()))

    @property
    def leg_count(self) -> int:
        return len(self._legs)

    @property
    def transaction_count(self) -> int:
        return self._tl.server_count + self._tl.client_count

    @property
    def idle(self) -> bool:
        """Nothing in flight: no leg, dialog, transaction, transaction timer or queued callback."""
        return not (self._legs or self._dialogs or self._client_owners or self._server_owners or self._events
                    or self._callbacks or self.transaction_count or self._tl.timer_count)

    # ------------------------------------------------------------------
    # Inputs from the transport

    def datagram_received(self, data: bytes, addr: Address, local: Address) -> None:
        self._ports["udp"] = local[1]
        if not data.strip(b"\r\n"):
            return  # a CRLF keep-alive
        with self._input():
            self._message(data, Flow("udp", (addr[0], addr[1])))

    def connection_made(self, conn_id: int, peer: Address, transport: str, local: Address) -> None:
        transport = transport.lower()
        self._ports[transport] = local[1]
        self._connections.opened(conn_id, (peer[0], peer[1]), transport, (local[0], local[1]))

    def receive(self, conn_id: int, data: bytes) -> None:
        """Exactly one framed SIP message from the connection `conn_id`."""
        connection = self._connections.get(conn_id)
        if connection is None:
            return
        with self._input():
            self._message(data, Flow(connection.transport, connection.peer, conn_id))

    def connection_lost(self, conn_id: int) -> None:
        # Legs and transactions survive: their next message goes by SendTo, or fails.
        self._connections.lost(conn_id)

    def send_failed(self, key: object, reason: str) -> None:
        if isinstance(key, (ClientKey, Rfc3261Key, Rfc2543Key)):
            with self._input():
                self._absorb(self._tl.transport_error(key, self.scheduler.now()))

    def take_output(self) -> list[LineOutput]:
        outputs, self._outputs = self._outputs, []
        return outputs

    def replace_stations(self, stations: StationLookup) -> None:
        """New CIC data (a reload): the new credentials are in force at once, for REGISTER and
        INVITE; the registrar drops the bindings of stations that are no longer SIP (reported)."""
        self._auth.replace_stations(stations)
        for event in self.registrar.replace_stations(stations.sip_stations):
            self._observe(event)
        self.refresh_timers()

    def refresh_timers(self) -> None:
        """Re-arm the scheduler timers after the registrar was changed from outside an input
        (`replace_stations`, `restore_binding`): its bindings then lapse on time."""
        self._rearm()

    def framing_error(self, conn_id: int, status: int, reason: str, head: bytes) -> None:
        """The edge's framer could not delimit a message: answer it from its head if we can read it."""
        connection = self._connections.get(conn_id)
        if connection is None:
            return
        partial: Request | None
        try:
            message = parse_message(head)
            partial = message if isinstance(message, Request) else None
        except SipParseError as error:
            partial = error.partial
        with self._input():
            self._unparsable(Flow(connection.transport, connection.peer, conn_id),
                             SipParseError(reason, status, partial))

    def shutdown(self) -> None:
        """Hang up every leg (the server is stopping)."""
        for leg in list(self._legs.values()):
            leg.hang_up()

    # ------------------------------------------------------------------
    # PhoneLine

    def is_registered(self, station: str) -> bool:
        self._lapse_bindings()
        return bool(self.registrar.bindings_of_extension(station))

    def invite(self, station: str, sdp: bytes | None, *, auto_answer: AutoAnswer, caller: str | None) -> PhoneLeg:
        self._lapse_bindings()
        bindings = self.registrar.bindings_of_extension(station)
        if not bindings:
            raise NotRegistered(station)
        leg = PhoneLeg.outgoing(self, self._new_leg_id(), station, bindings, sdp, auto_answer, caller)
        self._legs[leg.leg_id] = leg
        self._observe(LegStarted(leg.leg_id, leg.station, LegRole.OUTGOING, leg.call_id, bindings[0].source))
        self.after_call()
        return leg

    def set_trunk(self, address: Address | None, transport: str = "udp", host: str | None = None,
                  accept_from: Iterable[str] = (), did_from: str = "request-uri") -> None:
        """The trunk peer (SPEC 9): INVITEs to it go to `address` over `transport` (`host` is
        its name, for a new TCP/TLS connection); INVITEs from `accept_from` networks (default:
        the peer's address) are trunk calls, their DID read from the Request-URI or To.
        None: no trunk."""
        if address is None:
            self._trunk = None
            return
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in accept_from) or \
            (ipaddress.ip_network(address[0]),)
        self._trunk = _TrunkPeer((address[0], address[1]), transport, host or address[0], networks, did_from)

    def from_trunk(self, addr: Address) -> bool:
        trunk = self._trunk
        if trunk is None:
            return False
        try:
            source = ipaddress.ip_address(addr[0])
        except ValueError:
            return False
        return any(source in network for network in trunk.accept_from)

    def invite_peer(self, uri: str, sdp: bytes | None, *, caller: str, identity: str | None = None,
                    auth: DigestClient | None = None, label: str | None = None,
                    diversion: str | None = None) -> PhoneLeg:
        """An OUTGOING leg to the trunk peer (`uri` is `sip:NUMBER@peer`), with a `Diversion`
        naming `diversion` when a station's forwarding sent the call.  Raises NotRegistered
        when no trunk is set."""
        trunk = self._trunk
        if trunk is None:
            raise NotRegistered("no trunk")
        leg = PhoneLeg.to_peer(self, self._new_leg_id(), label or uri, uri, self.trunk_flow(), sdp,
                               caller, identity, auth, diversion)
        self._legs[leg.leg_id] = leg
        self._observe(LegStarted(leg.leg_id, leg.station, LegRole.OUTGOING, leg.call_id, trunk.address))
        self.after_call()
        return leg

    def ping_trunk(self, answered: Callable[[int, str], None]) -> None:
        """OPTIONS to the trunk peer outside any dialog; `answered(status, reason)` once: its
        final response, or 408 (no answer) / 503 (could not be sent)."""
        trunk = self._trunk
        if trunk is None:
            return
        flow = self.trunk_flow()
        params = "" if trunk.transport == "udp" else f";transport={trunk.transport}"
        uri = f"sip:{trunk.host}:{trunk.address[1]}{params}"
        headers = [("Max-Forwards", "70"), ("From", f"<sip:{self.domain_name}>;tag={self.token()}"),
                   ("To", f"<{uri}>"), ("Call-ID", f"{self.token()}@{self.domain_name}"), ("CSeq", "1 OPTIONS"),
                   ("Accept", ", ".join(ACCEPT_TYPES))]
        request = Request("OPTIONS", uri, headers)
        with self._input():
            key = ClientKey(self._add_via(request, flow), "OPTIONS")
            self._pings[key] = answered
            _, outputs = self._tl.send_request(request, self.scheduler.now(), destination=flow,
                                               reliable=flow.reliable)
            self._absorb(outputs)

    def trunk_flow(self) -> Flow:
        trunk = self._trunk
        assert trunk is not None
        if trunk.transport == "udp":
            return Flow("udp", trunk.address)
        return Flow(trunk.transport, trunk.address, self._connections.to_peer(trunk.transport, trunk.address),
                    Target(trunk.host, trunk.address[1], trunk.transport))

    # ------------------------------------------------------------------
    # Input bracket: protocol work first, then the call layer's callbacks

    class _InputBracket:
        def __init__(self, endpoint: StationsEndpoint) -> None:
            self.endpoint = endpoint
            self.outer = False

        def __enter__(self) -> None:
            self.outer = not self.endpoint._busy
            self.endpoint._busy = True

        def __exit__(self, *exc: object) -> None:
            if not self.outer:
                return
            try:
                if exc[0] is None:
                    self.endpoint._settle(deliver=True)
            finally:
                self.endpoint._busy = False
                self.endpoint._rearm()

    def _input(self) -> StationsEndpoint._InputBracket:
        return StationsEndpoint._InputBracket(self)

    def _settle(self, *, deliver: bool) -> None:
        """Dispatch the transaction layer's reports; then, if `deliver`, the callbacks (repeat until quiet)."""
        while True:
            if self._events:
                self._dispatch(self._events.popleft())
            elif deliver and self._callbacks:
                self._callbacks.popleft()()
            else:
                return

    def after_call(self) -> None:
        """A Leg or PhoneLine method the call layer called is done."""
        if self._busy:
            return  # inside our input: its end delivers the callbacks
        self._busy = True
        try:
            self._settle(deliver=False)
        finally:
            self._busy = False
        if self._callbacks and self._flush_timer is None:
            self._flush_timer = self.scheduler.call_at(self.scheduler.now(), self._flush)
        self._rearm()

    def after_timer(self) -> None:
        """A leg's own timer fired (its 2xx retransmission): that is an input too."""
        with self._input():
            pass

    def _flush(self) -> None:
        self._flush_timer = None
        with self._input():
            pass

    def _rearm(self) -> None:
        self._tx_timer = self._rearm_one(self._tx_timer, self._tl.next_deadline(), self._tx_due)
        self._registrar_timer = self._rearm_one(self._registrar_timer, self.registrar.next_deadline(),
                                                self._registrar_due)

    def _rearm_one(self, timer: Timer | None, deadline: float | None, callback: Callable[[], None]) -> Timer | None:
        if timer is not None and timer.when == deadline:
            return timer
        if timer is not None:
            timer.cancel()
        return None if deadline is None else self.scheduler.call_at(deadline, callback)

    def _tx_due(self) -> None:
        self._tx_timer = None
        with self._input():
            self._absorb(self._tl.tick(self.scheduler.now()))

    def _lapse_bindings(self) -> None:
        """Bindings past their expiry are gone now, even if the registrar was changed from
        outside (restored bindings) and its timer is not armed yet."""
        for event in self.registrar.tick(self.scheduler.now()):
            self._observe(event)
        self._rearm()

    def _registrar_due(self) -> None:
        self._registrar_timer = None
        for event in self.registrar.tick(self.scheduler.now()):
            self._observe(event)
        self._rearm()

    # ------------------------------------------------------------------
    # Messages in

    def _message(self, data: bytes, flow: Flow) -> None:
        try:
            message = parse_message(data)
        except SipParseError as error:
            self._unparsable(flow, error)
            return
        now = self.scheduler.now()
        if isinstance(message, Response):
            self._absorb(self._tl.receive_response(message, now))
            return
        try:
            _stamp_via(message, flow.addr)
            if flow.reliable:  # RFC 3261 18.2.2: once the connection is gone, answer towards the Via
                flow = attrs.evolve(flow, fallback=response_target(message.top_via))
        except SipParseError as error:
            self._unparsable(flow, error)
            return
        self._absorb(self._tl.receive_request(message, now, destination=flow, reliable=flow.reliable), flow)

    def _unparsable(self, flow: Flow, error: SipParseError) -> None:
        self._observe(MessageDropped(flow.addr, error.reason))
        partial = error.partial
        if not isinstance(partial, Request) or partial.method == "ACK":
            return
        if any(partial.headers.get(name) is None for name in ANSWERABLE_WITH):
            return  # a response could not say what it answers, nor find its way back
        response = make_response(partial, error.status, safe_reason(error.reason), to_tag=self.token(),
                                 headers=[("Server", self.user_agent)])
        self._send(flow, response.to_bytes(), _NO_REPORT)

    def _absorb(self, outputs: list[TransactionOutput], flow: Flow | None = None) -> None:
        """Send what the transaction layer transmits; keep its reports for `_settle`."""
        for output in outputs:
            if isinstance(output, Transmit):
                self._send(output.destination, output.data, output.key)  # type: ignore[arg-type]
            elif isinstance(output, ToTU) and isinstance(output.message, Request) and flow is not None:
                self._events.append(_Incoming(output.key, output.message, flow))  # type: ignore[arg-type]
            else:
                self._events.append(output)

    def _send(self, flow: Flow, data: bytes, key: object) -> None:
        output = self._connections.output_for(flow, data, key)
        if output is None:
            self._events.append(_Unroutable(key))
        else:
            self._outputs.append(output)

    def _dispatch(self, event: _Event) -> None:
        if isinstance(event, _Incoming):
            self._request(event.key, event.request, event.flow)
        elif isinstance(event, ToTU):
            ping = self._pings.get(event.key)  # type: ignore[arg-type]
            if ping is not None and isinstance(event.message, Response) and event.message.status >= 200:
                del self._pings[event.key]  # type: ignore[arg-type]
                ping(event.message.status, event.message.reason)
            owner = self._client_owners.get(event.key)  # type: ignore[arg-type]
            if owner is not None and isinstance(event.message, Response):
                leg, purpose = owner
                if purpose is Purpose.FORK:
                    leg.on_fork_response(event.key, event.message)  # type: ignore[arg-type]
                else:
                    leg.on_response(purpose, event.key, event.message)  # type: ignore[arg-type]
        elif isinstance(event, (TimedOut, TransportFailed)):
            self._failed(event.key, timed_out=isinstance(event, TimedOut))
        elif isinstance(event, Ended):
            self._pings.pop(event.key, None)  # type: ignore[arg-type]
            self._client_owners.pop(event.key, None)  # type: ignore[arg-type]
            self._server_owners.pop(event.key, None)  # type: ignore[arg-type]
        elif isinstance(event, _Unroutable):
            if isinstance(event.key, (ClientKey, Rfc3261Key, Rfc2543Key)):
                self._absorb(self._tl.transport_error(event.key, self.scheduler.now()))

    def _failed(self, key: object, *, timed_out: bool) -> None:
        ping = self._pings.pop(key, None)  # type: ignore[call-overload]
        if ping is not None:
            ping(*((408, "No Answer") if timed_out else (503, "Unreachable")))
            return
        if isinstance(key, ClientKey):
            owner = self._client_owners.get(key)
            if owner is None:
                return
            leg, purpose = owner
            if purpose is Purpose.FORK:
                leg.on_fork_failure(key, timed_out=timed_out)
            else:
                leg.on_failure(purpose, key, timed_out=timed_out)
        elif not timed_out:
            # A server transaction's timeout needs nothing: the leg's own 2xx
            # retransmission gives up at the same time and ends the call.
            leg = self._server_owners.get(key)  # type: ignore[arg-type]
            if leg is not None:
                leg.on_server_failure(key)  # type: ignore[arg-type]

    # ------------------------------------------------------------------
    # Requests from phones

    def _request(self, key: ServerKey, request: Request, flow: Flow) -> None:
        method = request.method
        call_id = request.call_id
        from_tag = tag_of(request.headers.get("From"), lambda: request.from_)
        to_tag = tag_of(request.headers.get("To"), lambda: request.to)
        if method == "ACK":
            leg = self._dialogs.get((call_id, to_tag or "", from_tag or ""))
            if leg is not None:
                leg.on_request(request, None, flow)
            return  # an ACK of nothing we know: dropped
        scheme = request.uri.split(":", 1)[0].lower()
        if scheme not in SIP_SCHEMES and scheme != "tel":
            self.respond(key, request, 416)
            return
        if method == "REGISTER":
            self._register(key, request, flow)
            return
        if method == "CANCEL":
            self._cancel(key, request)
            return
        required = request.headers.get_all("Require")
        unsupported = unsupported_options(required, SUPPORTED_OPTIONS) if required else []
        if unsupported:
            self.respond(key, request, 420, headers=[("Unsupported", ", ".join(unsupported))])
            return
        if to_tag is not None:
            leg = self._dialogs.get((call_id, to_tag, from_tag or ""))
            if leg is None:
                self.respond(key, request, 481)
            elif method in ("INVITE", "BYE", "REFER"):
                if method == "INVITE":
                    self._server_owners[key] = leg
                leg.on_request(request, key, flow)
            elif method in IN_DIALOG_ANSWERED_200:
                self.respond(key, request, 200, headers=self._options_headers() if method == "OPTIONS" else ())
            else:
                self._not_allowed(key, request)
            return
        if method == "OPTIONS":
            self.respond(key, request, 200, headers=self._options_headers())
        elif method == "INVITE":
            self._phone_invite(key, request, flow)
        elif method in ("BYE", "INFO", "NOTIFY", "REFER"):
            self.respond(key, request, 481)
        else:
            self._not_allowed(key, request)

    def _not_allowed(self, key: ServerKey, request: Request) -> None:
        status = 405 if request.method in KNOWN_NOT_ALLOWED else 501
        self.respond(key, request, status, headers=self._capabilities[:1])

    def _options_headers(self) -> list[tuple[str, str]]:
        return [*self._capabilities, ("Accept", ", ".join(ACCEPT_TYPES))]

    def _register(self, key: ServerKey, request: Request, flow: Flow) -> None:
        result = self.registrar.handle_register(request, source=flow.addr, transport=flow.transport,
                                                now=self.scheduler.now())
        for event in result.events:
            self._observe(event)
        self._absorb(self._tl.send_response(key, result.response, self.scheduler.now()))

    def _cancel(self, key: ServerKey, request: Request) -> None:
        invite_key = cancel_target_key(key)
        leg = self._server_owners.get(invite_key)
        if leg is None or leg.dialog is None:
            self.respond(key, request, 481)
            return
        self.respond(key, request, 200, to_tag=leg.dialog.local_tag)
        if self._tl.state_of(invite_key) is ServerInviteState.PROCEEDING:
            leg.on_phone_cancel(invite_key)

    def _phone_invite(self, key: ServerKey, request: Request, flow: Flow) -> None:
        if self.listener is None:
            self.respond(key, request, 480, "No Call Layer Yet")
            return
        if self.from_trunk(flow.addr):
            self._trunk_invite(key, request, flow)
            return
        verdict = self._auth.check(request, source=flow.addr, now=self.scheduler.now())
        for event in verdict.events:
            self._observe(event)
        if verdict.station is None:
            self.respond(key, request, verdict.status, verdict.reason, headers=verdict.headers)
            return
        dialled = _dialled(request)
        if dialled is None:
            self.respond(key, request, 484, "Dial A Number")
            return
        self.respond(key, request, 100)
        leg = PhoneLeg.incoming(self, self._new_leg_id(), verdict.station, request, key, flow, dialled)
        self._legs[leg.leg_id] = leg
        self._server_owners[key] = leg
        self._observe(LegStarted(leg.leg_id, leg.station, LegRole.INCOMING, leg.call_id, flow.addr))
        listener = self.listener
        self.queue_callback(lambda: listener.phone_dialled(leg))

    def _trunk_invite(self, key: ServerKey, request: Request, flow: Flow) -> None:
        """An INVITE from the trunk peer's networks: a call from outside for a DID (SPEC 9)."""
        trunk = self._trunk
        assert trunk is not None
        did = _dialled(request) if trunk.did_from == "request-uri" else _user_of(request.headers.get("To"))
        if did is None:
            self.respond(key, request, 404, "No Such Number")
            return
        caller = _user_of(request.headers.get("P-Asserted-Identity")) or _user_of(request.headers.get("From")) \
            or "anonymous"
        self.respond(key, request, 100)
        leg = PhoneLeg.incoming(self, self._new_leg_id(), _TrunkCaller(caller), request, key, flow, did)
        self._legs[leg.leg_id] = leg
        self._server_owners[key] = leg
        self._observe(LegStarted(leg.leg_id, leg.station, LegRole.INCOMING, leg.call_id, flow.addr))
        listener = self.listener
        self.queue_callback(lambda: listener.trunk_called(leg))

    # ------------------------------------------------------------------
    # LineServices: what legs ask of the endpoint

    def token(self) -> str:
        return self._random_bytes(8).hex()

    def contact(self, flow: Flow) -> str:
        return f"<sip:{self.contact_host}:{self._ports.get(flow.transport, default_port(flow.transport))}" \
               f";transport={flow.transport}>"

    def capability_headers(self) -> list[tuple[str, str]]:
        return list(self._capabilities)

    def dialog_flow(self, flow: Flow, remote_target: str) -> Flow:
        """`flow` for requests of ours: once its connection is gone, connect to the phone's Contact."""
        if not flow.reliable:
            return flow
        return attrs.evolve(flow, fallback=contact_target(remote_target, flow.transport))

    def flow_to(self, binding: Binding) -> Flow:
        """Where an INVITE for `binding` goes: back to where its REGISTER came from (NAT)."""
        transport = binding.transport
        if transport == "udp":
            return Flow("udp", binding.source)
        return Flow(transport, binding.source, self._connections.to_peer(transport, binding.source),
                    contact_target(str(binding.contact), transport))

    def send_request(self, request: Request, flow: Flow, leg: PhoneLeg, purpose: Purpose) -> ClientKey:
        branch = self._add_via(request, flow)
        key = ClientKey(branch, request.method)
        self._client_owners[key] = (leg, purpose)
        _, outputs = self._tl.send_request(request, self.scheduler.now(), destination=flow, reliable=flow.reliable)
        self._absorb(outputs)
        return key

    def send_ack(self, request: Request, flow: Flow) -> bytes:
        self._add_via(request, flow)
        data = request.to_bytes()
        self._send(flow, data, _NO_REPORT)
        return data

    def resend(self, flow: Flow, data: bytes, key: object) -> None:
        self._send(flow, data, _NO_REPORT if key is None else key)

    def respond(self, key: ServerKey, request: Request, status: int, reason: str | None = None, *,
                to_tag: str | None = None, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> bytes:
        tag = to_tag if to_tag is not None or status == 100 else self.token()
        response = make_response(request, status, reason, to_tag=tag,
                                 headers=[*headers, ("Server", self.user_agent)], body=body)
        self._absorb(self._tl.send_response(key, response, self.scheduler.now()))
        return response.to_bytes()

    def cancel(self, key: ClientKey) -> None:
        self._absorb(self._tl.cancel(key, self.scheduler.now()))

    def register_dialog(self, leg: PhoneLeg, dialog: PhoneDialog) -> None:
        self._dialogs[dialog.key] = leg

    def forget(self, leg: PhoneLeg) -> None:
        dialog = leg.dialog
        if dialog is not None and self._dialogs.get(dialog.key) is leg:
            del self._dialogs[dialog.key]
        self._legs.pop(leg.leg_id, None)

    def queue_callback(self, call: Callable[[], None]) -> None:
        self._callbacks.append(call)

    def leg_finished(self, leg: PhoneLeg, reason: str) -> None:
        self._observe(LegFinished(leg.leg_id, leg.station, reason))

    def retry_after(self) -> str:
        return str(self._random_bytes(1)[0] % 11)  # RFC 3261 14.2: 0 to 10 seconds, at random

    # ------------------------------------------------------------------
    # Helpers

    def _new_leg_id(self) -> str:
        return f"{self._leg_prefix}-{next(self._leg_ids)}"

    def _add_via(self, request: Request, flow: Flow) -> str:
        branch = MAGIC_COOKIE + self.token()
        port = self._ports.get(flow.transport, default_port(flow.transport))
        request.headers.prepend("Via", f"SIP/2.0/{flow.transport.upper()} {self.contact_host}:{port}"
                                       f";branch={branch};rport")
        request.headers.add("User-Agent", self.user_agent)
        return branch

    def _observe(self, event: StationsEvent) -> None:
        if self._observer is not None:
            self._observer(event)


@attrs.frozen
class _TrunkPeer:
    address: Address
    transport: str
    host: str
    accept_from: tuple
    did_from: str


@attrs.frozen
class _TrunkCaller:
    """The `station` of a trunk call's INCOMING leg: the caller's number as the peer sent it."""

    extension: str


def _user_of(header: str | None) -> str | None:
    """The user part (or tel number) of the first URI in a From/To/P-Asserted-Identity value."""
    if not header:
        return None
    from rccserver.sip.errors import UriError
    from rccserver.sip.uri import parse_uri
    text = header.split(",", 1)[0]
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1:text.index(">")]
    else:
        text = text.split(";", 1)[0].strip()
    try:
        return _number_of(parse_uri(text))
    except (SipParseError, UriError, ValueError):
        return None


def _stamp_via(request: Request, source: Address) -> None:
    """RFC 3261 18.2.1 and RFC 3581: note in the top Via where the request really came from."""
    via = request.top_via
    stamped = via
    if via.rport is not None:
        stamped = stamped.with_param("rport", str(source[1]))
    if via.host != source[0] or via.rport is not None:
        stamped = stamped.with_param("received", source[0])
    if stamped is via:
        return
    rest = split_header_list(request.headers.get("Via") or "")[1:]  # more Vias on the same line
    request.headers.replace_first("Via", ", ".join([str(stamped), *rest]))


def _dialled(request: Request) -> str | None:
    """What the person dialled: the Request-URI's user part (or the number of a tel: URI)."""
    try:
        return _number_of(request.request_uri)
    except SipParseError:
        return None


def _number_of(uri) -> str | None:
    """A SIP URI's user part (%-escapes decoded) or a tel URI's number."""
    if isinstance(uri, SipUri) and uri.user:
        return unquote(uri.user, errors="surrogateescape")
    if isinstance(uri, TelUri):
        return uri.number
    return None

