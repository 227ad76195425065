"""Wire fuzzing of the real server over TCP and TLS: the small profile of the default run.

Each transport gets its own server (subprocess). Batches of mutated Lync-shaped
messages (testkit/mutator.py) are sent on short-lived connections while
a reference session (bob, monitoring) lives on another; after every batch the
invariants of testkit.wirefuzz.run_batch are checked (alive, reference served
and evented, OPTIONS answered, no session or station leaked). The long profile
is `python -m bench.fuzz_wire --count 1000000`.
"""
from __future__ import annotations

import pytest

from testkit.mutator import DialogIds, seeds
from testkit.wirefuzz import (
    FUZZ_LINE, FUZZ_USER, ReferenceSession, expected_state, rss_kib, run_batch, split_stream_answers,
    start_fuzz_server,
)

BATCHES = 4
BATCH_SIZE = 500
# Generous: the server holds caches and Python's allocator keeps arenas; a leak
# proportional to the inputs would show as tens of MiB per thousand.
RSS_GROWTH_LIMIT_KIB = 48 * 1024


@pytest.fixture(scope="module", params=["tcp", "tls"])
def fuzz_server(request, tmp_path_factory):
    fs = start_fuzz_server(tmp_path_factory.mktemp(f"fuzz-{request.param}"), request.param)
    reference = ReferenceSession(fs)
    yield fs, reference
    reference.close()
    assert fs.server.stop() == 0, fs.server.stderr_path.read_text(errors="replace")[-3000:]


@pytest.mark.timeout(240)
def test_mutated_lync_messages_leave_the_server_healthy(fuzz_server):
    fs, reference = fuzz_server
    reference.check()
    rss_start = rss_kib(fs.pid)
    results = [run_batch(fs, reference, seed=8, start=batch * BATCH_SIZE, count=BATCH_SIZE, per_connection=5)
               for batch in range(BATCHES)]
    assert sum(r.stats.inputs for r in results) == BATCHES * BATCH_SIZE
    assert reference.checks == BATCHES + 1
    # The inputs reached the server's parser, dialogs and CSTA services, not just a closed socket.
    responses = {}
    for result in results:
        for status, count in result.stats.responses.items():
            responses[status] = responses.get(status, 0) + count
    assert responses.get(200, 0) > 50 and responses.get(400, 0) > 50, responses
    growth = rss_kib(fs.pid) - rss_start
    assert growth < RSS_GROWTH_LIMIT_KIB, f"RSS grew by {growth} KiB over {BATCHES * BATCH_SIZE} inputs"


@pytest.mark.timeout(180)
def test_split_at_every_offset_is_answered_the_same(fuzz_server):
    fs, reference = fuzz_server

    def two_options(local):
        ids = DialogIds(user=FUZZ_USER, line=FUZZ_LINE, call_id="split", from_tag="s", to_tag="",
                        host=local[0], port=local[1], transport=fs.transport.upper())
        options = seeds(ids)["OPTIONS"]
        return options + b"\r\n\r\n" + options.replace(b"CSeq: 1 OPTIONS", b"CSeq: 2 OPTIONS")

    assert split_stream_answers(fs, two_options, expect=2) == []
    assert expected_state(fs) is None
    reference.check()
