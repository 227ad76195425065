"""The sans-IO SIP user agent core: transactions, dialogs, session timers, dispatch.

Inputs are connection events and framed messages; outputs are `Send`,
`SendTo` and `Close` records that the Twisted driver drains after every input
(`take_output`).  Time and timers come from the injected `Scheduler`
(rccserver.common.clock), which the driver shares with the RCC application
and the switch and ticks through its one `next_deadline()`/`tick(now)`.

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

import itertools
from typing import Callable, Iterable, Iterator

from rccserver.common.clock import Scheduler, Timer
from rccserver.common.product import PRODUCT
from rccserver.sip import session_timer as st
from rccserver.sip.application import Application, IncomingRequest, ResponseOutcome
from rccserver.sip.client_transactions import ClientTransactions
from rccserver.sip.dialog import Dialog, DialogEvent, new_tag, strip_tag
from rccserver.sip.grammar import field_tag, from_to_tags, safe_reason, unsupported_options, uri_text
from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.outputs import Close, Connection, Output, Send, SendTo, Target
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.rendered_fields import RenderedFields
from rccserver.sip.routing import contact_uri
from rccserver.sip.server_transactions import ServerTransactions
from rccserver.sip.transaction import (
    ClientTransaction,
    ServerInviteInput,
    ServerInviteState,
    ServerKey,
    ServerNonInviteInput,
    ServerNonInviteState,
    ServerTransaction,
    cancel_target_key,
    server_key_from_via,
)

__all__ = ["Close", "DialogEndedError", "Endpoint", "Output", "Send", "SendTo", "Target"]

ALLOW_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "INFO", "UPDATE", "OPTIONS")
ACCEPT_TYPES = ("application/csta+xml",)
SUPPORTED_OPTIONS = ("timer",)
SIP_SCHEMES = frozenset({"sip", "sips"})
_SIP_URI_PREFIXES = ("sip:", "sips:")
_NON_INVITE_TRYING = ServerNonInviteState.TRYING
# Module globals for the enum members read per request (a class attribute read is far slower).
_INVITE_PROCEEDING = ServerInviteState.PROCEEDING
_INVITE_ACK = ServerInviteInput.ACK
_INVITE_RETRANSMISSION = ServerInviteInput.REQUEST_RETRANSMISSION
_NON_INVITE_RETRANSMISSION = ServerNonInviteInput.REQUEST_RETRANSMISSION


class DialogEndedError(RuntimeError):
    """send_request() on a dialog that has already ended."""


class Endpoint(ServerTransactions, ClientTransactions):
    """The SIP user agent for RCC dialogs (UAS for dialogs, UAC for in-dialog requests)."""

    def __init__(
        self,
        application: Application,
        *,
        domain_name: str,
        local_contact: str | None = None,
        scheduler: Scheduler,
        session_expires: int = st.DEFAULT_INTERVAL,
        min_se: int = st.MIN_SE_FLOOR,
        allow_methods: Iterable[str] = ALLOW_METHODS,
        user_agent: str = PRODUCT,
        timer_j: float = 0.0,
    ) -> None:
        if min_se < st.MIN_SE_FLOOR:
            raise ValueError(f"min_se {min_se} is below the RFC 4028 floor of {st.MIN_SE_FLOOR} s")
        if session_expires < min_se:
            raise ValueError(f"session_expires {session_expires} is below min_se {min_se}")
        self.application = application
        self.domain_name = domain_name
        self.local_contact = local_contact
        self.scheduler = scheduler
        self.session_expires = session_expires
        self.min_se = min_se
        self.allow_methods = tuple(m.upper() for m in allow_methods)
        self._allowed = frozenset(self.allow_methods)
        self._allow_header = ", ".join(self.allow_methods)
        self.user_agent = user_agent
        self.timer_j = timer_j
        self._connections: dict[int, Connection] = {}
        self._server_tx: dict[ServerKey, ServerTransaction] = {}
        self._client_tx: dict[str, ClientTransaction] = {}
        self._dialogs: dict[tuple[str, str, str | None], Dialog] = {}
        self._pending_sends: dict[object, Callable[[str], None]] = {}
        # Constant header tuples checked and rendered once: ours (User-Agent + the
        # application's) after a request, the application's (+ Server) after a response.
        self._request_fields = RenderedFields()
        self._response_fields = RenderedFields()
        self._outputs: list[Output] = []
        self._send_seq = itertools.count()
        self._app_responder = self._respond_from_app  # bound once: IncomingRequest's responder

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
        self._connections[conn_id] = Connection(conn_id, tuple(peer), transport.lower(), tuple(local))  # type: ignore[arg-type]

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
    # Timers (in the scheduler the whole core shares; the driver ticks it)

    def _schedule(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.scheduler.call_later(delay, callback)

    def _schedule_at(self, when: float, callback: Callable[[], None]) -> Timer:
        return self.scheduler.call_at(when, callback)

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
            partial, status, safe_reason(reason), to_tag=new_tag(), headers=[("Server", self.user_agent)]
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
        call_id = request.call_id
        cseq_number = request.cseq[0]
        from_tag, to_tag = from_to_tags(request)
        key = server_key_from_via(method, request.top_via, request.uri, from_tag, call_id, cseq_number)
        table = self._server_tx
        tx = table.get(key)
        if method == "ACK":
            if tx is not None and tx.machine == "server-invite":
                self._feed_server(tx, _INVITE_ACK)
            else:
                self._ack_for_dialog(conn_id, request, call_id, to_tag, from_tag)
            return
        if tx is not None:
            retransmission = (
                _INVITE_RETRANSMISSION if tx.machine == "server-invite" else _NON_INVITE_RETRANSMISSION
            )
            tx.conn_id = conn_id
            self._feed_server(tx, retransmission)
            return

        if method == "INVITE":
            tx = ServerTransaction("server-invite", key, _INVITE_PROCEEDING, conn_id, request)
        else:
            tx = ServerTransaction("server-non-invite", key, _NON_INVITE_TRYING, conn_id, request)
        tx.request_tagged = to_tag is not None
        table[key] = tx
        if method not in self._allowed:
            self._respond(tx, 501, headers=(("Allow", self._allow_header),))
            return
        uri = request.uri
        if not uri.startswith(_SIP_URI_PREFIXES):  # the common case in one C call
            scheme = uri.split(":", 1)[0]
            if scheme not in SIP_SCHEMES and scheme.lower() not in SIP_SCHEMES:
                self._respond(tx, 416, f"Unsupported URI Scheme {scheme!r}")
                return
        if method == "CANCEL":
            self._on_cancel(tx, key)
            return
        if "Require" in request.headers:  # most requests: no list built
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
            if method == "INFO":  # the RCC traffic: first in the chain
                tx.incoming = incoming = IncomingRequest(request, dialog, conn_id, self._app_responder, tx)
                self.application.on_info(incoming)
                return

        if method == "OPTIONS":
            self._respond(tx, 200, headers=self._capability_headers())
        elif method == "INVITE":
            self._on_invite(tx, dialog)
        elif dialog is None:
            # INFO, UPDATE and BYE only make sense inside a dialog.
            self._respond(tx, 481, f"{method} Outside A Dialog")
        elif method == "UPDATE":
            self._on_update(tx, dialog)
        elif method == "BYE":
            self._on_bye(tx, dialog)
        else:  # an extra method configured in allow_methods that we do not route
            self._respond(tx, 501, headers=(("Allow", self._allow_header),))

    def _capability_headers(self) -> tuple[tuple[str, str], ...]:
        return (
            ("Allow", self._allow_header),
            ("Accept", ", ".join(ACCEPT_TYPES)),
            ("Supported", ", ".join(SUPPORTED_OPTIONS)),
        )

    def _unsupported_requirements(self, request: Request) -> list[str]:
        return unsupported_options(request.headers.get_all("Require"), SUPPORTED_OPTIONS)

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
        tx.incoming = self._incoming(tx)
        if dialog is None:
            self.application.on_invite(tx.incoming)
        else:
            dialog.pending_invite = tx
            self.application.on_reinvite(tx.incoming)
        if tx.state is ServerInviteState.PROCEEDING and tx.last_response is None:
            # The application answers later: tell the previous hop we have it, so it stops
            # retransmitting.  An answer given at once (most logons) needs no 100.
            self._respond(tx, 100)

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










    # ------------------------------------------------------------------
    # Dialogs

    def _contact_for(self, conn_id: int) -> str:
        if self.local_contact is not None:
            return self.local_contact
        return contact_uri(self.domain_name, self._connections.get(conn_id))

    def _create_dialog(self, tx: ServerTransaction) -> Dialog:
        request = tx.request
        if tx.to_tag is None:
            tx.to_tag = new_tag()
        conn = self._connections.get(tx.conn_id)
        from_text = request.headers.get("From")
        to_text = request.headers.get("To")
        contact = request.headers.get_all("Contact")
        remote_target = uri_text(contact[0]) if contact else uri_text(from_text)  # RFC 2543 peers: no Contact
        dialog = Dialog(
            call_id=request.call_id,
            local_tag=tx.to_tag,
            remote_tag=field_tag(request, "From"),  # as the dialog is looked up (remembered scan)
            local_uri=strip_tag(to_text),
            remote_uri=strip_tag(from_text),
            route_set=tuple(request.headers.get_all("Record-Route")),
            remote_target=remote_target,
            transport=conn.transport if conn is not None else request.top_via.transport.lower(),
            conn_id=tx.conn_id,
            local_port=conn.local[1] if conn is not None else None,
            peer=conn.peer if conn is not None else (request.top_via.host, request.top_via.port or 5060),
            created_at=self.scheduler.now(),
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
            dialog.remote_target = uri_text(contact[0])

    def _apply_session_timer(self, dialog: Dialog, timer: st.SessionTimer | None) -> None:
        for handle in (dialog.timer, dialog.refresh_timer):
            if handle is not None:
                handle.cancel()
        dialog.timer = dialog.refresh_timer = None
        if timer is None:
            dialog.session_expires = dialog.refresher = dialog.expires_at = None
            return
        now = self.scheduler.now()
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





