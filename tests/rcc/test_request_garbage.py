"""A request, a call and a session end leave no reference cycle behind.

What refcounting cannot free waits for the cyclic collector, and a full collection walks
every live object: with tens of thousands of signed-in sessions that is a stall of a
tenth of a second or more (docs/performance.md, run 9). Each served request used to leave
one cycle (its server transaction and the IncomingRequest naming it), and each ended
session another (RccSession and its Dialog). This drives the whole core (endpoint, RCC
application, switch, log, metrics) through Lync-shaped calls and a refused logon with the
collector off, then asks it what it would have had to find."""
from __future__ import annotations

import pytest

from bench import lync_inprocess
from rccserver.server import rcclog
from testkit.deployment import BenchUser

from tests.cycle_probe import cyclic_garbage


@pytest.fixture
def core(tmp_path):
    clock, protocol, transport, runtime = lync_inprocess.build(40, tmp_path)
    yield clock, protocol, transport
    rcclog.stop_rcc_log(runtime.log_observer)


def test_calls_and_sign_outs_leave_no_cycle(core):
    clock, protocol, transport = core
    lync_inprocess.run_calls(clock, protocol, transport, [BenchUser(0)])  # first-use caches filled

    def calls() -> None:
        done, _ = lync_inprocess.run_calls(clock, protocol, transport, [BenchUser(i) for i in range(1, 21)])
        assert done == 20
        clock.advance(64)  # past Timer L and every other transaction timer: all of them ended

    assert cyclic_garbage(calls) == []


def test_a_refused_logon_leaves_no_cycle(core):
    clock, protocol, transport = core

    def refused() -> None:
        # user 77 has no directory entry in a 40-user deployment
        done, _ = lync_inprocess.run_calls(clock, protocol, transport, [BenchUser(77), BenchUser(78)])
        assert done == 0
        clock.advance(64)

    assert cyclic_garbage(refused) == []


def test_the_probe_finds_a_cycle(core):
    """The check above can fail: a cycle made of our objects is reported."""
    from rccserver.sip.transaction import ServerTransaction

    def cycle() -> None:
        tx = ServerTransaction("server-non-invite", None, None, 1, None)
        tx.incoming = tx

    assert cyclic_garbage(cycle) == ["rccserver.sip.transaction.ServerTransaction"]
