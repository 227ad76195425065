"""The life of a call leg (`legs.Leg`) as one table: (state, input) -> (next state, actions).

A leg (`leg.PhoneLeg`) feeds an input - a call-layer action or something the
phone did - and carries out the actions in the order listed.  A pair the table
does not list raises `InvalidTransition`: for the call layer's inputs that is
a misuse (answering an outgoing leg, acknowledging twice); the phone's inputs
have a row in every state the leg can meet them in, so no phone can provoke it
(the leg only feeds what can reach it: responses to requests it sent, requests
in a dialog it registered).

    OUTGOING  OUT_CALLING --1xx--> OUT_RINGING --2xx--> CONFIRMED
                     \\--2xx with the phone's offer--> OUT_ANSWERED --acknowledge--> CONFIRMED
    INCOMING  IN_OFFERED --ringing--> IN_RINGING --answer--> IN_ANSWERED --ACK--> CONFIRMED
    CONFIRMED --reinvite--> REINVITING --2xx--> CONFIRMED (or REINVITE_ANSWERED --acknowledge--> CONFIRMED)
    CONFIRMED --phone's re-INVITE--> REINVITED --answer_reinvite--> REINVITE_ACCEPTED --ACK--> CONFIRMED
    hang_up: CANCELLING (outgoing, no 2xx yet), IN_OFFERED/IN_RINGING -487-> ENDED,
             BYE_AWAITING_ACK (our 2xx is not ACKed yet: RFC 3261 15 lets the BYE wait), else ENDING
    ENDING --BYE answered, timed out or failed--> ENDED

The end is reported (REPORT_ENDED or REPORT_FAILED) exactly once, on the
transition that leaves the live states; CANCELLING, ENDING, BYE_AWAITING_ACK
and ENDED only clean up and report nothing.  Every transition out of a state
whose 2xx is being retransmitted (IN_ANSWERED, REINVITE_ACCEPTED,
BYE_AWAITING_ACK) stops the retransmission, unless it is the give-up itself.
Every transition out of a state with a phone's INVITE unanswered (IN_OFFERED,
IN_RINGING, REINVITED) answers it.
"""
from __future__ import annotations

import enum
from typing import Mapping

from rccserver.sip.transaction_tables import InvalidTransition


class LegState(enum.Enum):
    OUT_CALLING = "our INVITE is out, the phone does not ring yet"
    OUT_RINGING = "the phone rings (180/183)"
    OUT_ANSWERED = "the phone's 2xx carried its offer; the ACK waits for our answer"
    IN_OFFERED = "the phone's INVITE is here, unanswered"
    IN_RINGING = "we told the phone 180 Ringing"
    IN_ANSWERED = "our 2xx is out (and re-sent on UDP), the ACK has not come"
    CONFIRMED = "established, nothing pending"
    REINVITING = "our re-INVITE is pending"
    REINVITE_ANSWERED = "our offerless re-INVITE got the phone's offer; the ACK waits for our answer"
    REINVITED = "the phone's re-INVITE waits for our answer"
    REINVITE_ACCEPTED = "our 2xx to the phone's re-INVITE is out, its ACK has not come"
    CANCELLING = "hung up before any 2xx: CANCEL is out, the INVITE is ending"
    BYE_AWAITING_ACK = "hung up after our 2xx: the BYE goes once the ACK came (or never will)"
    ENDING = "our BYE is out"
    ENDED = "nothing left to do"


