"""check-config and the state file ([state], SPEC 11): it must be usable as the server would
use it, and check-config looks without changing it. An older schema is a warning (migrated at
the next start), saved settings of stations the CIC data no longer has are a warning."""
from __future__ import annotations

import os
import sqlite3

import pytest

from rccserver.commands.checkconfig import check_config
from rccserver.server.state_sqlite import SCHEMA_VERSION
from test_check_config import CIC, CONFIG, setup

REMOTE_USER = "\n[[users]]\nid = \"Ivan\"\nnt_domain_user = 'EXAMPLE\\ivan'\nextension = \"8007\"\n" \
              "client_license = true\nallow_remote_number = true\n"


def state_problems(result) -> tuple[list[str], list[str]]:
    return ([e for e in result.errors if "state" in e], [w for w in result.warnings if "state" in w or ".db" in w])


def with_state(tmp_path, state: str):
    return setup(tmp_path, CONFIG + f"\n[state]\n{state}\n")


def old_file(path, *sql: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
            "CREATE TABLE forwarding (station TEXT NOT NULL, forwarding_type TEXT NOT NULL, active INTEGER NOT NULL,"
            " destination TEXT, ring_count INTEGER, PRIMARY KEY (station, forwarding_type));"
            "CREATE TABLE dnd (station TEXT PRIMARY KEY, dnd_on INTEGER NOT NULL);" + "".join(sql))
    connection.close()


def test_a_state_file_that_does_not_exist_yet_is_fine_and_is_not_created(tmp_path):
    result = check_config(setup(tmp_path))
    assert result.valid, result.errors
    assert state_problems(result) == ([], [])
    assert not (tmp_path / "rccserver.db").exists()


def test_in_memory_state_needs_no_file(tmp_path):
    result = check_config(with_state(tmp_path, 'file = ""'))
    assert result.valid and state_problems(result) == ([], [])


@pytest.mark.parametrize("state, words", [
    ('file = "missing/rccserver.db"', "does not exist"),
    ('file = "cic.toml"', "not a database"),
    ('file = "."', "not a regular file"),
    ('backend = "redis"', '"redis" is not available'),
])
def test_a_state_store_the_server_could_not_use_is_an_error_naming_file_and_key(tmp_path, state, words):
    path = with_state(tmp_path, state)
    result = check_config(path)
    [error] = state_problems(result)[0]
    key = "state.backend" if "redis" in state else "state.file"
    assert error.startswith(f"{path}: {key}") and words in error


def test_a_newer_schema_is_an_error(tmp_path):
    with sqlite3.connect(tmp_path / "rccserver.db") as connection:
        connection.executescript("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (9);")
    connection.close()
    [error] = state_problems(check_config(setup(tmp_path)))[0]
    assert "schema version 9 was written by a newer rccserver" in error


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_directory_it_cannot_write_is_an_error(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o555)
    try:
        [error] = state_problems(check_config(with_state(tmp_path, 'file = "state/rccserver.db"')))[0]
    finally:
        state_dir.chmod(0o755)
    assert "not writable" in error


def test_an_older_schema_is_a_warning_and_the_file_is_left_as_it_is(tmp_path):
    old_file(tmp_path / "rccserver.db")
    result = check_config(setup(tmp_path))
    assert result.valid, result.errors
    [warning] = state_problems(result)[1]
    assert f"schema version 1 is migrated to {SCHEMA_VERSION} at the next start" in warning
    with sqlite3.connect(tmp_path / "rccserver.db") as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    connection.close()


def test_settings_saved_for_stations_the_cic_data_has_not_are_a_warning(tmp_path):
    old_file(tmp_path / "rccserver.db",
             "INSERT INTO forwarding VALUES ('1001', 'forwardBusy', 1, '+1555', NULL);",
             "INSERT INTO dnd VALUES ('4711', 1);",
             "INSERT INTO dnd VALUES ('8007', 1);")  # a remote-number user's extension: not absent
    path = setup(tmp_path, cic=CIC + REMOTE_USER)
    result = check_config(path)
    assert result.valid
    [absent] = [w for w in result.warnings if "saved for station(s)" in w]
    assert absent.startswith(str(tmp_path / "rccserver.db")) and "station(s) 4711 " in absent
