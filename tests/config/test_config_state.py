"""[state] (SPEC section 11): the backend, the SQLite file beside the configuration, the
Redis keys accepted and checked; every error names the file, the line and the key."""
from __future__ import annotations

import os

import pytest

from rccserver.server.config import ConfigError, load_config
from rccserver.server.effective_config import load_effective_config


def write(tmp_path, text: str):
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    return path


def test_by_default_the_state_is_kept_in_rccserver_db_beside_the_configuration(tmp_path):
    state = load_config(write(tmp_path, "")).state
    assert (state.backend, state.file) == ("sqlite", str(tmp_path / "rccserver.db"))
    assert (state.redis_url, state.lease_seconds) == ("redis://127.0.0.1:6379/0", 30)


@pytest.mark.parametrize("written, expected", [
    ('"state/rcc.db"', "state/rcc.db"),  # relative to the configuration file
    ('"/var/lib/rccserver/rccserver.db"', "/var/lib/rccserver/rccserver.db"),
])
def test_the_file_is_resolved_like_every_path(tmp_path, written, expected):
    state = load_config(write(tmp_path, f"[state]\nfile = {written}\n")).state
    assert state.file == str(tmp_path / expected)


def test_an_empty_file_keeps_the_state_in_memory_only(tmp_path):
    assert load_config(write(tmp_path, '[state]\nfile = ""\n')).state.file == ""


def test_redis_keys_are_read(tmp_path):
    state = load_config(write(tmp_path, '[state]\nbackend = "redis"\nredis_url = "rediss://:pw@10.0.0.5:6380/2"\n'
                                        "lease_seconds = 10\n")).state
    assert (state.backend, state.redis_url, state.lease_seconds) == ("redis", "rediss://:pw@10.0.0.5:6380/2", 10)


@pytest.mark.parametrize("key, value, words", [
    ("backend", '"postgres"', "must be one of 'sqlite', 'redis'"),
    ("file", "7", "must be a path string"),
    ("redis_url", '"127.0.0.1:6379"', "redis://HOST"),
    ("redis_url", '"http://127.0.0.1:6379"', "redis://HOST"),
    ("redis_url", '"redis:///0"', "redis://HOST"),
    ("lease_seconds", "0", "at least 1"),
    ("lease_seconds", '"30"', "an integer"),
    ("wal", "true", "unknown key"),
])
def test_bad_values_name_file_line_and_key(tmp_path, key, value, words):
    path = write(tmp_path, f"[server]\nlog_level = \"info\"\n\n[state]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.file, error.line, error.key) == (str(path), 5, f"state.{key}")
    assert words in error.message


def test_without_a_configuration_the_demo_keeps_its_state_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = load_effective_config(None).state
    assert state.file == os.path.join(str(tmp_path), "rccserver.db")