class LegInput(enum.Enum):
    # from the call layer (Leg methods)
    RING = "ringing()"
    ANSWER = "answer(sdp)"
    REJECT = "reject(status)"
    ACKNOWLEDGE = "acknowledge(sdp)"
    REINVITE = "reinvite(sdp)"
    ACCEPT_REINVITE = "answer_reinvite(sdp, 2xx)"
    REFUSE_REINVITE = "answer_reinvite(sdp, 3xx-6xx)"
    NOTIFY_TALK = "notify_talk()"
    SEND_DTMF = "send_dtmf(digits)"
    REFER_PROGRESS = "refer_progress(status)"
    HANG_UP = "hang_up()"
    # from the phone (or its silence)
    PROVISIONAL = "180-199 to our INVITE"
    ANSWERED = "2xx to our INVITE, with the answer to our offer"
    ANSWERED_WITH_OFFER = "2xx to our offerless INVITE, with the phone's offer"
    ALL_BRANCHES_FAILED = "every fork of our INVITE ended without a 2xx"
    PHONE_ACK = "the ACK for our 2xx"
    NO_ACK = "no ACK for our 2xx within 64*T1"
    PHONE_CANCEL = "CANCEL of the phone's pending INVITE or re-INVITE"
    PHONE_BYE = "BYE from the phone"
    PHONE_REINVITE = "re-INVITE from the phone"
    PHONE_REFER = "REFER from the phone"
    REINVITE_ANSWERED = "2xx to our re-INVITE, with the answer to our offer"
    REINVITE_ANSWERED_WITH_OFFER = "2xx to our offerless re-INVITE, with the phone's offer"
    REINVITE_REFUSED = "3xx-6xx (other than 408 and 481) to our re-INVITE"
    DIALOG_GONE = "481 or 408 to a request of ours in the dialog (RFC 3261 12.2.1.2)"
    VANISHED = "a request or response of ours in the dialog timed out or could not be sent"
    BYE_DONE = "our BYE was answered, timed out or could not be sent"


class LegAction(enum.Enum):
    SEND_RINGING = "180 Ringing to the phone's INVITE"
    SEND_2XX = "2xx with our SDP to the phone's pending INVITE or re-INVITE, re-sent until its ACK"
    SEND_FINAL = "the call layer's 3xx-6xx to the phone's pending INVITE or re-INVITE"
    SEND_487 = "487 Request Terminated to the phone's pending INVITE or re-INVITE"
    STOP_2XX = "stop re-sending our 2xx"
    SEND_ACK = "ACK the phone's 2xx (with our answer when we have one)"
    CANCEL_BRANCHES = "CANCEL every fork of our INVITE"
    CANCEL_OTHER_BRANCHES = "CANCEL the forks that did not answer"
    ADOPT_DIALOG = "the answering fork's dialog becomes the leg's (in-dialog requests now reach it)"
    SEND_BYE = "BYE"
    SEND_REINVITE = "re-INVITE with our offer (or none)"
    ANSWER_200 = "200 OK to the phone's request of this input"
    REFUSE_403 = "403 to the phone's request of this input"
    REFUSE_481 = "481 to the phone's request of this input (the dialog is ending)"
    REFUSE_491 = "491 Request Pending to the phone's re-INVITE (our INVITE is pending: glare)"
    REFUSE_500 = "500 with Retry-After to the phone's re-INVITE (its previous INVITE is pending)"
    SEND_TALK_NOTIFY = "NOTIFY Event: talk in each early dialog whose phone listed talk"
    SEND_DTMF_INFO = "one INFO application/dtmf-relay per digit, in order"
    SEND_REFER_NOTIFY = "NOTIFY message/sipfrag on the REFER subscription"
    ASK_REFER = "ask the call layer about the REFER (202 or 403 after its answer)"
    REPORT_RINGING = "leg_ringing"
    REPORT_ANSWERED = "leg_answered"
    REPORT_ACKNOWLEDGED = "leg_acknowledged"
    REPORT_ACKNOWLEDGED_IF_WE_OFFERED = "leg_acknowledged, when our 2xx to the re-INVITE carried the offer"
    REPORT_FAILED = "leg_failed"
    REPORT_ENDED = "leg_ended"
    REPORT_REINVITED = "leg_reinvited"
    REPORT_REINVITE_ANSWERED = "leg_reinvite_answered"
    REPORT_REINVITE_FAILED = "leg_reinvite_failed"
    FORGET = "drop the leg's dialog: later requests in it get 481"


S = LegState
I = LegInput  # noqa: E741 - short names keep the rows readable
A = LegAction

