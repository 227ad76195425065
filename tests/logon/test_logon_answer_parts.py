"""What an accepted logon reuses: the RequestSystemStatusResponse body encoded once per
namespace is the codec's own encoding, and session ids drawn in bulk stay 16 random hex
digits, all different."""
from __future__ import annotations

import re

import pytest

from rccserver import csta
from rccserver.rcc.application import LogonAnswers, SessionIds


@pytest.mark.parametrize("namespace", list(csta.Namespace))
def test_cached_logon_answer_is_the_codec_encoding(namespace):
    answers = LogonAnswers()
    expected = csta.encode(csta.RequestSystemStatusResponse(system_status="normal"), namespace)
    assert answers.body(namespace) == expected
    assert answers.body(namespace) == expected  # from the cache the second time
    assert isinstance(csta.decode(answers.body(namespace)), csta.RequestSystemStatusResponse)


def test_session_ids_are_hex_and_unique_across_draws():
    ids = SessionIds()
    drawn = [ids.next() for _ in range(3 * SessionIds._IDS_PER_DRAW + 5)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in drawn)
    assert len(set(drawn)) == len(drawn)
    assert len(set(SessionIds().next() for _ in range(50))) == 50  # a fresh generator draws afresh
