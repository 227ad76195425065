"""The templated encoder (csta.templates, used by encode) against the general walk of the layout.

Byte-identical output for every message class in every edition, over generated values
including characters that need escaping; and the same CstaEncodeError/TypeError for
values that cannot be sent.
"""
import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rccserver.csta import (
    ED3, NOT_KNOWN, ConnectionID, CstaEncodeError, DeliveredEvent, MakeCall, SnapshotDeviceResponse, encode,
)
from rccserver.csta.codec import encode_by_layout
from rccserver.csta.layout import layout_of
from csta_strategies import ERROR_CODES, MESSAGE_CLASSES, NAMESPACES, XML_CHARACTERS, for_class

# Values a caller might wrongly put in any field: each must fail as the general encoder fails.
ODD_VALUES = st.one_of(
    st.sampled_from(["", "x" * 300, "a\x00b", "\ud800", "\ufffe", "bell\x07", 7, True, 1.5, b"bytes", (),
                     NOT_KNOWN, ConnectionID(call_id="c1"), frozenset({"makeCall"}), frozenset({"nope"}),
                     "notAToken", "-1", -1, 10**9]),
    st.text(XML_CHARACTERS, max_size=5),
)


def outcome(encoder, message, namespace):
    try:
        return encoder(message, namespace)
    except (CstaEncodeError, TypeError) as error:
        return type(error), str(error)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), namespace=NAMESPACES)
def test_templated_encode_equals_general_encode(cls, data, namespace):
    message = data.draw(for_class(cls))
    assert encode(message, namespace) == encode_by_layout(message, namespace)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), namespace=NAMESPACES, odd=ODD_VALUES)
def test_odd_values_fail_alike(cls, data, namespace, odd):
    message = data.draw(for_class(cls))
    fields = layout_of(cls).fields
    if not fields:
        return
    name = data.draw(st.sampled_from([field.name for field in fields]))
    try:
        message = attrs.evolve(message, **{name: odd})
    except (TypeError, ValueError):
        return  # a converter refused it already
    assert outcome(encode, message, namespace) == outcome(encode_by_layout, message, namespace)


@settings(max_examples=60, deadline=None)
@given(code=ERROR_CODES, namespace=NAMESPACES)
def test_error_codes(code, namespace):
    assert encode(code, namespace) == encode_by_layout(code, namespace)
    assert encode(code, namespace) is encode(code, namespace)  # remembered, not rebuilt


def test_escaping_in_every_position():
    line = "tel:+1&<>\r\"'"
    event = DeliveredEvent(monitor_cross_ref_id="m&1", connection=ConnectionID(call_id="c<7", device_id=line),
                           alerting_device=line, calling_device="tel:>2", called_device=NOT_KNOWN)
    body = encode(event, ED3)
    assert body == encode_by_layout(event, ED3)
    assert b"<callID>c&lt;7</callID>" in body and b"tel:+1&amp;&lt;&gt;&#13;\"'" in body


def test_not_a_message_and_bad_namespace():
    with pytest.raises(TypeError):
        encode(object(), ED3)
    with pytest.raises(CstaEncodeError):
        encode(MakeCall(calling_device="a", called_directory_number="b"), "urn:other")
    with pytest.raises(CstaEncodeError):
        encode(SnapshotDeviceResponse(calls=("not a record",)), ED3)
