"""DirectoryReloader: loads in a thread, swaps on success, keeps the old cache on failure."""
from __future__ import annotations

import threading

import attrs
import pytest
from twisted.internet.defer import Deferred
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from rccserver.directory import DirectoryCache, DirectoryError, DirectoryUser
from rccserver.server.reloader import DirectoryReloader, ReloadOutcome, load_directory


def user(name: str) -> DirectoryUser:
    return DirectoryUser(sip_uri=f"sip:{name}@example.com", sam_account_name=name, domain_account=f"X\\{name}",
                         line=None, line_server=None, enabled=True, display_name=None, dn=f"CN={name}")


class InlineReactor:
    """Runs 'thread pool' work at once on the caller's thread: the reloader's logic without threads."""

    def getThreadPool(self):
        return self

    def callInThreadWithCallback(self, on_result, function, *args, **kwargs):
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - handed to the Deferred, exactly as the real pool does
            on_result(False, Failure(error))
        else:
            on_result(True, result)

    def callFromThread(self, function, *args, **kwargs):
        function(*args, **kwargs)


def fired(deferred: Deferred):
    results = []
    deferred.addBoth(results.append)
    assert results, "the Deferred did not fire"
    return results[0]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def test_success_swaps_and_reports_the_diff():
    old = DirectoryCache([user("alice"), user("bob")])
    new = DirectoryCache([user("alice"), user("carol")])
    reloader = DirectoryReloader("config", reactor=InlineReactor(), initial=old, load=lambda config: new,
                                 clock=Clock())
    outcome = fired(reloader.reload())
    assert isinstance(outcome, ReloadOutcome)
    assert (outcome.ok, outcome.error, outcome.users, outcome.elapsed) == (True, None, 2, 0.25)
    assert outcome.diff.added == ("sip:carol@example.com",) and outcome.diff.removed == ("sip:bob@example.com",)
    assert reloader.current is new


@pytest.mark.parametrize("error", [DirectoryError("dir.ldif:3: expected 'attribute: value'"),
                                   PermissionError(13, "Permission denied")])
def test_expected_failure_keeps_the_old_cache(error):
    old = DirectoryCache([user("alice")])

    def load(config):
        raise error

    reloader = DirectoryReloader("config", reactor=InlineReactor(), initial=old, load=load, clock=Clock())
    outcome = fired(reloader.reload())
    assert (outcome.ok, outcome.diff, outcome.users) == (False, None, 1)
    assert str(error) in outcome.error or error.strerror in outcome.error
    assert reloader.current is old


def test_a_bug_in_the_loader_is_not_swallowed():
    reloader = DirectoryReloader("config", reactor=InlineReactor(), initial=DirectoryCache([]),
                                 load=lambda config: 1 / 0)
    result = fired(reloader.reload())
    assert result.check(ZeroDivisionError)


def test_load_directory_reads_the_configured_ldif(tmp_path):
    path = tmp_path / "d.ldif"
    path.write_text("dn: CN=a\nsAMAccountName: a\nmsRTCSIP-PrimaryUserAddress: sip:a@x\n")
    config = attrs.make_class("C", ["source", "ldif_file", "netbios_domain"])("ldif", str(path), "CORP")
    cache = load_directory(config)
    assert cache.lookup("sip:a@x").domain_account == "CORP\\a"


def test_the_load_runs_off_the_reactor_thread():
    """With a real reactor (our own, not the global one): it keeps turning while a load is blocked."""
    reactor = SelectReactor()

    release = threading.Event()
    load_thread = []
    new = DirectoryCache([user("bob")])

    def slow_load(config):
        load_thread.append(threading.current_thread())
        assert release.wait(10), "the test never released the load"
        return new

    reloader = DirectoryReloader("config", reactor=reactor, initial=DirectoryCache([]), load=slow_load)
    outcomes = []
    ticks = []

    def tick():
        # The reactor is free while the load waits: count turns, then let the load finish.
        ticks.append(len(ticks))
        if len(ticks) == 3:
            release.set()
        elif len(ticks) < 3:
            deferLater(reactor, 0.01, tick)

    def done(outcome):
        outcomes.append(outcome)
        reactor.stop()

    def start():
        reloader.reload().addBoth(done)
        tick()

    reactor.callWhenRunning(start)
    reactor.callLater(15, reactor.stop)  # bounded: the test fails below rather than hangs
    reactor.run(installSignalHandlers=False)
    assert len(ticks) == 3
    assert load_thread and load_thread[0] is not threading.main_thread()
    assert outcomes and outcomes[0].ok and reloader.current is new
