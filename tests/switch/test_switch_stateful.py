"""Random services and happenings on three stations and external parties.

After every step: every connection is in a legal state, the call and station
indexes agree, no call keeps a party that left, a station talks on at most one
call, and the events told so far are in a legal order per (station, call) and
agree with the snapshot. Teardown hangs everything up and checks that every
call cleared, every station is idle and no timer is left.
"""
from __future__ import annotations


from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rccserver.switch import EmbeddedSwitch, SwitchError, SwitchOptions
from rccserver.switch.connection_fsm import TRANSITIONS
from rccserver.switch.events import EventKind as K
from rccserver.switch.model import ConnectionState as S
from switch_helpers import A, B, C, ManualClock, X, Y

STATIONS = [A, B, C]
EXTERNALS = [X, Y, "+15550100"]
DESTINATIONS = STATIONS + EXTERNALS + ["tel:+1002", "not a number"]
LIVE_STATES = {S.ALERTING, S.CONNECTED, S.HOLD}
# lci moves the table allows in one step (plus staying put)
ONE_STEP = {(source, move.target) for (source, _), move in TRANSITIONS.items()}


class EventOrder:
    """Per (station, call): opened by an opening event, nothing after it closes."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, str], str] = {}  # "open" / "closed"
        self.lci: dict[tuple[str, str], S] = {}

    def open(self, key, lci: S) -> None:
        self.state[key] = "open"
        self.lci[key] = lci

    def close(self, key) -> None:
        self.state[key] = "closed"
        self.lci[key] = S.NULL

    def feed(self, event) -> None:
        if event.kind in (K.FORWARDING, K.DO_NOT_DISTURB):
            return
        station, lci, kind = event.station, event.local_connection_info, event.kind
        key = (station, event.connection.call_id)
        current = self.state.get(key)
        where = f"{kind.value} for {key} after {current} ({event})"
        fresh_ring = kind is K.DELIVERED and lci is S.ALERTING
        assert current != "closed" or fresh_ring, where
        if current == "open" and kind not in (K.TRANSFERRED, K.CONFERENCED):
            previous = self.lci[key]
            assert lci is previous or (previous, lci) in ONE_STEP, f"{previous.value} -> {lci.value}: {where}"
        if kind is K.SERVICE_INITIATED:
            assert current is None, where
            self.open(key, lci)
        elif kind is K.ORIGINATED:
            assert current is None or self.lci[key] is S.INITIATED, where
            self.open(key, lci)
        elif fresh_ring:
            assert current != "open", where
            self.open(key, lci)
        elif kind is K.DIVERTED and lci is S.NULL:
            self.close(key)  # the diverting station; it may never have rung
        elif kind is K.CONNECTION_CLEARED:
            assert current == "open", where
            if event.connection.device == station:
                assert lci is S.NULL, where
                self.close(key)
            else:
                self.lci[key] = lci
        elif kind is K.TRANSFERRED:
            assert current == "open", where
            if lci is S.NULL:
                assert event.transferring_device == station, where
                self.lci[key] = lci  # ConnectionCleared follows
            else:
                self.close(key)
                self._open_new(event.transferred_connections, station, lci)
        elif kind is K.CONFERENCED:
            assert current == "open", where
            self.close(key)
            if event.conferencing_device == station:
                secondary = (station, event.secondary_old_call.call_id)
                assert self.state.get(secondary) == "open", where
                self.close(secondary)
            self._open_new(event.conference_connections, station, lci)
        else:
            assert current == "open", where
            self.lci[key] = lci

    def _open_new(self, items, station, lci) -> None:
        new = [item.new for item in items if item.new is not None and item.new.device == station]
        assert len(new) == 1, (items, station)
        assert self.state.get((station, new[0].call_id)) is None
        self.open((station, new[0].call_id), lci)

    def open_keys(self) -> dict[tuple[str, str], S]:
        return {key: self.lci[key] for key, state in self.state.items() if state == "open"}


class SwitchMachine(RuleBasedStateMachine):
    @initialize(auto_answer=st.sampled_from([0, 3]), max_calls=st.sampled_from([2, 4]))
    def start(self, auto_answer, max_calls):
        self.clock = ManualClock()
        self.switch = EmbeddedSwitch(
            STATIONS,
            options=SwitchOptions(
                auto_answer_after=auto_answer, ring_interval=2, max_calls_per_station=max_calls, max_conference_parties=4
            ),
            scheduler=self.clock.scheduler,
        )
        self.order = EventOrder()

    # -- helpers
    def station_connections(self, *states: S, local: bool = False) -> list[tuple[str, str]]:
        return [
            (p.device, v.call_id)
            for v in self.switch.calls()
            for p in v.parties
            if p.is_station and (not states or p.state in states) and not (local and p.remote_number)
        ]

    def ready_for_two_call_services(self) -> list[tuple[str, str, str]]:
        """(station, held call, active call) for each station holding one call and talking on another."""
        found = []
        for station in STATIONS:
            snapshot = self.switch.snapshot(station)
            held = [i.call_id for i in snapshot if i.state is S.HOLD]
            active = [i.call_id for i in snapshot if i.state is S.CONNECTED]
            found += [(station, h, a) for h in held for a in active]
        return found

    def outside_parties(self, ringing: bool) -> list[tuple[str, str]]:
        return [
            (v.call_id, p.remote_number or p.device)
            for v in self.switch.calls()
            for p in v.parties
            if (not p.is_station or p.remote_number) and (not ringing or p.state is S.ALERTING)
        ]

    def attempt(self, action, *args):
        try:
            action(*args)
        except SwitchError as error:
            assert error.category and error.value
        for event in self.switch.take_events():
            self.order.feed(event)

    # -- services on real connections
    @rule(station=st.sampled_from(STATIONS), destination=st.sampled_from(DESTINATIONS))
    def make_call(self, station, destination):
        self.attempt(self.switch.make_call, station, destination)

    @precondition(lambda self: self.station_connections(S.ALERTING, local=True))
    @rule(data=st.data())
    def answer(self, data):
        self.attempt(self.switch.answer_call, *data.draw(st.sampled_from(self.station_connections(S.ALERTING, local=True))))

    @precondition(lambda self: self.station_connections())
    @rule(data=st.data())
    def clear(self, data):
        self.attempt(self.switch.clear_connection, *data.draw(st.sampled_from(self.station_connections())))

    @precondition(lambda self: self.station_connections(S.CONNECTED))
    @rule(data=st.data())
    def hold(self, data):
        self.attempt(self.switch.hold_call, *data.draw(st.sampled_from(self.station_connections(S.CONNECTED))))

    @precondition(lambda self: self.station_connections(S.HOLD))
    @rule(data=st.data())
    def retrieve(self, data):
        self.attempt(self.switch.retrieve_call, *data.draw(st.sampled_from(self.station_connections(S.HOLD))))

    @precondition(lambda self: self.station_connections(S.ALERTING))
    @rule(data=st.data(), destination=st.sampled_from(DESTINATIONS))
    def deflect(self, data, destination):
        self.attempt(self.switch.deflect_call, *data.draw(st.sampled_from(self.station_connections(S.ALERTING))), destination)

    @precondition(lambda self: self.station_connections(S.CONNECTED))
    @rule(data=st.data(), destination=st.sampled_from(DESTINATIONS))
    def single_step_transfer(self, data, destination):
        connection = data.draw(st.sampled_from(self.station_connections(S.CONNECTED)))
        self.attempt(self.switch.single_step_transfer, *connection, destination)

    @precondition(lambda self: self.station_connections(S.CONNECTED))
    @rule(data=st.data(), destination=st.sampled_from(DESTINATIONS))
    def consult(self, data, destination):
        connection = data.draw(st.sampled_from(self.station_connections(S.CONNECTED)))
        self.attempt(self.switch.consultation_call, *connection, destination)

    @precondition(lambda self: self.station_connections(S.CONNECTED))
    @rule(data=st.data(), digits=st.sampled_from(["1", "*#0"]))
    def digits(self, data, digits):
        connection = data.draw(st.sampled_from(self.station_connections(S.CONNECTED)))
        self.attempt(self.switch.generate_digits, *connection, digits)

    @precondition(lambda self: self.ready_for_two_call_services())
    @rule(data=st.data(), service=st.sampled_from(["alternate_call", "transfer_call", "conference_call"]))
    def two_call_service(self, data, service):
        self.attempt(getattr(self.switch, service), *data.draw(st.sampled_from(self.ready_for_two_call_services())))

    @rule(
        station=st.sampled_from(STATIONS),
        feature=st.sampled_from(["forwardImmediate", "forwardBusy", "forwardNoAns", "dnd", "remote"]),
        active=st.booleans(),
        destination=st.sampled_from(DESTINATIONS),
        rings=st.integers(1, 3),
    )
    def device_feature(self, station, feature, active, destination, rings):
        if feature == "dnd":
            self.attempt(self.switch.set_dnd, station, active)
        elif feature == "remote":
            self.attempt(self.switch.set_remote_number, station, "+15550001" if active else None)
        else:
            self.attempt(self.switch.set_forwarding, station, feature, active, destination, rings)

    # -- any service on any ids: mostly refusals, which must change nothing
    @rule(
        service=st.sampled_from(
            ["answer_call", "clear_connection", "hold_call", "retrieve_call", "generate_digits",
             "deflect_call", "single_step_transfer", "consultation_call",
             "alternate_call", "transfer_call", "conference_call"]
        ),
        station=st.sampled_from(STATIONS + ["9999"]),
        data=st.data(),
    )
    def any_service(self, service, station, data):
        ids = sorted(v.call_id for v in self.switch.calls()) + ["c0"]
        first, second = data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids))
        extra = {
            "generate_digits": ("5",),
            "deflect_call": (data.draw(st.sampled_from(DESTINATIONS)),),
            "single_step_transfer": (data.draw(st.sampled_from(DESTINATIONS)),),
            "consultation_call": (data.draw(st.sampled_from(DESTINATIONS)),),
            "alternate_call": (second,),
            "transfer_call": (second,),
            "conference_call": (second,),
        }.get(service, ())
        self.attempt(getattr(self.switch, service), station, first, *extra)

    # -- the outside world
    @rule(origin=st.sampled_from(EXTERNALS + STATIONS), destination=st.sampled_from(DESTINATIONS))
    def place_call(self, origin, destination):
        self.attempt(self.switch.place_call, origin, destination)

    @precondition(lambda self: self.outside_parties(ringing=True))
    @rule(data=st.data())
    def external_answer(self, data):
        self.attempt(self.switch.external_answer, *data.draw(st.sampled_from(self.outside_parties(ringing=True))))

    @precondition(lambda self: self.outside_parties(ringing=False))
    @rule(data=st.data(), whole=st.booleans())
    def external_hangup(self, data, whole):
        call_id, device = data.draw(st.sampled_from(self.outside_parties(ringing=False)))
        self.attempt(self.switch.external_hangup, call_id, None if whole else device)

    @rule(seconds=st.sampled_from([0.5, 2, 3, 7, 30]))
    def time_passes(self, seconds):
        self.attempt(self.clock.advance_to, self.clock.now + seconds)

    # -- invariants
    @invariant()
    def calls_and_stations_agree(self):
        seen = set()
        for view in self.switch.calls():
            assert len(view.parties) >= 2, view
            assert any(p.state is not S.ALERTING for p in view.parties), view
            for party in view.parties:
                assert party.state in LIVE_STATES, view
                if party.is_station:
                    assert (view.call_id, party.state) in {(i.call_id, i.state) for i in self.switch.snapshot(party.device)}
                    seen.add((party.device, view.call_id))
        for station in STATIONS:
            snapshot = self.switch.snapshot(station)
            assert {(station, item.call_id) for item in snapshot} <= seen
            talking = [item for item in snapshot if item.state in (S.CONNECTED, S.INITIATED)]
            assert len(talking) <= 1, snapshot

    @invariant()
    def events_agree_with_snapshots(self):
        expected = {
            (station, item.call_id): item.state for station in STATIONS for item in self.switch.snapshot(station)
        }
        assert self.order.open_keys() == expected

    @invariant()
    def timers_only_while_something_rings(self):
        if self.clock.scheduler.next_deadline() is not None:
            assert any(p.state is S.ALERTING for v in self.switch.calls() for p in v.parties)

    def teardown(self):
        if not hasattr(self, "switch"):
            return
        for _ in range(20):
            calls = self.switch.calls()
            if not calls:
                break
            for view in calls:
                for party in view.parties:
                    if party.is_station:
                        self.attempt(self.switch.clear_connection, party.device, view.call_id)
                    else:
                        self.attempt(self.switch.external_hangup, view.call_id, party.device)
        assert self.switch.calls() == ()
        assert all(self.switch.snapshot(s) == () for s in STATIONS)
        assert self.clock.scheduler.next_deadline() is None
        assert self.order.open_keys() == {}


SwitchMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_switch_state_machine = SwitchMachine.TestCase
