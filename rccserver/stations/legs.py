"""Call legs: one SIP dialog between rccserver and a SIP station's phone, as the call
layer sees it.  This module is the contract between the two halves of the B2BUA:

* the **phone line** (`stations/endpoint.py`): SIP plumbing towards the phones -
  registrations, transactions on UDP/TCP/TLS, dialogs, digest challenges, ACKs and
  2xx retransmissions, CANCEL, session refresh.  It implements `PhoneLine` and `Leg`.
* the **call layer** (`stations/terminal.py`): the embedded switch's call model
  turned into legs and back - which phone to ring, which two legs to bridge, what
  a person's hold or hang-up means.  It implements `LegListener`.

Sans-IO like the rest of the core: nothing here touches a socket or a clock.
Bodies are SDP as bytes; the phone line never looks inside them, the call layer
(`stations/sdp.py`) only rewrites what a B2BUA must (origin line, direction).

Rules both halves keep:
* Every `Leg` reports its end exactly once (`leg_failed` for an outgoing leg that
  was never answered, `leg_ended` for any other end), and no callback comes after it.
* Callbacks are never made from inside a `Leg` or `PhoneLine` method the call layer
  called: the phone line queues them and delivers them after the current input,
  so the call layer never sees its own action come back re-entrantly.
* Offer/answer (RFC 3264): whoever sends an INVITE or re-INVITE without SDP gets
  the offer in the 2xx and must give the answer for the ACK (`Leg.acknowledge`).
"""
from __future__ import annotations

import enum
from typing import Protocol

import attrs


class LegRole(enum.Enum):
    OUTGOING = "we invited the phone"
    INCOMING = "the phone invited us"


class AutoAnswer(enum.Enum):
    """How an outgoing INVITE asks the phone to go off-hook by itself (CIC data `auto_answer`)."""

    NONE = "none"  # the phone rings; the person picks up
    CALL_INFO = "call-info"  # Call-Info: <sip:HOST>;answer-after=0
    ALERT_INFO = "alert-info"  # Alert-Info: <http://127.0.0.1>;info=alert-autoanswer


class NotRegistered(Exception):
    """`PhoneLine.invite` to a SIP station that has no registered phone."""


@attrs.frozen
class Replaces:
    """The `Replaces` of an attended transfer's REFER (RFC 3891): the dialog to take over."""

    call_id: str
    to_tag: str
    from_tag: str


class Leg(Protocol):
    leg_id: str  # unique for the server's life
    station: str  # extension of the SIP station at the other end
    role: LegRole
    dialled: str | None  # INCOMING: the Request-URI user of the phone's INVITE, as dialled
    remote_sdp: bytes | None  # the phone's latest session description, offer or answer
    talk_event: bool  # the phone listed `talk` in Allow-Events (it can be answered remotely)

    # -- an INCOMING leg that is not answered yet
    def ringing(self) -> None:
        """180 Ringing to the phone's INVITE."""

    def answer(self, sdp: bytes) -> None:
        """200 OK to the phone's INVITE, with our answer to its offer (or our offer
        when its INVITE had none: its answer then comes in `leg_acknowledged`)."""

    def reject(self, status: int, reason: str | None = None) -> None:
        """A final 3xx-6xx to the phone's INVITE (486 for DND or busy, 404, 480 ...)."""

    # -- an OUTGOING leg whose 2xx carried the phone's offer
    def acknowledge(self, sdp: bytes) -> None:
        """The ACK for the 2xx, carrying our answer."""

    # -- an established leg
    def reinvite(self, sdp: bytes | None) -> None:
        """re-INVITE with our new offer (hold, retrieve, re-bridging); None asks the phone
        for an offer.  The outcome comes in `leg_reinvite_answered` or `leg_reinvite_failed`."""

    def answer_reinvite(self, sdp: bytes | None, status: int = 200) -> None:
        """Answer the phone's pending re-INVITE: 200 with our SDP, or a failure status."""

    def notify_talk(self) -> None:
        """NOTIFY Event: talk in the INVITE's dialog: the ringing phone goes off-hook."""

    def send_dtmf(self, digits: str) -> None:
        """INFO application/dtmf-relay, one per digit."""

    def names_dialog(self, replaces: Replaces) -> bool:
        """Whether `replaces` (of a REFER's Refer-To) names this leg's dialog: Call-ID and both tags."""

    def refer_progress(self, status: int) -> None:
        """NOTIFY of the REFER subscription with a message/sipfrag `SIP/2.0 <status>`."""

    # -- any leg
    def hang_up(self) -> None:
        """End the leg whatever its state: CANCEL an outgoing INVITE that is not answered
        (or BYE after its 2xx), 487 an incoming one, BYE an established one.  Idempotent;
        `leg_ended`/`leg_failed` follows."""


