"""The transaction layer (RFC 3261 section 17), sans-IO, for reliable and unreliable transports.

It keeps the client and server transactions, feeds their tables
(`transaction_tables`), carries out the actions and returns what its owner must
do, as records:

* `Transmit` - bytes for the transport, to the transaction's `destination`
  (whatever the owner named when the transaction began: a connection, an address);
* `ToTU` - a request, ACK or response for the transaction user;
* `TimedOut`, `TransportFailed` - the transaction's failure, for the TU;
* `Ended` - the transaction is forgotten (the owner may drop what it keeps for it).

Every input carries `now`; nothing here reads a clock.  Timers live in one
`TimerQueue`: the owner sleeps until `next_deadline()` and then calls
`tick(now)`.  Inputs do not fire timers that fell due before them (the owner
ticks first); at the end of each input every timer due at `now` fires, which is
how the zero-length timers of TCP/TLS (D, I, J, K) end a transaction at once.

Matching follows RFC 3261 17.1.3 and 17.2.3 (`transaction_matching`), with one
addition: an ACK for our 2xx carries a fresh branch (17.1.1.3), so it matches
no transaction by Via; it is matched to its Accepted INVITE by Call-ID, CSeq
number and both tags, so that the INVITE transaction learns its 2xx arrived.
Any other ACK that matches nothing goes to the TU.  A response that matches no
client transaction is dropped (as RFC 6026 amends RFC 3261 18.1.2).  A CANCEL
we receive is a non-INVITE transaction of its own; the TU finds the INVITE it
names with `cancel_target_key(key)` and `state_of`.

What stays with the TU: the 100 Trying for an INVITE (RFC 3261 asks for it
within 200 ms; rccserver's TU sends it at once), the ACK for a 2xx, and the
retransmission of its own 2xx (`uas_2xx_retransmission`).
"""
from __future__ import annotations

import enum
from typing import Callable

import attrs

from rccserver.common.clock import TimerQueue
from rccserver.sip.message import Request, Response
from rccserver.sip.transaction_matching import (
    ClientKey,
    ServerKey,
    TransactionKey,
    client_key_of,
    has_rfc3261_branch,
    server_key_of,
)
from rccserver.sip.transaction_requests import ack_for_non_2xx, cancel_for
from rccserver.sip.transaction_tables import (
    CLIENT_INVITE,
    CLIENT_NON_INVITE,
    SERVER_INVITE,
    SERVER_NON_INVITE,
    TIMER_ACTIONS,
    Action,
    ClientInviteInput,
    ClientInviteState,
    Machine,
    ServerInviteInput,
    ServerInviteState,
    ServerNonInviteInput,
    response_input,
    tu_response_input,
)
from rccserver.sip.transaction_timers import Arm, Timer, TimerSettings


# --------------------------------------------------------------------------
# Outputs


@attrs.frozen(slots=True)
class Transmit:
    key: TransactionKey
    destination: object
    data: bytes


@attrs.frozen(slots=True)
class ToTU:
    key: TransactionKey
    message: Request | Response


@attrs.frozen(slots=True)
class TimedOut:
    key: TransactionKey


@attrs.frozen(slots=True)
class TransportFailed:
    key: TransactionKey


@attrs.frozen(slots=True)
class Ended:
    key: TransactionKey


Output = Transmit | ToTU | TimedOut | TransportFailed | Ended

# (key, state before, input, state after), for logging and tests
Observer = Callable[[TransactionKey, enum.Enum, enum.Enum, enum.Enum], None]

# How an ACK for our 2xx finds its INVITE: Call-ID, CSeq number, From tag, To tag.
_AckMatch = tuple[str, int, "str | None", "str | None"]


