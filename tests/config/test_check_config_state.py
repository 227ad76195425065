"""check-config and the state file ([state], SPEC 11): it must be usable as the server would
use it, and check-config looks without changing it. An older schema is a warning (migrated at
the next start), saved settings of stations the CIC data no longer has are a warning."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import sqlite3
import tempfile

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
    ('backend = "redis"\nredis_url = "redis://127.0.0.1:1/0"', "Redis unreachable"),
])
def test_a_state_store_the_server_could_not_use_is_an_error_naming_file_and_key(tmp_path, state, words):
    path = with_state(tmp_path, state)
    result = check_config(path)
    [error] = state_problems(result)[0]
    key = "state.redis_url" if "redis" in state else "state.file"
    assert error.startswith(f"{path}: {key}") and words in error


def test_a_newer_schema_is_an_error(tmp_path):
    with sqlite3.connect(tmp_path / "rccserver.db") as connection:
        connection.executescript("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (9);")
    connection.close()
    [error] = state_problems(check_config(setup(tmp_path)))[0]
    assert "schema version 9 was written by a newer rccserver" in error


def _errors_as_an_ordinary_user(path) -> list[str]:
    """check_config's errors, run by a user the permissions apply to: root writes anywhere,
    so as root (CI) a child process drops to `nobody` first."""
    if os.geteuid() != 0:
        return check_config(path).errors
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, json.dumps(check_config(path).errors).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data
    return json.loads(data)


def test_a_directory_it_cannot_write_is_an_error():
    base = pathlib.Path(tempfile.mkdtemp(prefix="rcc-state-"))  # not under root's private pytest dir
    try:
        base.chmod(0o755)
        path = with_state(base, 'file = "state/rccserver.db"')
        for item in base.iterdir():
            item.chmod(0o644) if item.is_file() else None
        state_dir = base / "state"
        state_dir.mkdir()
        state_dir.chmod(0o555)
        errors = [e for e in _errors_as_an_ordinary_user(path) if "state" in e]
    finally:
        shutil.rmtree(base)
    [error] = errors
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
