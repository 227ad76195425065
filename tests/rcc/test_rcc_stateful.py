"""Random sign-ins, CSTA services, outside calls and sign-outs against the whole sans-IO core.

Invariants after each step: every INFO gets a 200 with a decodable CSTA body;
sessions, monitors and station occupancy agree; when everyone has signed out
and every call is hung up, nothing is left: no session, no monitor, no
occupied station, no call.
"""
from __future__ import annotations

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rccserver import csta
from rccserver.sip import make_response
from rccserver.switch import SwitchError
from tests.rcc.rcc_harness import ED3, Core, Lync, server_requests

USERS = [("sip:alice@example.com", "tel:+1001"), ("sip:bob@example.com", "tel:+1002"),
         ("sip:ivan@example.com", "tel:+15550100")]
TARGETS = ["tel:+1001", "tel:+1002", "tel:+1003", "tel:+13175550100", "tel:+1 (317) 555-0101"]


def conn(call_id: str, line: str) -> str:
    return f"<callID>{call_id}</callID><deviceID>{line}</deviceID>"


class RccMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = Core(session_timeout=45)
        self.clients: list[Lync] = []

    def call_ids(self) -> list[str]:
        return [call.call_id for call in self.core.switch.calls()]

    # -- rules ------------------------------------------------------------------------
    @rule(user=st.sampled_from(USERS))
    def sign_in(self, user):
        client = Lync(self.core, *user)
        response = client.sign_in(extra=())
        assert response.status == 200, response.headers.get("Warning")
        client.monitor()
        self.clients.append(client)

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 10))
    def sign_out(self, index):
        client = self.clients.pop(index % len(self.clients))
        bye = client.final(self.core.feed(client.request("BYE")), "BYE")
        assert bye.status == 200

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 10), number=st.sampled_from(TARGETS))
    def make_call(self, index, number):
        client = self.clients[index % len(self.clients)]
        answer = client.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{client.line}</callingDevice>'
                             f"<calledDirectoryNumber>{number}</calledDirectoryNumber></MakeCall>")
        assert isinstance(answer, (csta.MakeCallResponse, csta.ErrorCode))

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 10), pick=st.integers(0, 20),
          service=st.sampled_from(["AnswerCall/callToBeAnswered", "ClearConnection/connectionToBeCleared",
                                   "HoldCall/callToBeHeld", "RetrieveCall/callToBeRetrieved"]))
    def call_service(self, index, pick, service):
        client = self.clients[index % len(self.clients)]
        ids = self.call_ids() or ["c-unknown"]
        root, child = service.split("/")
        answer = client.csta(f'<{root} xmlns="{ED3}"><{child}>{conn(ids[pick % len(ids)], client.line)}'
                             f"</{child}></{root}>")
        assert isinstance(answer, (csta.MESSAGES[f"{root}Response"], csta.ErrorCode))

    @rule(callee=st.sampled_from(["1001", "1002", "8007"]), caller=st.sampled_from(["+13175550199", "1003"]))
    def outside_call(self, callee, caller):
        try:
            self.core.switch.place_call(caller, callee)
        except SwitchError:
            pass  # e.g. the station is at its call limit
        self.core.app.events.flush()
        self.core.drain()

    @precondition(lambda self: self.core.switch.calls())
    @rule(pick=st.integers(0, 20), answer=st.booleans())
    def external_party(self, pick, answer):
        ids = self.call_ids()
        call_id = ids[pick % len(ids)]
        try:
            (self.core.switch.external_answer if answer else self.core.switch.external_hangup)(call_id)
        except SwitchError:
            pass
        self.core.app.events.flush()
        self.core.drain()

    @rule(seconds=st.sampled_from([1, 10, 50]))
    def time_passes(self, seconds):
        # The client answers every keep-alive within 30 s, before Timer F (32 s) would count
        # it as a miss (SPEC 7: keepalive_misses unanswered keep-alives end a session).
        while seconds > 0:
            step = min(seconds, 30)
            seconds -= step
            for request in server_requests(self.core.advance(step), "INFO"):
                self.core.feed(make_response(request, 200))

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def sessions_monitors_and_occupancy_agree(self):
        sessions = list(self.core.app.sessions)
        assert len(sessions) == len(self.clients)
        assert self.core.app.sessions.monitor_count == sum(len(s.monitors) for s in sessions)
        for session in sessions:
            if session.station is not None:
                assert self.core.occupancy.occupant(session.station) == session.cic_user
        held = {h.holder for station in ("1001", "1002", "1003", "1004")
                for h in self.core.occupancy.holders(station)}
        assert held <= {s.session_id for s in sessions}

    def teardown(self):
        for client in list(self.clients):
            client.final(self.core.feed(client.request("BYE")), "BYE")
        for call in list(self.core.switch.calls()):
            for party in call.parties:
                try:
                    if party.is_station:
                        self.core.switch.station_hangup(party.device, call.call_id)
                    else:
                        self.core.switch.external_hangup(call.call_id, party.device)
                except SwitchError:
                    pass  # the call ended when an earlier party left
        self.core.app.events.flush()
        assert len(self.core.app.sessions) == 0
        assert self.core.app.sessions.monitor_count == 0
        assert len(self.core.occupancy) == 0
        assert self.core.switch.calls() == ()


RccMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestRccStateful = RccMachine.TestCase
