"""`python -m bench.lync_inprocess` on tiny counts, so the harness cannot rot: every
scripted call must end with each request answered 200 and no CSTA error."""
from __future__ import annotations

import pytest

from bench import lync_inprocess
from rccserver.server import rcclog
from testkit.deployment import BenchUser


@pytest.fixture
def build(tmp_path):
    """lync_inprocess.build, its RCCServer log stopped after the test."""
    runtimes = []

    def make(users: int):
        clock, protocol, transport, runtime = lync_inprocess.build(users, tmp_path)
        runtimes.append(runtime)
        return clock, protocol, transport

    yield make
    for runtime in runtimes:
        rcclog.stop_rcc_log(runtime.log_observer)


def test_every_scripted_call_is_answered_without_error(build):
    clock, protocol, transport = build(60)
    users = [BenchUser(i) for i in range(60)]
    done, cpu = lync_inprocess.run_calls(clock, protocol, transport, users)
    assert done == len(users)
    assert cpu > 0


def test_a_call_with_a_refused_request_is_counted_failed(build):
    clock, protocol, transport = build(5)
    # user 7 has no AD entry in a 5-user deployment: its logon is refused
    done, _ = lync_inprocess.run_calls(clock, protocol, transport, [BenchUser(1), BenchUser(7)])
    assert done == 1
