"""Any run of REGISTER, unREGISTER, replayed CSeqs, queries and time leaves exactly the bindings an
independent model says, with the expiries it says; and once everything expired nothing lingers.

The model is a dict (user, contact) -> (expires_at, cseq), updated by the RFC 3261 section 10.3
rules written out here. Phones answer challenges as real ones do (tests/stations/registrar_harness.py),
so nonces go stale as time passes and the digest path is exercised on every step.
"""
from __future__ import annotations

import math

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.stations.registrar_harness import AMY_PASSWORD, BEN_PASSWORD, Phone, contact_expiries, new_registrar

MIN_EXPIRES, MAX_EXPIRES, DEFAULT_EXPIRES = 60, 3600, 1800
USERS = ("1001", "ben")
CONTACTS = {user: [f"sip:{user}@192.0.2.{n}" for n in (21, 22, 23)] for user in USERS}
# Multiples of 0.5 s: exact in binary floating point, so expected expiries are exact too.
STEPS = st.sampled_from([0.0, 0.5, 1.0, 30.0, 59.5, 60.0, 600.0, 1799.0, 3600.0, 4000.0])
EXPIRIES = st.sampled_from([None, 0, 30, 59, 60, 90, 1000, 3600, 7200])


class RegistrarMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.registrar = new_registrar(min_expires=MIN_EXPIRES, max_expires=MAX_EXPIRES,
                                       default_expires=DEFAULT_EXPIRES, nonce_lifetime=300.0)
        self.now = 0.0
        self.phones = {"1001": Phone(self.registrar, "1001", AMY_PASSWORD, host="192.0.2.10"),
                       "ben": Phone(self.registrar, "ben", BEN_PASSWORD, host="192.0.2.11")}
        self.model: dict[tuple[str, str], tuple[float, int]] = {}

    # --- the model

    def lapse(self) -> set[tuple[str, str]]:
        gone = {key for key, (expires_at, _) in self.model.items() if expires_at <= self.now}
        for key in gone:
            del self.model[key]
        return gone

    def expected_listing(self, user: str) -> dict[str, int]:
        return {contact: math.ceil(expires_at - self.now)
                for (owner, contact), (expires_at, _) in self.model.items() if owner == user}

    def send(self, user: str, contacts: tuple[str, ...], expires: int | None = None):
        self.lapse()
        response, _ = self.phones[user].send(contacts, now=self.now, expires=expires)
        return response, self.phones[user].cseq

    # --- rules

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2), expires=EXPIRIES,
          as_param=st.booleans())
    def register(self, user, index, expires, as_param):
        contact = CONTACTS[user][index]
        if expires is not None and as_param:
            contacts, header = (f"<{contact}>;expires={expires}",), None
        else:
            contacts, header = (f"<{contact}>",), expires
        response, cseq = self.send(user, contacts, header)
        requested = DEFAULT_EXPIRES if expires is None else expires
        key = (user, contact)
        if 0 < requested < MIN_EXPIRES:
            assert (response.status, response.headers.get("Min-Expires")) == (423, str(MIN_EXPIRES))
            return
        if key in self.model and self.model[key][1] >= cseq:
            assert response.status == 400
            return
        assert response.status == 200
        if requested == 0:
            self.model.pop(key, None)
        else:
            self.model[key] = (self.now + min(requested, MAX_EXPIRES), cseq)
        assert contact_expiries(response) == self.expected_listing(user)

    @rule(user=st.sampled_from(USERS))
    def unregister_all(self, user):
        response, cseq = self.send(user, ("*",), 0)
        if any(owner == user and stored >= cseq for (owner, _), (_, stored) in self.model.items()):
            assert response.status == 400
            return
        assert response.status == 200 and response.headers.get("Contact") is None
        for key in [key for key in self.model if key[0] == user]:
            del self.model[key]

    @rule(user=st.sampled_from(USERS))
    def query(self, user):
        response, _ = self.send(user, ())
        assert response.status == 200
        assert contact_expiries(response) == self.expected_listing(user)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), back=st.integers(1, 4))
    def replay_an_older_cseq(self, data, back):
        """The phone's CSeq goes back (a delayed or replayed REGISTER on the same Call-ID)."""
        user, contact = data.draw(st.sampled_from(sorted(self.model)))
        phone = self.phones[user]
        kept = phone.cseq
        phone.cseq = max(0, self.model[(user, contact)][1] - back)
        self.register(user, CONTACTS[user].index(contact), 90, False)
        phone.cseq = max(kept, phone.cseq)

    @rule(step=STEPS)
    def advance(self, step):
        self.now += step
        expired = {(event.sip_user, event.contact) for event in self.registrar.tick(self.now)}
        assert expired == self.lapse()

    # --- what must always hold

    @invariant()
    def bindings_are_the_model(self):
        for user in USERS:
            actual = {str(binding.contact): (binding.expires_at, binding.cseq)
                      for binding in self.registrar.bindings(user)}
            expected = {contact: value for (owner, contact), value in self.model.items() if owner == user}
            assert actual == expected
        deadlines = [expires_at for expires_at, _ in self.model.values()]
        assert self.registrar.next_deadline() == (min(deadlines) if deadlines else None)
        assert self.registrar.binding_count == len(self.model)

    def teardown(self):
        # Everything expires; then no binding, timer or per-station list may be left behind.
        self.now += MAX_EXPIRES + 1
        self.registrar.tick(self.now)
        self.lapse()
        assert self.model == {}
        assert self.registrar.binding_count == 0 and self.registrar.next_deadline() is None
        assert len(self.registrar._timers) == 0 and self.registrar._slots == {}


RegistrarMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_registrar_state_machine = RegistrarMachine.TestCase
