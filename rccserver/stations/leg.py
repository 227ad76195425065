"""`PhoneLeg`: one call leg towards a phone (`legs.Leg`), driven by `leg_table.LEG_TABLE`.

The endpoint hands a leg what concerns it - responses to the requests it sent,
requests in its dialog, a CANCEL of the phone's INVITE, failures, and the call
layer's calls - and the leg turns each into one table input, runs the row's
actions, and asks the endpoint (`LineServices`) to send, respond or queue a
callback.  Callbacks are only ever queued: the endpoint delivers them after
the current input, never from inside a method the call layer called.

Offer/answer bookkeeping stays here, in the leg: whether our INVITE carried
an offer (`ANSWERED` or `ANSWERED_WITH_OFFER`), whether the phone's did (then
our 2xx is the offer and its ACK brings the answer).  Requests inside the
dialog other than INVITE and BYE (INFO for DTMF, NOTIFY for REFER progress)
go one at a time, in order, so that a UDP network cannot reorder them.
"""
from __future__ import annotations

import collections
import enum
from typing import Callable, Iterable, Protocol

import attrs

from rccserver.common.clock import Scheduler, Timer
from rccserver.sip.digest import DigestClient, DigestError
from rccserver.sip.message import Request, Response, reason_phrase
from rccserver.sip.transaction_matching import ClientKey, ServerKey
from rccserver.sip.transaction_timers import TimerSettings
from rccserver.sip.uri import quote_string
from rccserver.sip.uas_2xx_retransmission import AckTimedOut, Resend2xx, Uas2xxRetransmission
from rccserver.stations.binding import Binding
from rccserver.stations.flows import Flow
from rccserver.stations.forking import NO_ANSWER, UNREACHABLE, Fork, ForkOutcome, best_outcome
from rccserver.stations.leg_table import LegAction, LegInput, LegState, step
from rccserver.stations.legs import AutoAnswer, LegListener, LegRole, Replaces
from rccserver.stations.phone_dialog import PhoneDialog
from rccserver.stations.refer import ReferError, ReferRequest, read_refer, sipfrag_notify

SDP = "application/sdp"
DTMF_RELAY = "application/dtmf-relay"
DTMF_DIGITS = frozenset("0123456789*#ABCD")
DTMF_DURATION_MS = 160
_ACKS_KEPT = 4  # ACKs remembered for 2xx retransmissions: the INVITE's and the latest re-INVITEs'


class Purpose(enum.Enum):
    """Why a leg sent a request: what its response means."""

    FORK = "one fork of our INVITE"
    REINVITE = "our re-INVITE"
    BYE = "our BYE"
    IN_DIALOG = "INFO or NOTIFY in the dialog"
    TALK = "NOTIFY Event: talk in an early dialog"
    STRAY_BYE = "BYE ending a fork's dialog that answered too late"


