"""What the B2BUA does to SDP: a new origin per leg, directions, nothing else."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rccserver.stations.sdp import (
    DIRECTIONS,
    Origin,
    SdpError,
    answer_direction,
    direction_of,
    media_of,
    restamp,
    with_direction,
)

PHONE = (
    b"v=0\r\no=- 3912 3912 IN IP4 127.0.0.1\r\ns=baresip\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 10000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\nm=video 10002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
)


def test_restamp_replaces_only_the_origin_and_counts_versions():
    origin = Origin(session_id=77, address="rcc.example.com")
    first = restamp(PHONE, origin)
    second = restamp(PHONE, origin)
    assert first.splitlines()[1] == b"o=rccserver 77 1 IN IP4 rcc.example.com"
    assert second.splitlines()[1] == b"o=rccserver 77 2 IN IP4 rcc.example.com"
    assert [l for l in first.splitlines() if not l.startswith(b"o=")] == [
        l for l in PHONE.splitlines() if not l.startswith(b"o=")
    ]


def test_an_ipv6_origin_says_ip6():
    assert b"IN IP6 ::1" in restamp(PHONE, Origin(1, "::1"))


def test_direction_of_reads_the_first_media_section_then_the_session():
    assert direction_of(PHONE) == "sendrecv"
    assert direction_of(PHONE.replace(b"a=sendrecv", b"a=sendonly")) == "sendonly"
    session_level = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\na=inactive\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"
    assert direction_of(session_level) == "inactive"
    assert direction_of(b"v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n") == "sendrecv"


def test_with_direction_sets_every_media_section_and_drops_the_others():
    held = with_direction(PHONE, "inactive")
    lines = held.decode().split("\r\n")
    assert lines.count("a=inactive") == 2 and "a=sendrecv" not in lines
    audio, video = lines.index("m=audio 10000 RTP/AVP 0 8 101"), lines.index("m=video 10002 RTP/AVP 96")
    assert audio < lines.index("a=inactive") < video
    assert direction_of(held) == "inactive"
    assert media_of(held) == media_of(PHONE)


def test_answer_directions_mirror_the_offer():
    assert [answer_direction(d) for d in DIRECTIONS] == ["sendrecv", "recvonly", "sendonly", "inactive"]


@pytest.mark.parametrize("body", [b"", b"hello", b"v=0\r\ns=-\r\n", b"\xff\xfe"])
def test_what_is_not_sdp_is_refused(body):
    with pytest.raises(SdpError):
        restamp(body, Origin(1, "h"))


@given(st.sampled_from(DIRECTIONS), st.sampled_from(DIRECTIONS))
def test_setting_a_direction_is_idempotent_and_keeps_the_media(first, second):
    once = with_direction(with_direction(PHONE, first), second)
    assert direction_of(once) == second
    assert with_direction(once, second) == once
    assert media_of(once) == media_of(PHONE)
