"""The two requests the transaction layer builds itself: the ACK for a non-2xx
response (RFC 3261 17.1.1.3) and the CANCEL of a pending INVITE (RFC 3261 9.1).

Both copy the INVITE's Request-URI, Call-ID, From, CSeq number and Route
headers, and carry exactly one Via: the INVITE's top one, so that they travel
the INVITE's path and match its transaction at the far end.  They differ in To:
the ACK takes the response's (with the peer's tag), the CANCEL the INVITE's.
"""
from __future__ import annotations

from rccserver.sip.headers import Headers
from rccserver.sip.message import Request, Response

MAX_FORWARDS = "70"  # RFC 3261 8.1.1.6


def ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 3xx-6xx `response`."""
    if not 300 <= response.status <= 699:
        raise ValueError(f"the transaction ACKs only 3xx-6xx responses, not {response.status}")
    to = response.headers.get("To")
    if to is None:
        raise ValueError("the response has no To header to copy into the ACK")
    return _like_the_invite(invite, "ACK", to)


def cancel_for(invite: Request) -> Request:
    """The CANCEL for our pending `invite` (To exactly as in the INVITE, tags included)."""
    return _like_the_invite(invite, "CANCEL", invite.headers.get("To") or "")


def _like_the_invite(invite: Request, method: str, to: str) -> Request:
    if invite.method != "INVITE":
        raise ValueError(f"an {method} is built from an INVITE, not from a {invite.method}")
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    headers.add("Max-Forwards", MAX_FORWARDS)
    for name, value in invite.headers:
        if name == "Route":  # every Route field, in order, as written
            headers.add(name, value)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} {method}")
    return Request(method, invite.uri, headers)
