"""Random input sequences through the transaction layer, one transaction at a time.

For every machine, over UDP and over TCP:
* each input either takes the table's row or, where the table has none, raises
  `InvalidTransition` and changes nothing; timers fire only along rows too;
* the request reaches the TU once, a final response at most once;
* over TCP no timer ever sends anything;
* when the last transaction ends, no timer is left;
* after the last input, a transaction that does not wait for its TU (a server
  waiting for the answer, a client INVITE ringing until it is cancelled) ends
  within 64*T1 + T4 on its timers alone.
"""
from __future__ import annotations

import enum

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rccserver.sip.transaction_layer import Ended, ToTU, TransactionLayer, Transmit
from rccserver.sip.transaction_matching import ClientKey, server_key_of
from rccserver.sip.transaction_tables import (
    MACHINE_DEFINITIONS,
    ClientInviteInput,
    ClientInviteState,
    ClientNonInviteInput,
    InvalidTransition,
    ServerInviteInput,
    ServerInviteState,
    ServerNonInviteInput,
    ServerNonInviteState,
)
from rccserver.sip.transaction_timers import TimerSettings

from transaction_helpers import PEER, answer, our_request, peer_request

SETTINGS = TimerSettings()
BOUND = 64 * SETTINGS.t1 + SETTINGS.t4
KINDS = ["server-invite", "server-non-invite", "client-invite", "client-non-invite"]


