"""Our answers are written straight out (`_response_bytes`): to requests whose To already
has a tag (every request in a dialog), and to the others with our To tag added and, for
the 2xx that creates a dialog, the Record-Route copied. They must be byte for byte
`make_response(...).to_bytes()`, and anything else goes the general way."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from rccserver.common.clock import Scheduler
from rccserver.sip.endpoint import Endpoint
from rccserver.sip.message import Request, make_response
from rccserver.sip.parser import parse_message

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1, max_size=10)
label = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
header_value = st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                       max_size=24).map(str.strip)
VIA_NAMES = ("Via", "v", "VIA")
FROM_NAMES = ("From", "f")
TO_NAMES = ("To", "t")
CALL_ID_NAMES = ("Call-ID", "i", "call-id")
TO_DISPLAYS = ("", '"RCC" ', 'RCC ')
TO_PARAMS = ("", ";epid=7", ';x="a;tag=b"', ";TAG=up")


@st.composite
def answerable_requests(draw) -> Request:
    method = draw(st.sampled_from(["INFO", "BYE", "UPDATE", "OPTIONS", "INVITE"]))
    vias = [f"{draw(st.sampled_from(VIA_NAMES))}: SIP/2.0/{draw(st.sampled_from(['TCP', 'TLS']))} "
            f"{draw(label)}.example.com:{draw(st.integers(1, 65535))};branch=z9hG4bK{draw(token)}"
            for _ in range(draw(st.integers(1, 3)))]
    display = draw(st.sampled_from(["", '"Alice" ', '"A \\"quoted\\" one" ']))
    fields = [
        *vias,
        f"{draw(st.sampled_from(FROM_NAMES))}: {display}<sip:alice@example.com>;tag={draw(token)};epid=1",
        f"{draw(st.sampled_from(TO_NAMES))}: {draw(st.sampled_from(TO_DISPLAYS))}<sip:rcc@rcc.example.com>"
        f"{draw(st.sampled_from(TO_PARAMS))}"
        + (f";tag={draw(token)}" if draw(st.booleans()) else ""),
        f"{draw(st.sampled_from(CALL_ID_NAMES))}: {draw(token)}@{draw(token)}",
        f"CSeq: {draw(st.integers(1, 2**31 - 1))} {method}",
        "Max-Forwards: 70",
    ]
    for _ in range(draw(st.integers(0, 2))):
        fields.append(f"{draw(st.sampled_from(['Record-Route', 'record-route']))}: <sip:{draw(label)}.example.com:5061;transport=tls;lr>")
    fields += [f"X-Extra-{n}: {value}" for n, value in enumerate(draw(st.lists(header_value, max_size=2)))]
    order = draw(st.permutations(range(len(fields))))
    vias_in_order = [fields[i] for i in range(len(vias))]
    ordered = [fields[i] for i in order if i >= len(vias)]
    at = draw(st.integers(0, len(ordered)))
    ordered[at:at] = vias_in_order  # the Vias stay together and in order
    body = draw(st.binary(max_size=40))
    head = f"{method} sip:rcc@rcc.example.com SIP/2.0\r\n" + "\r\n".join(ordered) + f"\r\nContent-Length: {len(body)}\r\n\r\n"
    message = parse_message(head.encode() + body)
    assert isinstance(message, Request)
    return message


def endpoint() -> Endpoint:
    return Endpoint(object(), domain_name="rcc.example.com", scheduler=Scheduler(lambda: 0.0),  # type: ignore[arg-type]
                    user_agent="rccserver/1.0 (test)")


def general(ep: Endpoint, request, status, reason, headers, body, to_tag=None, copy_record_route=False) -> bytes:
    return make_response(request, status, reason, to_tag=to_tag, headers=[*headers, ("Server", ep.user_agent)],
                         body=body, copy_record_route=copy_record_route).to_bytes()


@settings(max_examples=300, deadline=None)
@given(
    request=answerable_requests(),
    status=st.sampled_from([100, 180, 200, 202, 400, 415, 481, 487, 500, 501, 599, 606, 699]),
    reason=st.none() | header_value.filter(bool),
    headers=st.lists(st.tuples(st.sampled_from(["Content-Type", "c", "Accept", "Supported", "Allow", "X-A"]),
                               header_value), max_size=3).map(tuple),
    body=st.binary(max_size=40),
    to_tag=st.none() | token,
    copy_record_route=st.booleans(),
)
def test_the_written_response_is_make_responses_byte_for_byte(request, status, reason, headers, body, to_tag,
                                                               copy_record_route):
    ep = endpoint()
    for _ in range(2):  # the second time from the remembered fields
        assert ep._response_bytes(request, status, reason, headers, body, to_tag, copy_record_route) == \
            general(ep, request, status, reason, headers, body, to_tag, copy_record_route)


REQUEST = parse_message(
    b"INFO sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TLS fe1:5061;branch=z9hG4bKa\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:rcc@rcc.example.com>;tag=2\r\nCall-ID: c\r\n"
    b"CSeq: 3 INFO\r\nContent-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize("status, reason, headers, body", [
    (200, None, (("Content-Length", "5"),), b"abc"),  # the serializer puts it in place
    (200, "OK\r\nX: y", (), b""),  # make_response refuses it
    (200, None, (["Content-Type", "a/b"],), b""),  # not pairs of a tuple
    (700, None, (), b""),
    (200, None, (), "text"),
])
def test_what_the_fast_path_does_not_take_is_left_to_make_response(status, reason, headers, body):
    assert endpoint()._response_bytes(REQUEST, status, reason, headers, body, None, False) is None


def test_a_bad_field_from_the_application_fails_as_make_response_does():
    with pytest.raises(ValueError, match="must not contain CR or LF"):
        endpoint()._response_bytes(REQUEST, 200, None, (("X-Bad", "a\nb"),), b"", "t1", True)
    with pytest.raises(ValueError, match="must not contain CR or LF"):
        make_response(REQUEST, 200, headers=[("X-Bad", "a\nb")])
