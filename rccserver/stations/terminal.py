"""The call layer of SIP stations: the embedded switch's call model, carried by real phones.

The switch stays the single source of truth for calls (forwarding, DND, transfers,
consultation, ring counts): a SIP station is a station like any other whose
*terminal* is a phone.  This module keeps the phones in step with the switch:

* after every switch operation it reconciles each touched call: a SIP station's
  connection that rings gets an outgoing leg (INVITE), a prompted MakeCall's
  caller gets an INVITE with its auto-answer hint, and so does a station the switch
  connected without its phone (a consultation call from Lync); a connection that is
  gone takes its leg with it (CANCEL, BYE, or a final answer to the phone's INVITE);
* what a phone does becomes a switch input: it dials (`place_call`), answers
  (`station_answer`, or `originate` for a prompted MakeCall), hangs up, holds and
  resumes, transfers (REFER);
* media: two connected parties that are both phones are bridged (their session
  descriptions passed to each other, RFC 3264 offer/answer for every new pairing);
  a phone whose peer has no media (a simulated station, an external party) or that
  is held is *parked* (`a=inactive`).  No RTP passes through rccserver.

The requests only a phone can carry out (AnswerCall, GenerateDigits, ConferenceCall)
come here as `StationTerminal` calls and are refused precisely when the phone cannot.
"""
from __future__ import annotations

import itertools
from typing import Callable, Mapping

import attrs

from rccserver.common.numbers import canonical_number, line_number
from rccserver.switch.errors import OPERATION, SYSTEM_RESOURCE_AVAILABILITY, SwitchError
from rccserver.switch.events import Cause, EventKind, SwitchEvent
from rccserver.switch.model import CallView, ConnectionState as S, ForwardingType
from rccserver.stations import sdp
from rccserver.stations.legs import AutoAnswer, Leg, LegRole, NotRegistered, PhoneLine, Replaces
from rccserver.stations.trunk import TrunkRoute

# What a phone's INVITE is refused with when its call could not be placed or ended
# before it was answered (the switch's cause -> SIP status).
_REFUSALS = {
    Cause.BUSY: (486, "Busy Here"),
    Cause.DO_NOT_DISTURB: (486, "Busy Here"),
    Cause.DEST_NOT_OBTAINABLE: (480, "Temporarily Unavailable"),
}
# What a phone's own call is answered when the called phone could not take it (the switch
# sees any such end as a rejection, cause busy): 486 only when that phone said busy.
_UNREACHABLE = (480, "Temporarily Unavailable")  # not registered, no answer, unreachable (RFC 3261 21.4.18)
_BUSY_ANSWERS = frozenset({486, 600, 603})
_NOT_PLACED = {
    "invalidDestination": (404, "Not Found"),
    "invalidCalledDevice": (404, "Not Found"),
    "invalidCallingDevice": (403, "Forbidden"),
}


@attrs.frozen
class PhoneSettings:
    """A SIP station's CIC data that the call layer needs."""

    auto_answer: AutoAnswer = AutoAnswer.CALL_INFO
    remote_answer: str = "none"  # "talk-event" or "none"


@attrs.define(eq=False)
class _Carried:
    """A station's connection in one call, carried by one leg to its phone."""

    leg: Leg
    station: str
    call_id: str
    origin: sdp.Origin
    prompted: bool = False  # MakeCall's first leg: the destination waits for this phone
    joining: bool = False  # the switch has the station connected already (a consultation): its phone joins
    answered: bool = False  # the leg's INVITE got its 2xx
    offer: bytes | None = None  # the phone's own offer not yet answered by a peer (dialled, or prompted)
    offer_sent: bool = False  # OUTGOING: our INVITE carried an offer (its 2xx holds the answer)
    source: _Carried | None = None  # OUTGOING: whose offer our INVITE carried
    peer: _Carried | None = None  # whose media the phone has now; None: parked
    last_sent: bytes | None = None  # the last description we gave the phone
    phone_reinvite: bytes | None = None  # the phone's re-INVITE offer waiting for our answer
    pending_reinvite: bool = False  # the phone's re-INVITE waits for our answer (offer may be None)
    on_reinvite_answer: Callable[[bytes | None], None] | None = None  # our re-INVITE is out
    refusal: tuple[int, str] | None = None  # INCOMING: why its call ended before an answer
    ringback: bool = False  # INCOMING: 180 sent
    referring: bool = False  # the phone's REFER is being carried out: report success before the BYE
    trunk: bool = False  # a leg to or from the trunk peer: `station` is the outside party's number

    @property
    def busy(self) -> bool:
        return self.on_reinvite_answer is not None


