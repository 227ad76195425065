"""Reload of a running server (SPEC section 2): `rccserver -reload`, SIGHUP and POST /api/reload.

A reload replaces the AD cache and the CIC data without dropping sessions and
prints what changed; a broken file leaves the old data in force (exit 1).
"""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from testkit.testbed import write_testbed
from tests.reload.reload_support import (
    cic_with_zoe, ldif_with, lync_entry, logon_status, outcome, reload_cli, run_cli, sign_in, wait_log, wait_outcome,
)


@pytest.fixture
def server(tmp_path):
    process = write_testbed(tmp_path).start()
    yield process
    assert process.stop() == 0


def change_data(server) -> None:
    """zoe added (with a CIC user and station), frank removed, bob's display name changed."""
    (server.workdir / "directory.ldif").write_text(ldif_with(
        drop=("frank",), add=(lync_entry("zoe", "tel:+1008"),),
        replace={"displayName: Bob Example": "displayName: Robert Example"}))
    (server.workdir / "cic.toml").write_text(cic_with_zoe())


def test_reload_prints_what_changed_and_exits_0(server):
    assert logon_status(server, "sip:zoe@example.com", "tel:+1008")[0] == 404
    change_data(server)
    done = reload_cli(server)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "reloaded: 9 directory users, 1 added, 1 removed, 1 changed"
    assert "  added: sip:zoe@example.com" in lines
    assert "  removed: sip:frank@example.com" in lines
    assert "  changed: sip:bob@example.com" in lines
    # The new data is in force: zoe signs in, frank is gone.
    assert logon_status(server, "sip:zoe@example.com", "tel:+1008") == (200, None)
    status, warning = logon_status(server, "sip:frank@example.com", "tel:+1005")
    assert status == 404 and "Cs_UserNotInDirectory" in warning
    wait_log(server, "INFO", " reload ", "added=1", "removed=1", "changed=1")