class OneTransaction(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.transitions: list[tuple[object, enum.Enum, enum.Enum, enum.Enum]] = []
        self.layer = TransactionLayer(SETTINGS, observer=lambda *t: self.transitions.append(t))
        self.now = 0.0
        self.last_input = 0.0
        self.outputs: list = []
        self.ended_at = 0.0  # when a transaction last ended

    # ------------------------------------------------------------------
    @initialize(kind=st.sampled_from(KINDS), reliable=st.booleans())
    def start(self, kind: str, reliable: bool) -> None:
        self.kind = kind
        self.machine = MACHINE_DEFINITIONS[kind]
        self.reliable = reliable
        transport = "TCP" if reliable else "UDP"
        method = "INVITE" if kind.endswith("-invite") and "non" not in kind else "NOTIFY"
        if kind.startswith("server"):
            self.request = peer_request(method, transport=transport)
            self.key = server_key_of(self.request)
            self._collect(self.layer.receive_request(self.request, 0.0, destination=PEER, reliable=reliable))
        else:
            self.request = our_request(method, transport=transport)
            self.key, out = self.layer.send_request(self.request, 0.0, destination=PEER, reliable=reliable)
            self._collect(out)

    def _collect(self, outputs: list, *, from_timer: bool = False) -> None:
        if from_timer and self.reliable:
            assert not any(isinstance(o, Transmit) for o in outputs), "a timer sent something over TCP"
        if any(isinstance(o, Ended) for o in outputs):
            self.ended_at = self.now
        self.outputs += outputs

    @property
    def state(self) -> enum.Enum:
        state = self.layer.state_of(self.key)
        return state if state is not None else self.machine.states["TERMINATED"]

    def _expect(self, input_: enum.Enum | None, call) -> None:
        """Run `call`; its first transition of our transaction must be (state, input_)
        if the table has that row, else it must raise and change nothing."""
        before = self.state
        seen = len(self.transitions)
        self.last_input = self.now
        if input_ is not None and (before, input_) not in self.machine.table:
            with pytest.raises(InvalidTransition):
                call()
            assert self.state is before and len(self.transitions) == seen
            return
        self._collect(call())
        ours = [t for t in self.transitions[seen:] if t[0] == self.key]
        if input_ is None or before.name == "TERMINATED":
            assert ours == []
        else:
            assert ours[0][1:3] == (before, input_)

    # ------------------------------------------------------------------
    # Time

    @rule(delta=st.floats(0, 40, allow_nan=False))
    def wait(self, delta: float) -> None:
        until = self.now + delta
        while (deadline := self.layer.next_deadline()) is not None and deadline <= until:
            self.now = max(self.now, deadline)  # each timer at its own time
            self._collect(self.layer.tick(self.now), from_timer=True)
        self.now = until

    @precondition(lambda self: self.layer.next_deadline() is not None)
    @rule()
    def wait_for_the_next_timer(self) -> None:
        self.now = max(self.now, self.layer.next_deadline())
        self._collect(self.layer.tick(self.now), from_timer=True)

    # ------------------------------------------------------------------
    # Server side

    @precondition(lambda self: self.kind.startswith("server"))
    @rule()
    def peer_retransmits(self) -> None:
        input_ = self.machine.inputs["REQUEST_RETRANSMISSION"]
        if self.state.name == "TERMINATED":
            input_ = None  # a copy after the end is a new transaction (checked below)
        self._expect(input_, lambda: self.layer.receive_request(
            self.request, self.now, destination=PEER, reliable=self.reliable))
        if input_ is None:
            self.key_restarted = True

    @precondition(lambda self: self.kind.startswith("server"))
    @rule(status=st.sampled_from([100, 180, 200, 486]))
    def tu_answers(self, status: int) -> None:
        if self.kind == "server-invite":
            input_ = {1: ServerInviteInput.TU_1XX, 2: ServerInviteInput.TU_2XX}.get(
                status // 100, ServerInviteInput.TU_3XX_6XX)
        else:
            input_ = ServerNonInviteInput.TU_1XX if status < 200 else ServerNonInviteInput.TU_FINAL
        if self.state.name == "TERMINATED":
            input_ = None  # dropped: the transaction has ended
        response = answer(self.request, status, to_tag=None if status == 100 else "rcc1")
        self._expect(input_, lambda: self.layer.send_response(self.key, response, self.now))

    @precondition(lambda self: self.kind == "server-invite")
    @rule(fresh_branch=st.booleans())
    def peer_acks(self, fresh_branch: bool) -> None:
        # The ACK for a non-2xx keeps the INVITE's branch; the ACK for a 2xx has its own.
        ack = peer_request("ACK", branch="z9hG4bKpeerack" if fresh_branch else "z9hG4bKpeer1",
                           to_tag="rcc1", transport="TCP" if self.reliable else "UDP")
        finds_it = not fresh_branch or self.state is ServerInviteState.ACCEPTED
        input_ = ServerInviteInput.ACK if finds_it and self.state.name != "TERMINATED" else None
        self._expect(input_, lambda: self.layer.receive_request(ack, self.now, destination=PEER, reliable=self.reliable))

    # ------------------------------------------------------------------
    # Client side

    @precondition(lambda self: self.kind.startswith("client"))
    @rule(status=st.sampled_from([100, 180, 200, 486]))
    def peer_answers(self, status: int) -> None:
        if self.kind == "client-invite":
            input_ = {1: ClientInviteInput.RESPONSE_1XX, 2: ClientInviteInput.RESPONSE_2XX}.get(
                status // 100, ClientInviteInput.RESPONSE_3XX_6XX)
        else:
            input_ = ClientNonInviteInput.RESPONSE_1XX if status < 200 else ClientNonInviteInput.RESPONSE_FINAL
        if self.state.name == "TERMINATED":
            input_ = None  # a stray response: dropped
        response = answer(self.request, status, to_tag=None if status == 100 else "phone1")
        self._expect(input_, lambda: self.layer.receive_response(response, self.now))

    @precondition(lambda self: self.kind == "client-invite")
    @rule()
    def tu_cancels(self) -> None:
        cancelling = self.state is ClientInviteState.PROCEEDING and self.layer.state_of(self.cancel_key) is None
        already = any(t[0] == self.key and t[2] is ClientInviteInput.CANCEL_SENT for t in self.transitions)
        input_ = ClientInviteInput.CANCEL_SENT if cancelling and not already else None
        self._expect(input_, lambda: self.layer.cancel(self.key, self.now))

    @property
    def cancel_key(self) -> ClientKey:
        return ClientKey(self.key.branch, "CANCEL")

    # ------------------------------------------------------------------
    @rule()
    def transport_fails(self) -> None:
        input_ = None if self.state.name == "TERMINATED" else self.machine.inputs["TRANSPORT_ERROR"]
        self._expect(input_, lambda: self.layer.transport_error(self.key, self.now))

    # ------------------------------------------------------------------
    @invariant()
    def every_transition_is_a_table_row(self) -> None:
        for key, before, input_, after in self.transitions:
            machine = self.machine if key == self.key else MACHINE_DEFINITIONS[self._machine_of(key)]
            assert machine.table[(before, input_)][0] is after

    def _machine_of(self, key) -> str:
        if isinstance(key, ClientKey):
            return "client-invite" if key.method == "INVITE" else "client-non-invite"
        return "server-invite" if key.method == "INVITE" else "server-non-invite"

    @invariant()
    def the_tu_sees_the_request_once_and_an_outcome_at_most_once(self) -> None:
        up = [o.message for o in self.outputs if isinstance(o, ToTU) and o.key == self.key]
        if self.kind.startswith("server") and not getattr(self, "key_restarted", False):
            assert sum(1 for m in up if getattr(m, "method", None) == self.request.method) == 1
        if self.kind == "client-non-invite":
            assert sum(1 for m in up if m.status >= 200) <= 1
        if self.kind == "client-invite":
            assert sum(1 for m in up if m.status >= 300) <= 1

    @invariant()
    def no_timer_outlives_the_transactions(self) -> None:
        if self.layer.server_count + self.layer.client_count == 0:
            assert self.layer.timer_count == 0 and self.layer.next_deadline() is None

    def teardown(self) -> None:
        if not hasattr(self, "kind"):
            return
        # Do what the TU owes, then let the timers run.
        state = self.state
        if state in (ServerInviteState.PROCEEDING, ServerNonInviteState.TRYING, ServerNonInviteState.PROCEEDING):
            self.last_input = self.now
            self.layer.send_response(self.key, answer(self.request, 486, to_tag="rcc1"), self.now)
        elif state is ClientInviteState.PROCEEDING:
            self.last_input = self.now
            self.layer.cancel(self.key, self.now)
        while (deadline := self.layer.next_deadline()) is not None:
            self.now = deadline
            self._collect(self.layer.tick(deadline), from_timer=True)
        assert self.layer.server_count == 0 and self.layer.client_count == 0
        assert self.layer.timer_count == 0
        assert self.ended_at <= self.last_input + BOUND, (self.kind, self.ended_at, self.last_input)


OneTransaction.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
test_one_transaction = OneTransaction.TestCase