class SipTerminals:
    """The `StationTerminal` of every SIP station, and the phone line's `LegListener`."""

    def __init__(
        self,
        switch,
        phones: Mapping[str, PhoneSettings],
        *,
        domain_name: str,
        observer: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.switch = switch
        self.phones = dict(phones)
        self.domain_name = domain_name
        self.line: PhoneLine | None = None
        self._observer = observer or (lambda station, what, detail: None)
        self._carried: dict[tuple[str, str], _Carried] = {}  # (call id, station) -> leg
        self._by_leg: dict[str, _Carried] = {}
        self._dialling: dict[str, Leg] = {}  # station -> the INVITE being placed right now
        self._trunk_calling: dict[str, Leg] = {}  # outside number -> the trunk's INVITE being placed
        self.trunk: TrunkRoute | None = None
        self._dial_refusals: dict[str, tuple[int, str]] = {}  # station -> why its INVITE's call failed
        self._failing: dict[str, tuple[int, str]] = {}  # call id -> what its caller hears, while we clear a party
        self._dirty: list[str] = []
        self._reconciling = False
        self._session_ids = itertools.count(1)
        for station in self.phones:
            switch.set_terminal(station, self)
        switch.add_change_observer(self._switch_changed)

    def attach(self, line: PhoneLine) -> None:
        self.line = line

    def attach_trunk(self, trunk: TrunkRoute | None) -> None:
        """Outside parties that ring get a leg to the trunk peer; None: they stay parked."""
        self.trunk = trunk

    def update_phones(self, phones: Mapping[str, PhoneSettings]) -> None:
        """After a reload: the SIP stations and their settings now in force."""
        for station in set(self.phones) - set(phones):
            if self.switch.has_station(station):
                self.switch.set_terminal(station, None)
        self.phones = dict(phones)
        for station in self.phones:
            if self.switch.has_station(station):
                self.switch.set_terminal(station, self)

    @property
    def leg_count(self) -> int:
        return len(self._by_leg)

    # ------------------------------------------------------------------
    # StationTerminal: what only the phone can do

    def can_ring(self, station: str) -> bool:
        if self.line is not None and self.line.is_registered(station):
            return True
        self._observer(station, "not-registered", "a call for the station cannot ring its phone")
        return False

    def make_call_requested(self, station: str) -> None:
        if self.line is None or not self.line.is_registered(station):
            raise SwitchError(
                SYSTEM_RESOURCE_AVAILABILITY, "resourceOutOfService",
                f"station {station} is a SIP station whose phone is not registered",
            )

    def answer_requested(self, station: str, call_id: str) -> None:
        carried = self._carried.get((call_id, station))
        if self.phones[station].remote_answer != "talk-event":
            raise SwitchError(
                OPERATION, "requestIncompatibleWithObject",
                f"station {station}'s phone cannot be answered remotely (remote_answer = none): pick up the handset",
            )
        if carried is None or carried.answered:
            raise SwitchError(OPERATION, "requestIncompatibleWithObject", f"station {station}'s phone is not ringing")
        if not carried.leg.talk_event:
            raise SwitchError(
                OPERATION, "requestIncompatibleWithObject",
                f"station {station}'s phone did not offer the talk event (Allow-Events) in its ringing answer",
            )
        carried.leg.notify_talk()

    def conference_requested(self, station: str, call_id: str) -> None:
        raise SwitchError(
            OPERATION, "requestIncompatibleWithObject",
            f"station {station} is a SIP phone and rccserver mixes no audio: a conference nobody could hear is refused",
        )

    def digits_requested(self, station: str, call_id: str, digits: str) -> None:
        carried = self._carried.get((call_id, station))
        far = carried.peer if carried is not None else None
        if far is not None:
            far.leg.send_dtmf(digits)

    # ------------------------------------------------------------------
    # The switch changed: follow it

    def _switch_changed(self, events: list[SwitchEvent]) -> None:
        for event in events:
            self._note(event)
        if self._reconciling:
            return  # the outer loop reconciles what this nested operation touched
        self._reconciling = True
        try:
            while self._dirty:
                self._reconcile(self._dirty.pop(0))
        finally:
            self._reconciling = False

    def _note(self, event: SwitchEvent) -> None:
        call_id = event.connection.call_id if getattr(event, "connection", None) else None
        moved = getattr(event, "transferred_connections", None) or getattr(event, "conference_connections", None)
        for item in moved or ():
            if item.old is None or item.new is None:
                continue
            carried = self._carried.pop((item.old.call_id, item.old.device), None)
            if carried is not None:
                carried.call_id = item.new.call_id
                self._carried[(item.new.call_id, item.new.device)] = carried
            self._touch(item.new.call_id)
            self._touch(item.old.call_id)
        if event.kind is EventKind.FAILED and call_id is not None and event.cause in _REFUSALS:
            refusal = self._failing.get(call_id) or _REFUSALS[event.cause]
            carried = self._carried.get((call_id, event.station))
            if carried is not None:
                carried.refusal = refusal
            elif event.station in self._dialling:
                self._dial_refusals[event.station] = refusal
        if call_id is not None:
            self._touch(call_id)

    def _touch(self, call_id: str) -> None:
        if call_id not in self._dirty:
            self._dirty.append(call_id)

    def _view(self, call_id: str) -> CallView | None:
        try:
            return self.switch.call(call_id)
        except SwitchError:
            return None

    def _reconcile(self, call_id: str) -> None:
        view = self._view(call_id)
        states = {p.device: p.state for p in view.parties} if view is not None else {}
        for (cid, station), carried in list(self._carried.items()):
            if cid == call_id and states.get(station, S.NULL) is S.NULL:
                self._end(carried)
        if view is None:
            return
        for party in view.parties:
            if not party.is_station and party.device in self._trunk_calling:
                self._adopt(view, party.device, self._trunk_calling.pop(party.device)).trunk = True
        for party in view.parties:
            if not party.is_station or party.device not in self.phones:
                continue
            if (call_id, party.device) in self._carried:
                continue
            if party.state is S.ALERTING and party.remote_number is None:
                self._ring(view, party.device)
            elif party.state is S.INITIATED:
                self._prompt(view, party.device)
            elif party.device in self._dialling:
                self._adopt(view, party.device, self._dialling.pop(party.device))
            elif party.state is S.CONNECTED:
                self._fetch(view, party.device)
        if self.trunk is not None:
            for party in view.parties:
                if not party.is_station and party.state is S.ALERTING and (call_id, party.device) not in self._carried:
                    self._ring_trunk(view, party.device)
        self._bridge(view)

    # -- legs for connections

    def _new(self, leg: Leg, station: str, call_id: str) -> _Carried:
        carried = _Carried(leg, station, call_id, sdp.Origin(next(self._session_ids), self.domain_name))
        self._carried[(call_id, station)] = carried
        self._by_leg[leg.leg_id] = carried
        return carried

    def _adopt(self, view: CallView, station: str, leg: Leg) -> _Carried:
        carried = self._new(leg, station, view.call_id)
        carried.offer = leg.remote_sdp
        return carried

    def _ring_trunk(self, view: CallView, number: str) -> None:
        """An outside party rings: INVITE the trunk peer for it (SPEC 9), with the calling
        phone's offer when it has one, From the calling station's number outside."""
        trunk = self.trunk
        assert trunk is not None
        down = trunk.down_reason
        if down is not None:
            self._observer(number, "trunk-down", f"call {view.call_id}: {down}")
            self._fail_trunk(number, view.call_id, (503, "Service Unavailable"))
            return
        source = self._media_source(view, number)
        origin = sdp.Origin(next(self._session_ids), self.domain_name)
        offer = sdp.restamp(source.offer, origin) if source is not None else sdp.placeholder_offer(self.domain_name)
        calling = view.calling_device
        diversion = None
        if calling is not None and self.switch.has_station(calling):
            caller = trunk.calling_number(calling)
        else:
            caller = calling or "anonymous"  # a forwarded trunk call keeps its caller's number
        called = view.called_device
        if called is not None and called != number and self.switch.has_station(called):
            diversion = trunk.calling_number(called)  # the station whose forwarding sent it out
        try:
            leg = self._line().invite_peer(trunk.uri_for(number), offer, caller=caller, identity=caller,
                                           auth=trunk.auth, label=number, diversion=diversion)
        except NotRegistered as error:
            self._observer(number, "trunk-down", f"call {view.call_id}: {error}")
            self._fail_trunk(number, view.call_id, (503, "Service Unavailable"))
            return
        carried = self._new(leg, number, view.call_id)
        carried.trunk = True
        carried.origin = origin
        carried.offer_sent = source is not None  # a placeholder offer: the peer's answer pairs with nobody
        carried.source = source
        carried.last_sent = offer

    def _fail_trunk(self, number: str, call_id: str, refusal: tuple[int, str]) -> None:
        """The outside party could not be reached: it leaves the call (its caller gets Failed),
        and a phone whose own call it was hears `refusal`."""
        self._failing[call_id] = refusal
        try:
            for carried in list(self._by_leg.values()):
                if carried.call_id == call_id and carried.leg.role is LegRole.INCOMING and not carried.answered:
                    carried.refusal = refusal
            self._switch_input(self.switch.external_hangup, call_id, number)
        finally:
            self._failing.pop(call_id, None)
        self._follow(call_id)

    def _follow(self, call_id: str) -> None:
        """Reconcile a call after a trunk's input: a call between outside parties only (a DID
        forwarded to a mobile) gives the switch no station to report it to."""
        self._touch(call_id)
        self._switch_changed([])

    def _media_source(self, view: CallView, station: str) -> _Carried | None:
        """The phone whose offer a new leg to `station` carries: the call's other connected phone."""
        for party in view.parties:
            if party.device != station and party.state is S.CONNECTED:
                other = self._carried.get((view.call_id, party.device))
                if other is not None and other.offer is not None:
                    return other
        return None

    def _ring(self, view: CallView, station: str) -> None:
        source = self._media_source(view, station)
        origin = sdp.Origin(next(self._session_ids), self.domain_name)
        offer = sdp.restamp(source.offer, origin) if source is not None else None
        caller = view.calling_device if view.calling_device != station else None
        try:
            leg = self._line().invite(station, offer, auto_answer=AutoAnswer.NONE, caller=caller)
        except NotRegistered:
            self._observer(station, "not-registered", f"call {view.call_id} cannot ring the phone")
            self._clear_unreachable(station, view.call_id, _UNREACHABLE)
            return
        carried = self._new(leg, station, view.call_id)
        carried.origin = origin
        carried.offer_sent = offer is not None
        carried.source = source
        carried.last_sent = offer

    def _prompt(self, view: CallView, station: str) -> None:
        destination = view.called_device if view.called_device != station else None
        try:
            leg = self._line().invite(station, None, auto_answer=self.phones[station].auto_answer, caller=destination)
        except NotRegistered:
            self._observer(station, "not-registered", f"MakeCall {view.call_id} cannot call the phone")
            self._switch_input(self.switch.clear_connection, station, view.call_id)
            return
        self._new(leg, station, view.call_id).prompted = True

    def _fetch(self, view: CallView, station: str) -> None:
        """A station the switch connected without its phone (ConsultationCall puts the consulting
        station straight into the new call): the phone is called with its auto-answer hint, as for
        MakeCall, and is in the call once it answers; until then it hears nothing of it."""
        destination = view.called_device if view.called_device != station else None
        try:
            leg = self._line().invite(station, None, auto_answer=self.phones[station].auto_answer, caller=destination)
        except NotRegistered:
            self._observer(station, "not-registered", f"call {view.call_id} cannot reach the phone")
            self._switch_input(self.switch.clear_connection, station, view.call_id)
            return
        self._new(leg, station, view.call_id).joining = True

    def _end(self, carried: _Carried) -> None:
        self._forget(carried)
        leg = carried.leg
        if carried.referring:
            carried.referring = False
            leg.refer_progress(200)  # the transfer is done: tell the phone before the BYE
        if leg.role is LegRole.INCOMING and not carried.answered:
            status, reason = carried.refusal or (480, "Temporarily Unavailable")
            leg.reject(status, reason)
        else:
            leg.hang_up()

    def _forget(self, carried: _Carried) -> None:
        if self._carried.get((carried.call_id, carried.station)) is carried:
            del self._carried[(carried.call_id, carried.station)]
        self._by_leg.pop(carried.leg.leg_id, None)
        for other in self._by_leg.values():
            if other.peer is carried:
                other.peer = None
            if other.source is carried:
                other.source = None

    # -- media

    def _bridge(self, view: CallView) -> None:
        connected = [p.device for p in view.parties if p.state is S.CONNECTED]
        for party in view.parties:
            carried = self._carried.get((view.call_id, party.device))
            if carried is not None and carried.leg.role is LegRole.INCOMING and not carried.answered:
                self._progress_dialled(view, carried)
            if carried is None or not carried.answered or carried.busy:
                continue
            wanted = None
            if party.state is S.CONNECTED and len(connected) == 2:
                other_device = connected[0] if connected[1] == party.device else connected[1]
                other = self._carried.get((view.call_id, other_device))
                if other is not None and other.answered:
                    wanted = other
            if carried.peer is wanted and not carried.pending_reinvite:
                continue
            if wanted is None:
                self._park(carried)
            elif not wanted.busy and (carried.pending_reinvite or not wanted.pending_reinvite):
                self._pair(carried, wanted)

    def _progress_dialled(self, view: CallView, carried: _Carried) -> None:
        """A phone's own call whose far end has no phone: ringback while it rings, and a
        parked answer once it answers (a simulated station or an external party)."""
        others = [p for p in view.parties if p.device != carried.station]
        if any((view.call_id, p.device) in self._carried for p in others):
            return  # a phone is on the far end: its leg's answer answers this one
        if any(p.state is S.CONNECTED for p in others):
            carried.answered = True
            offer = carried.offer
            body = sdp.with_direction(offer, "inactive") if offer is not None else sdp.placeholder_offer(self.domain_name)
            carried.leg.answer(self._send(carried, body))
            carried.offer = None
        elif any(p.state is S.ALERTING for p in others) and not carried.ringback:
            carried.ringback = True
            carried.leg.ringing()

    def _send(self, carried: _Carried, body: bytes) -> bytes:
        carried.last_sent = sdp.restamp(body, carried.origin)
        return carried.last_sent

    def _park(self, carried: _Carried) -> None:
        carried.peer = None
        if carried.pending_reinvite:
            # Answer the phone's hold with the far side's description (never its own), held.
            offered = sdp.direction_of(carried.phone_reinvite) if carried.phone_reinvite else "sendrecv"
            answer = sdp.answer_direction(offered)
            base = carried.last_sent or carried.phone_reinvite or sdp.placeholder_offer(self.domain_name)
            self._answer_phone_reinvite(carried, sdp.with_direction(base, "inactive" if answer == "sendrecv" else answer))
            return
        if carried.last_sent is None or sdp.direction_of(carried.last_sent) == "inactive":
            return
        carried.on_reinvite_answer = lambda answer: None
        carried.leg.reinvite(self._send(carried, sdp.with_direction(carried.last_sent, "inactive")))

    def _answer_phone_reinvite(self, carried: _Carried, body: bytes | None) -> None:
        carried.pending_reinvite = False
        carried.phone_reinvite = None
        carried.leg.answer_reinvite(self._send(carried, body) if body is not None else None)

    def _pair(self, first: _Carried, second: _Carried) -> None:
        """A fresh offer/answer between two phones now talking to each other."""
        first.peer, second.peer = second, first
        if first.pending_reinvite and first.phone_reinvite is not None:
            offer = first.phone_reinvite

            def answered(answer: bytes | None) -> None:
                if answer is not None and self._alive(first):
                    self._answer_phone_reinvite(first, answer)

            second.on_reinvite_answer = answered
            second.leg.reinvite(self._send(second, offer))
            return

        def first_offered(offer: bytes | None) -> None:
            if offer is None or not self._alive(second):
                return

            def second_answered(answer: bytes | None) -> None:
                if answer is not None and self._alive(first):
                    first.leg.acknowledge(self._send(first, answer))

            second.on_reinvite_answer = second_answered
            second.leg.reinvite(self._send(second, offer))

        first.on_reinvite_answer = first_offered
        first.leg.reinvite(None)

    def _alive(self, carried: _Carried) -> bool:
        return self._by_leg.get(carried.leg.leg_id) is carried

    # ------------------------------------------------------------------
    # LegListener: what the phones do

    def phone_dialled(self, leg: Leg) -> None:
        station = leg.station
        if station not in self.phones:
            leg.reject(403, "Not A SIP Station")
            return
        self._dialling[station] = leg
        try:
            self.switch.place_call(station, leg.dialled or "")
        except SwitchError as error:
            status, reason = _NOT_PLACED.get(error.value, (480, "Temporarily Unavailable"))
            self._observer(station, "call-refused", f"{leg.dialled}: {error}")
            self._dialling.pop(station, None)
            leg.reject(status, reason)
            return
        finally:
            refusal = self._dial_refusals.pop(station, None)
        if self._dialling.pop(station, None) is not None:
            # The call ended at once (DND or busy at the far end): say why.
            leg.reject(*(refusal or (480, "Temporarily Unavailable")))

    def trunk_called(self, leg: Leg) -> None:
        """A call from the trunk peer (an INCOMING leg whose `dialled` is its DID and whose
        `station` is the caller's number as sent): it rings the station the DID names after
        the `inbound` rules, and nothing else - a DID that is no station gets 404, never a
        way back out (SPEC 9)."""
        did = leg.dialled or ""
        trunk = self.trunk
        extension = trunk.station_for_did(did) if trunk is not None else None
        if extension is None:
            self._observer(did, "trunk-no-station", f"a trunk call from {leg.station} for {did!r}: "
                                                    f"no station has that number (404)")
            leg.reject(404, "Not Found")
            return
        caller = canonical_number(leg.station)
        if caller is None or self.switch.has_station(line_number(caller)):
            # Not a number, or one that would read as a station's own call: refused.
            self._observer(did, "trunk-caller-refused", f"a trunk call for {did!r} from {leg.station!r}: "
                                                        f"its caller is no outside number (403)")
            leg.reject(403, "Caller Is No Outside Number")
            return
        self._trunk_calling[caller] = leg
        try:
            self.switch.place_call(caller, did)
        except SwitchError as error:
            self._trunk_calling.pop(caller, None)
            self._observer(extension, "trunk-call-refused", f"from {caller} for {did}: {error}")
            leg.reject(*_NOT_PLACED.get(error.value, (480, "Temporarily Unavailable")))
            return
        if self._trunk_calling.pop(caller, None) is not None:
            # The call ended at once (DND, or the phone cannot ring): say why.
            dnd = self.switch.has_station(extension) and self.switch.get_dnd(extension)
            leg.reject(*((486, "Busy Here") if dnd else (480, "Temporarily Unavailable")))

    def leg_ringing(self, leg: Leg) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None or carried.prompted:
            return
        source = carried.source
        if source is not None and source.leg.role is LegRole.INCOMING and not source.answered:
            source.leg.ringing()

    def leg_answered(self, leg: Leg, body: bytes | None) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None:
            return
        carried.answered = True
        if carried.prompted:
            # The phone is off-hook; its 2xx holds its offer: park it until the far end answers.
            carried.offer = body
            if body is not None:
                leg.acknowledge(self._send(carried, sdp.with_direction(body, "inactive")))
            self._switch_input(self.switch.originate, carried.station, carried.call_id)
            return
        if carried.joining:
            # Off-hook for a call the switch has it in already: parked until paired with its peer.
            carried.offer = body
            if body is not None:
                leg.acknowledge(self._send(carried, sdp.with_direction(body, "inactive")))
            view = self._view(carried.call_id)
            if view is not None:
                self._bridge(view)
            return
        source = carried.source
        if carried.offer_sent and body is not None and source is not None and self._alive(source):
            carried.peer, source.peer = source, carried
            if source.leg.role is LegRole.INCOMING and not source.answered:
                source.answered = True
                source.leg.answer(self._send(source, body))
            else:
                self._reoffer(source, body)
            source.offer = None
        elif not carried.offer_sent and body is not None and not carried.trunk:
            leg.acknowledge(self._send(carried, sdp.with_direction(body, "inactive")))
        if carried.trunk:
            self._switch_input(self.switch.external_answer, carried.call_id, carried.station)
            self._follow(carried.call_id)
            return
        self._switch_input(self.switch.station_answer, carried.station, carried.call_id)

    def _reoffer(self, carried: _Carried, body: bytes) -> None:
        """A parked phone (a prompted MakeCall's) gets its peer's description as a new offer."""
        carried.on_reinvite_answer = lambda answer: None
        carried.leg.reinvite(self._send(carried, sdp.with_direction(body, "sendrecv")))

    def leg_acknowledged(self, leg: Leg, body: bytes | None) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is not None:
            carried.answered = True

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None:
            return
        self._forget(carried)
        self._observer(carried.station, "leg-failed", f"{status} {reason}")
        if carried.trunk:
            self._fail_trunk(carried.station, carried.call_id,
                             (486, "Busy Here") if status in _BUSY_ANSWERS else (status, reason))
            return
        forward = self._forwarding_for(carried, status)
        if forward is not None and self._switch_input(self.switch.deflect_call, carried.station, carried.call_id, forward):
            return
        self._clear_unreachable(carried.station, carried.call_id,
                                (486, "Busy Here") if status in _BUSY_ANSWERS else _UNREACHABLE)

    def _clear_unreachable(self, station: str, call_id: str, refusal: tuple[int, str]) -> None:
        """Clear a ringing connection whose phone cannot take the call; a phone whose own
        call then fails is answered `refusal` (the switch reports any such end as busy)."""
        self._failing[call_id] = refusal
        try:
            self._switch_input(self.switch.clear_connection, station, call_id)
        finally:
            self._failing.pop(call_id, None)

    def _forwarding_for(self, carried: _Carried, status: int) -> str | None:
        """Busy or no-answer forwarding of a ringing station whose phone said busy (486,
        600, 603) or did not answer (408, 480), when the station has it on."""
        if carried.prompted or self._state_of(carried) is not S.ALERTING:
            return None
        kind = ForwardingType.BUSY if status in (486, 600, 603) else ForwardingType.NO_ANSWER if status in (408, 480) else None
        if kind is None:
            return None
        setting = next((f for f in self.switch.get_forwarding(carried.station) if f.type is kind and f.active), None)
        return setting.destination if setting is not None else None

    def leg_ended(self, leg: Leg, reason: str) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None:
            return
        self._forget(carried)
        if carried.trunk:
            self._switch_input(self.switch.external_hangup, carried.call_id, carried.station)
            self._follow(carried.call_id)
            return
        self._switch_input(self.switch.clear_connection, carried.station, carried.call_id)

    def leg_reinvited(self, leg: Leg, body: bytes | None) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None:
            leg.answer_reinvite(None, 481)
            return
        if carried.busy:
            leg.answer_reinvite(None, 491)  # our own re-INVITE is out: glare (RFC 3261 14.1)
            return
        carried.pending_reinvite = True
        carried.phone_reinvite = body
        state = self._state_of(carried)
        direction = sdp.direction_of(body) if body is not None else "sendrecv"
        if carried.trunk:
            pass  # the outside party's hold is no station's: the phone just gets the new description
        elif direction in ("sendonly", "inactive") and state is S.CONNECTED:
            self._switch_input(self.switch.hold_call, carried.station, carried.call_id)
        elif direction == "sendrecv" and state is S.HOLD:
            self._switch_input(self.switch.retrieve_call, carried.station, carried.call_id)
        if carried.pending_reinvite:
            # Nothing in the call changed (or the switch refused): refresh what the phone has.
            view = self._view(carried.call_id)
            if view is not None:
                self._bridge(view)
            if carried.pending_reinvite:
                peer = carried.peer
                if peer is not None and body is not None and not peer.busy:
                    self._pair(carried, peer)
                else:
                    self._park(carried)

    def leg_reinvite_answered(self, leg: Leg, body: bytes | None) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None:
            return
        then, carried.on_reinvite_answer = carried.on_reinvite_answer, None
        if then is not None:
            then(body)
        view = self._view(carried.call_id)
        if view is not None:
            self._bridge(view)

    def leg_reinvite_failed(self, leg: Leg, status: int) -> None:
        carried = self._by_leg.get(leg.leg_id)
        if carried is not None:
            carried.on_reinvite_answer = None

    def leg_referred(self, leg: Leg, target: str, replaces: Replaces | None) -> bool:
        carried = self._by_leg.get(leg.leg_id)
        if carried is None or carried.trunk:
            return False  # the trunk transfers nothing of ours (toll-fraud guard)
        carried.referring = True
        if replaces is None:
            done = self._switch_input(self.switch.single_step_transfer, carried.station, carried.call_id, target)
        else:
            other = next(
                (c for c in self._by_leg.values() if c.station == carried.station and c is not carried
                 and c.leg.names_dialog(replaces)),
                None,
            )
            if other is None:
                return False
            held, active = (carried, other) if self._state_of(carried) is S.HOLD else (other, carried)
            done = self._switch_input(self.switch.transfer_call, carried.station, held.call_id, active.call_id)
        if carried.referring:  # the switch did not take the phone's connection away
            carried.referring = False
            if done:
                leg.refer_progress(200)
        return done

    # ------------------------------------------------------------------
    # helpers

    def _line(self) -> PhoneLine:
        if self.line is None:
            raise NotRegistered("no phone line")
        return self.line

    def _state_of(self, carried: _Carried) -> S:
        view = self._view(carried.call_id)
        if view is None:
            return S.NULL
        return next((p.state for p in view.parties if p.device == carried.station), S.NULL)

    def _switch_input(self, operation, *args) -> bool:
        """A phone's happening as a switch input; a switch that has moved on meanwhile
        (the call ended, the state no longer allows it) is not an error of the phone's."""
        try:
            operation(*args)
        except SwitchError as error:
            self._observer(args[0], "switch-refused", f"{getattr(operation, '__name__', operation)}: {error}")
            return False
        return True
