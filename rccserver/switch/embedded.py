"""The embedded switch: CIC stations and external parties, simulated in memory.

Sans-IO: time and timers come from the injected `Scheduler` (rccserver.common.clock)
that the whole core shares; a ringing timer runs at its own deadline; events are collected and handed to the listener (or kept for
`take_events()`) once an operation is complete, so a listener always sees a
consistent switch. Every connection state change goes through connection_fsm.

Behaviour worth knowing (the choices the contract left open):

* A station has at most one talking connection. MakeCall, AnswerCall and
  RetrieveCall put the station's other connected call on hold first (Held).
* An incoming call is checked in this order: immediate forwarding; do-not-disturb
  (the call is refused: the caller gets Failed/doNotDisturb, then
  ConnectionCleared; the station is told nothing); busy forwarding when the
  station already has a connected call or is at its call limit; a station at its
  call limit without busy forwarding refuses with Failed/busy. Otherwise it rings
  (call waiting if it is busy); no-answer forwarding moves it on after
  ring_count x ring_interval seconds. A forwarded station gets Diverted.
  Forwarding never goes back to a device the call was already offered to or that
  is in the call, and stops after `max_forward_hops`; the last station then rings.
* A called party that clears while ringing rejects the call: when only the caller
  is left it gets Failed/busy then ConnectionCleared. A caller that clears while
  the other side rings cancels the call (ConnectionCleared/callCancelled there).
* A two-party call ends when either party leaves; a conference goes on while two
  parties remain (the others see ConnectionCleared naming the dropped connection).
* Transfers and conferences create a new call id; the parties carried over keep
  their connection state and get Transferred / Conferenced naming their old one.
* With a remote number set, a station's new incoming legs ring that number: only
  the outside world (external_answer, or auto-answer) can answer them, AnswerCall
  is refused with operation/requestIncompatibleWithObject. Events still name the
  station's extension. MakeCall from such a station behaves as if the remote
  phone had picked up at once.
* External parties never answer by themselves unless auto_answer_after > 0.
* With a dial plan (SPEC 10), every dialled number (MakeCall, deflect, transfers,
  consultation, forwarding, a phone's INVITE) goes through its `dial` rules, and
  a number after them that is no station and does not start with '+' is refused
  (operation/invalidCalledDevice, invalidForwardingDestination for forwarding).
  An outside caller's destination goes through its `inbound` rules. A forwarding
  destination is read when it is set, not again when a call comes. Without a plan
  any number that is no station is an outside party.
"""
from __future__ import annotations

import enum
import itertools
import re
from typing import Callable, Iterable

import attrs

from rccserver.switch import connection_fsm
from rccserver.switch.connection_fsm import ConnectionInput as I
from rccserver.switch.errors import (
    OPERATION,
    STATE_INCOMPATIBILITY,
    SYSTEM_RESOURCE_AVAILABILITY,
    SwitchError,
)
from rccserver.switch.events import (
    Cause,
    ConnectionCleared,
    Conferenced,
    Delivered,
    DigitsGenerated,
    Diverted,
    DoNotDisturb,
    Established,
    EventKind as K,
    Failed,
    Forwarding,
    Held,
    Originated,
    Retrieved,
    ServiceInitiated,
    SwitchEvent,
    Transferred,
)
from rccserver.switch.interface import CallResult, ConferenceResult, NumberPlan, StationTerminal
from rccserver.switch.model import (
    CallView,
    ConnectionId,
    ConnectionListItem,
    ConnectionState as S,
    ForwardingSetting,
    ForwardingType,
    PartyView,
    SnapshotItem,
)
from rccserver.common.numbers import canonical_number, is_valid_extension, line_number
from rccserver.common.clock import Scheduler, Timer

DEFAULT_RING_COUNT = 4
MAX_RING_COUNT = 15
MAX_DIGITS_PER_REQUEST = 64
_DTMF = re.compile(r"[0-9*#A-Da-d]+")
_OBSERVED = connection_fsm.OBSERVED
_TRANSITIONS = connection_fsm.TRANSITIONS
# The events that are no call event: what an observer added with call_events=False reads.
_SETTING_EVENTS = frozenset((Forwarding, DoNotDisturb))

# Enum members the hot paths name, as module globals: reading a member off its class
# costs ~100 ns on Python 3.11 (EnumType's lookup), a global a tenth of that.
_S_ALERTING = S.ALERTING
_S_CONNECTED = S.CONNECTED
_S_NULL = S.NULL
_I_ANSWER = I.ANSWER
_I_CLEAR = I.CLEAR
_I_FAIL = I.FAIL
_I_HOLD = I.HOLD
_I_INITIATE = I.INITIATE
_I_OFFER = I.OFFER
_I_ORIGINATE = I.ORIGINATE
_K_CONFERENCED = K.CONFERENCED
_K_CONNECTION_CLEARED = K.CONNECTION_CLEARED
_K_DELIVERED = K.DELIVERED
_K_DIGITS_GENERATED = K.DIGITS_GENERATED
_K_DIVERTED = K.DIVERTED
_K_ESTABLISHED = K.ESTABLISHED
_K_FAILED = K.FAILED
_K_HELD = K.HELD
_K_ORIGINATED = K.ORIGINATED
_K_RETRIEVED = K.RETRIEVED
_K_SERVICE_INITIATED = K.SERVICE_INITIATED
_K_TRANSFERRED = K.TRANSFERRED
_Cause_BUSY = Cause.BUSY
_Cause_CALL_CANCELLED = Cause.CALL_CANCELLED
_Cause_CALL_FORWARD_BUSY = Cause.CALL_FORWARD_BUSY
_Cause_CALL_FORWARD_IMMEDIATE = Cause.CALL_FORWARD_IMMEDIATE
_Cause_CALL_FORWARD_NO_ANSWER = Cause.CALL_FORWARD_NO_ANSWER
_Cause_DEST_NOT_OBTAINABLE = Cause.DEST_NOT_OBTAINABLE
_Cause_DO_NOT_DISTURB = Cause.DO_NOT_DISTURB
_Cause_MAKE_CALL = Cause.MAKE_CALL
_Cause_NEW_CALL = Cause.NEW_CALL
_Cause_NORMAL = Cause.NORMAL
_Cause_NORMAL_CLEARING = Cause.NORMAL_CLEARING


