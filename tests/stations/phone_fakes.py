"""An in-process phone line for the call layer's unit tests: legs that record what the
call layer asks of them, and test helpers that play what the phones do.

The real phone line (`rccserver.stations.endpoint`) speaks SIP; this one only keeps
the contract of `rccserver.stations.legs` so the call layer can be tested alone."""
from __future__ import annotations

import itertools

from rccserver.stations.legs import AutoAnswer, LegRole, NotRegistered

_ids = itertools.count(1)


def phone_sdp(port: int, direction: str = "sendrecv") -> bytes:
    return (
        f"v=0\r\no=- {port} 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n"
    ).encode()


class FakeLeg:
    def __init__(self, line: "FakeLine", station: str, role: LegRole, *, dialled=None, remote_sdp=None,
                 offer=None, auto_answer=None, caller=None) -> None:
        self.line = line
        self.leg_id = f"leg{next(_ids)}"
        self.station = station
        self.role = role
        self.dialled = dialled
        self.remote_sdp = remote_sdp
        self.talk_event = False
        self.sip_call_id = f"sip-{self.leg_id}"
        self.tags = (f"ours-{self.leg_id}", f"phone-{self.leg_id}")
        self.offer = offer  # OUTGOING: what our INVITE carried
        self.auto_answer = auto_answer
        self.caller = caller
        self.actions: list[tuple] = []
        self.ended = False

    def _do(self, *action) -> None:
        self.actions.append(action)

    def ringing(self): self._do("ringing")
    def answer(self, sdp): self._do("answer", sdp)
    def reject(self, status, reason=None):
        self._do("reject", status)
        self.ended = True
    def acknowledge(self, sdp): self._do("ack", sdp)
    def reinvite(self, sdp): self._do("reinvite", sdp)
    def answer_reinvite(self, sdp, status=200): self._do("answer_reinvite", sdp, status)
    def notify_talk(self): self._do("notify_talk")
    def send_dtmf(self, digits): self._do("dtmf", digits)
    def refer_progress(self, status): self._do("refer_progress", status)
    def names_dialog(self, replaces):
        return replaces.call_id == self.sip_call_id and {replaces.to_tag, replaces.from_tag} == set(self.tags)
    def hang_up(self):
        self._do("hang_up")
        self.ended = True

    def last(self, name: str):
        for action in reversed(self.actions):
            if action[0] == name:
                return action
        raise AssertionError(f"{self.leg_id} ({self.station}) was never asked to {name}: {self.actions}")

    def names(self) -> list[str]:
        return [action[0] for action in self.actions]


class FakeLine:
    def __init__(self, registered=()) -> None:
        self.registered = set(registered)
        self.legs: list[FakeLeg] = []
        self.listener = None

    def is_registered(self, station: str) -> bool:
        return station in self.registered

    def invite(self, station, sdp, *, auto_answer: AutoAnswer, caller):
        if station not in self.registered:
            raise NotRegistered(station)
        leg = FakeLeg(self, station, LegRole.OUTGOING, offer=sdp, auto_answer=auto_answer, caller=caller)
        self.legs.append(leg)
        return leg

    def dial(self, station: str, number: str, sdp: bytes) -> FakeLeg:
        """The person at `station` dials `number` (the phone's authenticated INVITE)."""
        leg = FakeLeg(self, station, LegRole.INCOMING, dialled=number, remote_sdp=sdp)
        self.legs.append(leg)
        self.listener.phone_dialled(leg)
        return leg

    def to(self, station: str) -> FakeLeg:
        """The newest live leg to or from `station`."""
        for leg in reversed(self.legs):
            if leg.station == station and not leg.ended:
                return leg
        raise AssertionError(f"no live leg for {station}")
