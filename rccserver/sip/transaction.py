"""RFC 3261 section 17 transactions: the import surface, and the TCP endpoint's records.

The parts live in their own modules:
* `transaction_tables` - the four machines as tables (server INVITE with
  RFC 6026 Accepted, server non-INVITE, client INVITE, client non-INVITE),
  one per machine for every transport, and `step`;
* `transaction_timers` - how long each timer runs (T1, T2, T4; reliable or not);
* `transaction_matching` - which transaction a message belongs to;
* `transaction_requests` - the ACK for a non-2xx and the CANCEL we build;
* `transaction_layer` - the sans-IO driver for all of them, UDP included;
* `uas_2xx_retransmission` - the UAS core's re-sending of its 2xx.

`ServerTransaction` and `ClientTransaction` below are the records of the
endpoint (`endpoint.py`), which speaks TCP/TLS only and runs its own timers.
"""
from __future__ import annotations

import enum
from typing import Any, Callable

import attrs

from rccserver.sip.transaction_matching import (
    MAGIC_COOKIE,
    ClientKey,
    Rfc2543Key,
    Rfc3261Key,
    ServerKey,
    TransactionKey,
    cancel_target_key,
    client_key_of,
    has_rfc3261_branch,
    server_key,
    server_key_from_via,
    server_key_of,
)
from rccserver.sip.transaction_tables import (
    CLIENT_INVITE_TABLE,
    CLIENT_NON_INVITE_TABLE,
    MACHINE_DEFINITIONS,
    MACHINES,
    SERVER_INVITE_TABLE,
    SERVER_NON_INVITE_TABLE,
    TIMER_ACTIONS,
    Action,
    ClientInviteInput,
    ClientInviteState,
    ClientNonInviteInput,
    ClientNonInviteState,
    InvalidTransition,
    Machine,
    ServerInviteInput,
    ServerInviteState,
    ServerNonInviteInput,
    ServerNonInviteState,
    step,
)
from rccserver.sip.transaction_timers import Arm, Timer, TimerSettings

__all__ = [
    "Action", "Arm", "CLIENT_INVITE_TABLE", "CLIENT_NON_INVITE_TABLE", "ClientInviteInput",
    "ClientInviteState", "ClientKey", "ClientNonInviteInput", "ClientNonInviteState",
    "ClientTransaction", "InvalidTransition", "MACHINES", "MACHINE_DEFINITIONS", "MAGIC_COOKIE",
    "Machine", "Rfc2543Key", "Rfc3261Key", "SERVER_INVITE_TABLE", "SERVER_NON_INVITE_TABLE",
    "ServerInviteInput", "ServerInviteState", "ServerKey", "ServerNonInviteInput",
    "ServerNonInviteState", "ServerTransaction", "T1", "TIMER_ACTIONS", "TIMER_B_F_H", "TIMER_L",
    "Timer", "TimerSettings", "TransactionKey", "cancel_target_key", "client_key_of",
    "has_rfc3261_branch", "server_key", "server_key_from_via", "server_key_of", "step",
]

T1 = TimerSettings().t1
TIMER_B_F_H = TimerSettings().timeout  # 32 s: INVITE/non-INVITE client timeout and the wait for ACK
TIMER_L = TimerSettings().timeout  # RFC 6026: how long the accepted INVITE waits for its ACK


_START_TIMER_I = Action.START_TIMER_I
_SERVER_TERMINATED = frozenset({ServerInviteState.TERMINATED, ServerNonInviteState.TERMINATED})


class ServerTransaction:
    """One of the endpoint's server transactions; `machine` names its table.

    A plain slotted class, not attrs: one is made for every request received, and
    a hand-written __init__ costs less; nothing uses attrs features on it (it
    compares by identity, as `eq=False` did)."""

    __slots__ = (
        "machine", "key", "state", "conn_id", "request", "to_tag", "last_response", "incoming",
        "dialog", "timer", "session_timer", "creates_dialog", "request_tagged", "send_key",
    )

    machine: str
    key: ServerKey
    state: enum.Enum
    conn_id: int
    request: Any  # rccserver.sip.message.Request
    to_tag: str | None  # the tag our responses carry (fixed per transaction)
    last_response: bytes | None
    incoming: Any  # the IncomingRequest handed to the application
    dialog: Any
    timer: Any  # the endpoint's handle for the running timer
    session_timer: Any  # negotiated RFC 4028 timer to apply on our 2xx
    creates_dialog: bool  # an initial INVITE
    request_tagged: bool | None  # the request's To has a tag (None: not read yet)
    send_key: object  # key of an outstanding SendTo of our response

    def __init__(
        self,
        machine: str,
        key: ServerKey,
        state: enum.Enum,
        conn_id: int,
        request: Any,
        to_tag: str | None = None,
        last_response: bytes | None = None,
        incoming: Any = None,
        dialog: Any = None,
        timer: Any = None,
        session_timer: Any = None,
        creates_dialog: bool = False,
        request_tagged: bool | None = None,
        send_key: object = None,
    ) -> None:
        self.machine = machine
        self.key = key
        self.state = state
        self.conn_id = conn_id
        self.request = request
        self.to_tag = to_tag
        self.last_response = last_response
        self.incoming = incoming
        self.dialog = dialog
        self.timer = timer
        self.session_timer = session_timer
        self.creates_dialog = creates_dialog
        self.request_tagged = request_tagged
        self.send_key = send_key

    def __repr__(self) -> str:
        return (
            f"ServerTransaction(machine={self.machine!r}, key={self.key!r}, state={self.state!r}, "
            f"conn_id={self.conn_id!r})"
        )

    def feed(self, input_: enum.Enum) -> tuple[Action, ...]:
        """One transition.  The endpoint runs on TCP/TLS, where Timer I is zero:
        Confirmed ends at once, so its Timer I input is fed here (the endpoint
        has no timer for it).  Timers G (not on TCP/TLS) need nothing either."""
        row = MACHINES[self.machine].get((self.state, input_))  # the table itself: one lookup per input
        if row is None:
            raise InvalidTransition(self.machine, self.state, input_)
        self.state, actions = row
        if _START_TIMER_I in actions:
            self.state, after = step(self.machine, self.state, ServerInviteInput.TIMER_I)
            actions += after
        return actions

    @property
    def terminated(self) -> bool:
        return self.state in _SERVER_TERMINATED  # a set lookup: Enum.name is a descriptor call


@attrs.define(slots=True, eq=False)
class ClientTransaction:
    """One of the endpoint's client non-INVITE transactions (it sends no INVITE)."""

    branch: str
    method: str
    call_id: str  # for the outcomes that carry no response
    on_outcome: Callable[[Any], None]
    dialog: Any = None
    state: ClientNonInviteState = ClientNonInviteState.TRYING
    timer: Any = None

    def feed(self, input_: ClientNonInviteInput) -> tuple[Action, ...]:
        row = CLIENT_NON_INVITE_TABLE.get((self.state, input_))
        if row is None:
            raise InvalidTransition("client-non-invite", self.state, input_)
        self.state, actions = row  # type: ignore[assignment]
        return actions

    @property
    def terminated(self) -> bool:
        return self.state is ClientNonInviteState.TERMINATED
