"""Bad bodies give one exception, CstaDecodeError, with the precise CSTAErrorCode to answer."""
import pytest

from rccserver.csta import (
    ED3, CstaDecodeError, CstaEncodeError, ErrorCode, MakeCall, MonitorStartResponse, decode, encode,
)

NS = ED3.value


def error_of(body: bytes) -> ErrorCode:
    with pytest.raises(CstaDecodeError) as caught:
        decode(body)
    return caught.value.error_code


def make_call(calling: str = "tel:+1", extra: str = "") -> bytes:
    return (f'<MakeCall xmlns="{NS}"><callingDevice>{calling}</callingDevice>'
            f"<calledDirectoryNumber>tel:+2</calledDirectoryNumber>{extra}</MakeCall>").encode()


@pytest.mark.parametrize("body", [b"", b"   \r\n", b"<", b"<MakeCall", b"not xml at all",
                                  b"<a></b>", f'<MakeCall xmlns="{NS}">&undefined;</MakeCall>'.encode()])
def test_empty_or_malformed_is_operation_generic(body):
    assert error_of(body) == ErrorCode("operation", "generic")


def test_unknown_root_in_a_csta_namespace_is_invalid_feature():
    assert error_of(f'<ParkCall xmlns="{NS}"/>'.encode()) == ErrorCode("operation", "invalidFeature")


@pytest.mark.parametrize("root", ['<MakeCall xmlns="urn:other"/>', "<MakeCall/>",
                                  '<MakeCall xmlns="http://www.ecmainternational.org/standards/ecma-323/csta/ed3"/>',
                                  '<MakeCall xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed6"/>'])
def test_root_outside_the_accepted_namespaces_is_refused(root):
    with pytest.raises(CstaDecodeError, match="namespace"):
        decode(root.encode())


def test_device_identifier_longer_than_256_characters():
    assert decode(make_call("x" * 256)).calling_device == "x" * 256
    assert error_of(make_call("x" * 257)) == ErrorCode("operation", "invalidDeviceIdentifier")


def test_missing_and_empty_device():
    assert error_of(f'<MakeCall xmlns="{NS}"><calledDirectoryNumber>1</calledDirectoryNumber></MakeCall>'
                    .encode()) == ErrorCode("operation", "invalidDeviceIdentifier")
    assert error_of(make_call("")) == ErrorCode("operation", "invalidDeviceIdentifier")


def test_bad_enumerated_value_is_value_out_of_range():
    assert error_of(make_call(extra="<autoOriginate>maybe</autoOriginate>")) == \
        ErrorCode("operation", "valueOutOfRange")
    body = (f'<SetForwarding xmlns="{NS}"><device>d</device><activateForward>yes</activateForward>'
            "</SetForwarding>").encode()
    assert error_of(body) == ErrorCode("operation", "valueOutOfRange")
    body = (f'<SetForwarding xmlns="{NS}"><device>d</device><activateForward>1</activateForward>'
            "<ringCount>1000</ringCount></SetForwarding>").encode()
    assert error_of(body) == ErrorCode("operation", "valueOutOfRange")


def test_empty_connection_identifier():
    body = f'<HoldCall xmlns="{NS}"><callToBeHeld/></HoldCall>'.encode()
    assert error_of(body) == ErrorCode("operation", "invalidConnectionIdentifier")
    body = f'<HoldCall xmlns="{NS}"></HoldCall>'.encode()
    assert error_of(body) == ErrorCode("operation", "invalidConnectionIdentifier")


def test_missing_cross_ref_id():
    assert error_of(f'<MonitorStop xmlns="{NS}"/>'.encode()) == ErrorCode("operation", "invalidCrossRefID")


def test_duplicate_child_is_refused():
    body = make_call(extra="<callingDevice>tel:+3</callingDevice>")
    assert error_of(body) == ErrorCode("operation", "generic")


def test_unknown_children_are_skipped_and_children_match_by_local_name():
    body = (f'<c:MakeCall xmlns:c="{NS}" xmlns:x="urn:x"><x:callingDevice>tel:+1</x:callingDevice>'
            "<c:calledDirectoryNumber>tel:+2</c:calledDirectoryNumber><futureThing><a/></futureThing>"
            "</c:MakeCall>").encode()
    assert decode(body) == MakeCall(calling_device="tel:+1", called_directory_number="tel:+2")


def test_element_where_text_is_expected():
    assert error_of(make_call("<x>tel:+1</x>")) == ErrorCode("operation", "generic")


def test_other_encodings_are_refused():
    body = f'<?xml version="1.0" encoding="UTF-16"?><MakeCall xmlns="{NS}"/>'.encode()
    assert error_of(body) == ErrorCode("operation", "generic")
    assert error_of(f'<MonitorStop xmlns="{NS}"/>'.encode("utf-16")) == ErrorCode("operation", "generic")


def test_error_code_document_with_unknown_value():
    body = f'<CSTAErrorCode xmlns="{NS}"><operation>whatever</operation></CSTAErrorCode>'.encode()
    assert error_of(body) == ErrorCode("operation", "generic")


def test_decode_error_names_the_problem():
    with pytest.raises(CstaDecodeError) as caught:
        decode(make_call("x" * 300))
    assert "callingDevice" in caught.value.reason and "256" in caught.value.reason


def test_decode_takes_bytes_only():
    with pytest.raises(TypeError):
        decode("<MakeCall/>")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "a\x00b", "a\x1fb", "x" * 257, 5])
def test_encode_refuses_values_that_cannot_be_sent(value):
    with pytest.raises(CstaEncodeError):
        encode(MonitorStartResponse(monitor_cross_ref_id=value), ED3)


def test_encode_refuses_unknown_enum_values_and_non_messages():
    with pytest.raises(CstaEncodeError):
        encode(MakeCall(calling_device="a", called_directory_number="b", auto_originate="later"), ED3)
    with pytest.raises(TypeError):
        encode(object(), ED3)
    with pytest.raises(CstaEncodeError):
        encode(MonitorStartResponse(monitor_cross_ref_id="m"), "urn:other")  # type: ignore[arg-type]
