"""REFER from a phone (RFC 3515, RFC 3891 Replaces, RFC 4488 Refer-Sub) and the NOTIFYs it earns.

`read_refer` turns the REFER into what the call layer needs: the number to
transfer to (the user part of a SIP Refer-To, the number of a tel: one) and,
for an attended transfer, the dialog to take over, from the `Replaces` header
embedded in the Refer-To URI (tags exactly as written there).  Anything we
cannot act on raises `ReferError`, answered with 400.

The implicit subscription is reported on with NOTIFY `message/sipfrag`
bodies (`SIP/2.0 180 Ringing`, then a final status that terminates it).  A
phone that sent `Refer-Sub: false` asked for none, and gets none.
"""
from __future__ import annotations

from urllib.parse import unquote

import attrs

from rccserver.sip.errors import SipParseError
from rccserver.sip.message import Request, reason_phrase
from rccserver.sip.uri import SipUri, TelUri, parse_name_addr
from rccserver.stations.legs import Replaces

SUBSCRIPTION_EXPIRES = 60  # seconds the implicit subscription is said to last while the transfer runs


class ReferError(ValueError):
    """A REFER we cannot act on; the text says why."""


@attrs.frozen
class ReferRequest:
    target: str
    replaces: Replaces | None
    subscription: bool  # False: the phone sent Refer-Sub: false


def read_refer(request: Request) -> ReferRequest:
    values = request.headers.get_all("Refer-To")
    if len(values) != 1:
        raise ReferError("exactly one Refer-To is needed")
    try:
        uri = parse_name_addr(values[0]).uri
    except SipParseError:
        raise ReferError("unreadable Refer-To") from None
    if isinstance(uri, SipUri) and uri.user:
        target = unquote(uri.user, errors="surrogateescape")
        replaces = _replaces_in(uri)
    elif isinstance(uri, TelUri):
        target, replaces = uri.number, None
    else:
        raise ReferError("Refer-To names no number")
    refer_sub = (request.headers.get("Refer-Sub") or "true").strip(" \t").lower()
    return ReferRequest(target, replaces, subscription=refer_sub != "false")


def _replaces_in(uri: SipUri) -> Replaces | None:
    values = [value for name, value in uri.headers if name.lower() == "replaces"]
    if not values:
        return None
    if len(values) > 1:
        raise ReferError("more than one Replaces in Refer-To")
    call_id, *params = unquote(values[0], errors="surrogateescape").split(";")
    tags = {}
    for param in params:
        name, _, value = param.partition("=")
        tags[name.strip().lower()] = value.strip()
    to_tag, from_tag = tags.get("to-tag"), tags.get("from-tag")
    if not call_id.strip() or not to_tag or not from_tag:
        raise ReferError("Replaces needs a Call-ID, to-tag and from-tag")
    return Replaces(call_id=call_id.strip(), to_tag=to_tag, from_tag=from_tag)


def sipfrag_notify(refer_cseq: int, status: int) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of the NOTIFY that reports `status` on the REFER with CSeq `refer_cseq`."""
    if status < 200:
        state = f"active;expires={SUBSCRIPTION_EXPIRES}"
    else:
        state = "terminated;reason=noresource"
    headers = [
        ("Event", f"refer;id={refer_cseq}"),
        ("Subscription-State", state),
        ("Content-Type", "message/sipfrag;version=2.0"),
    ]
    return headers, f"SIP/2.0 {status} {reason_phrase(status)}\r\n".encode("ascii")
