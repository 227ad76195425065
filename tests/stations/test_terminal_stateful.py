"""Any sequence of phone happenings and CSTA services leaves no leg behind, and a leg
is never left carrying a connection the switch no longer has."""
from __future__ import annotations

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rccserver.switch import SwitchError
from phone_fakes import phone_sdp
from test_terminal import A, B, C, SIM, X, World

STATIONS = [A, B, C]


class PhonesAndLync(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.port = 4000

    def live_legs(self):
        return [leg for leg in self.world.line.legs if not leg.ended and leg.leg_id in self.world.terminals._by_leg]

    def sdp(self, direction="sendrecv"):
        self.port += 2
        return phone_sdp(self.port, direction)

    def attempt(self, operation, *args):
        try:
            operation(*args)
        except SwitchError:
            pass

    # -- what people do on phones
    @rule(station=st.sampled_from(STATIONS), number=st.sampled_from([A, B, C, SIM, X]))
    def dial(self, station, number):
        self.world.line.dial(station, number, self.sdp())

    @precondition(lambda self: self.live_legs())
    @rule(data=st.data(), offer=st.booleans())
    def phone_answers(self, data, offer):
        leg = data.draw(st.sampled_from(self.live_legs()))
        if leg.role.name == "OUTGOING":
            self.world.terminals.leg_answered(leg, self.sdp())
        else:
            self.world.terminals.leg_acknowledged(leg, None)

    @precondition(lambda self: self.live_legs())
    @rule(data=st.data(), status=st.sampled_from([408, 486, 503]))
    def phone_fails(self, data, status):
        leg = data.draw(st.sampled_from(self.live_legs()))
        self.world.terminals.leg_failed(leg, status, "x")
        leg.ended = True

    @precondition(lambda self: self.live_legs())
    @rule(data=st.data())
    def phone_hangs_up(self, data):
        leg = data.draw(st.sampled_from(self.live_legs()))
        self.world.terminals.leg_ended(leg, "bye")
        leg.ended = True

    @precondition(lambda self: self.live_legs())
    @rule(data=st.data(), direction=st.sampled_from(["sendonly", "sendrecv", "inactive"]))
    def phone_reinvites(self, data, direction):
        leg = data.draw(st.sampled_from(self.live_legs()))
        self.world.terminals.leg_reinvited(leg, self.sdp(direction))

    @precondition(lambda self: any(leg.actions and leg.actions[-1][0] == "reinvite" for leg in self.live_legs()))
    @rule(data=st.data())
    def phone_answers_our_reinvite(self, data):
        leg = data.draw(st.sampled_from([l for l in self.live_legs() if l.actions and l.actions[-1][0] == "reinvite"]))
        self.world.terminals.leg_reinvite_answered(leg, self.sdp())

    @precondition(lambda self: self.live_legs())
    @rule(data=st.data(), destination=st.sampled_from([A, B, C, SIM]))
    def phone_transfers(self, data, destination):
        leg = data.draw(st.sampled_from(self.live_legs()))
        self.world.terminals.leg_referred(leg, destination, None)

    # -- what Lync asks for
    @rule(station=st.sampled_from(STATIONS), number=st.sampled_from([A, B, C, SIM, X]))
    def make_call(self, station, number):
        self.attempt(self.world.switch.make_call, station, number)

    @rule(number=st.sampled_from(STATIONS))
    def outside_calls(self, number):
        self.attempt(self.world.switch.place_call, X, number)

    @precondition(lambda self: self.world.switch.calls())
    @rule(data=st.data(), service=st.sampled_from(["clear", "hold", "retrieve", "answer_outside", "hangup_outside"]))
    def lync_service(self, data, service):
        call = data.draw(st.sampled_from(self.world.switch.calls()))
        station = data.draw(st.sampled_from([p.device for p in call.parties]))
        switch = self.world.switch
        operation = {
            "clear": lambda: switch.clear_connection(station, call.call_id),
            "hold": lambda: switch.hold_call(station, call.call_id),
            "retrieve": lambda: switch.retrieve_call(station, call.call_id),
            "answer_outside": lambda: switch.external_answer(call.call_id),
            "hangup_outside": lambda: switch.external_hangup(call.call_id),
        }[service]
        self.attempt(operation)

    # -- what must always hold
    @invariant()
    def every_leg_carries_a_live_connection(self):
        terminals = self.world.terminals
        for (call_id, station), carried in terminals._carried.items():
            states = {s.call_id: s.state for s in self.world.switch.snapshot(station)}
            assert call_id in states, f"leg {carried.leg.leg_id} of {station} outlived its call {call_id}"
            assert terminals._by_leg[carried.leg.leg_id] is carried
        assert len(terminals._by_leg) == len(terminals._carried)

    def teardown(self):
        switch = self.world.switch
        for _ in range(10):
            for call in switch.calls():
                for party in call.parties:
                    if party.is_station:
                        self.attempt(switch.clear_connection, party.device, call.call_id)
                    else:
                        self.attempt(switch.external_hangup, call.call_id, party.device)
        assert switch.calls() == ()
        assert self.world.terminals.leg_count == 0
        # every leg the call layer started was ended by it or reported ended by its phone
        assert all(leg.ended for leg in self.world.line.legs)


TestPhonesAndLync = PhonesAndLync.TestCase
TestPhonesAndLync.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
