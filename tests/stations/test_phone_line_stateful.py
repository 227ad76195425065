"""Any sequence of phone messages, call-layer actions, losses and time leaves nothing behind.

Three phones (1001 on UDP and on TCP, so outgoing calls fork; ben on UDP) and the
call layer's stand-in do whatever hypothesis picks: dial, answer or refuse what
they get with any status, send BYE, re-INVITE, REFER, INFO, ACK, CANCEL, repeat
their last message, lose messages, drop a TCP connection; the call layer calls
any Leg method on any leg; time passes.  After every step the contract's rules
hold (no callback from inside a Leg method, none after a leg's end, at most one
end per leg).  At the end the call layer hangs up every leg and the phones go
quiet: every leg then ends exactly once, and the endpoint, the transaction layer
and the scheduler are empty.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rccserver.sip.message import Request, Response
from rccserver.sip.transaction_tables import InvalidTransition
from rccserver.stations.legs import AutoAnswer, NotRegistered

from tests.stations.phone_line_harness import DOMAIN, FakePhone, Line, PhoneCall, sdp

PHONES = ("amy-udp", "amy-tcp", "ben-udp")
INVITE_ANSWERS = (180, 183, 200, 200, 486, 487, 488, 491)
OTHER_ANSWERS = (200, 200, 481, 408, 500)
PHONE_METHODS = ("BYE", "INVITE", "INVITE-offerless", "REFER", "INFO", "ACK", "CANCEL", "OPTIONS")
LEG_ACTIONS = ("ringing", "answer", "reject", "acknowledge", "reinvite", "reinvite-offerless", "answer_reinvite",
               "refuse_reinvite", "notify_talk", "send_dtmf", "refer_progress", "hang_up")


class PhoneLineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.line = Line()
        self.phones: dict[str, FakePhone] = {
            "amy-udp": self.line.phone("1001", port=5061),
            "amy-tcp": self.line.phone("1001", transport="tcp", port=5062),
            "ben-udp": self.line.phone("ben", port=5063),
        }
        for phone in self.phones.values():
            assert phone.register().status == 200
            phone.calls: dict[str, PhoneCall] = {}  # calls it knows are up (it sent or got a 2xx)
            phone.dialling: dict[str, PhoneCall] = {}  # its INVITEs without a 2xx yet
            phone.last_sent = None
        self.legs: list = []
        self.lose_next = 0
        self.line.drop = self._drop

    @initialize(policy=st.fixed_dictionaries({
        "on_dialled": st.sampled_from(("nothing", "ringing", "answer", "reject")),
        "acknowledge": st.booleans(),
        "on_reinvited": st.sampled_from(("nothing", "answer", "refuse")),
        "on_referred": st.sampled_from(("refuse", "accept", "transfer")),
    }))
    def the_call_layer_reacts(self, policy):
        """The call layer's own habits, carried out inside its callbacks (as the real one does)."""
        listener = self.line.listener

        def attempt(action):
            try:
                action()
            except InvalidTransition:
                pass

        if policy["on_dialled"] != "nothing":
            listener.on("phone_dialled", lambda leg: attempt({
                "ringing": leg.ringing, "answer": lambda: leg.answer(sdp(6100)),
                "reject": lambda: leg.reject(404)}[policy["on_dialled"]]))
        if policy["acknowledge"]:
            listener.on("leg_answered", lambda leg, body: attempt(lambda: leg.acknowledge(sdp(6200))))
            listener.on("leg_reinvite_answered", lambda leg, body: attempt(lambda: leg.acknowledge(sdp(6200))))
        if policy["on_reinvited"] == "answer":
            listener.on("leg_reinvited", lambda leg, body: attempt(lambda: leg.answer_reinvite(sdp(6400))))
        elif policy["on_reinvited"] == "refuse":
            listener.on("leg_reinvited", lambda leg, body: attempt(lambda: leg.answer_reinvite(None, 491)))
        listener.refer_answer = policy["on_referred"] != "refuse"
        if policy["on_referred"] == "transfer":
            listener.on("leg_referred", lambda leg, target, replaces: (leg.refer_progress(200), leg.hang_up()))

    @rule(answer=st.sampled_from((200, 486)))
    def phones_do_the_usual(self, answer):
        """Every phone answers what it got (a new call with 180 then `answer`, anything else
        with 200) and ACKs the 2xx of its own INVITEs."""
        for phone in self.phones.values():
            if phone.transport == "tcp" and not phone.connected:
                continue
            for message in phone.take():
                if isinstance(message, Response):
                    call = phone.dialling.pop(message.call_id, None) or phone.calls.get(message.call_id)
                    if call is not None and message.cseq[1] == "INVITE" and 200 <= message.status < 300:
                        self._learn_our_tag(phone, call, [message])
                        self._send(phone, phone.confirm(call, message, send=False))
                        phone.calls[call.call_id] = call
                    elif call is not None and message.cseq[1] == "INVITE" and message.status < 300:
                        phone.dialling[call.call_id] = call
                    continue
                if message.method == "ACK":
                    continue
                tag = f"p{phone.port}"
                if message.method == "INVITE" and message.to.tag is None:
                    phone.respond(message, 180, tag=tag, headers=[("Allow-Events", "talk")])
                    body = sdp(7000 + phone.port % 100) if answer == 200 else b""
                    self._send(phone, phone.respond(message, answer, tag=tag, body=body, send=False))
                    if answer == 200 and message.call_id not in phone.calls:
                        phone.calls[message.call_id] = phone.answered_call(message, tag)
                elif message.method == "INVITE":
                    self._send(phone, phone.respond(message, 200, tag=tag, body=sdp(7000), send=False))
                else:
                    self._send(phone, phone.respond(message, 200, tag=tag, send=False))

    def _drop(self, phone, data) -> bool:
        if self.lose_next:
            self.lose_next -= 1
            return True
        return False

    def _send(self, phone: FakePhone, message: Request | Response) -> None:
        phone.last_sent = message
        if phone.transport == "tcp" and not phone.connected:
            return
        phone.send(message)

    def _known_legs(self) -> list:
        for leg in self.line.listener.legs:
            if leg not in self.legs:
                self.legs.append(leg)
        return self.legs

    # -- the phones

    @rule(name=st.sampled_from(PHONES), number=st.sampled_from(("1001", "1002", "999")),
          offer=st.booleans())
    def phone_dials(self, name, number, offer):
        phone = self.phones[name]
        if phone.transport == "tcp" and not phone.connected:
            return
        body = sdp(4000) if offer else None
        invite, call = phone.invite_request(number, body)
        call.invite = invite
        phone.dialling[call.call_id] = call
        self._send(phone, invite)
        challenge = next((r for r in phone.responses(407) if r.call_id == call.call_id), None)
        if challenge is None:
            return  # lost on the way: the phone's next repeat may get it
        phone.inbox.remove(challenge)
        phone.ack_response(invite, challenge)
        authorization = phone.client.answer(challenge, method="INVITE", uri=invite.uri)
        call.invite, _ = phone.invite_request(number, body, call, authorization)
        self._send(phone, call.invite)

    @rule(name=st.sampled_from(PHONES), offer=st.booleans())
    def a_phone_call_gets_going(self, name, offer):
        """A whole call in one step: the phone dials, the call layer answers, the phone ACKs."""
        phone = self.phones[name]
        before = len(self.line.listener.legs)
        self.phone_dials(name, "1002", offer)
        if len(self.line.listener.legs) == before:
            return
        leg = self.line.listener.legs[-1]
        try:
            self.line.call(leg.answer, sdp(6100))
        except InvalidTransition:
            return  # the call layer's habits answered it already, or refused it
        self.phones_do_the_usual(200)

    @rule(station=st.sampled_from(("1001", "1002")), offer=st.booleans())
    def a_call_to_a_phone_gets_going(self, station, offer):
        """A whole call in one step: the call layer invites, the phones answer, we ACK."""
        self.call_layer_invites(station, offer, AutoAnswer.NONE)
        self.phones_do_the_usual(200)
        leg = self.legs[-1]
        if not offer:
            try:
                self.line.call(leg.acknowledge, sdp(6200))
            except InvalidTransition:
                pass
        self.phones_do_the_usual(200)

    @rule(name=st.sampled_from(PHONES), pick=st.integers(0, 50), invite_status=st.sampled_from(INVITE_ANSWERS),
          other_status=st.sampled_from(OTHER_ANSWERS))
    def phone_answers(self, name, pick, invite_status, other_status):
        phone = self.phones[name]
        requests = [m for m in phone.inbox if isinstance(m, Request) and m.method != "ACK"]
        if not requests:
            return
        request = requests[pick % len(requests)]
        phone.inbox.remove(request)
        tag = f"p{phone.port}"
        if request.method == "INVITE":
            status = invite_status
            headers = [("Allow-Events", "talk")] if status == 183 else []
            body = sdp(7000 + phone.port % 100) if status == 200 else b""
            response = phone.respond(request, status, tag=tag, body=body, headers=headers, send=False)
            if 180 <= status < 300 and request.to.tag is None and request.call_id not in phone.calls:
                phone.calls[request.call_id] = phone.answered_call(request, tag)
        else:
            status = 200 if request.method == "CANCEL" else other_status
            response = phone.respond(request, status, tag=tag, send=False)
        self._send(phone, response)

    @rule(name=st.sampled_from(PHONES), pick=st.integers(0, 50), method=st.sampled_from(PHONE_METHODS))
    def phone_sends_in_a_call(self, name, pick, method):
        phone = self.phones[name]
        known = phone.calls if phone.calls and pick % 4 else {**phone.dialling, **phone.calls}
        if not known:
            return
        call = list(known.values())[pick % len(known)]
        self._learn_our_tag(phone, call)
        invite = getattr(call, "invite", None)
        if method == "CANCEL":
            if invite is None:
                return
            request = Request("CANCEL", invite.uri, [
                ("Via", invite.headers.get("Via")), ("Max-Forwards", "70"), ("From", invite.headers.get("From")),
                ("To", invite.headers.get("To")), ("Call-ID", invite.call_id), ("CSeq", f"{invite.cseq[0]} CANCEL")])
        elif method == "ACK":
            ok = [r for r in phone.responses() if r.call_id == call.call_id and r.cseq[1] == "INVITE"
                  and 200 <= r.status < 300]
            if not ok:
                return
            request = phone.confirm(call, ok[-1], body=sdp(4100) if pick % 2 else None, send=False)
        elif method == "INVITE":
            request = phone.request(call, "INVITE", body=sdp(4000, "sendonly"))
        elif method == "INVITE-offerless":
            request = phone.request(call, "INVITE")
        elif method == "REFER":
            target = f"<sip:1003@{DOMAIN}>" if pick % 2 else f"<sip:1003@{DOMAIN}?Replaces=a%40b%3Bto-tag%3D1%3Bfrom-tag%3D2>"
            request = phone.request(call, "REFER", headers=[("Refer-To", target)])
        else:
            request = phone.request(call, method)
            if method == "BYE":
                phone.calls.pop(call.call_id, None)
                phone.dialling.pop(call.call_id, None)
        self._send(phone, request)

    @staticmethod
    def _learn_our_tag(phone: FakePhone, call: PhoneCall, responses: list[Response] | None = None) -> None:
        if getattr(call, "invite", None) is None:
            return
        for response in phone.responses() if responses is None else responses:
            if response.call_id == call.call_id and response.cseq[1] == "INVITE" and response.to.tag \
                    and 100 < response.status < 300:
                call.remote = response.headers.get("To")
                contact = response.headers.get("Contact") or ""
                if "<" in contact:
                    call.target = contact[contact.index("<") + 1:contact.index(">")]

    @rule(name=st.sampled_from(PHONES))
    def phone_repeats_itself(self, name):
        phone = self.phones[name]
        if phone.last_sent is not None:
            self._send(phone, phone.last_sent)

    @rule(name=st.sampled_from(PHONES), cut=st.integers(0, 400), junk=st.binary(max_size=40))
    def phone_sends_garbage(self, name, cut, junk):
        """A truncated or mangled copy of the phone's last message: answered 400 or dropped, never a crash."""
        phone = self.phones[name]
        if phone.transport == "tcp" and not phone.connected:
            return
        data = phone.last_sent.to_bytes() if phone.last_sent is not None else b"INVITE sip:x SIP/2.0\r\n"
        phone.send(data[:cut] + junk)

    @rule(count=st.integers(1, 3))
    def network_loses_messages(self, count):
        self.lose_next = count

    @precondition(lambda self: self.phones["amy-tcp"].connected)
    @rule()
    def tcp_connection_drops(self):
        self.phones["amy-tcp"].disconnect()

    @precondition(lambda self: not self.phones["amy-tcp"].connected)
    @rule()
    def tcp_phone_reconnects(self):
        phone = self.phones["amy-tcp"]
        phone.conn_id = max(self.line.phones_by_conn) + 1
        self.line.phones_by_conn[phone.conn_id] = phone
        phone.connected = True
        self.line.endpoint.connection_made(phone.conn_id, (phone.host, phone.port), "tcp", ("198.51.100.1", 5060))

    # -- the call layer

    @rule(station=st.sampled_from(("1001", "1002", "1000")), offer=st.booleans(),
          auto=st.sampled_from(list(AutoAnswer)))
    def call_layer_invites(self, station, offer, auto):
        try:
            leg = self.line.call(self.line.endpoint.invite, station, sdp(6000) if offer else None,
                                 auto_answer=auto, caller="2000")
        except NotRegistered:
            assert station == "1000"
            return
        self.legs.append(leg)

    @rule(pick=st.integers(0, 50), action=st.sampled_from(LEG_ACTIONS))
    def call_layer_acts(self, pick, action):
        legs = [leg for leg in self._known_legs() if leg.leg_id not in self.line.listener.ended] \
            or self._known_legs()
        if not legs:
            return
        leg = legs[pick % len(legs)]
        calls = {
            "ringing": lambda: leg.ringing(),
            "answer": lambda: leg.answer(sdp(6100)),
            "reject": lambda: leg.reject(486),
            "acknowledge": lambda: leg.acknowledge(sdp(6200)),
            "reinvite": lambda: leg.reinvite(sdp(6300, "inactive")),
            "reinvite-offerless": lambda: leg.reinvite(None),
            "answer_reinvite": lambda: leg.answer_reinvite(sdp(6400)),
            "refuse_reinvite": lambda: leg.answer_reinvite(None, 488),
            "notify_talk": lambda: leg.notify_talk(),
            "send_dtmf": lambda: leg.send_dtmf("12"),
            "refer_progress": lambda: leg.refer_progress(200 if pick % 2 else 180),
            "hang_up": lambda: leg.hang_up(),
        }
        try:
            self.line.call(calls[action])
        except InvalidTransition:
            self.line.run()  # a misuse in this state: refused, nothing changed

    @rule(seconds=st.sampled_from((0.1, 0.5, 0.5, 1.0, 4.0, 40.0)))
    def time_passes(self, seconds):
        self.line.advance(seconds)
        self.line.fail_send_to()  # nobody listens where we would connect to
        self.line.run()

    # -- the rules of the contract, always

    @invariant()
    def the_contract_holds(self):
        listener = self.line.listener
        assert listener.violations == []
        ends = [call[1].leg_id for call in listener.calls if call[0] in ("leg_ended", "leg_failed")]
        assert len(ends) == len(set(ends))

    def teardown(self):
        line = self.line
        self.lose_next = 0
        for leg in self._known_legs():
            line.call(leg.hang_up)
        for _ in range(20):  # the phones go quiet; every timer runs out
            line.advance(40)
            line.fail_send_to()
        line.advance(4000)  # registrations lapse too
        listener = line.listener
        ends = [call[1].leg_id for call in listener.calls if call[0] in ("leg_ended", "leg_failed")]
        assert sorted(ends) == sorted(leg.leg_id for leg in self.legs)
        assert listener.violations == []
        assert line.endpoint.idle, (line.endpoint.leg_count, line.endpoint.transaction_count)
        assert len(line.scheduler) == 0


PhoneLineMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPhoneLine = PhoneLineMachine.TestCase
