"""ChildReloader: the data is loaded in another process; a child that fails, crashes or hangs
fails the reload cleanly and the data in force stays."""
from __future__ import annotations

import gc
import os
import sys

import attrs
import pytest
from twisted.internet.selectreactor import SelectReactor

from rccserver.cic.data import load_cic_data
from rccserver.directory.ldif import load_ldif
from rccserver.server.config import DirectoryConfig
from rccserver.server.reloader import ChildReloader
from tests.reload.reload_support import lync_entry

CIC = ('[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n\n'
       "[[users]]\nid = \"Alice\"\nnt_domain_user = 'EXAMPLE\\alice'\nextension = \"8001\"\nclient_license = true\n\n"
       "[[stations]]\nname = \"Desk1001\"\nextension = \"1001\"\nidentification_address = \"tel:+1001\"\n")


@attrs.frozen
class Snapshot:
    directory: object
    cic: object

    def __len__(self) -> int:
        return len(self.directory)


@attrs.frozen
class Config:
    directory: DirectoryConfig
    cic: object


def deployment(tmp_path):
    ldif, cic = tmp_path / "d.ldif", tmp_path / "cic.toml"
    ldif.write_text("\n".join([lync_entry("alice", "tel:+1001"), lync_entry("bob", "tel:+1002")]))
    cic.write_text(CIC)
    directory = DirectoryConfig(source="ldif", ldif_file=str(ldif), netbios_domain="EXAMPLE", url=None, bind_dn=None,
                                password_file=None, search_dn=None, search_filter="", page_size=1000,
                                start_tls=False, ca_file=None, timeout=5.0)
    config = Config(directory, attrs.make_class("Cic", ["data_file"])(str(cic)))
    initial = Snapshot(load_ldif(ldif, "EXAMPLE"), load_cic_data(cic))
    return config, initial, ldif, cic


def run_reload(reloader: ChildReloader, reactor: SelectReactor):
    outcomes = []

    def start():
        reloader.reload().addBoth(outcomes.append).addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.callLater(60, reactor.stop)  # bounded: the test fails below rather than hangs
    reactor.run(installSignalHandlers=True)
    assert outcomes, "the reload never finished"
    return outcomes[0]


def test_the_data_is_loaded_in_another_process_and_swapped(tmp_path):
    config, initial, ldif, cic = deployment(tmp_path)
    ldif.write_text("\n".join([lync_entry("alice", "tel:+1001", display="Alice Renamed"),
                               lync_entry("carol", "tel:+1003")]))
    cic.write_text(CIC + "\n[[stations]]\nname = \"Desk1003\"\nextension = \"1003\"\n")
    reactor = SelectReactor()
    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot)
    outcome = run_reload(reloader, reactor)
    assert outcome.ok, outcome.error
    assert outcome.worker_pid is not None and outcome.worker_pid != os.getpid()
    assert (outcome.diff.added, outcome.diff.removed, outcome.diff.changed) == (
        ("sip:carol@example.com",), ("sip:bob@example.com",), ("sip:alice@example.com",))
    assert outcome.users == 2
    current = reloader.current
    assert current is not initial
    assert current.directory.lookup("SIP:Carol@example.com").domain_account == "EXAMPLE\\carol"
    assert current.directory.lookup("sip:alice@example.com").display_name == "Alice Renamed"
    assert "sip:bob@example.com" not in current.directory
    assert [s.extension for s in current.cic.stations] == ["1001", "1003"]
    assert current.cic.station_for_line("tel:+1001").name == "Desk1001"
    assert current.cic.users_by_domain_account("example\\ALICE")[0].id == "Alice"
    assert current.cic.has_feature("I3_FEATURE_LYNC")
    # The next reload diffs against the data now in force: nothing changed.
    reloader.reactor = SelectReactor()
    again = run_reload(reloader, reloader.reactor)
    assert again.ok and again.diff.empty and again.worker_pid != outcome.worker_pid


def test_an_expected_load_error_keeps_the_old_data(tmp_path):
    config, initial, ldif, cic = deployment(tmp_path)
    ldif.write_text("dn: CN=x\nthis is no attribute line\n")
    reactor = SelectReactor()
    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot)
    outcome = run_reload(reloader, reactor)
    assert not outcome.ok and outcome.diff is None and outcome.users == 2
    assert f"{ldif}:2:" in outcome.error
    assert reloader.current is initial


@pytest.mark.parametrize("code, expected", [
    ("import os; os._exit(3)", "the reload process exited with code 3 without an answer"),
    ("raise SystemExit('worker blew up')", "without an answer: worker blew up"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by signal 9"),
])
def test_a_child_that_crashes_fails_the_reload_and_keeps_the_old_data(tmp_path, code, expected):
    config, initial, _, _ = deployment(tmp_path)
    reactor = SelectReactor()
    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot,
                             command=[sys.executable, "-c", code])
    outcome = run_reload(reloader, reactor)
    assert not outcome.ok and outcome.diff is None and outcome.users == 2
    assert expected in outcome.error and "the data in force is kept" in outcome.error
    assert reloader.current is initial


def test_a_child_that_hangs_is_killed_after_the_timeout(tmp_path):
    config, initial, _, _ = deployment(tmp_path)
    reactor = SelectReactor()
    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot, timeout=0.5,
                             command=[sys.executable, "-c", "import time; time.sleep(120)"])
    outcome = run_reload(reloader, reactor)
    assert not outcome.ok and outcome.users == 2
    assert "did not finish within 0.5 s (killed)" in outcome.error
    assert reloader.current is initial


def test_prepare_runs_in_turns_before_the_swap_with_the_old_data_in_force(tmp_path):
    config, initial, ldif, _ = deployment(tmp_path)
    ldif.write_text(lync_entry("carol", "tel:+1003"))
    reactor = SelectReactor()
    seen = []

    def prepare(new):
        for _ in range(3):
            seen.append((reloader.current is initial, "sip:carol@example.com" in new.directory))
            yield
        return "worked out"

    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot, prepare=prepare)
    outcome = run_reload(reloader, reactor)
    assert outcome.ok and outcome.prepared == "worked out"
    assert seen == [(True, True)] * 3
    assert "sip:carol@example.com" in reloader.current.directory


def test_a_prepare_that_fails_keeps_the_old_data(tmp_path):
    config, initial, ldif, _ = deployment(tmp_path)
    ldif.write_text(lync_entry("carol", "tel:+1003"))
    reactor = SelectReactor()

    def prepare(new):
        yield
        raise RuntimeError("cannot compare")

    reloader = ChildReloader(config, reactor=reactor, initial=initial, snapshot=Snapshot, prepare=prepare)
    outcome = run_reload(reloader, reactor)
    assert outcome.check(RuntimeError)
    assert reloader.current is initial
    assert gc.isenabled()


def test_the_child_loads_at_a_lower_priority_than_the_server():
    import subprocess

    from rccserver.server import reload_worker

    code = "import os; from rccserver.server import reload_worker as w; w.lower_priority(); print(os.nice(0))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(shown) == min(19, os.nice(0) + reload_worker.NICENESS)