@attrs.define(slots=True, eq=False)
class _Transaction:
    machine: Machine
    key: TransactionKey
    state: enum.Enum
    request: Request
    destination: object
    reliable: bool
    request_bytes: bytes = b""  # client: what we send and re-send
    last_response: bytes | None = None  # server: what a retransmitted request gets
    ack: bytes | None = None  # client INVITE: the ACK for the non-2xx, re-sent per copy
    handles: dict[Timer, int] = attrs.Factory(dict)  # running timers
    intervals: dict[Timer, float] = attrs.Factory(dict)  # last interval, for doubling
    ack_match: _AckMatch | None = None  # server INVITE in Accepted
    cancel_on_provisional: bool = False  # client INVITE: the TU cancelled while Calling
    cancel: ClientKey | None = None  # client INVITE: our CANCEL's transaction


class TransactionLayer:
    """All transactions of one SIP element, their timers, and their matching."""

    def __init__(self, settings: TimerSettings | None = None, *, observer: Observer | None = None) -> None:
        self.settings = settings if settings is not None else TimerSettings()
        self._observer = observer
        self._server: dict[ServerKey, _Transaction] = {}
        self._client: dict[ClientKey, _Transaction] = {}
        self._accepted: dict[_AckMatch, _Transaction] = {}
        self._timers: TimerQueue[tuple[_Transaction, Timer]] = TimerQueue()

    # ------------------------------------------------------------------
    # Inspection

    def state_of(self, key: TransactionKey) -> enum.Enum | None:
        """The transaction's state, or None once it is forgotten (or never was)."""
        tx = self._find(key)
        return tx.state if tx is not None else None

    @property
    def server_count(self) -> int:
        return len(self._server)

    @property
    def client_count(self) -> int:
        return len(self._client)

    @property
    def timer_count(self) -> int:
        return len(self._timers)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    # ------------------------------------------------------------------
    # Inputs

    def tick(self, now: float) -> list[Output]:
        """Fire every timer due at `now`."""
        out: list[Output] = []
        self._fire_due(now, out)
        return out

    def receive_request(self, request: Request, now: float, *, destination: object, reliable: bool) -> list[Output]:
        """A request from the network; `destination` is where its responses go."""
        out: list[Output] = []
        key = server_key_of(request)
        tx = self._server.get(key)
        if request.method == "ACK":
            if tx is None:
                tx = self._accepted.get(_ack_match_of(request, request.to.tag))
            if tx is not None:
                self._forget_ack_match(tx)
                self._feed(tx, ServerInviteInput.ACK, now, out, message=request)
            else:
                out.append(ToTU(key, request))  # an ACK of no transaction of ours: the TU decides
        elif tx is not None:
            tx.destination = destination  # answer where the latest copy came from
            input_ = (
                ServerInviteInput.REQUEST_RETRANSMISSION
                if tx.machine is SERVER_INVITE
                else ServerNonInviteInput.REQUEST_RETRANSMISSION
            )
            self._feed(tx, input_, now, out)
        else:
            machine = SERVER_INVITE if request.method == "INVITE" else SERVER_NON_INVITE
            tx = _Transaction(machine, key, machine.start[0], request, destination, reliable)
            self._server[key] = tx
            self._carry_out(tx, machine.start[1], now, out, message=request)
        self._fire_due(now, out)
        return out

    def receive_response(self, response: Response, now: float) -> list[Output]:
        """A response from the network."""
        out: list[Output] = []
        key = client_key_of(response)
        tx = self._client.get(key) if key is not None else None
        if tx is None:  # no transaction of ours sent its request: dropped
            self._fire_due(now, out)
            return out
        self._feed(tx, response_input(tx.machine is CLIENT_INVITE, response.status), now, out, message=response)
        if tx.cancel_on_provisional and tx.state is ClientInviteState.PROCEEDING:
            self._send_cancel(tx, now, out)  # RFC 3261 9.1: only now may the CANCEL go
        self._fire_due(now, out)
        return out

    def send_request(
        self, request: Request, now: float, *, destination: object, reliable: bool
    ) -> tuple[ClientKey, list[Output]]:
        """Start a client transaction for our `request` (its top Via carries our fresh branch)."""
        if request.method == "ACK":
            raise ValueError("an ACK is no transaction: the TU sends the ACK for a 2xx straight to the transport")
        if request.cseq[1] != request.method:
            raise ValueError(f"CSeq method {request.cseq[1]!r} does not match the request's {request.method!r}")
        branch = request.top_via.branch
        if not has_rfc3261_branch(branch):
            raise ValueError(f"our requests need an RFC 3261 branch (z9hG4bK...), not {branch!r}")
        machine = CLIENT_INVITE if request.method == "INVITE" else CLIENT_NON_INVITE
        key = ClientKey(branch, request.method)  # type: ignore[arg-type]
        out: list[Output] = []
        self._start_client(machine, key, request, now, out, destination=destination, reliable=reliable)
        self._fire_due(now, out)
        return key, out

    def send_response(self, key: ServerKey, response: Response, now: float) -> list[Output]:
        """The TU answers the server transaction `key`.

        A response for a transaction that has ended is dropped: the TU was told
        why (transport failure) when it ended.  A response the transaction's
        state does not allow (a second final one) raises `InvalidTransition`.
        """
        out: list[Output] = []
        tx = self._server.get(key)
        if tx is None:
            return out
        input_ = tu_response_input(tx.machine is SERVER_INVITE, response.status)
        self._feed(tx, input_, now, out, data=response.to_bytes())
        if tx.state is ServerInviteState.ACCEPTED and tx.ack_match is None:
            tx.ack_match = _ack_match_of(tx.request, response.to.tag)
            self._accepted[tx.ack_match] = tx
        self._fire_due(now, out)
        return out

    def cancel(self, key: ClientKey, now: float) -> list[Output]:
        """CANCEL our pending INVITE `key` (RFC 3261 9.1).

        In Proceeding the CANCEL goes at once, as a client transaction of its
        own (key: the INVITE's branch, method CANCEL).  In Calling it waits for
        the first provisional, as 9.1 requires.  Once a final response came (or
        the INVITE is gone) there is nothing to cancel: a 2xx is the TU's to BYE.
        """
        if key.method != "INVITE":
            raise ValueError(f"only our INVITEs are cancelled, not a {key.method}")
        out: list[Output] = []
        tx = self._client.get(key)
        if tx is None or tx.cancel is not None:
            return out
        if tx.state is ClientInviteState.CALLING:
            tx.cancel_on_provisional = True
        elif tx.state is ClientInviteState.PROCEEDING:
            self._send_cancel(tx, now, out)
        self._fire_due(now, out)
        return out

    def transport_error(self, key: TransactionKey, now: float) -> list[Output]:
        """The transport could not send a message of the transaction `key`."""
        out: list[Output] = []
        tx = self._find(key)
        if tx is None:
            return out  # a late report for a transaction that has ended
        self._feed(tx, tx.machine.inputs["TRANSPORT_ERROR"], now, out)
        self._fire_due(now, out)
        return out

    # ------------------------------------------------------------------
    # The machinery

    def _find(self, key: TransactionKey) -> _Transaction | None:
        if isinstance(key, ClientKey):
            return self._client.get(key)
        return self._server.get(key)

    def _start_client(
        self,
        machine: Machine,
        key: ClientKey,
        request: Request,
        now: float,
        out: list[Output],
        *,
        destination: object,
        reliable: bool,
    ) -> _Transaction:
        if key in self._client:
            raise ValueError(f"a {key.method} transaction with branch {key.branch} is already running")
        tx = _Transaction(machine, key, machine.start[0], request, destination, reliable, request.to_bytes())
        self._client[key] = tx
        self._carry_out(tx, machine.start[1], now, out)
        return tx

    def _send_cancel(self, invite_tx: _Transaction, now: float, out: list[Output]) -> None:
        invite_tx.cancel_on_provisional = False
        key = ClientKey(invite_tx.key.branch, "CANCEL")  # type: ignore[union-attr]
        self._start_client(
            CLIENT_NON_INVITE, key, cancel_for(invite_tx.request), now, out,
            destination=invite_tx.destination, reliable=invite_tx.reliable,
        )
        invite_tx.cancel = key
        self._feed(invite_tx, ClientInviteInput.CANCEL_SENT, now, out)

    def _feed(
        self,
        tx: _Transaction,
        input_: enum.Enum,
        now: float,
        out: list[Output],
        *,
        message: Request | Response | None = None,
        data: bytes | None = None,
    ) -> None:
        before = tx.state
        tx.state, actions = tx.machine.step(before, input_)
        if self._observer is not None:
            self._observer(tx.key, before, input_, tx.state)
        live = tx.machine.live_timers[tx.state]
        for timer in [t for t in tx.handles if t not in live]:
            self._timers.cancel(tx.handles.pop(timer))
        self._carry_out(tx, actions, now, out, message=message, data=data)

    def _carry_out(
        self,
        tx: _Transaction,
        actions: tuple[Action, ...],
        now: float,
        out: list[Output],
        *,
        message: Request | Response | None = None,
        data: bytes | None = None,
    ) -> None:
        for action in actions:
            if action in TIMER_ACTIONS:
                self._arm(tx, *TIMER_ACTIONS[action], now)
            elif action is Action.PASS_TO_TU or action is Action.PASS_PROVISIONAL_TO_TU:
                out.append(ToTU(tx.key, message))  # type: ignore[arg-type]
            elif action is Action.SEND_REQUEST or action is Action.RESEND_REQUEST:
                out.append(Transmit(tx.key, tx.destination, tx.request_bytes))
            elif action is Action.SEND_RESPONSE:
                tx.last_response = data
                out.append(Transmit(tx.key, tx.destination, data))  # type: ignore[arg-type]
            elif action is Action.RESEND_LAST_RESPONSE:
                if tx.last_response is not None:  # a retransmission before any response: nothing yet
                    out.append(Transmit(tx.key, tx.destination, tx.last_response))
            elif action is Action.SEND_ACK:
                tx.ack = ack_for_non_2xx(tx.request, message).to_bytes()  # type: ignore[arg-type]
                out.append(Transmit(tx.key, tx.destination, tx.ack))
            elif action is Action.RESEND_ACK:
                out.append(Transmit(tx.key, tx.destination, tx.ack))  # type: ignore[arg-type]
            elif action is Action.REPORT_TIMEOUT:
                out.append(TimedOut(tx.key))
            elif action is Action.REPORT_TRANSPORT_FAILURE:
                out.append(TransportFailed(tx.key))
            elif action is Action.DESTROY:
                self._destroy(tx, out)
            elif action is not Action.ABSORB:
                raise ValueError(f"{tx.machine.name}: no way to carry out {action}")

    def _arm(self, tx: _Transaction, timer: Timer, arm: Arm, now: float) -> None:
        interval = self.settings.interval(timer, arm, reliable=tx.reliable, previous=tx.intervals.get(timer))
        if interval is None:
            return  # a retransmission timer on a reliable transport
        running = tx.handles.pop(timer, None)
        if running is not None:
            self._timers.cancel(running)
        tx.intervals[timer] = interval
        tx.handles[timer] = self._timers.schedule(now + interval, (tx, timer))

    def _fire_due(self, now: float, out: list[Output]) -> None:
        while (due := self._timers.pop_next_due(now)) is not None:
            deadline, (tx, timer) = due
            tx.handles.pop(timer, None)
            # The timer's own deadline is its "now": re-armed intervals stay exact
            # however late the owner ticks.
            self._feed(tx, tx.machine.timer_input(timer), deadline, out)

    def _destroy(self, tx: _Transaction, out: list[Output]) -> None:
        for handle in tx.handles.values():
            self._timers.cancel(handle)
        tx.handles.clear()
        self._forget_ack_match(tx)
        if isinstance(tx.key, ClientKey):
            if self._client.get(tx.key) is tx:
                del self._client[tx.key]
        elif self._server.get(tx.key) is tx:
            del self._server[tx.key]
        out.append(Ended(tx.key))

    def _forget_ack_match(self, tx: _Transaction) -> None:
        if tx.ack_match is not None:
            if self._accepted.get(tx.ack_match) is tx:
                del self._accepted[tx.ack_match]
            tx.ack_match = None


def _ack_match_of(request: Request, to_tag: str | None) -> _AckMatch:
    return (request.call_id, request.cseq[0], request.from_.tag, to_tag)
