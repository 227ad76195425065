"""The RCCServer log: line format, the logon line's facts, JSON, filtering and size rotation."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from twisted.logger import LogLevel, Logger

from rccserver.server import rcclog
from rccserver.directory import CacheDiff
from rccserver.server.reloader import ReloadOutcome
from rccserver.rcc.logon import LogonDecision
from rccserver.server.rcclog import RotatingFile, format_event, logon_line, timestamp

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO |WARN |ERROR|CRIT ) (.*)$")

SUCCESS = LogonDecision(code="Cs_Success", sip_status=200, detail="station 1001 (Desk1001)",
                        lync_uri="sip:alice@example.com", domain_account="EXAMPLE\\alice", cic_user="AliceArcher",
                        line="tel:+1001", station="1001", station_name="Desk1001")
REFUSED = LogonDecision(code="Cs_UserNotFound", sip_status=404, detail="no CIC user has domain account EXAMPLE\\frank",
                        lync_uri="sip:frank@example.com", domain_account="EXAMPLE\\frank", line="tel:+1005")


def test_timestamp_is_iso8601_utc_with_milliseconds():
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert timestamp(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"


def test_logon_line_holds_every_fact():
    assert logon_line(SUCCESS) == (
        'logon code=Cs_Success status=200 lync_uri=sip:alice@example.com domain_account=EXAMPLE\\alice '
        'cic_user=AliceArcher line=tel:+1001 station=1001 remote_number=- detail="station 1001 (Desk1001)"')
    refused = logon_line(REFUSED)
    assert "code=Cs_UserNotFound" in refused and "cic_user=- " in refused and "station=- " in refused


def event(kind=None, level=LogLevel.info, when=1_700_000_000.0, **fields):
    base = {"log_level": level, "log_time": when, "log_namespace": "rccserver", "log_format": "{x}", "x": "plain"}
    if kind:
        base.update(rcc_kind=kind, rcc_fields=fields)
    return base


def test_text_line_shape():
    line = format_event(event("logon", LogLevel.warn, **rcclog.logon_fields(REFUSED)))
    stamp, level, text = LINE.match(line).groups()
    assert (stamp, level) == ("2023-11-14T22:13:20.000Z", "WARN ")
    assert text == logon_line(REFUSED)


def test_values_are_quoted_when_needed_and_never_break_the_line():
    line = format_event(event("x", reason='peer said "bye"\nthen left', empty="", eq="a=b"))
    assert "\n" not in line
    assert 'reason="peer said \\"bye\\"\\nthen left"' in line
    assert "empty=-" in line and 'eq="a=b"' in line


def test_foreign_events_are_formatted_with_their_namespace():
    line = format_event({"log_level": LogLevel.error, "log_time": 0, "log_namespace": "twisted.web",
                         "log_format": "boom {what}", "what": "here"})
    assert line == "1970-01-01T00:00:00.000Z ERROR [twisted.web] boom here"


def test_json_variant():
    record = json.loads(format_event(event("logon", **rcclog.logon_fields(SUCCESS)), json_format=True))
    assert record["time"] == "2023-11-14T22:13:20.000Z" and record["level"] == "INFO"
    assert record["event"] == "logon"
    assert (record["code"], record["lync_uri"], record["domain_account"], record["cic_user"], record["line"],
            record["station"]) == ("Cs_Success", "sip:alice@example.com", "EXAMPLE\\alice", "AliceArcher",
                                   "tel:+1001", "1001")
    foreign = json.loads(format_event({"log_level": LogLevel.warn, "log_time": 0, "log_namespace": "other",
                                       "log_format": "hi"}, json_format=True))
    assert foreign == {"time": "1970-01-01T00:00:00.000Z", "level": "WARN", "event": "message", "text": "[other] hi"}


# -- rotation ----------------------------------------------------------------------------------
def test_rotation_keeps_backups_and_every_file_under_the_limit(tmp_path):
    path = tmp_path / "logs" / "rcc.log"
    target = RotatingFile(path, max_bytes=100, backups=2)
    lines = [f"line {i:03d} " + "x" * 20 + "\n" for i in range(40)]  # 30 bytes each
    for line in lines:
        target.write(line)
    target.close()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["rcc.log", "rcc.log.1", "rcc.log.2"]
    for name in names:
        assert (path.parent / name).stat().st_size <= 100
    kept = "".join((path.parent / name).read_text() for name in ["rcc.log.2", "rcc.log.1", "rcc.log"])
    assert kept == "".join(lines[-len(kept.splitlines()):])  # the newest lines, in order, none lost between files
    assert len(kept.splitlines()) >= 7


def test_no_backups_means_the_file_starts_over(tmp_path):
    path = tmp_path / "rcc.log"
    target = RotatingFile(path, max_bytes=50, backups=0)
    for i in range(10):
        target.write(f"{i:09d}\n")  # 10 bytes each
    target.close()
    assert [p.name for p in tmp_path.iterdir()] == ["rcc.log"]
    assert path.read_text() == "".join(f"{i:09d}\n" for i in range(5, 10))


def test_appends_to_an_existing_file_and_counts_its_size(tmp_path):
    path = tmp_path / "rcc.log"
    path.write_text("x" * 90)
    target = RotatingFile(path, max_bytes=100, backups=1)
    target.write("y" * 20)
    target.close()
    assert (tmp_path / "rcc.log.1").read_text() == "x" * 90
    assert path.read_text() == "y" * 20


def test_bad_rotation_settings():
    with pytest.raises(ValueError):
        RotatingFile("/tmp/never", max_bytes=0, backups=1)


# -- through twisted.logger ----------------------------------------------------------------
def config_for(tmp_path, level="info", log_format="text"):
    server = SimpleNamespace(log_file=str(tmp_path / "rccserver.log"), log_max_bytes=1_000_000, log_backups=1,
                             log_level=level, log_format=log_format)
    line = SimpleNamespace(transport="tcp", address="127.0.0.1")
    return SimpleNamespace(server=server, line=line)


@pytest.fixture
def rcc_log(tmp_path):
    config = config_for(tmp_path)
    observer = rcclog.start_rcc_log(config)
    path = tmp_path / "rccserver.log"

    def lines() -> list[str]:
        return path.read_text().splitlines()

    yield lines
    rcclog.stop_rcc_log(observer)


def test_helpers_write_one_line_per_event(rcc_log):
    session = SimpleNamespace(lync_uri="sip:alice@example.com", cic_user="AliceArcher", line="tel:+1001",
                              station="1001", device="1001", dialog=SimpleNamespace(call_id="abc@host"),
                              peer=("::1", 5060))
    rcclog.log_logon(SUCCESS, peer=("127.0.0.1", 40000))
    rcclog.log_logon(REFUSED)
    rcclog.log_session_start(session)
    rcclog.log_keepalive_failure(session, "481", ends_session=True)
    rcclog.log_session_end(session, "keep-alive 481")
    rcclog.log_reload(ReloadOutcome(True, CacheDiff(("sip:new@x",), (), ("sip:a@x", "sip:b@x")), None, 0.5, 7))
    rcclog.log_reload(ReloadOutcome(False, None, "dir.ldif:3: bad", 0.1, 7))
    rcclog.log_reload({"ok": True, "users": 3, "added": [], "removed": ["sip:x@y"], "changed": [], "elapsed": 0.01,
                       "would_refuse": ["sip:x@y tel:+1: Cs_UserNotInDirectory: gone"]})
    rcclog.log_rejected_connection(("10.1.2.3", 5555), "access denied")
    texts = [LINE.match(line).groups()[1:] for line in rcc_log()]
    assert texts == [
        ("INFO ", logon_line(SUCCESS) + " peer=127.0.0.1:40000"),
        ("WARN ", logon_line(REFUSED) + " peer=-"),
        ("INFO ", "session-start lync_uri=sip:alice@example.com cic_user=AliceArcher line=tel:+1001 station=1001 "
                  "call_id=abc@host peer=[::1]:5060"),
        ("WARN ", "keepalive-failure lync_uri=sip:alice@example.com cic_user=AliceArcher line=tel:+1001 "
                  'station=1001 call_id=abc@host outcome=481 action="session ended"'),
        ("INFO ", "session-end lync_uri=sip:alice@example.com cic_user=AliceArcher line=tel:+1001 station=1001 "
                  'call_id=abc@host reason="keep-alive 481"'),
        ("INFO ", "reload users=7 added=1 removed=0 changed=2 seconds=0.5"),
        ("ERROR", "reload-failed error=\"dir.ldif:3: bad\""),
        ("INFO ", "reload users=3 added=0 removed=1 changed=0 seconds=0.01"),
        ("WARN ", 'reload-would-refuse session="sip:x@y tel:+1: Cs_UserNotInDirectory: gone"'),
        ("WARN ", 'connection-rejected peer=10.1.2.3:5555 reason="access denied"'),
    ]


def test_level_and_namespace_filter(rcc_log):
    ours = Logger(namespace="rccserver.sip")
    theirs = Logger(namespace="twisted.internet")
    ours.debug("hidden debug")
    ours.info("our info {n}", n=1)
    theirs.info("their info")
    theirs.warn("their warning")
    rcclog.emit("custom", LogLevel.debug, x=1)
    texts = [LINE.match(line).group(3) for line in rcc_log()]
    assert texts == ["[rccserver.sip] our info 1", "[twisted.internet] their warning"]


def test_debug_level_lets_debug_through(tmp_path):
    observer = rcclog.start_rcc_log(config_for(tmp_path, level="debug", log_format="json"))
    try:
        rcclog.emit("custom", LogLevel.debug, x=1)
    finally:
        rcclog.stop_rcc_log(observer)
    [line] = (tmp_path / "rccserver.log").read_text().splitlines()
    assert json.loads(line)["event"] == "custom" and json.loads(line)["x"] == 1
