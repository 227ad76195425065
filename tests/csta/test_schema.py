"""Everything we encode, and every sample request we accept, is valid against schemas/.

The schema is written for the ed3 namespace; ed4/ed5 documents are checked
against a copy whose target namespace is substituted at test time.
"""
import functools
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from rccserver.csta import ED3, Namespace, decode_document, encode, features_response, REQUESTS
from csta_strategies import ERROR_CODES, MESSAGE_CLASSES, NAMESPACES, for_class

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "schemas"
SAMPLES = pathlib.Path(__file__).parent / "samples"


@functools.cache
def schema(namespace: Namespace) -> etree.XMLSchema:
    text = (SCHEMAS / "csta-ed3.xsd").read_text(encoding="utf-8").replace(ED3.value, namespace.value)
    # base_url lets the rcc-extension.xsd import resolve next to the original file
    document = etree.fromstring(text.encode(), base_url=str(SCHEMAS / "csta-ed3.xsd"))
    return etree.XMLSchema(document)


def assert_valid(body: bytes, namespace: Namespace) -> None:
    validator = schema(namespace)
    document = etree.fromstring(body)
    assert validator.validate(document), f"{validator.error_log}\n{body.decode('utf-8', 'replace')}"


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.ELEMENT)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), namespace=NAMESPACES)
def test_every_encoded_message_is_valid(cls, data, namespace):
    assert_valid(encode(data.draw(for_class(cls)), namespace), namespace)


@settings(max_examples=40, deadline=None)
@given(code=ERROR_CODES, namespace=NAMESPACES)
def test_every_error_code_is_valid(code, namespace):
    assert_valid(encode(code, namespace), namespace)


@pytest.mark.parametrize("namespace", list(Namespace))
def test_the_full_features_response_is_valid(namespace):
    assert_valid(encode(features_response(REQUESTS), namespace), namespace)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_every_sample_request_is_valid(path):
    body = path.read_bytes()
    _, namespace = decode_document(body)
    assert_valid(body, namespace)


def test_schema_refuses_what_the_codec_refuses():
    """The schema is not vacuous: a too-long device and an unknown cause fail validation."""
    ns = ED3.value
    long_device = f'<MakeCall xmlns="{ns}"><callingDevice>{"x" * 257}</callingDevice>' \
                  f"<calledDirectoryNumber>1</calledDirectoryNumber></MakeCall>"
    bad_cause = f'<HeldEvent xmlns="{ns}"><monitorCrossRefID>m</monitorCrossRefID><heldConnection>' \
                "<callID>c</callID></heldConnection><holdingDevice><notKnown/></holdingDevice>" \
                "<cause>weather</cause></HeldEvent>"
    for body in (long_device, bad_cause):
        assert not schema(ED3).validate(etree.fromstring(body.encode()))
