"""The plain-shape decoder (csta.fast_decode) against the general one (lxml + layouts).

Whatever decode_plain accepts, decode_parsed must accept with the same message and
namespace; whatever the general decoder refuses, decode_plain must leave to it (None).
And it must actually take Lync's usual bodies, or the fast path is dead code.
"""
import pathlib
import random
import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from bench.fuzz_csta import mutate, seed_corpus
from rccserver.csta import REQUESTS, CstaDecodeError, Namespace, decode_document, encode
from rccserver.csta.codec import decode_parsed
from rccserver.csta.fast_decode import _HEAD, _HEADS, _REFUSED, _SHAPES, decode_plain
from csta_strategies import NAMESPACES, XML_CHARACTERS, for_class
from testkit.messages import csta_requests, get_csta_features, request_system_status, snapshot_device

SAMPLES = pathlib.Path(__file__).parent / "samples"
PLAIN_CLASSES = sorted((cls for cls in REQUESTS if (cls.ELEMENT, False) in _SHAPES), key=lambda c: c.ELEMENT)
FREQUENT = {"SnapshotDevice", "MakeCall", "ClearConnection", "MonitorStart", "GetCSTAFeatures",
            "RequestSystemStatus", "AnswerCall", "HoldCall", "RetrieveCall"}
PLAIN_TEXT = re.compile("[\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*")
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def general(body: bytes):
    try:
        return decode_parsed(body)
    except CstaDecodeError as error:
        return error.error_code


def assert_agrees(body: bytes):
    """decode_plain(body) is None or what the general decoder gives; returns it."""
    fast = decode_plain(body)
    if fast is not None:
        assert fast == general(body), body
    return fast


def strings_of(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in strings_of(item)]
    if hasattr(value, "__attrs_attrs__"):
        return [s for a in value.__attrs_attrs__ for s in strings_of(getattr(value, a.name))]
    return []


def serialisations(body: bytes) -> list[bytes]:
    """The encoder's own text, Lync's declaration, none, and an indented form."""
    text = body.decode("utf-8")
    assert text.startswith(DECLARATION)
    bare = text[len(DECLARATION):]
    indented = etree.tostring(etree.fromstring(body), pretty_print=True, encoding="unicode")
    return [body, f'<?xml version="1.0"?>{bare}'.encode(), bare.encode(), f"{bare}\r\n".encode(),
            indented.encode(), f'<?xml version="1.0"?>\r\n{indented}'.encode()]


def test_frequent_requests_have_a_plain_shape():
    assert FREQUENT <= {cls.ELEMENT for cls in PLAIN_CLASSES}


@pytest.mark.parametrize("cls", PLAIN_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), namespace=NAMESPACES)
def test_plain_decode_equals_general_decode(cls, data, namespace):
    message = data.draw(for_class(cls))
    plain_values = all(PLAIN_TEXT.fullmatch(s) for s in strings_of(message))
    for body in serialisations(encode(message, namespace)):
        fast = assert_agrees(body)
        if plain_values:  # ASCII without markup: the fast path must take it
            assert fast is not None, body


@pytest.mark.parametrize("cls", PLAIN_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), namespace=NAMESPACES, seed=st.integers(0, 2**32 - 1))
def test_mutated_plain_bodies(cls, data, namespace, seed):
    """Byte and tree mutations of a body the fast path takes: it agrees or steps aside."""
    body = encode(data.draw(for_class(cls)), namespace)
    assert_agrees(mutate(body, random.Random(seed), [body]))


MARKUP = st.sampled_from(["<", ">", "&", "&amp;", "&#13;", "&#x41;", "]]>", "\r", "\r\n", "\n", "\t", " ",
                          "/", "\"", "'", "=", "lcs:", ":", "\x00", "\x7f", "\u00e9", "<!-- x -->", "<?pi?>",
                          "<![CDATA[x]]>", "<x/>", 'a="b"', "xmlns=\"urn:x\"", "\ufeff", "9" * 300])


@settings(max_examples=2000, deadline=None)
@given(which=st.integers(0, 10**6), at=st.integers(0, 10**6), cut=st.integers(0, 3),
       insert=st.one_of(MARKUP, st.text(XML_CHARACTERS, max_size=3)))
@example(which=0, at=0, cut=0, insert=" ")
def test_markup_spliced_into_lync_bodies(which, at, cut, insert):
    bodies = [body.encode() for body in csta_requests("tel:+13175551010").values()]
    bodies += [snapshot_device("tel:+1001"), get_csta_features(), request_system_status("tel:+1")]
    body = bodies[which % len(bodies)]
    at %= len(body) + 1
    assert_agrees(body[:at] + insert.encode("utf-8", "surrogatepass") + body[at + cut:])


def test_what_lync_sends_takes_the_fast_path():
    for body in csta_requests("tel:+13175551010").values():
        assert assert_agrees(body.encode()) is not None, body
    for namespace in Namespace:
        for body in csta_requests("tel:73124;phone-context=dialstring", namespace.value).values():
            assert assert_agrees(body.encode()) is not None, body
    for body in (snapshot_device("tel:+1001"), get_csta_features(), request_system_status("tel:+1")):
        assert assert_agrees(body) is not None


def test_samples_and_fuzz_seeds():
    taken = 0
    for body in [path.read_bytes() for path in sorted(SAMPLES.glob("*.xml"))] + seed_corpus():
        taken += assert_agrees(body) is not None
    assert taken > 50


