"""The sans-IO SIP user agent core: transactions, dialogs, session timers, dispatch.

Inputs are connection events and framed messages; outputs are `Send`,
`SendTo` and `Close` records that the Twisted driver drains after every input
(`take_output`).  Time comes from the injected clock; timers are a heap the
driver polls through `next_deadline()` and fires with `tick(now)`.

Decisions worth knowing:
* Every request except ACK gets a server transaction, including the ones the
  endpoint answers itself (OPTIONS, 4xx/5xx), so retransmissions are answered
  from the transaction.  Terminated transactions are removed at once (Timers
  I/J/K are zero on TCP/TLS), so the table stays as small as the work in flight.
* UPDATE is answered by the endpoint (200 with the session-timer headers, or
  422/415); the application's `on_update` is informational.
* We do not authenticate: trust comes from the transport (mutual TLS or the
  access list), so an Authorization header of any scheme is ignored.
* Max-Forwards 0 on a request for us is answered normally: we are the UAS.
* `Close` is only emitted on request (`close_connection`): after a framing
  error the framer knows whether the stream can continue, the endpoint does not.
* A dialog outlives its connection.  Requests we send go to the connection the
  dialog last used while it is up, else `SendTo` the first Route (or the remote
  target).  Responses go back on the request's connection, else `SendTo` the
  top Via's address.
"""
from __future__ import annotations

import heapq
import itertools
import secrets
from typing import Callable, Iterable, Iterator

import attrs

from rccserver import __version__
from rccserver.sip import session_timer as st
from rccserver.sip.application import (
    Application,
    IncomingRequest,
    ResponseOutcome,
    TransactionTimeout,
    TransportFailure,
)
from rccserver.sip.dialog import Dialog, DialogEvent, new_tag, strip_tag
from rccserver.sip.headers import Headers
from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.transaction import (
    MAGIC_COOKIE,
    TIMER_B_F_H,
    TIMER_L,
    Action,
    ClientNonInviteInput,
    ClientTransaction,
    ServerInviteInput,
    ServerInviteState,
    ServerKey,
    ServerNonInviteInput,
    ServerNonInviteState,
    ServerTransaction,
    cancel_target_key,
    has_rfc3261_branch,
    server_key,
)
from rccserver.sip.uri import SipUri, parse_uri

ALLOW_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "INFO", "UPDATE", "OPTIONS")
ACCEPT_TYPES = ("application/csta+xml",)
SUPPORTED_OPTIONS = ("timer",)
SIP_SCHEMES = frozenset({"sip", "sips"})


# --------------------------------------------------------------------------
# Outputs


@attrs.frozen(slots=True)
class Target:
    """Where to open (or reuse) a connection for a message that has no live one."""

    host: str
    port: int
    transport: str  # "tcp" or "tls"


@attrs.frozen(slots=True)
class Send:
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
class _Connection:
    conn_id: int
    peer: tuple[str, int]
    transport: str
    local: tuple[str, int]