def _positive(instance, attribute, value) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive (got {value!r})")


def _not_negative(instance, attribute, value) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative (got {value!r})")


@attrs.frozen
class SwitchOptions:
    auto_answer_after: float = attrs.field(default=0.0, validator=_not_negative)  # 0: never
    ring_interval: float = attrs.field(default=6.0, validator=_positive)  # one ring, for ring counts
    max_calls_per_station: int = attrs.field(default=8, validator=_positive)
    max_conference_parties: int = attrs.field(default=6, validator=_positive)
    max_forward_hops: int = attrs.field(default=5, validator=_not_negative)


class _TimerKind(enum.Enum):
    AUTO_ANSWER = "auto_answer"
    NO_ANSWER = "no_answer"


class _Party:
    """One device's connection to a call. A plain slotted record: every MakeCall makes two
    and a call one, so their construction is kept to a few stores (no attrs factories)."""

    __slots__ = ("device", "is_station", "call", "state", "remote_number", "timers")

    def __init__(self, device: str, is_station: bool, call: "_Call", state: S = S.NULL,
                 remote_number: str | None = None) -> None:
        self.device = device
        self.is_station = is_station
        self.call = call
        self.state = state
        self.remote_number = remote_number
        # Ringing timers; an empty tuple until one is scheduled (most parties never ring).
        self.timers: list[Timer] | tuple[()] = ()

    def __repr__(self) -> str:
        return (f"_Party(device={self.device!r}, is_station={self.is_station!r}, call={self.call.call_id!r}, "
                f"state={self.state!r}, remote_number={self.remote_number!r})")


class _Call:
    __slots__ = ("call_id", "calling_device", "called_device", "last_redirection_device", "parties",
                 "offered_to", "pending_offer")

    def __init__(self, call_id: str, calling_device: str | None, called_device: str | None) -> None:
        self.call_id = call_id
        self.calling_device = calling_device
        self.called_device = called_device
        self.last_redirection_device: str | None = None
        self.parties: dict[str, _Party] = {}
        self.offered_to: set[str] = set()  # forwarding loop guard
        # a prompted MakeCall: (device, is_station) to offer once the calling phone is off-hook
        self.pending_offer: tuple[str, bool] | None = None

    def __repr__(self) -> str:
        return (f"_Call(call_id={self.call_id!r}, calling_device={self.calling_device!r}, "
                f"called_device={self.called_device!r}, parties={list(self.parties)!r})")


@attrs.define(eq=False)
class _Station:
    extension: str
    dnd: bool = False
    remote_number: str | None = None
    forwarding: dict[ForwardingType, ForwardingSetting] = attrs.Factory(
        lambda: {t: ForwardingSetting(t, False) for t in ForwardingType}
    )
    calls: dict[str, _Party] = attrs.Factory(dict)  # call id -> this station's connection
    terminal: StationTerminal | None = None  # a real phone carries this station's calls


class _Operation:
    """One service or happening: events leave only when it is complete (nests).

    A plain reusable context manager: cheaper than a generator-based one per call."""

    __slots__ = ("_switch",)

    def __init__(self, switch: "EmbeddedSwitch") -> None:
        self._switch = switch

    def __enter__(self) -> None:
        switch = self._switch
        if switch._depth == 0:
            switch._now = None  # the clock is read when a timer needs it (_operation_time)
            switch._asked = None  # the interest is asked afresh in every operation (_ask)
        switch._depth += 1

    def __exit__(self, *exc_info) -> None:
        switch = self._switch
        switch._depth -= 1
        if switch._depth == 0 and (switch._pending or switch._batch):
            switch._end()  # (with neither, ending does nothing)


