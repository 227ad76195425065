"""StreamFramer: Content-Length framing over TCP/TLS, keep-alives, limits, broken streams."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testkit.messages import lync_info, sipe_invite
from rccserver.sip.framer import FramedMessage, FramingError, KeepAlive, StreamFramer
from rccserver.sip.parser import SipParseError, parse_message

NO_LENGTH = b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/tcp h\r\nCSeq: 1 ACK\r\n\r\n"
COMPACT = b"INFO sip:a@b SIP/2.0\r\nl  :\r\n  5\r\nCSeq: 2 INFO\r\n\r\nhello"
MESSAGES = [lync_info(), sipe_invite(), NO_LENGTH, COMPACT, lync_info(body=b"", cseq=4)]


def stream_of(parts):
    return b"".join(parts)


def feed_all(chunks, **limits):
    framer = StreamFramer(**limits)
    events = []
    for chunk in chunks:
        events += framer.feed(chunk)
    return framer, events


def test_messages_and_keepalives_in_one_read():
    data = stream_of([MESSAGES[0], b"\r\n\r\n", MESSAGES[1], b"\r\n", MESSAGES[2], MESSAGES[3]])
    framer, events = feed_all([data])
    assert events == [FramedMessage(MESSAGES[0]), KeepAlive(b"\r\n\r\n"), FramedMessage(MESSAGES[1]),
                      FramedMessage(MESSAGES[2]), FramedMessage(MESSAGES[3])]
    assert framer.buffered == 0 and not framer.failed
    assert parse_message(events[0].data).body == parse_message(MESSAGES[0]).body


def test_byte_by_byte():
    data = stream_of(MESSAGES)
    framer, events = feed_all([data[i:i + 1] for i in range(len(data))])
    assert events == [FramedMessage(m) for m in MESSAGES]


def test_split_at_every_offset_equals_unsplit():
    data = stream_of([b"\r\n\r\n", MESSAGES[0], b"\r\n\r\n\r\n", MESSAGES[3], b"\r\n", MESSAGES[1], b"\r\n\r\n"])
    _, expected = feed_all([data])
    assert len(expected) == 6
    for offset in range(len(data) + 1):
        _, events = feed_all([data[:offset], data[offset:]])
        assert events == expected, offset


def test_missing_content_length_means_empty_body():
    _, events = feed_all([NO_LENGTH + b"body?"])
    assert events == [FramedMessage(NO_LENGTH)]


def test_folded_compact_content_length():
    _, events = feed_all([COMPACT + b"next"])
    assert events == [FramedMessage(COMPACT)]


def test_pong_is_swallowed_and_partial_ping_waits():
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == [] and framer.buffered == 2
    assert framer.feed(b"\r") == []
    assert framer.feed(b"\n") == [KeepAlive(b"\r\n\r\n")]
    assert framer.feed(b"\r\nINFO") == [] and framer.buffered == 4


@pytest.mark.parametrize("head, words", [
    (b"INFO sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", ["bad Content-Length", "-1"]),
    (b"INFO sip:a@b SIP/2.0\r\nContent-Length: ten\r\n\r\n", ["bad Content-Length"]),
    (b"INFO sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\n", ["bad Content-Length"]),
    (b"INFO sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n", ["multiple Content-Length"]),
    (b"INFO sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n", ["Message too large"]),
    (b"INFO sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n", ["Message too large"]),
])
def test_bad_content_length_kills_the_stream_with_head(head, words):
    framer = StreamFramer()
    events = framer.feed(head + b"xx")
    assert len(events) == 1 and isinstance(events[0], FramingError)
    error = events[0]
    assert error.status == 400 and error.head == head
    for word in words:
        assert word in error.reason
    assert framer.failed and framer.buffered == 0
    assert framer.feed(MESSAGES[0]) == []


def test_oversized_body_refused_before_it_is_buffered():
    framer = StreamFramer(max_message_size=1000)
    head = b"INFO sip:a@b SIP/2.0\r\nContent-Length: 990\r\n\r\n"
    events = framer.feed(head)  # no body byte sent yet
    assert [type(e) for e in events] == [FramingError] and events[0].head == head


def test_message_exactly_at_the_limit_passes():
    message = lync_info()
    _, events = feed_all([message], max_message_size=len(message))
    assert events == [FramedMessage(message)]
    _, events = feed_all([message], max_message_size=len(message) - 1)
    assert isinstance(events[0], FramingError)


def test_endless_header_section_refused_without_head():
    framer = StreamFramer(max_message_size=2000)
    events = []
    for _ in range(30):
        events += framer.feed(b"X-Filler: " + b"a" * 90 + b"\r\n")
    assert len(events) == 1 and events[0].head == b"" and "Message too large" in events[0].reason


def test_too_many_header_lines():
    head = b"INFO sip:a@b SIP/2.0\r\n" + b"X: 1\r\n" * 11 + b"\r\n"
    _, events = feed_all([head], max_header_count=10)
    assert isinstance(events[0], FramingError) and "too many header lines" in events[0].reason
    _, events = feed_all([head], max_header_count=11)
    assert events == [FramedMessage(head)]


def test_head_of_a_framing_error_lets_the_endpoint_answer():
    head = (b"INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
            b"To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INFO\r\nContent-Length: -5\r\n\r\n")
    error = StreamFramer().feed(head)[0]
    with pytest.raises(SipParseError) as info:
        parse_message(error.head)
    assert "negative Content-Length" in info.value.reason and info.value.partial is not None


def test_scan_offset_keeps_trickled_headers_linear():
    # White-box: the search for CRLFCRLF resumes where it stopped instead of rescanning.
    framer = StreamFramer()
    message = lync_info()
    head_end = message.index(b"\r\n\r\n") + 3
    for i in range(head_end):
        assert framer.feed(message[i:i + 1]) == []
        assert framer._scan >= framer._pos + max(0, i - 3)
    assert framer.feed(message[head_end:]) == [FramedMessage(message)]


def test_invalid_limits():
    with pytest.raises(ValueError):
        StreamFramer(max_message_size=0)


pieces = st.sampled_from(MESSAGES + [b"\r\n\r\n", b"\r\n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=8), st.data())
def test_any_chunking_equals_unsplit(parts, data):
    stream = b"".join(parts)
    _, expected = feed_all([stream])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)])]
    framer, events = feed_all(chunks)
    assert events == expected
    messages = [p for p in parts if p not in (b"\r\n\r\n", b"\r\n")]
    assert [e.data for e in events if isinstance(e, FramedMessage)] == messages


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 50))
def test_garbage_never_crashes(data, step):
    framer = StreamFramer(max_message_size=256)
    for i in range(0, len(data), step):
        for event in framer.feed(data[i:i + step]):
            assert isinstance(event, (FramedMessage, KeepAlive, FramingError))
    assert framer.buffered <= 256 + step


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=4).filter(lambda b: b"\r\n" not in b and not b.endswith(b"\r")),
                max_size=14),
       st.integers(1, 6), st.sampled_from([b"", b"\r", b"\n", b"\r\r"]))
def test_the_header_line_limit_as_counted(lines, limit, stray):
    """The framer counts CRLFs only in header sections long enough to pass the limit;
    whatever the lines' lengths, it refuses exactly when the count exceeds the limit."""
    head = b"I" + stray + b"\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\n"
    events = StreamFramer(max_header_count=limit).feed(head)
    end = head.find(b"\r\n\r\n") + 4
    too_many = head[:end].count(b"\r\n") - 2 > limit
    assert len(events) >= 1
    assert (isinstance(events[0], FramingError) and "too many header lines" in events[0].reason) == too_many
    if not too_many:
        assert events[0] == FramedMessage(head[:end])


def test_framed_messages_are_the_attrs_events_they_stand_for():
    # The framer fills FramedMessage's slot directly: it must still be the frozen attrs value.
    import attrs

    assert all(f.validator is None and f.converter is None for f in attrs.fields(FramedMessage))
    data = lync_info()
    (event,) = StreamFramer().feed(data)
    assert type(event) is FramedMessage and event == FramedMessage(data)
    assert hash(event) == hash(FramedMessage(data)) and repr(event) == repr(FramedMessage(data))
    with pytest.raises(AttributeError):
        event.data = b""