OUT_EARLY = (S.OUT_CALLING, S.OUT_RINGING)
IN_EARLY = (S.IN_OFFERED, S.IN_RINGING)
ESTABLISHED = (S.CONFIRMED, S.REINVITING, S.REINVITE_ANSWERED, S.REINVITED, S.REINVITE_ACCEPTED)
END_REPORTED = (S.CANCELLING, S.BYE_AWAITING_ACK, S.ENDING, S.ENDED)
CALL_LAYER_INPUTS = (
    I.RING, I.ANSWER, I.REJECT, I.ACKNOWLEDGE, I.REINVITE, I.ACCEPT_REINVITE, I.REFUSE_REINVITE, I.NOTIFY_TALK,
    I.SEND_DTMF, I.REFER_PROGRESS, I.HANG_UP,
)
RETRANSMITTING_2XX = (S.IN_ANSWERED, S.REINVITE_ACCEPTED, S.BYE_AWAITING_ACK)
PHONE_INVITE_PENDING = (S.IN_OFFERED, S.IN_RINGING, S.REINVITED)

Row = tuple[LegState, tuple[LegAction, ...]]

LEG_TABLE: Mapping[tuple[LegState, LegInput], Row] = {
    # --- OUTGOING, before the 2xx ------------------------------------------------
    (S.OUT_CALLING, I.PROVISIONAL): (S.OUT_RINGING, (A.REPORT_RINGING,)),
    (S.OUT_RINGING, I.PROVISIONAL): (S.OUT_RINGING, ()),  # more forks ringing, or 183 after 180
    **{(s, I.ANSWERED): (S.CONFIRMED, (A.CANCEL_OTHER_BRANCHES, A.ADOPT_DIALOG, A.SEND_ACK, A.REPORT_ANSWERED))
       for s in OUT_EARLY},
    **{(s, I.ANSWERED_WITH_OFFER): (S.OUT_ANSWERED, (A.CANCEL_OTHER_BRANCHES, A.ADOPT_DIALOG, A.REPORT_ANSWERED))
       for s in OUT_EARLY},
    **{(s, I.ALL_BRANCHES_FAILED): (S.ENDED, (A.REPORT_FAILED, A.FORGET)) for s in OUT_EARLY},
    **{(s, I.HANG_UP): (S.CANCELLING, (A.CANCEL_BRANCHES, A.REPORT_ENDED)) for s in OUT_EARLY},
    (S.OUT_CALLING, I.NOTIFY_TALK): (S.OUT_CALLING, ()),  # no early dialog to send it in yet
    (S.OUT_RINGING, I.NOTIFY_TALK): (S.OUT_RINGING, (A.SEND_TALK_NOTIFY,)),
    # --- OUTGOING, answered with the phone's offer: the ACK waits for our answer --
    (S.OUT_ANSWERED, I.ACKNOWLEDGE): (S.CONFIRMED, (A.SEND_ACK,)),
    (S.OUT_ANSWERED, I.HANG_UP): (S.ENDING, (A.SEND_ACK, A.SEND_BYE, A.REPORT_ENDED)),
    (S.OUT_ANSWERED, I.NOTIFY_TALK): (S.OUT_ANSWERED, ()),  # answered already
    # The phone gives up re-sending its 2xx after 64*T1 and hangs up.
    (S.OUT_ANSWERED, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.REPORT_ENDED, A.FORGET)),
    (S.OUT_ANSWERED, I.PHONE_ACK): (S.OUT_ANSWERED, ()),
    (S.OUT_ANSWERED, I.PHONE_REINVITE): (S.OUT_ANSWERED, (A.REFUSE_491,)),  # our INVITE still needs its ACK
    (S.OUT_ANSWERED, I.PHONE_REFER): (S.OUT_ANSWERED, (A.REFUSE_403,)),
    # --- INCOMING, before our 2xx ------------------------------------------------
    (S.IN_OFFERED, I.RING): (S.IN_RINGING, (A.SEND_RINGING,)),
    (S.IN_RINGING, I.RING): (S.IN_RINGING, ()),
    **{(s, I.ANSWER): (S.IN_ANSWERED, (A.SEND_2XX,)) for s in IN_EARLY},
    **{(s, I.REJECT): (S.ENDED, (A.SEND_FINAL, A.REPORT_ENDED, A.FORGET)) for s in IN_EARLY},
    **{(s, I.HANG_UP): (S.ENDED, (A.SEND_487, A.REPORT_ENDED, A.FORGET)) for s in IN_EARLY},
    **{(s, I.PHONE_CANCEL): (S.ENDED, (A.SEND_487, A.REPORT_ENDED, A.FORGET)) for s in IN_EARLY},
    # RFC 3261 wants CANCEL here; a BYE says the same.
    **{(s, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.SEND_487, A.REPORT_ENDED, A.FORGET)) for s in IN_EARLY},
    **{(s, I.PHONE_ACK): (s, ()) for s in IN_EARLY},
    **{(s, I.PHONE_REINVITE): (s, (A.REFUSE_500,)) for s in IN_EARLY},
    **{(s, I.PHONE_REFER): (s, (A.REFUSE_403,)) for s in IN_EARLY},
    # Our provisional could not be sent: the final response still goes, so that the
    # INVITE transaction ends (Timer H) instead of waiting for us forever.
    **{(s, I.VANISHED): (S.ENDED, (A.SEND_487, A.REPORT_ENDED, A.FORGET)) for s in IN_EARLY},
    # --- INCOMING, our 2xx waits for its ACK ---------------------------------------
    (S.IN_ANSWERED, I.PHONE_ACK): (S.CONFIRMED, (A.STOP_2XX, A.REPORT_ACKNOWLEDGED)),
    (S.IN_ANSWERED, I.NO_ACK): (S.ENDING, (A.SEND_BYE, A.REPORT_ENDED)),
    (S.IN_ANSWERED, I.PHONE_BYE): (S.ENDED, (A.STOP_2XX, A.ANSWER_200, A.REPORT_ENDED, A.FORGET)),
    (S.IN_ANSWERED, I.PHONE_REINVITE): (S.IN_ANSWERED, (A.REFUSE_500,)),
    (S.IN_ANSWERED, I.PHONE_REFER): (S.IN_ANSWERED, (A.REFUSE_403,)),
    (S.IN_ANSWERED, I.HANG_UP): (S.BYE_AWAITING_ACK, (A.REPORT_ENDED,)),
    (S.IN_ANSWERED, I.VANISHED): (S.ENDING, (A.STOP_2XX, A.SEND_BYE, A.REPORT_ENDED)),
    (S.IN_ANSWERED, I.DIALOG_GONE): (S.ENDED, (A.STOP_2XX, A.REPORT_ENDED, A.FORGET)),
    (S.IN_ANSWERED, I.SEND_DTMF): (S.IN_ANSWERED, (A.SEND_DTMF_INFO,)),  # our side of the dialog is confirmed
    # The call layer cannot know whether the ACK came: "request pending", try again later.
    (S.IN_ANSWERED, I.REINVITE): (S.IN_ANSWERED, (A.REPORT_REINVITE_FAILED,)),
    # --- established: re-INVITEs, one at a time ------------------------------------
    (S.CONFIRMED, I.REINVITE): (S.REINVITING, (A.SEND_REINVITE,)),
    (S.CONFIRMED, I.PHONE_REINVITE): (S.REINVITED, (A.REPORT_REINVITED,)),
    (S.REINVITING, I.REINVITE_ANSWERED): (S.CONFIRMED, (A.SEND_ACK, A.REPORT_REINVITE_ANSWERED)),
    (S.REINVITING, I.REINVITE_ANSWERED_WITH_OFFER): (S.REINVITE_ANSWERED, (A.REPORT_REINVITE_ANSWERED,)),
    (S.REINVITING, I.REINVITE_REFUSED): (S.CONFIRMED, (A.REPORT_REINVITE_FAILED,)),
    (S.REINVITING, I.PHONE_REINVITE): (S.REINVITING, (A.REFUSE_491,)),  # glare (RFC 3261 14.2)
    (S.REINVITE_ANSWERED, I.ACKNOWLEDGE): (S.CONFIRMED, (A.SEND_ACK,)),
    (S.REINVITE_ANSWERED, I.PHONE_REINVITE): (S.REINVITE_ANSWERED, (A.REFUSE_491,)),
    (S.REINVITED, I.ACCEPT_REINVITE): (S.REINVITE_ACCEPTED, (A.SEND_2XX,)),
    (S.REINVITED, I.REFUSE_REINVITE): (S.CONFIRMED, (A.SEND_FINAL,)),
    (S.REINVITED, I.PHONE_CANCEL): (S.CONFIRMED, (A.SEND_487,)),
    (S.REINVITED, I.PHONE_REINVITE): (S.REINVITED, (A.REFUSE_500,)),
    # leg_reinvited may still be queued when the call layer asks: "request pending".
    (S.REINVITED, I.REINVITE): (S.REINVITED, (A.REPORT_REINVITE_FAILED,)),
    (S.REINVITE_ACCEPTED, I.PHONE_ACK): (S.CONFIRMED, (A.STOP_2XX, A.REPORT_ACKNOWLEDGED_IF_WE_OFFERED)),
    (S.REINVITE_ACCEPTED, I.NO_ACK): (S.ENDING, (A.SEND_BYE, A.REPORT_ENDED)),
    (S.REINVITE_ACCEPTED, I.PHONE_REINVITE): (S.REINVITE_ACCEPTED, (A.REFUSE_500,)),
    (S.REINVITE_ACCEPTED, I.REINVITE): (S.REINVITE_ACCEPTED, (A.REPORT_REINVITE_FAILED,)),
    # The phone cancelled the re-INVITE the call layer is about to answer.
    **{(s, i): (s, ()) for s in (S.CONFIRMED, S.REINVITING, S.REINVITE_ANSWERED)
       for i in (I.ACCEPT_REINVITE, I.REFUSE_REINVITE)},
    **{(s, I.PHONE_ACK): (s, ()) for s in (S.CONFIRMED, S.REINVITING, S.REINVITE_ANSWERED, S.REINVITED)},
    **{(s, I.PHONE_REFER): (s, (A.ASK_REFER,)) for s in ESTABLISHED},
    **{(s, I.SEND_DTMF): (s, (A.SEND_DTMF_INFO,)) for s in ESTABLISHED},
    **{(s, I.REFER_PROGRESS): (s, (A.SEND_REFER_NOTIFY,)) for s in ESTABLISHED},
    **{(s, I.NOTIFY_TALK): (s, ()) for s in ESTABLISHED},  # the phone is off-hook already
    # --- established: the end, from the phone, from us, or because the phone vanished
    (S.CONFIRMED, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.REPORT_ENDED, A.FORGET)),
    (S.REINVITING, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.REPORT_ENDED, A.FORGET)),
    (S.REINVITE_ANSWERED, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.SEND_ACK, A.REPORT_ENDED, A.FORGET)),
    (S.REINVITED, I.PHONE_BYE): (S.ENDED, (A.ANSWER_200, A.SEND_487, A.REPORT_ENDED, A.FORGET)),
    (S.REINVITE_ACCEPTED, I.PHONE_BYE): (S.ENDED, (A.STOP_2XX, A.ANSWER_200, A.REPORT_ENDED, A.FORGET)),
    **{(s, i): (S.ENDING, (A.SEND_BYE, A.REPORT_ENDED)) for s in (S.CONFIRMED, S.REINVITING)
       for i in (I.HANG_UP, I.VANISHED)},
    **{(S.REINVITE_ANSWERED, i): (S.ENDING, (A.SEND_ACK, A.SEND_BYE, A.REPORT_ENDED))
       for i in (I.HANG_UP, I.VANISHED)},
    **{(S.REINVITED, i): (S.ENDING, (A.SEND_487, A.SEND_BYE, A.REPORT_ENDED)) for i in (I.HANG_UP, I.VANISHED)},
    **{(S.REINVITE_ACCEPTED, i): (S.ENDING, (A.STOP_2XX, A.SEND_BYE, A.REPORT_ENDED))
       for i in (I.HANG_UP, I.VANISHED)},
    (S.CONFIRMED, I.DIALOG_GONE): (S.ENDED, (A.REPORT_ENDED, A.FORGET)),
    (S.REINVITING, I.DIALOG_GONE): (S.ENDED, (A.REPORT_ENDED, A.FORGET)),
    (S.REINVITE_ANSWERED, I.DIALOG_GONE): (S.ENDED, (A.REPORT_ENDED, A.FORGET)),
    (S.REINVITED, I.DIALOG_GONE): (S.ENDED, (A.SEND_487, A.REPORT_ENDED, A.FORGET)),
    (S.REINVITE_ACCEPTED, I.DIALOG_GONE): (S.ENDED, (A.STOP_2XX, A.REPORT_ENDED, A.FORGET)),
    # --- the end is reported: only cleaning up is left -----------------------------
    **{(s, i): (s, ()) for s in END_REPORTED for i in CALL_LAYER_INPUTS},
    (S.CANCELLING, I.PROVISIONAL): (S.CANCELLING, ()),
    # The 2xx crossed our CANCEL: the call is up, so it is ACKed and ended at once.
    **{(S.CANCELLING, i): (S.ENDING, (A.ADOPT_DIALOG, A.SEND_ACK, A.SEND_BYE))
       for i in (I.ANSWERED, I.ANSWERED_WITH_OFFER)},
    (S.CANCELLING, I.ALL_BRANCHES_FAILED): (S.ENDED, (A.FORGET,)),
    (S.BYE_AWAITING_ACK, I.PHONE_ACK): (S.ENDING, (A.STOP_2XX, A.SEND_BYE)),
    (S.BYE_AWAITING_ACK, I.NO_ACK): (S.ENDING, (A.SEND_BYE,)),
    (S.BYE_AWAITING_ACK, I.PHONE_BYE): (S.ENDED, (A.STOP_2XX, A.ANSWER_200, A.FORGET)),
    (S.BYE_AWAITING_ACK, I.VANISHED): (S.ENDED, (A.STOP_2XX, A.FORGET)),
    (S.BYE_AWAITING_ACK, I.DIALOG_GONE): (S.ENDED, (A.STOP_2XX, A.FORGET)),
    **{(s, i): (s, (A.REFUSE_481,)) for s in (S.BYE_AWAITING_ACK, S.ENDING)
       for i in (I.PHONE_REINVITE, I.PHONE_REFER)},
    (S.ENDING, I.BYE_DONE): (S.ENDED, (A.FORGET,)),
    (S.ENDING, I.PHONE_BYE): (S.ENDING, (A.ANSWER_200,)),  # BYEs crossed
    (S.ENDING, I.PHONE_ACK): (S.ENDING, ()),
    # A 2xx to our re-INVITE that crossed our BYE, or came after the phone's, still gets its ACK.
    **{(s, i): (s, (A.SEND_ACK,)) for s in (S.ENDING, S.ENDED)
       for i in (I.REINVITE_ANSWERED, I.REINVITE_ANSWERED_WITH_OFFER)},
    **{(s, i): (s, ()) for s in (S.ENDING, S.ENDED) for i in (I.REINVITE_REFUSED, I.DIALOG_GONE, I.VANISHED)},
    (S.ENDED, I.BYE_DONE): (S.ENDED, ()),
}


def step(state: LegState, input_: LegInput) -> Row:
    """Look up one transition; raise `InvalidTransition` if the table has none."""
    try:
        return LEG_TABLE[(state, input_)]
    except KeyError:
        raise InvalidTransition("call-leg", state, input_) from None