class LegListener(Protocol):
    """What the call layer is told about its legs (and about new calls from phones)."""

    def phone_dialled(self, leg: Leg) -> None:
        """An authenticated phone (registered or not) sent an INVITE (an INCOMING leg): the person dialled `leg.dialled`."""

    def trunk_called(self, leg: Leg) -> None:
        """The trunk peer sent an INVITE (an INCOMING leg from an `accept_from` address, not
        authenticated): `leg.dialled` is its DID, `leg.station` the caller's number as sent."""

    def leg_ringing(self, leg: Leg) -> None:
        """OUTGOING: the phone rings (first 180/183)."""

    def leg_answered(self, leg: Leg, sdp: bytes | None) -> None:
        """OUTGOING: the phone answered (2xx).  `sdp` is its answer to our offer, or its
        offer when we sent none (then call `leg.acknowledge(answer)`)."""

    def leg_acknowledged(self, leg: Leg, sdp: bytes | None) -> None:
        """INCOMING: the ACK for our 2xx came (with the phone's answer if our 2xx was the offer).
        Also, on any leg, the ACK for our 2xx to an offerless re-INVITE of the phone (its answer)."""

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        """OUTGOING, never answered: a 3xx-6xx (status), no answer at all (408) or a
        transport failure (503); the leg is gone."""

    def leg_ended(self, leg: Leg, reason: str) -> None:
        """Any other end: the phone's BYE or CANCEL, our hang_up done, or the phone
        vanished (no answer to an in-dialog request, transport failure)."""

    def leg_reinvited(self, leg: Leg, sdp: bytes | None) -> None:
        """The phone sent a re-INVITE (hold `sendonly`/`inactive`, resume `sendrecv`);
        answer it with `leg.answer_reinvite`."""

    def leg_reinvite_answered(self, leg: Leg, sdp: bytes | None) -> None:
        """Our re-INVITE got its 2xx; when we sent no offer, `sdp` is the phone's and the
        answer goes in `leg.acknowledge`."""

    def leg_reinvite_failed(self, leg: Leg, status: int) -> None:
        """Our re-INVITE was refused (the dialog goes on unchanged)."""

    def leg_referred(self, leg: Leg, target: str, replaces: Replaces | None) -> bool:
        """The phone sent REFER (blind transfer, or attended with Replaces).  Return True
        to accept it (202; progress then goes through `leg.refer_progress`), False for 403."""


class PhoneLine(Protocol):
    """The phone line as the call layer uses it (it is built with the `LegListener`
    that gets every leg's callbacks and every `phone_dialled`)."""

    def is_registered(self, station: str) -> bool: ...

    def invite(self, station: str, sdp: bytes | None, *, auto_answer: AutoAnswer, caller: str | None) -> Leg:
        """An OUTGOING leg to the station's registered phone (every binding is tried
        in parallel; the first to answer wins, the others are cancelled).  `caller`
        is the number shown on the phone.  Raises NotRegistered."""

    def invite_peer(self, uri: str, sdp: bytes | None, *, caller: str, identity: str | None = None,
                    auth=None, label: str | None = None, diversion: str | None = None) -> Leg:
        """An OUTGOING leg to the trunk peer (`uri` = `sip:+13175550188@peer`), From `caller`,
        P-Asserted-Identity `identity`, answering its 401/407 with `auth` (a DigestClient).
        Raises NotRegistered when there is no trunk."""