@pytest.mark.parametrize("body", [
    b'<SnapshotDevice xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<snapshotObject></snapshotObject></SnapshotDevice>",
    b'<ClearConnection xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<connectionToBeCleared></connectionToBeCleared></ClearConnection>",
    b'<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed6">'
    b"<callingDevice>a</callingDevice><calledDirectoryNumber>b</calledDirectoryNumber></MakeCall>",
    b'<GetCSTAFeatures xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<extensions><privateData><private><lcs:line>tel:+1</lcs:line></private></privateData></extensions>"
    b"</GetCSTAFeatures>",
    b'<SetForwarding xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><device>a</device>'
    b"<activateForward>true</activateForward><ringCount>101</ringCount></SetForwarding>",
    b' <?xml version="1.0"?><SnapshotDevice xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<snapshotObject>a</snapshotObject></SnapshotDevice>",
], ids=["empty value", "empty connection", "unknown edition", "unbound prefix", "ring count out of range",
        "space before the declaration"])
def test_refusals_are_left_to_the_general_decoder(body):
    assert decode_plain(body) is None
    with pytest.raises(CstaDecodeError):
        decode_document(body)


def _plan_message(shape, groups):
    """What the plan walk (the reference) makes of a shape's groups: the message or _REFUSED."""
    values = shape.plan_build(groups)
    if values is _REFUSED:
        return _REFUSED
    try:
        return shape.cls(**values)
    except (CstaDecodeError, ValueError, TypeError):
        return _REFUSED


def test_every_plain_shape_has_a_generated_build():
    assert all(hasattr(shape.build, "source") for shape in _SHAPES.values())


@pytest.mark.parametrize("cls", PLAIN_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), namespace=NAMESPACES, seed=st.integers(0, 2**32 - 1), mutated=st.booleans())
def test_generated_build_equals_the_plan_walk(cls, data, namespace, seed, mutated):
    """The generated build function of a shape gives what the plan walk gives, on the groups
    of generated (and mutated) bodies: the same message, or both refuse."""
    body = encode(data.draw(for_class(cls)), namespace)
    if mutated:
        body = mutate(body, random.Random(seed), [body])
    for text in serialisations(body) if not mutated else [body]:
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            continue
        head = _HEAD.match(text)
        if head is None:
            continue
        element, _, lcs = head.groups()
        for lcs_declared in (lcs is not None,):
            shape = _SHAPES.get((element, lcs_declared))
            matched = shape.pattern.fullmatch(text, head.end()) if shape is not None else None
            if matched is None:
                continue
            groups = matched.groups()
            try:
                built = shape.build(groups)
            except (CstaDecodeError, ValueError, TypeError):
                built = _REFUSED
            expected = _plan_message(shape, groups)
            assert built == expected, text
            if expected is not _REFUSED:  # filled slot by slot (fast_decode._construct): the same record
                assert type(built) is type(expected) and repr(built) == repr(expected), text
                assert hash(built) == hash(expected), text


def test_records_filled_slot_by_slot_stay_frozen_and_checked():
    """The generated builds of Lync's MakeCall and ClearConnection fill the attrs slots
    directly: the messages are still immutable, and ConnectionID's own check still runs;
    a class whose __init__ does more than store (a validator) is called as usual."""
    import attrs

    from rccserver.csta.devices import ConnectionID, DeviceAbsence
    from rccserver.common.records import stores_only as _stores_only

    assert _stores_only(ConnectionID) and not _stores_only(DeviceAbsence)
    make_call = decode_plain(
        '<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        "<callingDevice>tel:+1</callingDevice><calledDirectoryNumber>tel:+2</calledDirectoryNumber>"
        "</MakeCall>".encode())[0]
    clear = decode_plain(
        '<ClearConnection xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        "<connectionToBeCleared><callID>c1</callID><deviceID>tel:+1</deviceID></connectionToBeCleared>"
        "</ClearConnection>".encode())[0]
    assert make_call.auto_originate is None and "build_MakeCall" in _SHAPES[("MakeCall", False)].build.source
    assert clear.connection_to_be_cleared == ConnectionID(call_id="c1", device_id="tel:+1")
    for message, name in ((make_call, "calling_device"), (clear, "connection_to_be_cleared"),
                          (clear.connection_to_be_cleared, "call_id")):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(message, name, "x")
    with pytest.raises(ValueError):  # the post-init check is called on the directly filled record
        build = _SHAPES[("ClearConnection", False)].build
        build(("", None, "", None))  # groups no pattern yields: both elements there, neither value


def test_the_head_cache_changes_nothing_and_stays_bounded(monkeypatch):
    """A known head is looked up, not matched again: the same answer from a cold and a warm
    cache; heads that lead to no shape are not kept, and the cache never grows past its limit."""
    bodies = [body.encode() for body in csta_requests("tel:+13175551010").values()]
    bodies += [snapshot_device("tel:+1001"), get_csta_features(), request_system_status("tel:+1")]
    bodies += [b"<?xml", b"<?xml?>", b">", b"/>", b"<MakeCall/>", b'<MakeCall xmlns="a>b"/>',
               b'<?xml version="1.0"?>\n<GetCSTAFeatures xmlns="http://www.ecma-international.org/standards/'
               b'ecma-323/csta/ed3"/>']
    _HEADS.clear()
    cold = [decode_plain(body) for body in bodies]
    warm = [decode_plain(body) for body in bodies]
    assert cold == warm and cold[0] is not None and cold[-1] is not None
    assert all(cold[i] is None for i in range(len(bodies) - 7, len(bodies) - 1))
    for body in bodies:
        assert_agrees(body)
    monkeypatch.setattr("rccserver.csta.fast_decode._HEADS_LIMIT", 3)
    _HEADS.clear()
    for i in range(10):
        bare = bodies[0][bodies[0].index(b"?>") + 2:]
        assert decode_plain(b"<?xml version=\"1.0\"?>" + b" " * i + bare) is not None
        assert len(_HEADS) <= 3