class LineServices(Protocol):
    """What a leg asks of the endpoint."""

    listener: LegListener
    scheduler: Scheduler
    timer_settings: TimerSettings
    domain_name: str

    def token(self) -> str: ...

    def contact(self, flow: Flow) -> str: ...

    def capability_headers(self) -> list[tuple[str, str]]: ...

    def dialog_flow(self, flow: Flow, remote_target: str) -> Flow: ...

    def flow_to(self, binding: Binding) -> Flow: ...

    def send_request(self, request: Request, flow: Flow, leg: PhoneLeg, purpose: Purpose) -> ClientKey: ...

    def send_ack(self, request: Request, flow: Flow) -> bytes: ...

    def resend(self, flow: Flow, data: bytes, key: object) -> None: ...

    def respond(self, key: ServerKey, request: Request, status: int, reason: str | None = None, *,
                to_tag: str | None = None, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> bytes:
        """Answer the server transaction `key`; returns the bytes of the response."""

    def cancel(self, key: ClientKey) -> None: ...

    def register_dialog(self, leg: PhoneLeg, dialog: PhoneDialog) -> None: ...

    def forget(self, leg: PhoneLeg) -> None: ...

    def queue_callback(self, call: Callable[[], None]) -> None: ...

    def leg_finished(self, leg: PhoneLeg, reason: str) -> None: ...

    def retry_after(self) -> str: ...

    def after_call(self) -> None: ...

    def after_timer(self) -> None: ...


@attrs.frozen
class _Cause:
    """What came with an input: the request to answer, the SDP, a status, why."""

    reason: str = ""
    status: int = 0
    status_reason: str | None = None
    sdp: bytes | None = None
    request: Request | None = None
    key: ServerKey | None = None
    response: Response | None = None
    digits: str = ""
    refer: ReferRequest | None = None


@attrs.define(eq=False)
class _PhoneInvite:
    """The phone's INVITE or re-INVITE we have not finished with (answer pending, or 2xx un-ACKed)."""

    key: ServerKey
    request: Request
    we_offered: bool = False  # our 2xx carries the offer (the INVITE had none)


class PhoneLeg:
    """A call leg between rccserver and a phone.  Built by the endpoint: `outgoing()` or `incoming()`."""

    def __init__(self, line: LineServices, leg_id: str, station: str, role: LegRole, state: LegState) -> None:
        self._line = line
        self.leg_id = leg_id
        self.station = station
        self.role = role
        self.state = state
        self.dialled: str | None = None
        self.remote_sdp: bytes | None = None
        self.talk_event = False
        self.end_reason: str | None = None
        self.end_reported = False
        self.call_id = ""
        self._dialog: PhoneDialog | None = None
        # OUTGOING
        self._forks: dict[ClientKey, Fork] = {}
        self._winner: tuple[ClientKey, str] | None = None  # the fork and To tag that answered
        self._early: dict[tuple[ClientKey, str], PhoneDialog] = {}  # ringing forks that listed talk
        self._offered = False  # our INVITE carried an offer
        self._stray_acks: dict[str, tuple[Flow, bytes]] = {}
        # OUTGOING to the trunk peer: its 401/407 are answered with these credentials
        self._auth: DigestClient | None = None
        self._auth_rounds = 0
        self._peer_headers: list[tuple[str, str]] | None = None  # our INVITE without Via, CSeq or credentials
        self._cseq = 1
        # both
        self._unacked: Response | None = None  # the phone's 2xx our next ACK is for
        self._acks: dict[int, bytes] = {}  # CSeq -> the ACK sent, for 2xx retransmissions
        self._phone_invite: _PhoneInvite | None = None
        self._our_reinvite: ClientKey | None = None
        self._reinvite_offered = False
        self._our_2xx_offered = False  # our latest 2xx to the phone carried the offer
        self._retransmission: Uas2xxRetransmission | None = None
        self._retransmission_timer: Timer | None = None
        self._queue: collections.deque[tuple[str, list[tuple[str, str]], bytes]] = collections.deque()
        self._in_flight: ClientKey | None = None
        self._refer_cseq: int | None = None  # the REFER whose subscription is active
        # While the call layer decides on a REFER, our requests wait: the 202 goes first.
        self._answering_refer = False
        self._bye_waiting = False

    def __repr__(self) -> str:
        return f"<PhoneLeg {self.leg_id} {self.role.name} station={self.station} {self.state.name}>"

    @property
    def dialog(self) -> PhoneDialog | None:
        return self._dialog

    @property
    def sip_call_id(self) -> str:
        """The Call-ID of the leg's dialog: what a phone's Replaces names (attended transfer)."""
        return self.call_id

    def names_dialog(self, replaces: Replaces) -> bool:
        """Whether a Replaces names this leg's dialog: its Call-ID and both tags (RFC 3891 3).
        The tags are taken in either orientation: phones differ in whose view they write."""
        dialog = self._dialog
        return (dialog is not None and dialog.call_id == replaces.call_id
                and {dialog.local_tag, dialog.remote_tag} == {replaces.to_tag, replaces.from_tag})

    # ------------------------------------------------------------------
    # Construction

    @classmethod
    def outgoing(cls, line: LineServices, leg_id: str, station: str, bindings: tuple[Binding, ...],
                 sdp: bytes | None, auto_answer: AutoAnswer, caller: str | None) -> PhoneLeg:
        """INVITE every binding of the station (extension `station`) at once: the forks."""
        leg = cls(line, leg_id, station, LegRole.OUTGOING, LegState.OUT_CALLING)
        leg._offered = sdp is not None
        leg.call_id = f"{line.token()}@{line.domain_name}"
        from_tag = line.token()
        caller_uri = f"sip:{_escape_user(caller)}@{line.domain_name}" if caller else f"sip:{line.domain_name}"
        from_ = f"<{caller_uri}>;tag={from_tag}" if not caller else f"{quote_string(caller)} <{caller_uri}>;tag={from_tag}"
        to = f"<sip:{bindings[0].sip_user}@{line.domain_name}>"  # the address of record
        for binding in bindings:
            flow = line.flow_to(binding)
            headers = [("Max-Forwards", "70"), ("From", from_), ("To", to), ("Call-ID", leg.call_id),
                       ("CSeq", "1 INVITE"), ("Contact", line.contact(flow)), *line.capability_headers(),
                       *_auto_answer_headers(auto_answer, line.domain_name)]
            if sdp is not None:
                headers.append(("Content-Type", SDP))
            invite = Request("INVITE", str(binding.contact), headers, sdp or b"")
            key = line.send_request(invite, flow, leg, Purpose.FORK)
            leg._forks[key] = Fork(key, invite, flow)
        return leg

    @classmethod
    def to_peer(cls, line: LineServices, leg_id: str, label: str, uri: str, flow: Flow, sdp: bytes | None,
                caller: str, identity: str | None, auth: DigestClient | None,
                diversion: str | None = None) -> PhoneLeg:
        """INVITE the trunk peer at `uri` (`sip:+13175550188@sbc`) along `flow`: one fork,
        From the `caller` number, `P-Asserted-Identity` (RFC 3325) `identity`; a 401/407
        of the peer is answered (twice at most) with `auth`'s credentials."""
        leg = cls(line, leg_id, label, LegRole.OUTGOING, LegState.OUT_CALLING)
        leg._offered = sdp is not None
        leg._auth = auth
        leg.call_id = f"{line.token()}@{line.domain_name}"
        to_uri = uri.split(";", 1)[0]
        leg._peer_headers = [
            ("Max-Forwards", "70"),
            ("From", f"<sip:{_escape_user(caller)}@{line.domain_name}>;tag={line.token()}"),
            ("To", f"<{to_uri}>"), ("Call-ID", leg.call_id), ("Contact", line.contact(flow)),
            *line.capability_headers(),
        ]
        if identity:
            leg._peer_headers.append(("P-Asserted-Identity", f"<sip:{_escape_user(identity)}@{line.domain_name}>"))
        if diversion:  # RFC 5806: the station whose forwarding sent the call out
            leg._peer_headers.append(("Diversion", f"<sip:{_escape_user(diversion)}@{line.domain_name}>;reason=unknown"))
        if sdp is not None:
            leg._peer_headers.append(("Content-Type", SDP))
        leg._send_peer_invite(uri, flow, sdp or b"", ())
        return leg

    def _send_peer_invite(self, uri: str, flow: Flow, body: bytes, credentials: Iterable[tuple[str, str]]) -> None:
        assert self._peer_headers is not None
        headers = [*self._peer_headers, ("CSeq", f"{self._cseq} INVITE"), *credentials]
        invite = Request("INVITE", uri, headers, body)
        key = self._line.send_request(invite, flow, self, Purpose.FORK)
        self._forks[key] = Fork(key, invite, flow)

    def _answer_challenge(self, key: ClientKey, fork: Fork, response: Response) -> bool:
        """The peer's 401/407 to our INVITE: the INVITE again with credentials (True), or not."""
        if self._auth is None or self._auth_rounds >= 2 or self._winner is not None \
                or self.state not in (LegState.OUT_CALLING, LegState.OUT_RINGING):
            return False
        try:
            credentials = self._auth.answer(response, method="INVITE", uri=fork.invite.uri, body=fork.invite.body)
        except DigestError:
            return False
        self._auth_rounds += 1
        del self._forks[key]
        self._cseq += 1
        self._send_peer_invite(fork.invite.uri, fork.flow, fork.invite.body, [credentials])
        return True

    @classmethod
    def incoming(cls, line: LineServices, leg_id: str, station: Station, invite: Request, key: ServerKey,
                 flow: Flow, dialled: str) -> PhoneLeg:
        """The leg of a phone's authenticated INVITE (already answered 100 Trying)."""
        leg = cls(line, leg_id, station.extension, LegRole.INCOMING, LegState.IN_OFFERED)
        leg.dialled = dialled
        leg.call_id = invite.call_id
        leg.remote_sdp = invite.body or None
        leg.talk_event = _lists_talk(invite)
        leg._phone_invite = _PhoneInvite(key, invite, we_offered=not invite.body)
        dialog = PhoneDialog.as_uas(invite, line.token(), flow)
        dialog.flow = line.dialog_flow(flow, dialog.remote_target)
        leg._dialog = dialog
        line.register_dialog(leg, dialog)
        return leg

    # ------------------------------------------------------------------
    # The Leg API (the call layer)

    def ringing(self) -> None:
        self._call(LegInput.RING)

    def answer(self, sdp: bytes) -> None:
        if not isinstance(sdp, bytes):
            raise TypeError("answer() needs our SDP as bytes")
        self._call(LegInput.ANSWER, _Cause(sdp=sdp))

    def reject(self, status: int, reason: str | None = None) -> None:
        if not 300 <= status <= 699:
            raise ValueError(f"reject() takes a 3xx-6xx status, not {status}")
        self._call(LegInput.REJECT, _Cause(status=status, status_reason=reason, reason=f"rejected with {status}"))

    def acknowledge(self, sdp: bytes) -> None:
        if not isinstance(sdp, bytes):
            raise TypeError("acknowledge() needs our answer as bytes")
        self._call(LegInput.ACKNOWLEDGE, _Cause(sdp=sdp))

    def reinvite(self, sdp: bytes | None) -> None:
        self._call(LegInput.REINVITE, _Cause(sdp=sdp, status=491))

    def answer_reinvite(self, sdp: bytes | None, status: int = 200) -> None:
        if 200 <= status <= 299:
            if sdp is None:
                raise ValueError("a 2xx to a re-INVITE carries our SDP (an answer, or the offer it asked for)")
            self._call(LegInput.ACCEPT_REINVITE, _Cause(sdp=sdp, status=status))
        elif 300 <= status <= 699:
            self._call(LegInput.REFUSE_REINVITE, _Cause(status=status))
        else:
            raise ValueError(f"answer_reinvite() takes a 2xx-6xx status, not {status}")

    def notify_talk(self) -> None:
        self._call(LegInput.NOTIFY_TALK)

    def send_dtmf(self, digits: str) -> None:
        digits = digits.upper()
        if not set(digits) <= DTMF_DIGITS:
            raise ValueError(f"DTMF digits are 0-9, *, # and A-D, not {digits!r}")
        self._call(LegInput.SEND_DTMF, _Cause(digits=digits))

    def refer_progress(self, status: int) -> None:
        if not 100 <= status <= 699:
            raise ValueError(f"refer_progress() takes a SIP status, not {status}")
        self._call(LegInput.REFER_PROGRESS, _Cause(status=status))

    def hang_up(self) -> None:
        self._call(LegInput.HANG_UP, _Cause(reason="hung up"))

    def _call(self, input_: LegInput, cause: _Cause = _Cause()) -> None:
        self._feed(input_, cause)
        self._line.after_call()

    # ------------------------------------------------------------------
    # What the endpoint hands in

    def on_fork_response(self, key: ClientKey, response: Response) -> None:
        fork = self._forks.get(key)
        if fork is None:
            return
        status = response.status
        tag = response.to.tag or ""
        if status == 100:
            return
        if status < 200:
            if self._winner is not None:
                return
            if response.body:
                self.remote_sdp = response.body
            if tag and _lists_talk(response) and (key, tag) not in self._early:
                self.talk_event = True
                early = PhoneDialog.as_uac(fork.invite, response, fork.flow)
                early.flow = self._line.dialog_flow(fork.flow, early.remote_target)
                self._early[(key, tag)] = early
            if self.state in (LegState.OUT_CALLING, LegState.OUT_RINGING, LegState.CANCELLING):
                self._feed(LegInput.PROVISIONAL)
            return
        if status < 300:
            fork.answered = True
            if self._winner == (key, tag):
                self._resend_ack(response.cseq[0])
            elif self._winner is None and self.state in (
                    LegState.OUT_CALLING, LegState.OUT_RINGING, LegState.CANCELLING):
                self._winner = (key, tag)
                self._unacked = response
                if response.body:
                    self.remote_sdp = response.body
                input_ = LegInput.ANSWERED if self._offered else LegInput.ANSWERED_WITH_OFFER
                self._feed(input_, _Cause(sdp=response.body or None, response=response, reason="answered"))
            else:
                self._end_stray_dialog(fork, response)
            return
        if status in (401, 407) and fork.pending and self._answer_challenge(key, fork, response):
            return
        if fork.outcome is None and not fork.answered:
            fork.outcome = ForkOutcome(status, response.reason)
            self._fork_ended()

    def on_fork_failure(self, key: ClientKey, *, timed_out: bool) -> None:
        fork = self._forks.get(key)
        if fork is None or not fork.pending:
            return
        if timed_out:
            fork.outcome = ForkOutcome(NO_ANSWER, "No Answer From The Phone", synthetic=True)
        else:
            fork.outcome = ForkOutcome(UNREACHABLE, "Phone Unreachable", synthetic=True)
        self._fork_ended()

    def on_response(self, purpose: Purpose, key: ClientKey, response: Response) -> None:
        status = response.status
        if purpose is Purpose.REINVITE:
            if status < 200:
                return
            if status < 300:
                if key != self._our_reinvite:
                    self._resend_ack(response.cseq[0])
                    return
                self._our_reinvite = None
                self._unacked = response
                if self._dialog is not None:
                    self._dialog.refresh_target(response)
                if response.body:
                    self.remote_sdp = response.body
                input_ = LegInput.REINVITE_ANSWERED if self._reinvite_offered else LegInput.REINVITE_ANSWERED_WITH_OFFER
                self._feed(input_, _Cause(sdp=response.body or None, response=response))
                return
            if key != self._our_reinvite:
                return
            self._our_reinvite = None
            if status in (408, 481):
                self._feed(LegInput.DIALOG_GONE, _Cause(reason=f"the phone answered our re-INVITE {status}"))
            else:
                self._feed(LegInput.REINVITE_REFUSED, _Cause(status=status))
        elif purpose is Purpose.BYE:
            if status >= 200:
                self._feed(LegInput.BYE_DONE)
        elif purpose is Purpose.IN_DIALOG:
            if status < 200:
                return
            self._in_flight = None
            if status in (408, 481):
                self._feed(LegInput.DIALOG_GONE, _Cause(reason=f"the phone answered a request in the call {status}"))
            self._send_next_queued()
        # TALK and STRAY_BYE: nothing depends on their outcome.

    def on_failure(self, purpose: Purpose, key: ClientKey, *, timed_out: bool) -> None:
        what = "no answer from the phone" if timed_out else "the phone cannot be reached"
        if purpose is Purpose.REINVITE:
            if key == self._our_reinvite:
                self._our_reinvite = None
                self._feed(LegInput.VANISHED, _Cause(reason=f"phone vanished: {what}"))
        elif purpose is Purpose.BYE:
            self._feed(LegInput.BYE_DONE)
        elif purpose is Purpose.IN_DIALOG:
            self._in_flight = None
            self._feed(LegInput.VANISHED, _Cause(reason=f"phone vanished: {what}"))
            self._send_next_queued()

    def on_request(self, request: Request, key: ServerKey | None, flow: Flow) -> None:
        """A request from the phone in this leg's dialog: ACK, INVITE, BYE or REFER."""
        dialog = self._dialog
        if dialog is not None:
            dialog.flow = self._line.dialog_flow(flow, dialog.remote_target)  # NAT rebinding, new connection
        method = request.method
        if method == "ACK":
            pending = self._phone_invite
            if pending is not None and request.cseq[0] == pending.request.cseq[0]:
                if request.body:
                    self.remote_sdp = request.body
                self._feed(LegInput.PHONE_ACK, _Cause(sdp=request.body or None))
            return
        assert key is not None  # only ACK comes without a transaction
        if method == "INVITE":
            self._line.respond(key, request, 100)  # the answer may wait for the call layer
            self._feed(LegInput.PHONE_REINVITE, _Cause(request=request, key=key, sdp=request.body or None))
        elif method == "BYE":
            self._feed(LegInput.PHONE_BYE, _Cause(request=request, key=key, reason="the phone hung up"))
        elif method == "REFER":
            try:
                refer = read_refer(request)
            except ReferError as error:
                self._line.respond(key, request, 400, str(error))
                return
            self._feed(LegInput.PHONE_REFER, _Cause(request=request, key=key, refer=refer))
        else:
            raise ValueError(f"a leg handles ACK, INVITE, BYE and REFER, not {method}")

    def on_phone_cancel(self, invite_key: ServerKey) -> None:
        """The phone cancelled its INVITE `invite_key`, which has no final response yet."""
        pending = self._phone_invite
        if pending is not None and pending.key == invite_key:
            self._feed(LegInput.PHONE_CANCEL, _Cause(reason="the phone cancelled its call"))

    def on_server_failure(self, key: ServerKey) -> None:
        """A response to the phone's INVITE `key` could not be sent."""
        pending = self._phone_invite
        if pending is not None and pending.key == key:
            self._feed(LegInput.VANISHED, _Cause(reason="phone vanished: our response cannot reach it"))

    # ------------------------------------------------------------------
    # The table

    def _feed(self, input_: LegInput, cause: _Cause = _Cause()) -> None:
        self.state, actions = step(self.state, input_)
        for action in actions:
            _ACTIONS[action](self, cause)

    def _report(self, call: Callable[[], None], *, final: bool = False) -> None:
        if self.end_reported:
            return  # the table never reports after the end; this keeps it so
        if final:
            self.end_reported = True
        self._line.queue_callback(call)

    # -- answering the phone's INVITE or re-INVITE

    def _send_ringing(self, cause: _Cause) -> None:
        pending, dialog = self._phone_invite, self._dialog
        assert pending is not None and dialog is not None
        self._line.respond(pending.key, pending.request, 180, to_tag=dialog.local_tag,
                           headers=[("Contact", self._line.contact(dialog.flow))])

    def _send_2xx(self, cause: _Cause) -> None:
        pending, dialog = self._phone_invite, self._dialog
        assert pending is not None and dialog is not None and cause.sdp is not None
        headers = [("Contact", self._line.contact(dialog.flow)), *self._line.capability_headers(),
                   ("Content-Type", SDP)]
        self._our_2xx_offered = pending.we_offered
        response = self._line.respond(pending.key, pending.request, cause.status or 200,
                                      to_tag=dialog.local_tag, headers=headers, body=cause.sdp)
        self._retransmission = Uas2xxRetransmission(response, self._line.scheduler.now(),
                                                    settings=self._line.timer_settings,
                                                    reliable=dialog.flow.reliable)
        self._arm_retransmission()

    def _send_final(self, cause: _Cause) -> None:
        self._answer_pending_invite(cause.status, cause.status_reason)

    def _send_487(self, cause: _Cause) -> None:
        self._answer_pending_invite(487, None)

    def _answer_pending_invite(self, status: int, reason: str | None) -> None:
        pending, dialog = self._phone_invite, self._dialog
        assert pending is not None and dialog is not None
        self._phone_invite = None
        self._line.respond(pending.key, pending.request, status, reason, to_tag=dialog.local_tag)

    def _stop_2xx(self, cause: _Cause) -> None:
        if self._retransmission_timer is not None:
            self._retransmission_timer.cancel()
        self._retransmission = self._retransmission_timer = None
        self._phone_invite = None

    def _arm_retransmission(self) -> None:
        if self._retransmission_timer is not None:
            self._retransmission_timer.cancel()
            self._retransmission_timer = None
        if self._retransmission is None:
            return
        deadline = self._retransmission.next_deadline()
        if deadline is not None:
            self._retransmission_timer = self._line.scheduler.call_at(deadline, self._retransmission_due)

    def _retransmission_due(self) -> None:
        self._retransmission_timer = None
        retransmission, pending, dialog = self._retransmission, self._phone_invite, self._dialog
        if retransmission is None or pending is None or dialog is None:
            return
        for due in retransmission.tick(self._line.scheduler.now()):
            if isinstance(due, Resend2xx):
                self._line.resend(dialog.flow, due.data, pending.key)
            elif isinstance(due, AckTimedOut):
                self._retransmission = None
                self._feed(LegInput.NO_ACK, _Cause(reason="phone vanished: no ACK for our 2xx"))
        self._arm_retransmission()
        self._line.after_timer()

    # -- our INVITE, its forks, its ACK

    def _fork_ended(self) -> None:
        if self._winner is not None or any(fork.outcome is None for fork in self._forks.values()):
            return
        best = best_outcome(fork.outcome for fork in self._forks.values() if fork.outcome is not None)
        self._feed(LegInput.ALL_BRANCHES_FAILED,
                   _Cause(status=best.status, status_reason=best.reason, reason=f"{best.status} {best.reason}"))

    def _cancel_branches(self, cause: _Cause) -> None:
        for fork in self._forks.values():
            if fork.pending:
                self._line.cancel(fork.key)

    def _cancel_other_branches(self, cause: _Cause) -> None:
        for fork in self._forks.values():
            if fork.pending and (self._winner is None or fork.key != self._winner[0]):
                self._line.cancel(fork.key)

    def _adopt_dialog(self, cause: _Cause) -> None:
        assert self._winner is not None and cause.response is not None
        fork = self._forks[self._winner[0]]
        dialog = PhoneDialog.as_uac(fork.invite, cause.response, fork.flow)
        dialog.flow = self._line.dialog_flow(fork.flow, dialog.remote_target)
        early = self._early.get(self._winner)
        if early is not None:
            dialog.local_cseq = max(dialog.local_cseq, early.local_cseq)
        self._early.clear()
        self._dialog = dialog
        self._line.register_dialog(self, dialog)

    def _send_ack(self, cause: _Cause) -> None:
        response, dialog = self._unacked, self._dialog
        if response is None:
            response = cause.response  # a 2xx that came after the leg moved on
        if response is None or dialog is None:
            return
        self._unacked = None
        # An ACK carries SDP only as our answer to an offer in the 2xx (`acknowledge`, RFC 3261
        # 13.2.1); a cause that brought the 2xx itself carries the phone's SDP, not ours.
        body = cause.sdp if cause.response is None else None
        headers = [("Content-Type", SDP)] if body is not None else []
        ack = dialog.request("ACK", cseq=response.cseq[0], headers=headers, body=body or b"")
        self._acks[response.cseq[0]] = self._line.send_ack(ack, dialog.flow)
        while len(self._acks) > _ACKS_KEPT:
            del self._acks[next(iter(self._acks))]

    def _resend_ack(self, cseq: int) -> None:
        data, dialog = self._acks.get(cseq), self._dialog
        if data is not None and dialog is not None:
            self._line.resend(dialog.flow, data, None)

    def _end_stray_dialog(self, fork: Fork, response: Response) -> None:
        """A 2xx from a fork that lost (or a second dialog of one): ACK it and BYE it."""
        tag = response.to.tag or ""
        sent = self._stray_acks.get(tag)
        if sent is not None:
            self._line.resend(sent[0], sent[1], None)
            return
        stray = PhoneDialog.as_uac(fork.invite, response, fork.flow)
        stray.flow = self._line.dialog_flow(fork.flow, stray.remote_target)
        ack = stray.request("ACK", cseq=response.cseq[0])
        self._stray_acks[tag] = (stray.flow, self._line.send_ack(ack, stray.flow))
        self._line.send_request(stray.request("BYE"), stray.flow, self, Purpose.STRAY_BYE)

    # -- requests in the dialog

    def _send_bye(self, cause: _Cause) -> None:
        if self._answering_refer:
            self._bye_waiting = True
            return
        dialog = self._dialog
        assert dialog is not None
        # REFER progress still queued goes before the BYE (a transfer's outcome is what the
        # phone waits for to hang up); DTMF not sent yet has no call left to go to.
        for method, headers, body in self._queue:
            if method == "NOTIFY":
                self._line.send_request(dialog.request(method, headers=headers, body=body), dialog.flow, self,
                                        Purpose.IN_DIALOG)
        self._queue.clear()
        self._cancel_our_reinvite()
        self._line.send_request(dialog.request("BYE"), dialog.flow, self, Purpose.BYE)

    def _cancel_our_reinvite(self) -> None:
        """A re-INVITE of ours the phone only answered with a 1xx would wait for ever (a
        client INVITE has no timeout once a provisional came): CANCEL bounds it (64*T1)."""
        if self._our_reinvite is not None:
            self._line.cancel(self._our_reinvite)

    def _send_reinvite(self, cause: _Cause) -> None:
        dialog = self._dialog
        assert dialog is not None
        headers = [("Contact", self._line.contact(dialog.flow)), *self._line.capability_headers()]
        if cause.sdp is not None:
            headers.append(("Content-Type", SDP))
        self._reinvite_offered = cause.sdp is not None
        request = dialog.request("INVITE", headers=headers, body=cause.sdp or b"")
        self._our_reinvite = self._line.send_request(request, dialog.flow, self, Purpose.REINVITE)

    def _send_talk_notify(self, cause: _Cause) -> None:
        for early in self._early.values():
            headers = [("Event", "talk"), ("Subscription-State", "terminated"),
                       ("Contact", self._line.contact(early.flow))]
            self._line.send_request(early.request("NOTIFY", headers=headers), early.flow, self, Purpose.TALK)

    def _send_dtmf_info(self, cause: _Cause) -> None:
        for digit in cause.digits:
            body = f"Signal={digit}\r\nDuration={DTMF_DURATION_MS}\r\n".encode("ascii")
            self._queue.append(("INFO", [("Content-Type", DTMF_RELAY)], body))
        self._send_next_queued()

    def _send_refer_notify(self, cause: _Cause) -> None:
        if self._refer_cseq is None:
            return  # no subscription (none asked for, or it was terminated)
        headers, body = sipfrag_notify(self._refer_cseq, cause.status)
        if cause.status >= 200:
            self._refer_cseq = None
        self._queue.append(("NOTIFY", headers, body))
        self._send_next_queued()

    def _send_next_queued(self) -> None:
        dialog = self._dialog
        if (self._in_flight is not None or not self._queue or dialog is None or self.end_reported
                or self._answering_refer):
            return
        method, headers, body = self._queue.popleft()
        request = dialog.request(method, headers=headers, body=body)
        self._in_flight = self._line.send_request(request, dialog.flow, self, Purpose.IN_DIALOG)

    # -- answering the phone's other requests

    def _answer_200(self, cause: _Cause) -> None:
        self._answer_request(cause, 200)

    def _refuse_403(self, cause: _Cause) -> None:
        self._answer_request(cause, 403)

    def _refuse_481(self, cause: _Cause) -> None:
        self._answer_request(cause, 481)

    def _refuse_491(self, cause: _Cause) -> None:
        self._answer_request(cause, 491)

    def _refuse_500(self, cause: _Cause) -> None:
        self._answer_request(cause, 500, headers=[("Retry-After", self._line.retry_after())])

    def _answer_request(self, cause: _Cause, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        assert cause.key is not None and cause.request is not None
        self._line.respond(cause.key, cause.request, status, headers=headers)

    def _ask_refer(self, cause: _Cause) -> None:
        request, key, refer = cause.request, cause.key, cause.refer
        assert request is not None and key is not None and refer is not None

        def ask() -> None:
            # The subscription exists while the call layer decides, so that the progress
            # it reports from inside leg_referred is kept (and sent after the 202).
            self._refer_cseq = request.cseq[0] if refer.subscription else None
            queued = len(self._queue)
            self._answering_refer = True
            try:
                accepted = self._line.listener.leg_referred(self, refer.target, refer.replaces)
            finally:
                self._answering_refer = False
            if accepted:
                self._line.respond(key, request, 202, headers=[] if refer.subscription else [("Refer-Sub", "false")])
                if refer.subscription and len(self._queue) == queued and self._refer_cseq is not None:
                    # RFC 3515 2.4.4: the subscription's first NOTIFY goes at once.
                    headers, body = sipfrag_notify(request.cseq[0], 100)
                    self._queue.append(("NOTIFY", headers, body))
            else:
                self._line.respond(key, request, 403)
                self._refer_cseq = None
                self._queue = collections.deque(item for item in self._queue if item[0] != "NOTIFY")
            if self._bye_waiting:
                self._bye_waiting = False
                self._send_bye(_Cause())
            else:
                self._send_next_queued()

        self._report(ask)

    # -- reports

    def _report_ringing(self, cause: _Cause) -> None:
        self._report(lambda: self._line.listener.leg_ringing(self))

    def _report_answered(self, cause: _Cause) -> None:
        sdp = cause.sdp
        self._report(lambda: self._line.listener.leg_answered(self, sdp))

    def _report_acknowledged(self, cause: _Cause) -> None:
        sdp = cause.sdp
        self._report(lambda: self._line.listener.leg_acknowledged(self, sdp))

    def _report_acknowledged_if_we_offered(self, cause: _Cause) -> None:
        if self._our_2xx_offered:
            self._report_acknowledged(cause)

    def _report_failed(self, cause: _Cause) -> None:
        status, reason = cause.status, cause.status_reason or reason_phrase(cause.status)
        self._finish(cause.reason)
        self._report(lambda: self._line.listener.leg_failed(self, status, reason), final=True)

    def _report_ended(self, cause: _Cause) -> None:
        reason = cause.reason
        self._finish(reason)
        self._report(lambda: self._line.listener.leg_ended(self, reason), final=True)

    def _finish(self, reason: str) -> None:
        self.end_reason = reason
        self._line.leg_finished(self, reason)

    def _report_reinvited(self, cause: _Cause) -> None:
        """Take the phone's re-INVITE as pending (its offer, its new target) and tell the call layer."""
        request, key, dialog = cause.request, cause.key, self._dialog
        assert request is not None and key is not None and dialog is not None
        self._phone_invite = _PhoneInvite(key, request, we_offered=not request.body)
        dialog.refresh_target(request)
        if request.body:
            self.remote_sdp = request.body
        sdp = cause.sdp
        self._report(lambda: self._line.listener.leg_reinvited(self, sdp))

    def _report_reinvite_answered(self, cause: _Cause) -> None:
        sdp = cause.sdp
        self._report(lambda: self._line.listener.leg_reinvite_answered(self, sdp))

    def _report_reinvite_failed(self, cause: _Cause) -> None:
        status = cause.status
        self._report(lambda: self._line.listener.leg_reinvite_failed(self, status))

    def _forget(self, cause: _Cause) -> None:
        self._queue.clear()
        self._early.clear()
        self._cancel_our_reinvite()
        self._line.forget(self)


_ACTIONS: dict[LegAction, Callable[[PhoneLeg, _Cause], None]] = {
    LegAction.SEND_RINGING: PhoneLeg._send_ringing,
    LegAction.SEND_2XX: PhoneLeg._send_2xx,
    LegAction.SEND_FINAL: PhoneLeg._send_final,
    LegAction.SEND_487: PhoneLeg._send_487,
    LegAction.STOP_2XX: PhoneLeg._stop_2xx,
    LegAction.SEND_ACK: PhoneLeg._send_ack,
    LegAction.CANCEL_BRANCHES: PhoneLeg._cancel_branches,
    LegAction.CANCEL_OTHER_BRANCHES: PhoneLeg._cancel_other_branches,
    LegAction.ADOPT_DIALOG: PhoneLeg._adopt_dialog,
    LegAction.SEND_BYE: PhoneLeg._send_bye,
    LegAction.SEND_REINVITE: PhoneLeg._send_reinvite,
    LegAction.ANSWER_200: PhoneLeg._answer_200,
    LegAction.REFUSE_403: PhoneLeg._refuse_403,
    LegAction.REFUSE_481: PhoneLeg._refuse_481,
    LegAction.REFUSE_491: PhoneLeg._refuse_491,
    LegAction.REFUSE_500: PhoneLeg._refuse_500,
    LegAction.SEND_TALK_NOTIFY: PhoneLeg._send_talk_notify,
    LegAction.SEND_DTMF_INFO: PhoneLeg._send_dtmf_info,
    LegAction.SEND_REFER_NOTIFY: PhoneLeg._send_refer_notify,
    LegAction.ASK_REFER: PhoneLeg._ask_refer,
    LegAction.REPORT_RINGING: PhoneLeg._report_ringing,
    LegAction.REPORT_ANSWERED: PhoneLeg._report_answered,
    LegAction.REPORT_ACKNOWLEDGED: PhoneLeg._report_acknowledged,
    LegAction.REPORT_ACKNOWLEDGED_IF_WE_OFFERED: PhoneLeg._report_acknowledged_if_we_offered,
    LegAction.REPORT_FAILED: PhoneLeg._report_failed,
    LegAction.REPORT_ENDED: PhoneLeg._report_ended,
    LegAction.REPORT_REINVITED: PhoneLeg._report_reinvited,
    LegAction.REPORT_REINVITE_ANSWERED: PhoneLeg._report_reinvite_answered,
    LegAction.REPORT_REINVITE_FAILED: PhoneLeg._report_reinvite_failed,
    LegAction.FORGET: PhoneLeg._forget,
}


def _lists_talk(message: Request | Response) -> bool:
    return any(value.strip().lower() == "talk" for value in message.headers.get_all("Allow-Events"))


def _auto_answer_headers(mode: AutoAnswer, domain_name: str) -> list[tuple[str, str]]:
    if mode is AutoAnswer.CALL_INFO:
        return [("Call-Info", f"<sip:{domain_name}>;answer-after=0")]
    if mode is AutoAnswer.ALERT_INFO:
        return [("Alert-Info", "<http://127.0.0.1>;info=alert-autoanswer")]
    return []


_USER_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/")


def _escape_user(user: str) -> str:
    """`user` as the user part of a SIP URI (RFC 3261 25.1: '#' and friends %-escaped)."""
    return "".join(c if c in _USER_UNRESERVED else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in user)
