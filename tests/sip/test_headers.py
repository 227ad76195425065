"""Header names (compact forms, canonical case) and the ordered case-insensitive header list."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from rccserver.sip import headers as headers_module
from rccserver.sip.headers import COMPACT_FORMS, Headers, canonical_name


@pytest.mark.parametrize("raw, canonical", [
    ("i", "Call-ID"), ("I", "Call-ID"), ("call-id", "Call-ID"), ("CALL-ID", "Call-ID"),
    ("cseq", "CSeq"), ("www-authenticate", "WWW-Authenticate"), ("v", "Via"), ("VIA", "Via"),
    ("l", "Content-Length"), ("x", "Session-Expires"), ("min-se", "Min-SE"),
    ("newfangledheader", "Newfangledheader"), ("x-my-header", "X-My-Header"),
    ("ms-client-diagnostics", "ms-client-diagnostics"), ("MS-Diagnostics", "ms-diagnostics"),
    ("p-asserted-identity", "P-Asserted-Identity"), ("rack", "RAck"),
])
def test_canonical_name(raw, canonical):
    assert canonical_name(raw) == canonical


# The compact forms of IANA's SIP header field registry, with the RFC that assigned each.
IANA_COMPACT_FORMS = {
    "a": "Accept-Contact",  # RFC 3841
    "b": "Referred-By",  # RFC 3892
    "c": "Content-Type",  # RFC 3261
    "d": "Request-Disposition",  # RFC 3841
    "e": "Content-Encoding",  # RFC 3261
    "f": "From",  # RFC 3261
    "i": "Call-ID",  # RFC 3261
    "j": "Reject-Contact",  # RFC 3841
    "k": "Supported",  # RFC 3261
    "l": "Content-Length",  # RFC 3261
    "m": "Contact",  # RFC 3261
    "n": "Identity-Info",  # RFC 4474
    "o": "Event",  # RFC 6665
    "r": "Refer-To",  # RFC 3515
    "s": "Subject",  # RFC 3261
    "t": "To",  # RFC 3261
    "u": "Allow-Events",  # RFC 6665
    "v": "Via",  # RFC 3261
    "x": "Session-Expires",  # RFC 4028
    "y": "Identity",  # RFC 8224
}


def test_every_compact_form_of_the_registry_expands():
    assert COMPACT_FORMS == IANA_COMPACT_FORMS
    for short, long in IANA_COMPACT_FORMS.items():
        assert canonical_name(short) == long == canonical_name(short.upper())
        assert canonical_name(long.lower()) == long


@pytest.mark.parametrize("letter", sorted(set("abcdefghijklmnopqrstuvwxyz") - set(IANA_COMPACT_FORMS)))
def test_a_letter_that_is_no_compact_form_stays_itself(letter):
    assert canonical_name(letter) == letter.upper()


def test_lookups_are_case_insensitive_and_ordered():
    h = Headers([("v", "SIP/2.0/TCP a"), ("Call-ID", "x"), ("VIA", "SIP/2.0/TCP b, SIP/2.0/TCP c")])
    assert list(h) == [("Via", "SIP/2.0/TCP a"), ("Call-ID", "x"), ("Via", "SIP/2.0/TCP b, SIP/2.0/TCP c")]
    assert h.get("via") == "SIP/2.0/TCP a"
    assert h.get("i") == "x"
    assert h.get_all("Via") == ["SIP/2.0/TCP a", "SIP/2.0/TCP b", "SIP/2.0/TCP c"]
    assert "call-id" in h and "I" in h and "To" not in h and 5 not in h
    assert h.get("To") is None and h.get("To", "dflt") == "dflt"
    assert len(h) == 3


def test_names_looked_up_without_canonicalising_are_canonical():
    # Headers.get/get_all take these spellings as they are: that is only right if each
    # is its own canonical name.
    for name in headers_module._ALREADY_CANONICAL:
        assert canonical_name(name) == name
        assert canonical_name(name.lower()) == name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(headers_module._WELL_KNOWN) + sorted(COMPACT_FORMS) + ["X-Foo", "ms-bar"]),
                          st.text("abc", max_size=3)), max_size=8),
       st.sampled_from(sorted(headers_module._WELL_KNOWN) + sorted(COMPACT_FORMS) + ["x-foo", "MS-Bar", "Nope"]))
def test_get_by_any_spelling_equals_a_scan_by_canonical_name(items, name):
    h = Headers(items)
    wanted = canonical_name(name)
    values = [value for item_name, value in h if item_name == wanted]
    for spelling in (name, name.lower(), name.upper()):
        assert h.get(spelling) == (values[0] if values else None)
        assert h.get_all(spelling) == h.get_all(wanted)


def test_list_headers_split_others_not():
    h = Headers([
        ("Allow", "INVITE, ACK,BYE"), ("Supported", "timer"), ("k", "100rel"),
        ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
        ("WWW-Authenticate", 'Digest realm="a,b", nonce="x"'),
        ("Contact", '"Doe, J" <sip:j@x>, <sip:k@y;a=1,2>'),
        ("Record-Route", "<sip:p1;lr>, <sip:p2;lr>"), ("Record-Route", "<sip:p3;lr>"),
        ("Subject", "a, b"),
    ])
    assert h.get_all("Allow") == ["INVITE", "ACK", "BYE"]
    assert h.get_all("Supported") == ["timer", "100rel"]
    assert h.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert h.get_all("WWW-Authenticate") == ['Digest realm="a,b", nonce="x"']
    assert h.get_all("Contact") == ['"Doe, J" <sip:j@x>', "<sip:k@y;a=1,2>"]
    assert h.get_all("Record-Route") == ["<sip:p1;lr>", "<sip:p2;lr>", "<sip:p3;lr>"]
    assert h.get_all("Subject") == ["a, b"]


def test_set_replaces_all_keeping_first_position():
    h = Headers([("Route", "<sip:a>"), ("To", "t"), ("Route", "<sip:b>"), ("From", "f")])
    h.set("route", "<sip:c>")
    assert list(h) == [("Route", "<sip:c>"), ("To", "t"), ("From", "f")]
    h.set("Call-ID", "new")
    assert list(h)[-1] == ("Call-ID", "new")


def test_add_prepend_remove_copy():
    h = Headers()
    h.add("Via", "SIP/2.0/TCP b")
    h.prepend("v", "SIP/2.0/TCP a")
    assert h.get_all("Via") == ["SIP/2.0/TCP a", "SIP/2.0/TCP b"]
    clone = h.copy()
    h.remove("VIA")
    assert len(h) == 0 and len(clone) == 2
    h.remove("Via")  # absent: no error
    assert clone.items() == [("Via", "SIP/2.0/TCP a"), ("Via", "SIP/2.0/TCP b")]
    assert clone == Headers(clone.items()) and clone != h


def test_iteration_is_a_snapshot():
    h = Headers([("A", "1"), ("B", "2")])
    for name, _ in h:
        h.remove(name)
    assert len(h) == 0


@pytest.mark.parametrize("name, value", [
    ("Subject", "a\r\nVia: injected"), ("Subject", "a\nb"), ("Bad Name", "x"), ("", "x"), ("A:B", "x"),
])
def test_injection_refused(name, value):
    with pytest.raises(ValueError):
        Headers().add(name, value)
    with pytest.raises(ValueError):
        Headers().set(name, value)


def test_non_string_value_refused():
    with pytest.raises(TypeError):
        Headers().add("Max-Forwards", 70)


names = st.sampled_from(["Via", "v", "To", "t", "Route", "X-A", "x-a", "Subject", "Call-ID", "i"])


@settings(deadline=None)
@given(st.lists(st.tuples(names, s.tokens), max_size=12), names, s.tokens)
def test_set_then_get_model(items, name, value):
    h = Headers(items)
    before = [item for item in h if item[0] != canonical_name(name)]
    h.set(name, value)
    assert h.get(name) == value
    assert [item for item in h if item[0] != canonical_name(name)] == before
    assert sum(1 for item in h if item[0] == canonical_name(name)) == 1


def test_replace_first_changes_one_field_where_it_stands():
    from rccserver.sip.headers import Headers

    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("To", "<sip:x@y>"), ("Via", "SIP/2.0/UDP b")])
    headers.replace_first("v", "SIP/2.0/UDP a;branch=z9hG4bK1;received=10.0.0.1")
    assert headers.items() == [("Via", "SIP/2.0/UDP a;branch=z9hG4bK1;received=10.0.0.1"), ("To", "<sip:x@y>"),
                               ("Via", "SIP/2.0/UDP b")]
    with pytest.raises(KeyError):
        headers.replace_first("Route", "<sip:r>")
    with pytest.raises(ValueError):
        headers.replace_first("Via", "bad\r\nvalue")


# --- the first values the parser hands over (`Headers._first`) ----------------------

_NAMES = st.sampled_from(["Via", "From", "To", "Call-ID", "CSeq", "v", "f", "Content-Length", "X-Foo", "Contact"])
_VALUES = st.text(alphabet="abc;=<>@ ", max_size=8)
_EDITS = st.lists(
    st.tuples(st.sampled_from(["add", "extend", "prepend", "set", "replace_first", "remove"]), _NAMES, _VALUES),
    max_size=6,
)
_PARSED = (
    b"INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h1;branch=z9hG4bK1\r\nVia: SIP/2.0/TCP h2\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INFO\r\n"
    b"Contact: <sip:a@h1>\r\nContent-Length: 0\r\n\r\n"
)


def _scan(items, name):
    """`get` as a linear scan of the items (what the collected first values must agree with)."""
    wanted = canonical_name(name)
    return next((value for item_name, value in items if item_name == wanted), None)


@given(_EDITS)
def test_get_on_a_parsed_message_agrees_with_a_scan_after_any_edits(edits):
    from rccserver.sip.parser import parse_message

    headers = parse_message(_PARSED).headers
    assert headers._first is not None  # the fast path handed its first values over
    for op, name, value in edits:
        if op == "extend":
            headers.extend([(name, value), ("To", value)])
        elif op == "replace_first":
            if name in headers:
                headers.replace_first(name, value)
        elif op == "remove":
            headers.remove(name)
        else:
            getattr(headers, op)(name, value)
        for probe in ("Via", "From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards", "Contact", "Route"):
            expected = _scan(headers.items(), probe)
            assert headers.get(probe) == expected
            assert headers.get(probe, "-") == ("-" if expected is None else expected)


def test_fields_reads_what_iteration_reads_without_a_copy():
    headers = Headers([("v", "SIP/2.0/TCP a;branch=z9hG4bK1"), ("From", "<sip:a@b>"), ("X-Foo", "1")])
    assert list(headers.fields()) == list(headers) == headers.items()
    assert headers.fields() is headers.fields()
    headers.add("To", "<sip:c@d>")
    assert list(headers.fields()) == list(headers)