def test_reload_without_changes(server):
    done = reload_cli(server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["reloaded: 9 directory users, 0 added, 0 removed, 0 changed"]


def test_broken_ldif_fails_with_the_error_and_keeps_the_old_cache(server):
    broken = ldif_with(add=(lync_entry("zoe", "tel:+1008"),)) + "\nthis line has no colon\n"
    number = len(broken.splitlines())
    (server.workdir / "directory.ldif").write_text(broken)
    done = reload_cli(server)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert f"directory.ldif:{number}:" in output
    assert "reload failed" in output and "stays in force" in output
    # The old cache is still in force: alice signs in, zoe (only in the broken file) does not.
    assert logon_status(server, "sip:alice@example.com", "tel:+1001") == (200, None)
    assert logon_status(server, "sip:zoe@example.com", "tel:+1008")[0] == 404
    wait_log(server, "ERROR", "reload-failed", f"directory.ldif:{number}:")


def test_broken_cic_data_fails_and_keeps_both_old_files_in_force(server):
    (server.workdir / "directory.ldif").write_text(ldif_with(drop=("alice",)))
    (server.workdir / "cic.toml").write_text(cic_with_zoe() + '\n[[stations]]\nname = "X"\nextension = "1001"\n')
    done = reload_cli(server)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "cic.toml:" in output and "duplicate station extension" in output
    # Neither half of the reload took effect: alice (removed from the new LDIF) still signs in.
    assert logon_status(server, "sip:alice@example.com", "tel:+1001") == (200, None)


def test_reload_with_no_server_running(tmp_path):
    process = write_testbed(tmp_path)  # written, never started
    done = run_cli("-reload", "--config", str(process.config_path), "--timeout", "5", cwd=tmp_path)
    assert done.returncode == 1
    assert "no rccserver running" in done.stderr


def test_reload_with_a_stale_pid_file(tmp_path):
    process = write_testbed(tmp_path)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # its pid now names no process (a server that died without removing its pid file)
    (tmp_path / "rccserver.pid").write_text(f"{finished.pid}\n")
    done = run_cli("-reload", "--config", str(process.config_path), "--timeout", "5", cwd=tmp_path)
    assert done.returncode == 1 and "no rccserver running" in done.stderr


def test_reload_spelled_as_a_subcommand(server):
    done = run_cli("reload", "--config", str(server.config_path), "--timeout", "30", cwd=server.workdir)
    assert done.returncode == 0 and done.stdout.startswith("reloaded: ")


def test_sighup_reloads(server):
    before = (outcome(server) or {}).get("seq", 0)
    change_data(server)
    server.process.send_signal(signal.SIGHUP)
    result = wait_outcome(server, before)
    assert result["ok"] is True
    assert (result["added"], result["removed"], result["changed"]) == (
        ["sip:zoe@example.com"], ["sip:frank@example.com"], ["sip:bob@example.com"])
    assert logon_status(server, "sip:zoe@example.com", "tel:+1008") == (200, None)
    wait_log(server, " reload ", "added=1")


def test_sighup_with_a_broken_file(server):
    before = (outcome(server) or {}).get("seq", 0)
    (server.workdir / "directory.ldif").write_text("dn: CN=x\nbroken\n")
    server.process.send_signal(signal.SIGHUP)
    result = wait_outcome(server, before)
    assert result["ok"] is False and "directory.ldif:2:" in result["error"]
    assert logon_status(server, "sip:alice@example.com", "tel:+1001") == (200, None)


def test_api_reload(server):
    change_data(server)
    status, body = server.admin("POST", "/api/reload")
    assert status == 200, body
    assert body["ok"] is True
    assert (body["added"], body["removed"], body["changed"]) == (
        ["sip:zoe@example.com"], ["sip:frank@example.com"], ["sip:bob@example.com"])
    assert body["users"] == 9
    assert logon_status(server, "sip:zoe@example.com", "tel:+1008") == (200, None)


def test_api_reload_failure_names_the_error(server):
    (server.workdir / "cic.toml").write_text("[[users]]\nid = \n")
    status, body = server.admin("POST", "/api/reload")
    assert body["ok"] is False and "cic.toml:2" in body["error"], (status, body)
    assert logon_status(server, "sip:alice@example.com", "tel:+1001") == (200, None)


def test_live_sessions_that_would_now_be_refused_are_listed_and_stay_up(server):
    status, _, alice = sign_in(server, "sip:alice@example.com", "tel:+1001")
    assert status == 200
    status, _, bob = sign_in(server, "sip:bob@example.com", "tel:+1002")
    assert status == 200
    try:
        # alice disappears from the directory; bob's CIC user loses the client licence.
        (server.workdir / "directory.ldif").write_text(ldif_with(drop=("alice",)))
        (server.workdir / "cic.toml").write_text(
            server.workdir.joinpath("cic.toml").read_text().replace(
                "id = \"Bob\"\nnt_domain_user = 'EXAMPLE\\bob'\nextension = \"8002\"\nclient_license = true",
                "id = \"Bob\"\nnt_domain_user = 'EXAMPLE\\bob'\nextension = \"8002\"\nclient_license = false"))
        done = reload_cli(server)
        assert done.returncode == 0, done.stdout + done.stderr
        refused = [line for line in done.stdout.splitlines() if "live session now refused" in line]
        assert len(refused) == 2, done.stdout
        assert any("sip:alice@example.com" in line and "Cs_UserNotInDirectory" in line for line in refused)
        assert any("sip:bob@example.com" in line and "Cs_NoClientLicense" in line for line in refused)
        wait_log(server, "WARN", "reload-would-refuse", "sip:alice@example.com", "Cs_UserNotInDirectory")
        wait_log(server, "WARN", "reload-would-refuse", "sip:bob@example.com", "Cs_NoClientLicense")
        # Their sessions stay up: a CSTA request in the dialog is still answered.
        from testkit.messages import request_system_status
        assert alice.info(request_system_status("tel:+1001")).status == 200
        assert alice.sign_out().status == 200
        assert bob.sign_out().status == 200
    finally:
        alice.close()
        bob.close()


def test_a_pid_file_naming_another_process_is_not_signalled(tmp_path):
    process = write_testbed(tmp_path)
    bystander = subprocess.Popen(["sleep", "60"])  # SIGHUP would end it
    try:
        (tmp_path / "rccserver.pid").write_text(f"{bystander.pid}\n")
        done = run_cli("-reload", "--config", str(process.config_path), "--timeout", "5", cwd=tmp_path)
        assert done.returncode == 1
        assert f"names process {bystander.pid}, which is not rccserver" in done.stderr
        assert bystander.poll() is None, "the unrelated process was signalled"
    finally:
        bystander.kill()
        bystander.wait()