class _TimerHeap:
    """Deadlines in a heap; cancelled entries are skipped lazily and compacted
    when they outnumber the live ones (Timer F is cancelled on almost every
    answered INFO, so without compaction the heap would hold 32 s of garbage)."""

    __slots__ = ("heap", "cancelled", "_seq")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, _Timer]] = []
        self.cancelled = 0
        self._seq = itertools.count()

    def push(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(self, when, callback)
        heapq.heappush(self.heap, (when, next(self._seq), timer))
        return timer

    def note_cancelled(self) -> None:
        self.cancelled += 1
        if self.cancelled > 256 and self.cancelled * 2 > len(self.heap):
            self.heap = [entry for entry in self.heap if not entry[2].cancelled]
            heapq.heapify(self.heap)
            self.cancelled = 0

    def peek(self) -> float | None:
        heap = self.heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self.cancelled -= 1
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> _Timer | None:
        """The next live timer due at or before `now`, removed from the heap."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if timer.cancelled:
                self.cancelled -= 1
                continue
            timer.cancelled = True  # fired: a later cancel() is a no-op
            return timer
        return None

    def __len__(self) -> int:
        return len(self.heap) - self.cancelled


class _Timer:
    __slots__ = ("heap", "when", "callback", "cancelled")

    def __init__(self, heap: _TimerHeap, when: float, callback: Callable[[], None]) -> None:
        self.heap = heap
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.heap.note_cancelled()


class DialogEndedError(RuntimeError):
    """send_request() on a dialog that has already ended."""


def _uri_text(name_addr: str) -> str:
    """The URI inside a name-addr or addr-spec header value, kept as written."""
    start = name_addr.find("<")
    if start >= 0:
        end = name_addr.find(">", start)
        return name_addr[start + 1 : end if end > 0 else None].strip()
    return name_addr.split(";", 1)[0].strip()


def _tag_of(raw: str | None, parsed: Callable[[], object]) -> str | None:
    """The tag parameter of a From/To value the parser has already validated.

    A plain scan of the header parameters after the URI is several times faster
    than a full name-addr parse, and From/To are read for every request; if the
    parameters hold a quoted string, fall back to the real parser.
    """
    if raw is None:
        return parsed().tag  # type: ignore[attr-defined]
    close = raw.rfind(">")
    tail = raw[close + 1 :] if close >= 0 else raw.partition(";")[2]
    if '"' in tail:
        return parsed().tag  # type: ignore[attr-defined]
    for param in tail.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "tag":
            return value.strip() or None
    return None


MAX_REASON = 120  # a reason phrase says what is wrong; it need not echo the whole input


def _safe_reason(text: str) -> str:
    reason = " ".join(text.replace("\r", " ").replace("\n", " ").split()) or "Bad Request"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


class Endpoint:
    """The SIP user agent for RCC dialogs (UAS for dialogs, UAC for in-dialog requests)."""

    def __init__(
        self,
        application: Application,
        *,
        domain_name: str,
        local_contact: str | None = None,
        clock: Callable[[], float],
        session_expires: int = st.DEFAULT_INTERVAL,
        min_se: int = st.MIN_SE_FLOOR,
        allow_methods: Iterable[str] = ALLOW_METHODS,
        user_agent: str = f"rccserver/{__version__}",
        timer_j: float = 0.0,
    ) -> None:
        if min_se < st.MIN_SE_FLOOR:
            raise ValueError(f"min_se {min_se} is below the RFC 4028 floor of {st.MIN_SE_FLOOR} s")
        if session_expires < min_se:
            raise ValueError(f"session_expires {session_expires} is below min_se {min_se}")
        self.application = application
        self.domain_name = domain_name
        self.local_contact = local_contact
        self.clock = clock
        self.session_expires = session_expires
        self.min_se = min_se
        self.allow_methods = tuple(m.upper() for m in allow_methods)
        self._allowed = frozenset(self.allow_methods)
        self._allow_header = ", ".join(self.allow_methods)
        self.user_agent = user_agent
        self.timer_j = timer_j
        self._connections: dict[int, _Connection] = {}
        self._server_tx: dict[ServerKey, ServerTransaction] = {}
        self._client_tx: dict[str, ClientTransaction] = {}
        self._dialogs: dict[tuple[str, str, str | None], Dialog] = {}
        self._pending_sends: dict[object, Callable[[str], None]] = {}
        self._outputs: list[Output] = []
        self._timers = _TimerHeap()
        self._send_seq = itertools.count()

    # ------------------------------------------------------------------
    # Introspection

    @property
    def dialogs(self) -> Iterator[Dialog]:
        return iter(list(self._dialogs.values()))

    def connection_peer(self, conn_id: int) -> tuple[str, int] | None:
        """The remote address of a live connection (None once it is gone)."""
        conn = self._connections.get(conn_id)
        return conn.peer if conn is not None else None

    @property
    def server_transaction_count(self) -> int:
        return len(self._server_tx)

    @property
    def client_transaction_count(self) -> int:
        return len(self._client_tx)

    # ------------------------------------------------------------------
    # Inputs from the transport

    def connection_made(self, conn_id: int, peer: tuple[str, int], transport: str, local: tuple[str, int]) -> None:
        self._connections[conn_id] = _Connection(conn_id, tuple(peer), transport.lower(), tuple(local))  # type: ignore[arg-type]

    def connection_lost(self, conn_id: int) -> None:
        # Dialogs and transactions survive; their next message goes by SendTo.
        self._connections.pop(conn_id, None)

    def receive(self, conn_id: int, data: bytes) -> None:
        """Handle exactly one framed SIP message."""
        try:
            message = parse_message(data)
        except SipParseError as error:
            self._answer_unparsable(conn_id, error.status, error.reason, error.partial)
            return
        if isinstance(message, Response):
            self._handle_response(conn_id, message)
        else:
            self._handle_request(conn_id, message)

    def framing_error(self, conn_id: int, status: int, reason: str, head: bytes) -> None:
        """The framer could not delimit a message; answer from its head if we can read it.

        Whether the stream can continue is the framer's decision, not ours.
        """
        partial: Request | Response | None
        try:
            partial = parse_message(head)
        except SipParseError as error:
            partial = error.partial
        self._answer_unparsable(conn_id, status, reason, partial)

    def send_failed(self, key: object, reason: str) -> None:
        handler = self._pending_sends.pop(key, None)
        if handler is not None:
            handler(reason)

    # ------------------------------------------------------------------
    # Timers

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    def tick(self, now: float) -> None:
        while (timer := self._timers.pop_due(now)) is not None:
            timer.callback()

    @property
    def timer_count(self) -> int:
        return len(self._timers)

    def _schedule(self, delay: float, callback: Callable[[], None]) -> _Timer:
        return self._timers.push(self.clock() + delay, callback)

    def _schedule_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        return self._timers.push(when, callback)

    # ------------------------------------------------------------------
    # Outputs

    def take_output(self) -> list[Output]:
        outputs, self._outputs = self._outputs, []
        return outputs

    def close_connection(self, conn_id: int) -> None:
        self._outputs.append(Close(conn_id))

    # ------------------------------------------------------------------
    # Application API

    def send_request(
        self,
        dialog: Dialog,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        on_outcome: Callable[[ResponseOutcome], None],
    ) -> None:
        """Start a non-INVITE client transaction in the dialog (INFO, UPDATE, OPTIONS...)."""
        if not dialog.is_live:
            raise DialogEndedError(f"dialog {dialog.call_id} has ended ({dialog.end_reason})")
        method = method.upper()
        if method in ("INVITE", "ACK", "CANCEL"):
            raise ValueError(f"send_request does not send {method} (non-INVITE client transactions only)")
        self._send_in_dialog(dialog, method, tuple(headers), body, on_outcome)

    def end_dialog(self, dialog: Dialog, reason: str = "bye-sent") -> None:
        """Send BYE and end the dialog; on_dialog_ended is called once."""
        self._end_dialog(dialog, DialogEvent.BYE_SENT, reason)

    def shutdown(self) -> None:
        """End every dialog with BYE (reason "shutdown")."""
        for dialog in list(self._dialogs.values()):
            self._end_dialog(dialog, DialogEvent.SHUTDOWN, "shutdown")

    # ------------------------------------------------------------------
    # Unparsable input

    def _answer_unparsable(self, conn_id: int, status: int, reason: str, partial: Request | Response | None) -> None:
        if not isinstance(partial, Request) or partial.method == "ACK":
            return  # malformed responses and ACKs are dropped; nothing else can be answered
        if conn_id not in self._connections:
            return  # no Via we could trust to route it elsewhere
        response = make_response(
            partial, status, _safe_reason(reason), to_tag=new_tag(), headers=[("Server", self.user_agent)]
        )
        for name in ("From", "To", "Call-ID", "CSeq"):
            # multi01: the request repeats them; our answer must not
            first = response.headers.get(name)
            if first is not None:
                response.headers.set(name, first)
        self._outputs.append(Send(conn_id, response.to_bytes()))

    # ------------------------------------------------------------------
    # Requests

    def _handle_request(self, conn_id: int, request: Request) -> None:
        method = request.method
        via = request.top_via
        call_id = request.call_id
        cseq_number = request.cseq[0]
        headers = request.headers
        from_tag = _tag_of(headers.get("From"), lambda: request.from_)
        to_tag = _tag_of(headers.get("To"), lambda: request.to)
        branch = via.branch
        key = server_key(
            method=method,
            branch=branch,
            sent_by=via.sent_by,
            request_uri=request.uri,
            from_tag=from_tag,
            call_id=call_id,
            cseq=cseq_number,
            top_via="" if has_rfc3261_branch(branch) else str(via),  # only the fallback needs it
        )
        tx = self._server_tx.get(key)
        if method == "ACK":
            if tx is not None and tx.machine == "server-invite":
                self._feed_server(tx, ServerInviteInput.ACK)
            else:
                self._ack_for_dialog(conn_id, request, call_id, to_tag, from_tag)
            return
        if tx is not None:
            retransmission = (
                ServerInviteInput.REQUEST_RETRANSMISSION
                if tx.machine == "server-invite"
                else ServerNonInviteInput.REQUEST_RETRANSMISSION
            )
            tx.conn_id = conn_id
            self._feed_server(tx, retransmission)
            return

        tx = self._new_server_tx(key, conn_id, request)
        if method not in self._allowed:
            self._respond(tx, 501, headers=(("Allow", self._allow_header),))
            return
        scheme = request.uri.split(":", 1)[0]
        if scheme.lower() not in SIP_SCHEMES:
            self._respond(tx, 416, f"Unsupported URI Scheme {scheme!r}")
            return
        if method == "CANCEL":
            self._on_cancel(tx, key)
            return
        unsupported = self._unsupported_requirements(request)
        if unsupported:
            self._respond(tx, 420, headers=(("Unsupported", ", ".join(unsupported)),))
            return

        dialog: Dialog | None = None
        if to_tag is not None:
            dialog = self._dialogs.get((call_id, to_tag, from_tag))
            if dialog is None:
                self._respond(tx, 481, "Call/Transaction Does Not Exist")
                return
            tx.dialog = dialog
            if dialog.conn_id != conn_id:
                self._move_dialog(dialog, conn_id)
            dialog.record_remote_cseq(cseq_number)

        if method == "OPTIONS":
            self._respond(tx, 200, headers=self._capability_headers())
        elif method == "INVITE":
            self._on_invite(tx, dialog)
        elif dialog is None:
            # INFO, UPDATE and BYE only make sense inside a dialog.
            self._respond(tx, 481, f"{method} Outside A Dialog")
        elif method == "INFO":
            tx.incoming = self._incoming(tx)
            self.application.on_info(tx.incoming)
        elif method == "UPDATE":
            self._on_update(tx, dialog)
        elif method == "BYE":
            self._on_bye(tx, dialog)
        else:  # an extra method configured in allow_methods that we do not route
            self._respond(tx, 501, headers=(("Allow", self._allow_header),))

    def _new_server_tx(self, key: ServerKey, conn_id: int, request: Request) -> ServerTransaction:
        if request.method == "INVITE":
            tx = ServerTransaction("server-invite", key, ServerInviteState.PROCEEDING, conn_id, request)
        else:
            tx = ServerTransaction("server-non-invite", key, ServerNonInviteState.TRYING, conn_id, request)
        self._server_tx[key] = tx
        return tx

    def _incoming(self, tx: ServerTransaction) -> IncomingRequest:
        def responder(incoming: IncomingRequest, status, reason, headers, body) -> None:
            self._respond_from_app(tx, status, reason, headers, body)

        return IncomingRequest(tx.request, tx.dialog, tx.conn_id, responder)

    def _capability_headers(self) -> tuple[tuple[str, str], ...]:
        return (
            ("Allow", self._allow_header),
            ("Accept", ", ".join(ACCEPT_TYPES)),
            ("Supported", ", ".join(SUPPORTED_OPTIONS)),
        )

    def _unsupported_requirements(self, request: Request) -> list[str]:
        required = request.headers.get_all("Require")
        if not required:
            return []
        unsupported = []
        for value in required:
            for tag in value.split(","):
                tag = tag.strip()
                if tag and tag.lower() not in SUPPORTED_OPTIONS:
                    unsupported.append(tag)
        return unsupported

    def _negotiate_timer(self, tx: ServerTransaction) -> tuple[bool, st.SessionTimer | None]:
        """(acceptable, timer) for this INVITE/UPDATE.  Not acceptable means the
        endpoint has answered it already (422 too small, 400 unreadable)."""
        headers = tx.request.headers
        try:
            decision = st.negotiate(
                session_expires=headers.get("Session-Expires"),
                min_se=headers.get("Min-SE"),
                supported=headers.get_all("Supported"),
                default_interval=self.session_expires,
                local_min_se=self.min_se,
            )
        except st.SessionTimerSyntaxError as error:
            self._respond(tx, 400, str(error))
            return False, None
        if isinstance(decision, st.IntervalTooSmall):
            self._respond(tx, 422, decision.reason, headers=decision.response_headers())
            return False, None
        return True, decision

    def _on_invite(self, tx: ServerTransaction, dialog: Dialog | None) -> None:
        if dialog is not None and dialog.pending_invite is not None and dialog.pending_invite.state is ServerInviteState.PROCEEDING:
            # RFC 3261 14.2: one INVITE at a time per dialog.
            self._respond(tx, 500, "Previous INVITE Still Pending", headers=(("Retry-After", "1"),))
            return
        acceptable, timer = self._negotiate_timer(tx)
        if not acceptable:
            return
        tx.session_timer = timer
        tx.creates_dialog = dialog is None
        # Tell the previous hop at once that we have it: the app may take a while.
        self._respond(tx, 100)
        tx.incoming = self._incoming(tx)
        if dialog is None:
            self.application.on_invite(tx.incoming)
        else:
            dialog.pending_invite = tx
            self.application.on_reinvite(tx.incoming)

    def _on_update(self, tx: ServerTransaction, dialog: Dialog) -> None:
        if tx.request.body:
            # RCC refreshes carry no body; an empty Accept says we take none here.
            self._respond(tx, 415, "UPDATE With A Body Is Not Supported", headers=(("Accept", ""),))
        else:
            acceptable, timer = self._negotiate_timer(tx)
            if acceptable:
                headers = list(self._capability_headers())
                self._apply_session_timer(dialog, timer)
                if timer is not None:
                    headers += timer.response_headers()
                self._respond(tx, 200, headers=headers)
        incoming = self._incoming(tx)
        incoming._mark_answered_by_endpoint(cancelled=False)
        tx.incoming = incoming
        self.application.on_update(incoming)

    def _on_bye(self, tx: ServerTransaction, dialog: Dialog) -> None:
        self._respond(tx, 200)
        if self._terminate_dialog(dialog, DialogEvent.BYE_RECEIVED, "bye-received"):
            self.application.on_bye(dialog, tx.request)
            self.application.on_dialog_ended(dialog, "bye-received")

    def _on_cancel(self, tx: ServerTransaction, key: ServerKey) -> None:
        invite_tx = self._server_tx.get(cancel_target_key(key))
        if invite_tx is None or invite_tx.machine != "server-invite":
            self._respond(tx, 481, "Call/Transaction Does Not Exist")
            return
        self._respond(tx, 200)
        self._cancel_invite(invite_tx)

    def _cancel_invite(self, invite_tx: ServerTransaction) -> None:
        if invite_tx.state is not ServerInviteState.PROCEEDING:
            return  # a final response went out already: CANCEL has no effect
        if invite_tx.incoming is not None:
            invite_tx.incoming._mark_answered_by_endpoint(cancelled=True)
        self._respond(invite_tx, 487)

    def _ack_for_dialog(self, conn_id: int, request: Request, call_id: str, to_tag: str | None, from_tag: str | None) -> None:
        if to_tag is None:
            return
        dialog = self._dialogs.get((call_id, to_tag, from_tag))
        if dialog is None:
            return  # ACK for nothing we know: drop silently
        if dialog.conn_id != conn_id:
            self._move_dialog(dialog, conn_id)
        dialog.record_remote_cseq(request.cseq[0])
        # Any ACK in the dialog ends the wait for the ACK of our 2xx: sipe's
        # ACK carries a reset CSeq, so matching on CSeq would miss it.
        pending = dialog.pending_invite
        if pending is not None and pending.state is ServerInviteState.ACCEPTED:
            self._feed_server(pending, ServerInviteInput.ACK)

    # ------------------------------------------------------------------
    # Responding

    def _respond_from_app(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str | None,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> None:
        if tx.terminated:
            return
        extra: list[tuple[str, str]] = list(headers)
        if tx.request.method == "INVITE" and 200 <= status < 300:
            if tx.creates_dialog:
                dialog = self._create_dialog(tx)
            else:
                dialog = tx.dialog
                if dialog is not None:
                    self._update_remote_target(dialog, tx.request)
            if dialog is not None and dialog.is_live:
                self._apply_session_timer(dialog, tx.session_timer)
                dialog.pending_invite = tx
            given = {name.lower() for name, _ in extra}
            extra += [(n, v) for n, v in self._dialog_response_headers(tx) if n.lower() not in given]
        self._respond(tx, status, reason, headers=extra, body=body)

    def _dialog_response_headers(self, tx: ServerTransaction) -> list[tuple[str, str]]:
        headers = [("Contact", self._contact_for(tx.conn_id))]
        headers += self._capability_headers()
        if tx.session_timer is not None:
            headers += tx.session_timer.response_headers()
        return headers

    def _respond(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        request = tx.request
        to_tag = None
        if status != 100 and _tag_of(request.headers.get("To"), lambda: request.to) is None:
            if tx.to_tag is None:
                tx.to_tag = new_tag()
            to_tag = tx.to_tag
        response = make_response(
            request,
            status,
            reason,
            to_tag=to_tag,
            headers=[*headers, ("Server", self.user_agent)],
            body=body,
            copy_record_route=tx.creates_dialog and 100 < status < 300,
        )
        data = response.to_bytes()
        if tx.machine == "server-invite":
            if status < 200:
                input_ = ServerInviteInput.TU_1XX
            elif status < 300:
                input_ = ServerInviteInput.TU_2XX
            else:
                input_ = ServerInviteInput.TU_3XX_6XX
        else:
            input_ = ServerNonInviteInput.TU_1XX if status < 200 else ServerNonInviteInput.TU_FINAL
        self._feed_server(tx, input_, data)

    def _feed_server(self, tx: ServerTransaction, input_, data: bytes | None = None) -> None:
        for action in tx.feed(input_):
            if action is Action.SEND_RESPONSE:
                tx.last_response = data
                self._send_response_bytes(tx.conn_id, tx.request, data, tx=tx)  # type: ignore[arg-type]
            elif action is Action.RESEND_LAST_RESPONSE:
                if tx.last_response is not None:
                    self._send_response_bytes(tx.conn_id, tx.request, tx.last_response)
            elif action is Action.START_TIMER_H:
                tx.timer = self._schedule(TIMER_B_F_H, lambda: self._feed_server(tx, ServerInviteInput.TIMER_H))
            elif action is Action.START_TIMER_L:
                tx.timer = self._schedule(TIMER_L, lambda: self._feed_server(tx, ServerInviteInput.TIMER_L))
            elif action is Action.START_TIMER_J:
                if self.timer_j > 0:
                    tx.timer = self._schedule(self.timer_j, lambda: self._feed_server(tx, ServerNonInviteInput.TIMER_J))
                else:
                    self._feed_server(tx, ServerNonInviteInput.TIMER_J)
            elif action is Action.PASS_TO_TU:
                # only the ACK for our 2xx comes here: the dialog is confirmed by it
                if tx.dialog is not None and tx.dialog.pending_invite is tx:
                    tx.dialog.pending_invite = None
            elif action is Action.REPORT_TIMEOUT:
                self._server_timeout(tx)
            elif action is Action.DESTROY:
                self._destroy_server_tx(tx)
            # ABSORB and REPORT_TRANSPORT_FAILURE need nothing more here: a server
            # transaction's lost response has nobody to tell.

    def _server_timeout(self, tx: ServerTransaction) -> None:
        dialog = tx.dialog
        if tx.state is ServerInviteState.TERMINATED and dialog is not None and dialog.pending_invite is tx:
            dialog.pending_invite = None
            if tx.creates_dialog and dialog.is_live:
                # RFC 3261 13.3.1.4: no ACK for our 2xx, so the session is not up.
                self._end_dialog(dialog, DialogEvent.ACK_TIMEOUT, "ack-timeout")

    def _destroy_server_tx(self, tx: ServerTransaction) -> None:
        if tx.timer is not None:
            tx.timer.cancel()
            tx.timer = None
        if self._server_tx.get(tx.key) is tx:
            del self._server_tx[tx.key]
        if tx.send_key is not None:
            self._pending_sends.pop(tx.send_key, None)
        if tx.dialog is not None and tx.dialog.pending_invite is tx and tx.state is ServerInviteState.TERMINATED:
            tx.dialog.pending_invite = None

    def _send_response_bytes(self, conn_id: int, request: Request, data: bytes, tx: ServerTransaction | None = None) -> None:
        if conn_id in self._connections:
            self._outputs.append(Send(conn_id, data))
            return
        # RFC 3261 18.2.2: the connection is gone, so open one to the Via's address.
        via = request.top_via
        host = via.received or via.host
        transport = via.transport.lower()
        rport = via.rport
        port = int(rport) if rport and rport.isdigit() else via.port
        if port is None:
            port = 5061 if transport == "tls" else 5060
        key = ("response", next(self._send_seq))
        if tx is not None and not tx.terminated:
            if tx.send_key is not None:
                self._pending_sends.pop(tx.send_key, None)
            tx.send_key = key
            self._pending_sends[key] = lambda reason: self._server_send_failed(tx)
        self._outputs.append(SendTo(Target(host, int(port), transport), data, key))

    def _server_send_failed(self, tx: ServerTransaction) -> None:
        if not tx.terminated:
            input_ = ServerInviteInput.TRANSPORT_ERROR if tx.machine == "server-invite" else ServerNonInviteInput.TRANSPORT_ERROR
            self._feed_server(tx, input_)

    def _contact_for(self, conn_id: int) -> str:
        if self.local_contact is not None:
            return self.local_contact
        conn = self._connections.get(conn_id)
        transport = conn.transport if conn is not None else "tcp"
        port = conn.local[1] if conn is not None else (5061 if transport == "tls" else 5060)
        return f"<sip:{self.domain_name}:{port};transport={transport}>"

    # ------------------------------------------------------------------
    # Dialogs

    def _create_dialog(self, tx: ServerTransaction) -> Dialog:
        request = tx.request
        if tx.to_tag is None:
            tx.to_tag = new_tag()
        conn = self._connections.get(tx.conn_id)
        from_text = request.headers.get("From")
        to_text = request.headers.get("To")
        contact = request.headers.get_all("Contact")
        remote_target = _uri_text(contact[0]) if contact else _uri_text(from_text)  # RFC 2543 peers: no Contact
        dialog = Dialog(
            call_id=request.call_id,
            local_tag=tx.to_tag,
            remote_tag=request.from_.tag,
            local_uri=strip_tag(to_text),
            remote_uri=strip_tag(from_text),
            route_set=list(request.headers.get_all("Record-Route")),
            remote_target=remote_target,
            transport=conn.transport if conn is not None else request.top_via.transport.lower(),
            conn_id=tx.conn_id,
            local_port=conn.local[1] if conn is not None else None,
            peer=conn.peer if conn is not None else (request.top_via.host, request.top_via.port or 5060),
            created_at=self.clock(),
            remote_cseq=request.cseq[0],
        )
        self._dialogs[(dialog.call_id, dialog.local_tag, dialog.remote_tag)] = dialog
        tx.dialog = dialog
        tx.incoming.dialog = dialog
        return dialog

    def _move_dialog(self, dialog: Dialog, conn_id: int) -> None:
        """The dialog's traffic now arrives on another connection (the front end reconnected)."""
        dialog.conn_id = conn_id
        conn = self._connections.get(conn_id)
        if conn is not None:
            dialog.peer = conn.peer

    @staticmethod
    def _update_remote_target(dialog: Dialog, request: Request) -> None:
        contact = request.headers.get_all("Contact")
        if contact:
            dialog.remote_target = _uri_text(contact[0])

    def _apply_session_timer(self, dialog: Dialog, timer: st.SessionTimer | None) -> None:
        for handle in (dialog.timer, dialog.refresh_timer):
            if handle is not None:
                handle.cancel()
        dialog.timer = dialog.refresh_timer = None
        if timer is None:
            dialog.session_expires = dialog.refresher = dialog.expires_at = None
            return
        now = self.clock()
        dialog.session_expires = timer.interval
        dialog.refresher = timer.refresher
        dialog.expires_at = st.expiry_deadline(now, timer.interval)
        dialog.timer = self._schedule_at(dialog.expires_at, lambda: self._session_expired(dialog))
        if timer.refresher == "uas":
            dialog.refresh_timer = self._schedule_at(
                st.refresh_deadline(now, timer.interval), lambda: self._refresh_session(dialog)
            )

    def _session_expired(self, dialog: Dialog) -> None:
        dialog.timer = None
        self._end_dialog(dialog, DialogEvent.SESSION_EXPIRED, "session-timer-expired")

    def _refresh_session(self, dialog: Dialog) -> None:
        """We are the refresher (the client asked refresher=uas): refresh with UPDATE."""
        dialog.refresh_timer = None
        if not dialog.is_live or dialog.session_expires is None:
            return
        interval = dialog.session_expires

        def outcome(result: ResponseOutcome) -> None:
            if isinstance(result, Response) and 200 <= result.status < 300 and dialog.is_live:
                self._apply_session_timer(dialog, st.SessionTimer(interval, "uas", True))
            # otherwise the expiry timer still runs and ends the dialog

        self._send_in_dialog(
            dialog,
            "UPDATE",
            (("Session-Expires", f"{interval};refresher=uas"), ("Supported", "timer"), ("Contact", self._contact_for(dialog.conn_id or -1))),
            b"",
            outcome,
        )

    def _terminate_dialog(self, dialog: Dialog, event: DialogEvent, reason: str) -> bool:
        if not dialog.terminate(event, reason):
            return False
        self._dialogs.pop((dialog.call_id, dialog.local_tag, dialog.remote_tag), None)
        for handle in (dialog.timer, dialog.refresh_timer):
            if handle is not None:
                handle.cancel()
        dialog.timer = dialog.refresh_timer = None
        pending = dialog.pending_invite
        dialog.pending_invite = None
        if pending is not None and pending.state is ServerInviteState.PROCEEDING:
            self._cancel_invite(pending)  # BYE overtook a re-INVITE: 487 it
        return True

    def _end_dialog(self, dialog: Dialog, event: DialogEvent, reason: str) -> None:
        if not dialog.is_live:
            return
        self._send_in_dialog(dialog, "BYE", (), b"", lambda outcome: None)
        if self._terminate_dialog(dialog, event, reason):
            self.application.on_dialog_ended(dialog, reason)

    # ------------------------------------------------------------------
    # Our requests (client non-INVITE transactions)

    def _send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        on_outcome: Callable[[ResponseOutcome], None],
    ) -> None:
        conn = self._connections.get(dialog.conn_id) if dialog.conn_id is not None else None
        target: Target | None = None
        request_uri = dialog.remote_target
        routes = dialog.route_set
        if routes and ";lr" not in _uri_text(routes[0]).lower():
            # Strict routing (RFC 3261 12.2.1.1): the first route becomes the Request-URI.
            request_uri = _uri_text(routes[0])
            routes = [*routes[1:], f"<{dialog.remote_target}>"]
        unroutable: str | None = None
        if conn is None:
            try:
                target = self._target_for(dialog)
                transport = target.transport
            except ValueError as error:  # includes SipParseError from a bad route URI
                unroutable = str(error)
                transport = dialog.transport
        else:
            transport = conn.transport
        branch = MAGIC_COOKIE + secrets.token_hex(8)
        cseq = dialog.next_local_cseq()
        h = Headers()
        # sent-by names our listening port: a peer that must answer by Via (its connection
        # gone) then finds us rather than port 5060.
        sent_by = f"{self.domain_name}:{dialog.local_port}" if dialog.local_port else self.domain_name
        h.add("Via", f"SIP/2.0/{transport.upper()} {sent_by};branch={branch}")
        h.add("Max-Forwards", "70")
        h.add("From", dialog.local_party())
        h.add("To", dialog.remote_party())
        h.add("Call-ID", dialog.call_id)
        h.add("CSeq", f"{cseq} {method}")
        for route in routes:
            h.add("Route", route)
        h.add("User-Agent", self.user_agent)
        for name, value in headers:
            h.add(name, value)
        request = Request(method, request_uri, h, body)
        data = request.to_bytes()
        tx = ClientTransaction(branch, method, request, on_outcome, dialog)
        self._client_tx[branch] = tx
        tx.timer = self._schedule(TIMER_B_F_H, lambda: self._feed_client(tx, ClientNonInviteInput.TIMER_F))
        if unroutable is not None:
            # Reported from the next tick, so that on_outcome never runs inside send_request.
            self._schedule(0.0, lambda: self._client_send_failed(tx, f"no route to the peer: {unroutable}"))
        elif conn is not None:
            self._outputs.append(Send(conn.conn_id, data))
        else:
            key = ("request", branch)
            self._pending_sends[key] = lambda reason: self._client_send_failed(tx, reason)
            self._outputs.append(SendTo(target, data, key))  # type: ignore[arg-type]

    def _target_for(self, dialog: Dialog) -> Target:
        uri_text = _uri_text(dialog.route_set[0]) if dialog.route_set else dialog.remote_target
        uri = parse_uri(uri_text)
        if not isinstance(uri, SipUri):
            raise ValueError(f"cannot open a connection to the non-SIP URI {uri_text!r}")
        transport = (uri.param("transport") or ("tls" if uri.scheme == "sips" else dialog.transport)).lower()
        if transport not in ("tcp", "tls"):
            raise ValueError(f"cannot reach {uri_text!r}: we speak TCP and TLS only, not {transport!r}")
        host = uri.param("maddr") or uri.host
        port = uri.port or (5061 if transport == "tls" else 5060)
        return Target(host, int(port), transport)

    def _client_send_failed(self, tx: ClientTransaction, reason: str) -> None:
        if not tx.terminated:
            self._feed_client(tx, ClientNonInviteInput.TRANSPORT_ERROR, reason=reason)

    def _feed_client(self, tx: ClientTransaction, input_: ClientNonInviteInput, response: Response | None = None, reason: str = "") -> None:
        for action in tx.feed(input_):
            if action is Action.PASS_TO_TU:
                tx.on_outcome(response)  # type: ignore[arg-type]
            elif action is Action.START_TIMER_K:
                self._feed_client(tx, ClientNonInviteInput.TIMER_K)  # Timer K = 0 on TCP/TLS
            elif action is Action.REPORT_TIMEOUT:
                tx.on_outcome(TransactionTimeout(tx.method, tx.request.call_id))
            elif action is Action.REPORT_TRANSPORT_FAILURE:
                tx.on_outcome(TransportFailure(tx.method, tx.request.call_id, reason))
            elif action is Action.DESTROY:
                if tx.timer is not None:
                    tx.timer.cancel()
                    tx.timer = None
                self._client_tx.pop(tx.branch, None)
                self._pending_sends.pop(("request", tx.branch), None)

    def _handle_response(self, conn_id: int, response: Response) -> None:
        via = response.top_via
        tx = self._client_tx.get(via.branch) if via is not None and via.branch else None
        if tx is None or response.cseq[1] != tx.method:
            return  # not ours (RFC 3261 17.1.3): drop
        if tx.dialog is not None and tx.dialog.is_live and tx.dialog.conn_id != conn_id:
            self._move_dialog(tx.dialog, conn_id)  # the connection that now reaches the peer
        input_ = ClientNonInviteInput.RESPONSE_1XX if response.status < 200 else ClientNonInviteInput.RESPONSE_FINAL
        self._feed_client(tx, input_, response)
