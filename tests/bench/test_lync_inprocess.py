"""`python -m bench.lync_inprocess` on tiny counts, so the harness cannot rot: every
scripted call must end with each request answered 200 and no CSTA error."""
from __future__ import annotations

from bench import lync_inprocess
from testkit.deployment import BenchUser


def test_every_scripted_call_is_answered_without_error(tmp_path):
    clock, protocol, transport = lync_inprocess.build(60, tmp_path)
    users = [BenchUser(i) for i in range(60)]
    done, cpu = lync_inprocess.run_calls(clock, protocol, transport, users)
    assert done == len(users)
    assert cpu > 0


def test_a_call_with_a_refused_request_is_counted_failed(tmp_path):
    clock, protocol, transport = lync_inprocess.build(5, tmp_path)
    # user 7 has no AD entry in a 5-user deployment: its logon is refused
    done, _ = lync_inprocess.run_calls(clock, protocol, transport, [BenchUser(1), BenchUser(7)])
    assert done == 1