class EmbeddedSwitch:
    """In-memory switch implementing interface.Switch and interface.OutsideWorld."""

    def __init__(
        self,
        stations: Iterable[str],
        *,
        options: SwitchOptions = SwitchOptions(),
        scheduler: Scheduler,
        listener: Callable[[SwitchEvent], None] | None = None,
        dial_plan: NumberPlan | None = None,
    ) -> None:
        self.options = options
        self._dial_plan = dial_plan
        self._scheduler = scheduler
        self._listener = listener
        # Told when a timer (not a service) left events in the outbox, so they are delivered
        # without waiting for the next request.
        self.on_timer_events: Callable[[], None] | None = None
        # Told, after every operation, of the events it produced (terminals follow the calls):
        # (observer, whether it wants call events or only the Forwarding/DoNotDisturb ones).
        self._change_observers: list[tuple[Callable[[list[SwitchEvent]], None], bool]] = []
        # Which stations' call events the outbox's reader wants (None: every station's).
        self._outbox_interest: Callable[[str], bool] | None = None
        # The check _step makes before building a call event: None when every station's are
        # wanted (a listener, an outbox without a declared interest, a call-event observer).
        self._call_event_wanted: Callable[[str], bool] | None = None
        # The station _call_event_wanted was last asked about in this operation, and its
        # answer: an operation's steps ask about the same station again and again (a
        # MakeCall's initiate, originate and delivered), and no reader changes its interest
        # while an operation runs (with such a reader there is no listener to call back).
        self._asked: str | None = None
        self._asked_answer = False
        self._batch: list[SwitchEvent] = []
        self._stations: dict[str, _Station] = {}
        self._calls: dict[str, _Call] = {}
        self._call_numbers = itertools.count(1)
        self._pending: list[SwitchEvent] = []
        self._outbox: list[SwitchEvent] = []
        self._depth = 0
        self._flushing = False
        self._now: float | None = None  # the current operation's time, once read
        # `with self._operation:` around one service or happening; one object, reused.
        self._operation = _Operation(self)
        for extension in stations:
            self.add_station(extension)

    # ------------------------------------------------------------------ stations

    def stations(self) -> tuple[str, ...]:
        return tuple(self._stations)

    def has_station(self, extension: str) -> bool:
        """Whether `extension` is a station (a look-up, not a tuple of every station)."""
        return extension in self._stations

    def add_station(self, extension: str) -> None:
        if not is_valid_extension(extension):
            raise ValueError(f"station extension must be 1-32 digits, '*' or '#' (got {extension!r})")
        self._stations.setdefault(extension, _Station(extension))

    def set_terminal(self, extension: str, terminal: StationTerminal | None) -> None:
        """A real phone now carries the station's calls (None: simulated again)."""
        self._station(extension).terminal = terminal

    def add_change_observer(self, observer: Callable[[list[SwitchEvent]], None], *, call_events: bool = True) -> None:
        """`call_events=False`: the observer only reads Forwarding/DoNotDisturb events; it is
        handed an operation's batch of those (when there are any), and call events need not
        be built for it."""
        self._change_observers.append((observer, call_events))
        self._update_call_event_wanted()

    def set_outbox_interest(self, wanted: Callable[[str], bool] | None) -> None:
        """What the reader of take_events() reads: the stations whose call events it wants
        (asked as an event would be built), None for all. Call events nobody else wants
        are then not built at all; Forwarding/DoNotDisturb events always reach the outbox."""
        self._outbox_interest = wanted
        self._update_call_event_wanted()

    def _update_call_event_wanted(self) -> None:
        everything = (
            self._listener is not None
            or self._outbox_interest is None
            or any(call_events for _, call_events in self._change_observers)
        )
        self._call_event_wanted = None if everything else self._outbox_interest
        self._asked = None

    def remove_station(self, extension: str) -> None:
        """Take a station out of service: its calls are cleared first."""
        station = self._station(extension)
        with self._operation:
            for party in list(station.calls.values()):
                if party.state is not S.NULL:
                    self._hang_up(party)
            del self._stations[extension]

    # ------------------------------------------------------------------ services

    def make_call(self, station: str, destination: str, *, cause: Cause = Cause.MAKE_CALL) -> CallResult:
        st = self._station(station)
        device, is_station = self._resolve(destination)
        if device == st.extension:
            raise SwitchError(OPERATION, "invalidDestination", f"station {station} cannot call itself")
        self._check_call_limit(st)
        if st.terminal is not None and cause is _Cause_MAKE_CALL:
            st.terminal.make_call_requested(station)  # raises when the phone cannot be called
        with self._operation:
            if st.calls:
                self._hold_talking(st)
            call = self._new_call(st.extension, device)
            caller = self._join(call, st.extension, True)
            self._step(caller, _I_INITIATE, cause)
            if st.terminal is not None and cause is _Cause_MAKE_CALL:
                # ECMA-269 autoOriginate "prompt": the station's phone is called first and
                # the destination only once it is off-hook (originate()).
                call.pending_offer = (device, is_station)
                return CallResult(call.call_id)
            self._step(caller, _I_ORIGINATE, _Cause_NORMAL)
            self._offer(call, device, is_station, _Cause_NEW_CALL, _Cause_NORMAL)
            if not call.parties:  # _drop_if_empty: the offer was refused
                self._calls.pop(call.call_id, None)
            return CallResult(call.call_id)

    def originate(self, station: str, call_id: str) -> None:
        """The prompted phone went off-hook: the call proceeds to its destination."""
        party = self._connection(station, call_id)
        call = party.call
        if call.pending_offer is None:
            raise SwitchError(STATE_INCOMPATIBILITY, "invalidConnectionState", f"call {call_id} waits for no phone")
        connection_fsm.check(party.state, I.ORIGINATE)
        device, is_station = call.pending_offer
        call.pending_offer = None
        with self._operation:
            self._step(party, I.ORIGINATE, Cause.NORMAL)
            self._offer(call, device, is_station, Cause.NEW_CALL, Cause.NORMAL)
            self._drop_if_empty(call)

    def answer_call(self, station: str, call_id: str) -> None:
        party = self._connection(station, call_id)
        if party.remote_number is not None:
            raise SwitchError(
                OPERATION,
                "requestIncompatibleWithObject",
                f"call {call_id} rings at remote number {party.remote_number}; only that phone can answer",
            )
        connection_fsm.check(party.state, I.ANSWER)
        terminal = self._stations[station].terminal
        if terminal is not None:
            # Only the phone can go off-hook: ask it; Established follows when it does.
            terminal.answer_requested(station, call_id)
            return
        with self._operation:
            self._answer(party)

    def clear_connection(self, station: str, call_id: str) -> None:
        party = self._connection(station, call_id)
        if (party.state, _I_CLEAR) not in _TRANSITIONS:
            connection_fsm.check(party.state, _I_CLEAR)  # raises: the refusal for that state
        with self._operation:
            self._hang_up(party)

    def hold_call(self, station: str, call_id: str) -> None:
        party = self._connection(station, call_id)
        connection_fsm.check(party.state, I.HOLD)
        with self._operation:
            self._step(party, I.HOLD, Cause.NORMAL)

    def retrieve_call(self, station: str, call_id: str) -> None:
        party = self._connection(station, call_id)
        connection_fsm.check(party.state, I.RETRIEVE)
        with self._operation:
            self._hold_talking(self._stations[station], keep=party)
            self._step(party, I.RETRIEVE, Cause.NORMAL)

    def alternate_call(self, station: str, held_call_id: str, active_call_id: str) -> None:
        held = self._connection(station, held_call_id)
        active = self._connection(station, active_call_id)
        connection_fsm.check(held.state, I.RETRIEVE)
        connection_fsm.check(active.state, I.HOLD)
        with self._operation:
            self._step(active, I.HOLD, Cause.ALTERNATE)
            self._step(held, I.RETRIEVE, Cause.ALTERNATE)

    def deflect_call(self, station: str, call_id: str, destination: str) -> None:
        party = self._connection(station, call_id)
        connection_fsm.check(party.state, I.DIVERT)
        call = party.call
        device, is_station = self._resolve(destination)
        if device in call.parties:
            raise SwitchError(OPERATION, "invalidDestination", f"{device} is already a party of call {call_id}")
        with self._operation:
            self._step(party, I.DIVERT, Cause.REDIRECTED, new_destination=device)
            call.last_redirection_device = station
            self._offer(call, device, is_station, Cause.REDIRECTED, Cause.REDIRECTED)
            self._drop_if_empty(call)

    def single_step_transfer(self, station: str, call_id: str, destination: str) -> CallResult:
        party = self._connection(station, call_id)
        connection_fsm.check(party.state, I.SINGLE_STEP_TRANSFER)
        old = party.call
        device, is_station = self._resolve(destination)
        if device in old.parties:
            raise SwitchError(OPERATION, "invalidDestination", f"{device} is already a party of call {call_id}")
        others = [p for p in old.parties.values() if p is not party]
        self._refuse_ringing(others, call_id)
        with self._operation:
            new = self._new_call(others[0].device, device)
            new.last_redirection_device = station
            new.offered_to.update(p.device for p in others)
            items = tuple(
                ConnectionListItem(ConnectionId(new.call_id, p.device), ConnectionId(old.call_id, p.device))
                for p in others
            )
            info = dict(
                primary_old_call=ConnectionId(old.call_id, station),
                secondary_old_call=None,
                transferring_device=station,
                transferred_to_device=device,
                items=items,
            )
            self._step(party, I.SINGLE_STEP_TRANSFER, Cause.SINGLE_STEP_TRANSFER, **info)
            for other in others:
                self._carry(other, new, I.TRANSFERRED, Cause.SINGLE_STEP_TRANSFER, info)
            self._drop_if_empty(old)
            self._offer(new, device, is_station, Cause.SINGLE_STEP_TRANSFER, Cause.SINGLE_STEP_TRANSFER)
            self._drop_if_empty(new)
            return CallResult(new.call_id)

    def consultation_call(self, station: str, existing_call_id: str, destination: str) -> CallResult:
        party = self._connection(station, existing_call_id)
        connection_fsm.check(party.state, I.HOLD)
        st = self._stations[station]
        device, is_station = self._resolve(destination)
        if device == station or device in party.call.parties:
            raise SwitchError(
                OPERATION, "invalidDestination", f"{device} is already a party of call {existing_call_id}"
            )
        self._check_call_limit(st)
        with self._operation:
            self._step(party, I.HOLD, Cause.CONSULTATION)
            call = self._new_call(station, device)
            leg = self._join(call, station, True)
            self._step(leg, I.CONSULT, Cause.CONSULTATION)
            self._offer(call, device, is_station, Cause.NEW_CALL, Cause.NORMAL)
            self._drop_if_empty(call)
            return CallResult(call.call_id)

    def transfer_call(self, station: str, held_call_id: str, active_call_id: str) -> CallResult:
        held = self._connection(station, held_call_id)
        active = self._connection(station, active_call_id)
        connection_fsm.check(held.state, I.TRANSFER)
        connection_fsm.check(active.state, I.TRANSFER_CONSULTED)
        held_others, active_others = self._others_to_merge(held, active)
        self._refuse_ringing(held_others, held_call_id)
        with self._operation:
            new = self._new_call(held_others[0].device, active_others[0].device)
            moving = held_others + active_others
            new.offered_to.update(p.device for p in moving)
            items = tuple(
                ConnectionListItem(ConnectionId(new.call_id, p.device), ConnectionId(p.call.call_id, p.device))
                for p in moving
            )
            info = dict(
                primary_old_call=ConnectionId(held_call_id, station),
                secondary_old_call=ConnectionId(active_call_id, station),
                transferring_device=station,
                transferred_to_device=active_others[0].device,
                items=items,
            )
            old_calls = (held.call, active.call)
            self._step(held, I.TRANSFER, Cause.TRANSFER, **info)
            self._step(active, I.TRANSFER_CONSULTED, Cause.TRANSFER, **info)
            for other in moving:
                self._carry(other, new, I.TRANSFERRED, Cause.TRANSFER, info)
            for call in old_calls:
                self._drop_if_empty(call)
            return CallResult(new.call_id)

    def conference_call(self, station: str, held_call_id: str, active_call_id: str) -> ConferenceResult:
        held = self._connection(station, held_call_id)
        active = self._connection(station, active_call_id)
        connection_fsm.check(held.state, I.CONFERENCE)
        connection_fsm.check(active.state, I.CONFERENCE_CONSULTED)
        held_others, active_others = self._others_to_merge(held, active)
        for party in (held, *held_others, *active_others):
            terminal = self._stations[party.device].terminal if party.is_station else None
            if terminal is not None:
                terminal.conference_requested(party.device, party.call.call_id)  # raises when it cannot mix
        self._refuse_ringing(held_others + active_others, held_call_id)
        size = 1 + len(held_others) + len(active_others)
        if size > self.options.max_conference_parties:
            raise SwitchError(
                SYSTEM_RESOURCE_AVAILABILITY,
                "conferenceMemberLimitExceeded",
                f"{size} parties, at most {self.options.max_conference_parties}",
            )
        with self._operation:
            held_call, active_call = held.call, active.call
            new = self._new_call(held_call.calling_device, held_call.called_device)
            moving = held_others + active_others
            new.offered_to.update(p.device for p in moving)
            new.offered_to.add(station)
            items = (ConnectionListItem(ConnectionId(new.call_id, station), ConnectionId(held_call_id, station)),) + tuple(
                ConnectionListItem(ConnectionId(new.call_id, p.device), ConnectionId(p.call.call_id, p.device))
                for p in moving
            )
            info = dict(
                primary_old_call=ConnectionId(held_call_id, station),
                secondary_old_call=ConnectionId(active_call_id, station),
                conferencing_device=station,
                added_parties=tuple(p.device for p in active_others),
                items=items,
            )
            self._step(active, I.CONFERENCE_CONSULTED, Cause.CONFERENCE)
            self._carry(held, new, I.CONFERENCE, Cause.CONFERENCE, info)
            for other in moving:
                self._carry(other, new, I.CONFERENCED, Cause.CONFERENCE, info)
            self._drop_if_empty(held_call)
            self._drop_if_empty(active_call)
            return ConferenceResult(new.call_id, items)

    def generate_digits(self, station: str, call_id: str, digits: str) -> None:
        party = self._connection(station, call_id)
        if not isinstance(digits, str) or not _DTMF.fullmatch(digits) or len(digits) > MAX_DIGITS_PER_REQUEST:
            raise SwitchError(
                OPERATION, "valueOutOfRange", f"digits must be 1-{MAX_DIGITS_PER_REQUEST} of 0-9*#A-D (got {digits!r})"
            )
        connection_fsm.check(party.state, I.GENERATE_DIGITS)
        terminal = self._stations[station].terminal
        if terminal is not None:
            terminal.digits_requested(station, call_id, digits)  # raises when they cannot be sent
        with self._operation:
            self._step(party, I.GENERATE_DIGITS, Cause.NORMAL, digits=digits)

    # ------------------------------------------------------------------ features

    def set_forwarding(
        self,
        station: str,
        forwarding_type: ForwardingType | str,
        active: bool,
        destination: str | None = None,
        ring_count: int | None = None,
        *,
        dialled: bool = True,
    ) -> None:
        setting = self.forwarding_setting(station, forwarding_type, active, destination, ring_count,
                                          dialled=dialled)
        with self._operation:
            self._stations[station].forwarding[setting.type] = setting
            self._emit(Forwarding(station, setting.type, setting.active, setting.destination, setting.ring_count))

    def forwarding_setting(
        self,
        station: str,
        forwarding_type: ForwardingType | str,
        active: bool,
        destination: str | None = None,
        ring_count: int | None = None,
        *,
        dialled: bool = True,
    ) -> ForwardingSetting:
        """What set_forwarding would store, or the SwitchError it would raise; changes nothing
        (the state store saves a setting before it is set: rccserver.state.settings).

        `dialled=False`: the destination is a setting's own (as this answered it, or saved
        before a restart): routed again, not read through the dial plan again."""
        st = self._station(station)
        try:
            ftype = ForwardingType(forwarding_type)
        except ValueError:
            raise SwitchError(OPERATION, "valueOutOfRange", f"unsupported forwarding type {forwarding_type!r}") from None
        if active:
            if destination is None:
                number = None
            else:
                number = self._dialled(destination) if dialled else canonical_number(destination)
            if number is None:
                raise SwitchError(OPERATION, "invalidForwardingDestination", f"not a dialable number: {destination!r}")
            device, _ = self._route(number, "invalidForwardingDestination")
            if device == st.extension:
                raise SwitchError(OPERATION, "invalidForwardingDestination", f"station {station} cannot forward to itself")
            count = None
            if ftype is ForwardingType.NO_ANSWER:
                count = DEFAULT_RING_COUNT if ring_count is None else ring_count
                if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RING_COUNT:
                    raise SwitchError(OPERATION, "valueOutOfRange", f"ring count must be 1-{MAX_RING_COUNT} (got {ring_count!r})")
            return ForwardingSetting(ftype, True, device, count)
        return ForwardingSetting(ftype, False)

    def get_forwarding(self, station: str) -> tuple[ForwardingSetting, ...]:
        return tuple(self._station(station).forwarding.values())

    def set_dnd(self, station: str, on: bool) -> None:
        st = self._station(station)
        with self._operation:
            st.dnd = bool(on)
            self._emit(DoNotDisturb(station, st.dnd))

    def get_dnd(self, station: str) -> bool:
        return self._station(station).dnd

    def set_remote_number(self, station: str, number: str | None) -> None:
        """Make the station's new incoming legs ring `number` (None: the desk phone again)."""
        st = self._station(station)
        if number is None:
            st.remote_number = None
            return
        device = canonical_number(number)
        if device is None or line_number(device) in self._stations:
            raise SwitchError(OPERATION, "invalidDestination", f"a remote number must be an external number (got {number!r})")
        st.remote_number = device

    def get_remote_number(self, station: str) -> str | None:
        return self._station(station).remote_number

    # ------------------------------------------------------------------ state

    def snapshot(self, station: str) -> tuple[SnapshotItem, ...]:
        return tuple(SnapshotItem(call_id, p.state) for call_id, p in self._station(station).calls.items())

    def calls(self) -> tuple[CallView, ...]:
        return tuple(self._view(call) for call in self._calls.values())

    def call(self, call_id: str) -> CallView:
        return self._view(self._call(call_id))

    # ------------------------------------------------------------------ events and time

    def take_events(self) -> list[SwitchEvent]:
        events, self._outbox = self._outbox, []
        return events

    def _timer_fired(self, kind: _TimerKind, party: _Party) -> None:
        """A ringing timer came due (the scheduler runs it at its own deadline)."""
        with self._operation:
            if party.state is not S.ALERTING:
                return  # defensive: timers are cancelled when ringing stops
            if kind is _TimerKind.AUTO_ANSWER:
                self._answer(party)
            else:
                self._no_answer(party)
        if self._outbox and self.on_timer_events is not None:
            self.on_timer_events()

    # ------------------------------------------------------------------ outside world

    def place_call(self, origin: str, destination: str) -> CallResult:
        """A call from the outside world: a desk phone dialling, or an external number calling a station."""
        normalized = canonical_number(origin)
        if normalized is None:
            raise SwitchError(OPERATION, "invalidCallingDevice", f"not a dialable number: {origin!r}")
        if line_number(normalized) in self._stations:
            return self.make_call(line_number(normalized), destination, cause=Cause.NEW_CALL)
        number = canonical_number(destination) if self._dial_plan is None else self._dial_plan.inbound(destination)
        target = None if number is None else self._station_or_outside(number)
        if target is None or not target[1]:
            raise SwitchError(OPERATION, "invalidDestination", f"{destination!r} is not a station; the switch carries no external-to-external calls")
        device = target[0]
        with self._operation:
            call = self._new_call(normalized, device)
            caller = self._join(call, normalized, False)
            self._step(caller, I.INITIATE, Cause.NEW_CALL)
            self._step(caller, I.ORIGINATE, Cause.NORMAL)
            self._offer(call, device, True, Cause.NEW_CALL, Cause.NORMAL)
            self._drop_if_empty(call)
            return CallResult(call.call_id)

    def external_answer(self, call_id: str, device: str | None = None) -> None:
        """The ringing outside phone (an external party or a station's remote number) answers."""
        call = self._call(call_id)
        ringing = [p for p in self._outside(call, device) if p.state is S.ALERTING]
        if not ringing:
            raise SwitchError(STATE_INCOMPATIBILITY, "noCallToAnswer", f"no outside phone rings in call {call_id}")
        with self._operation:
            self._answer(ringing[0])

    def external_hangup(self, call_id: str, device: str | None = None) -> None:
        """The outside party `device` hangs up; without `device`, every external party of
        the call does (or, when it has none, the stations' remote-number phones)."""
        call = self._call(call_id)
        parties = self._outside(call, device)
        if device is None:
            parties = [p for p in parties if not p.is_station] or parties
        if not parties:
            raise SwitchError(STATE_INCOMPATIBILITY, "noConnectionToClear", f"no outside party in call {call_id}")
        with self._operation:
            for party in parties:
                if party.state is not S.NULL:
                    self._hang_up(party)
            self._drop_if_empty(call)

    def station_answer(self, station: str, call_id: str) -> None:
        """The user picks up the desk phone (for a prompted MakeCall: see originate())."""
        party = self._connection(station, call_id)
        connection_fsm.check(party.state, I.ANSWER)
        with self._operation:
            self._answer(party)

    def station_hangup(self, station: str, call_id: str) -> None:
        """The user hangs up the desk phone."""
        self.clear_connection(station, call_id)

    # ------------------------------------------------------------------ lookups and checks

    def _station(self, extension: str) -> _Station:
        try:
            return self._stations[extension]
        except (KeyError, TypeError):
            raise SwitchError(OPERATION, "invalidDeviceIdentifier", f"no station {extension!r}") from None

    def _call(self, call_id: str) -> _Call:
        try:
            return self._calls[call_id]
        except (KeyError, TypeError):
            raise SwitchError(OPERATION, "invalidCallIdentifier", f"no call {call_id!r}") from None

    def _connection(self, station: str, call_id: str) -> _Party:
        # _station and _call in line (every request on a call comes here); they answer a miss.
        try:
            self._stations[station]
        except (KeyError, TypeError):
            self._station(station)
        try:
            call = self._calls[call_id]
        except (KeyError, TypeError):
            call = self._call(call_id)
        party = call.parties.get(station)
        if party is None or not party.is_station:
            raise SwitchError(STATE_INCOMPATIBILITY, "invalidConnectionID", f"station {station} is not in call {call_id}")
        return party

    def _dialled(self, destination: str) -> str | None:
        """The number a person dialled, after the dial plan when there is one."""
        if self._dial_plan is None:
            return canonical_number(destination)
        return self._dial_plan.dialled(destination)

    def _station_or_outside(self, number: str) -> tuple[str, bool] | None:
        """(device, is_station) of a canonical number; None: it goes nowhere (SPEC 10).

        routing.destination_kind, spelt out: this runs for every dialled number."""
        line = line_number(number)
        if line in self._stations:
            return line, True
        if number.startswith("+") or self._dial_plan is None:
            return number, False
        return None

    def _route(self, number: str, refusal: str) -> tuple[str, bool]:
        target = self._station_or_outside(number)
        if target is None:
            raise SwitchError(OPERATION, refusal, f"{number} is no station, and only numbers starting "
                                                  f"with '+' go outside")
        return target

    def _resolve(self, destination: str) -> tuple[str, bool]:
        # _dialled and _route spelt out: this runs for every MakeCall.
        plan = self._dial_plan
        number = canonical_number(destination) if plan is None else plan.dialled(destination)
        if number is None:
            raise SwitchError(OPERATION, "invalidDestination", f"not a dialable number: {destination!r}")
        return self._station_or_outside(number) or self._route(number, "invalidCalledDevice")

    def _check_call_limit(self, st: _Station) -> None:
        if len(st.calls) >= self.options.max_calls_per_station:
            raise SwitchError(
                SYSTEM_RESOURCE_AVAILABILITY, "resourceBusy", f"station {st.extension} has {len(st.calls)} calls"
            )

    def _others_to_merge(self, held: _Party, active: _Party) -> tuple[list[_Party], list[_Party]]:
        held_others = [p for p in held.call.parties.values() if p is not held]
        active_others = [p for p in active.call.parties.values() if p is not active]
        common = {p.device for p in held_others} & {p.device for p in active_others}
        if common:
            raise SwitchError(
                STATE_INCOMPATIBILITY, "invalidObjectState", f"{', '.join(sorted(common))} is in both calls"
            )
        return held_others, active_others

    @staticmethod
    def _refuse_ringing(parties: list[_Party], call_id: str) -> None:
        ringing = [p.device for p in parties if p.state is S.ALERTING]
        if ringing:
            raise SwitchError(
                STATE_INCOMPATIBILITY, "invalidObjectState", f"{', '.join(ringing)} still rings in call {call_id}"
            )

    def _outside(self, call: _Call, device: str | None) -> list[_Party]:
        parties = [p for p in call.parties.values() if not p.is_station or p.remote_number is not None]
        if device is None:
            return parties
        wanted = canonical_number(device)
        return [p for p in parties if wanted is not None and wanted in (p.device, p.remote_number)]

    # ------------------------------------------------------------------ call mechanics

    def _new_call(self, calling: str | None, called: str | None) -> _Call:
        call = _Call(f"c{next(self._call_numbers)}", calling, called)
        self._calls[call.call_id] = call
        return call

    def _drop_if_empty(self, call: _Call) -> None:
        if not call.parties:
            self._calls.pop(call.call_id, None)

    def _join(self, call: _Call, device: str, is_station: bool) -> _Party:
        party = _Party(device, is_station, call)
        if is_station:
            party.remote_number = self._stations[device].remote_number
            self._stations[device].calls[call.call_id] = party
        call.parties[device] = party
        return party

    def _detach(self, party: _Party) -> None:
        call = party.call
        if call.parties.get(party.device) is party:
            del call.parties[party.device]
        if party.is_station:
            station = self._stations.get(party.device)
            if station is not None and station.calls.get(call.call_id) is party:
                del station.calls[call.call_id]

    def _move(self, party: _Party, new: _Call) -> ConnectionId:
        old = ConnectionId(party.call.call_id, party.device)
        self._detach(party)
        party.call = new
        new.parties[party.device] = party
        if party.is_station:
            self._stations[party.device].calls[new.call_id] = party
        return old

    def _carry(self, party: _Party, new: _Call, event: I, cause: Cause, info: dict) -> None:
        old = self._move(party, new)
        self._step(party, event, cause, old_connection=old, **info)

    def _hold_talking(self, st: _Station, keep: _Party | None = None) -> None:
        if not st.calls:
            return  # the common case: nothing to hold
        for party in list(st.calls.values()):
            if party is not keep and party.state is _S_CONNECTED:
                self._step(party, _I_HOLD, _Cause_NORMAL)

    def _answer(self, party: _Party) -> None:
        if party.is_station:
            self._hold_talking(self._stations[party.device], keep=party)
        self._step(party, _I_ANSWER, _Cause_NORMAL)

    def _hang_up(self, party: _Party) -> None:
        call = party.call
        rejected = party.state is _S_ALERTING
        self._step(party, _I_CLEAR, _Cause_NORMAL_CLEARING)
        # After a party left: a call down to one party ends.
        departed = party.device
        if len(call.parties) == 1:
            (last,) = call.parties.values()
            if rejected and last.state is not _S_ALERTING:
                self._step(last, _I_FAIL, _Cause_BUSY, failing_device=departed)
                self._step(last, _I_CLEAR, _Cause_BUSY, releasing_device=departed)
            else:
                cause = _Cause_CALL_CANCELLED if last.state is _S_ALERTING else _Cause_NORMAL_CLEARING
                self._step(last, _I_CLEAR, cause, releasing_device=departed)
        if not call.parties:  # _drop_if_empty
            self._calls.pop(call.call_id, None)

    def _refuse(self, call: _Call, device: str, cause: Cause) -> None:
        """The called device will not take the call; a lone caller fails."""
        if len(call.parties) == 1:
            (last,) = call.parties.values()
            self._step(last, _I_FAIL, cause, failing_device=device)
            self._step(last, _I_CLEAR, cause, releasing_device=device)
        self._drop_if_empty(call)

    def _forward_target(self, call: _Call, st: _Station, ftype: ForwardingType, hops: int) -> tuple[str, bool] | None:
        setting = st.forwarding[ftype]
        if not setting.active or setting.destination is None or hops >= self.options.max_forward_hops:
            return None
        # Read when it was set: not through the dial plan again; a station gone since goes nowhere.
        target = self._station_or_outside(setting.destination)
        if target is None or target[0] in call.offered_to or target[0] in call.parties:
            return None
        return target

    def _divert_unrung(self, call: _Call, st: _Station, target: str, cause: Cause) -> None:
        """The station forwards the call before it rings: a connection that only diverts."""
        ghost = _Party(st.extension, True, call)
        self._step(ghost, I.DIVERT, cause, new_destination=target)
        call.last_redirection_device = st.extension

    def _offer(self, call: _Call, device: str, is_station: bool, cause: Cause, observer_cause: Cause) -> None:
        hops = 0
        while True:
            call.offered_to.add(device)
            if not is_station:
                party = self._join(call, device, False)
                self._step(party, _I_OFFER, cause, observer_cause=observer_cause)
                if self.options.auto_answer_after > 0:
                    self._schedule(party, _TimerKind.AUTO_ANSWER, self.options.auto_answer_after)
                return
            st = self._stations[device]
            target = self._forward_target(call, st, ForwardingType.IMMEDIATE, hops)
            forward_cause = _Cause_CALL_FORWARD_IMMEDIATE
            if target is None:
                if st.dnd:
                    self._refuse(call, device, _Cause_DO_NOT_DISTURB)
                    return
                if st.terminal is not None and not st.terminal.can_ring(device):
                    # Its phone cannot ring (not registered): no-answer forwarding at once, or refused.
                    target = self._forward_target(call, st, ForwardingType.NO_ANSWER, hops)
                    forward_cause = _Cause_CALL_FORWARD_NO_ANSWER
                    if target is None:
                        self._refuse(call, device, _Cause_DEST_NOT_OBTAINABLE)
                        return
                full = len(st.calls) >= self.options.max_calls_per_station
                talking = any(p.state is _S_CONNECTED for p in st.calls.values())
                if full or talking:
                    target = self._forward_target(call, st, ForwardingType.BUSY, hops)
                    forward_cause = _Cause_CALL_FORWARD_BUSY
                if target is None and full:
                    self._refuse(call, device, _Cause_BUSY)
                    return
            if target is not None:
                self._divert_unrung(call, st, target[0], forward_cause)
                device, is_station = target
                cause = observer_cause = forward_cause
                hops += 1
                continue
            party = self._join(call, device, True)
            self._step(party, _I_OFFER, cause, observer_cause=observer_cause)
            no_answer = st.forwarding[ForwardingType.NO_ANSWER]
            if no_answer.active and no_answer.ring_count:
                self._schedule(party, _TimerKind.NO_ANSWER, no_answer.ring_count * self.options.ring_interval)
            if party.remote_number is not None and self.options.auto_answer_after > 0:
                self._schedule(party, _TimerKind.AUTO_ANSWER, self.options.auto_answer_after)
            return

    def _no_answer(self, party: _Party) -> None:
        call = party.call
        st = self._stations[party.device]
        target = self._forward_target(call, st, ForwardingType.NO_ANSWER, 0)
        if target is None:
            return  # forwarding was switched off, or would loop: keep ringing
        self._step(party, I.DIVERT, Cause.CALL_FORWARD_NO_ANSWER, new_destination=target[0])
        call.last_redirection_device = st.extension
        self._offer(call, target[0], target[1], Cause.CALL_FORWARD_NO_ANSWER, Cause.CALL_FORWARD_NO_ANSWER)
        self._drop_if_empty(call)

    def _schedule(self, party: _Party, kind: _TimerKind, delay: float) -> None:
        timer = self._scheduler.call_at(self._operation_time() + delay, lambda: self._timer_fired(kind, party))
        party.timers = [*party.timers, timer]

    def _operation_time(self) -> float:
        """When the current operation began: the clock is read once, on first need (most
        operations schedule nothing)."""
        if self._now is None:
            self._now = self._scheduler.now()
        return self._now

    def _cancel_timers(self, party: _Party) -> None:
        for timer in party.timers:
            timer.cancel()
        party.timers = ()

    # ------------------------------------------------------------------ the one place states change

    def _step(self, party: _Party, event: I, cause: Cause, *, observer_cause: Cause | None = None, **details) -> None:
        # The table read in line; transition() is asked only for an illegal pair (it raises).
        transition = _TRANSITIONS.get((party.state, event)) or connection_fsm.transition(party.state, event)
        was_alerting = party.state is _S_ALERTING
        target = party.state = transition.target
        if was_alerting and target is not _S_ALERTING and party.timers:
            self._cancel_timers(party)
        call = party.call
        pending = self._pending
        # Call events are built only for stations some reader wants them of (no reader reads
        # one it did not ask for, so skipping the rest changes nothing anyone sees).
        wanted = self._call_event_wanted
        if party.is_station and (
            wanted is None
            or (self._asked_answer if party.device == self._asked else self._ask(party.device))
        ):
            for kind in transition.emits:
                pending.append(self._build(kind, party, party, cause, details))
        if target is _S_NULL:
            self._detach(party)
        observed = _OBSERVED.get(event)
        if observed is None or (observed is _K_CONNECTION_CLEARED and len(call.parties) < 2):
            return
        for other in call.parties.values():  # building an event changes no party
            if other is not party and other.is_station and (
                wanted is None
                or (self._asked_answer if other.device == self._asked else self._ask(other.device))
            ):
                pending.append(self._build(observed, other, party, observer_cause or cause, details))

    def _ask(self, station: str) -> bool:
        """Whether a reader wants `station`'s call events: asked of the interest, and kept
        for the rest of the operation (see _asked)."""
        answer = self._asked_answer = self._call_event_wanted(station)
        self._asked = station
        return answer

    def _build(self, kind: K, receiver: _Party, subject: _Party, cause: Cause, details: dict) -> SwitchEvent:
        """The event `receiver`'s station is told about `subject`'s connection taking an input."""
        call = receiver.call
        station = receiver.device
        own = (details and details.get("old_connection")) or ConnectionId(call.call_id, station)
        lci = receiver.state
        actor = subject.device
        if kind is _K_SERVICE_INITIATED:
            return ServiceInitiated(station, own, station, lci, cause)
        if kind is _K_ORIGINATED:
            return Originated(station, own, call.calling_device, call.called_device, lci, cause)
        if kind is _K_DELIVERED:
            return Delivered(
                station, own, actor, call.calling_device, call.called_device, call.last_redirection_device, lci, cause
            )
        if kind is _K_ESTABLISHED:
            return Established(
                station, own, actor, call.calling_device, call.called_device, call.last_redirection_device, lci, cause
            )
        if kind is _K_CONNECTION_CLEARED:
            dropped = ConnectionId(call.call_id, actor)
            return ConnectionCleared(station, dropped, details.get("releasing_device", actor) if details else actor,
                                     lci, cause)
        if kind is _K_HELD:
            return Held(station, own, actor, lci, cause)
        if kind is _K_RETRIEVED:
            return Retrieved(station, own, actor, lci, cause)
        if kind is _K_DIVERTED:
            return Diverted(
                station, own, actor, details["new_destination"], call.last_redirection_device, lci, cause
            )
        if kind is _K_FAILED:
            return Failed(
                station,
                own,
                details["failing_device"],
                call.calling_device,
                call.called_device,
                call.last_redirection_device,
                lci,
                cause,
            )
        if kind is _K_DIGITS_GENERATED:
            return DigitsGenerated(station, own, details["digits"], lci, cause)
        if kind is _K_TRANSFERRED:
            return Transferred(
                station,
                own,
                details["primary_old_call"],
                details["secondary_old_call"],
                details["transferring_device"],
                details["transferred_to_device"],
                details["items"],
                lci,
                cause,
            )
        if kind is _K_CONFERENCED:
            return Conferenced(
                station,
                own,
                details["primary_old_call"],
                details["secondary_old_call"],
                details["conferencing_device"],
                details["added_parties"],
                details["items"],
                lci,
                cause,
            )
        raise AssertionError(f"no call event is built for {kind}")

    # ------------------------------------------------------------------ event delivery

    def _emit(self, event: SwitchEvent) -> None:
        self._pending.append(event)

    def _end(self) -> None:
        """The outermost operation is complete: its events leave."""
        if self._pending:  # (flushing nothing does nothing)
            self._flush()
        if self._change_observers and self._batch:
            batch, self._batch = self._batch, []
            settings = None
            for observer, call_events in self._change_observers:
                if call_events:
                    observer(batch)
                    continue
                if settings is None:
                    settings = [e for e in batch if type(e) in _SETTING_EVENTS]
                if settings:
                    observer(settings)

    def _flush(self) -> None:
        if self._flushing:
            return  # a listener called back into the switch; the outer loop delivers
        if self._listener is None:
            # Nothing can call back into the switch: the events move over whole, in order.
            if self._pending:
                if self._change_observers:
                    self._batch.extend(self._pending)
                self._outbox.extend(self._pending)
                self._pending.clear()
            return
        self._flushing = True
        try:
            while self._pending:
                event = self._pending.pop(0)
                if self._change_observers:
                    self._batch.append(event)
                self._listener(event)
        finally:
            self._flushing = False

    def _view(self, call: _Call) -> CallView:
        return CallView(
            call.call_id,
            tuple(PartyView(p.device, p.state, p.is_station, p.remote_number) for p in call.parties.values()),
            call.calling_device,
            call.called_device,
        )
