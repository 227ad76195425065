"""The RCCServer log (SPEC section 6): line format, JSON format, level filtering."""
from __future__ import annotations

import json
import re
import types

import pytest
from twisted.logger import LogLevel, Logger, LogPublisher

from rccserver.server import rcclog
from rccserver.rcc.logon import LogonDecision

SUCCESS = LogonDecision(code="Cs_Success", sip_status=200, detail="station 44770 (JohnMillerDesk)",
                        lync_uri="sip:john@example.com", domain_account="EXAMPLE\\JohnMiller",
                        cic_user="JohnMiller", line="tel:+44770", station="44770")
REFUSED = LogonDecision(code="Cs_UserNotFound", sip_status=404, detail="no CIC user has domain account EXAMPLE\\x",
                        lync_uri="sip:x@example.com", domain_account="EXAMPLE\\x", line="tel:+1 (317) 555-1010")
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def config(tmp_path, **server):
    values = dict(log_file=str(tmp_path / "logs" / "rccserver.log"), log_max_bytes=1_000_000, log_backups=2,
                  log_format="text", log_level="info")
    values.update(server)
    return types.SimpleNamespace(server=types.SimpleNamespace(**values))


@pytest.fixture
def logfile(tmp_path):
    """start_rcc_log on the global publisher (where rcclog's helpers emit); yields a reader of the file."""
    opened = []

    def start(**server):
        cfg = config(tmp_path, **server)
        opened.append(rcclog.start_rcc_log(cfg))
        path = tmp_path / "logs" / "rccserver.log"
        return lambda: path.read_text(encoding="utf-8").splitlines()

    yield start
    for observer in opened:
        rcclog.stop_rcc_log(observer)


def test_timestamp_is_iso8601_utc_with_milliseconds():
    assert rcclog.timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert rcclog.timestamp(1714564800.1234) == "2024-05-01T12:00:00.123Z"


def test_a_logon_line_holds_every_fact(logfile):
    read = logfile()
    rcclog.log_logon(SUCCESS, peer=("127.0.0.1", 5061))
    [line] = read()
    match = re.match(rf"^({STAMP}) INFO  logon (.*)$", line)
    assert match, line
    fields = match.group(2)
    for fact in ("code=Cs_Success", "lync_uri=sip:john@example.com", "domain_account=EXAMPLE\\JohnMiller",
                 "cic_user=JohnMiller", "line=tel:+44770", "station=44770", "peer=127.0.0.1:5061",
                 'detail="station 44770 (JohnMillerDesk)"'):
        assert f" {fact}" in f" {fields}", (fact, line)


def test_a_refused_logon_is_a_warning_with_absent_facts_as_dash(logfile):
    read = logfile()
    rcclog.log_logon(REFUSED)
    [line] = read()
    assert re.match(rf"^{STAMP} WARN  logon code=Cs_UserNotFound ", line), line
    assert " cic_user=- " in line and " station=- " in line
    assert ' line="tel:+1 (317) 555-1010" ' in line  # a value with spaces is quoted
    assert " domain_account=EXAMPLE\\x " in line


def test_values_with_quotes_and_newlines_stay_on_one_line():
    text = rcclog.format_event({"log_time": 0.0, "log_level": LogLevel.warn, "rcc_kind": "x",
                                "rcc_fields": {"a": 'say "hi"', "b": "two\nlines", "c": "k=v", "d": ""}})
    assert "\n" not in text
    assert text == '1970-01-01T00:00:00.000Z WARN  x a="say \\"hi\\"" b="two\\nlines" c="k=v" d=-'


def test_logon_line_helper_matches_the_file_text():
    assert rcclog.logon_line(SUCCESS).startswith("logon code=Cs_Success status=200 lync_uri=sip:john@example.com ")


def test_json_format(logfile):
    read = logfile(log_format="json")
    rcclog.log_logon(REFUSED, peer=("::1", 5061))
    [line] = read()
    record = json.loads(line)
    assert list(record)[:3] == ["time", "level", "event"]
    assert re.fullmatch(STAMP, record["time"])
    assert (record["level"], record["event"], record["code"]) == ("WARN", "logon", "Cs_UserNotFound")
    assert (record["lync_uri"], record["domain_account"], record["cic_user"], record["line"], record["station"]) == (
        "sip:x@example.com", "EXAMPLE\\x", None, "tel:+1 (317) 555-1010", None)
    assert record["peer"] == "[::1]:5061"


def test_json_for_a_foreign_message():
    text = rcclog.format_event({"log_time": 1.5, "log_level": LogLevel.error, "log_namespace": "twisted.x",
                                "log_format": "boom {n}", "n": 3}, json_format=True)
    assert json.loads(text) == {"time": "1970-01-01T00:00:01.500Z", "level": "ERROR", "event": "message",
                                "text": "[twisted.x] boom 3"}


def test_level_threshold_and_foreign_namespaces(logfile):
    read = logfile(log_level="warn")
    rcclog.emit("debugging", LogLevel.debug)
    rcclog.emit("routine", LogLevel.info)
    rcclog.emit("worrying", LogLevel.warn, why="x")
    other = Logger(namespace="somebody.else")
    other.info("chatter")
    other.error("failure {what}", what="here")
    Logger(namespace="rccserverish").info("not ours despite the prefix")
    lines = read()
    assert len(lines) == 2, lines
    assert re.match(rf"^{STAMP} WARN  worrying why=x$", lines[0])
    assert re.match(rf"^{STAMP} ERROR \[somebody\.else\] failure here$", lines[1])


def test_session_reload_and_rejection_events(logfile):
    read = logfile()
    session = types.SimpleNamespace(lync_uri="sip:a@example.com", cic_user="A", line="tel:+1001", station="1001",
                                    device="1001", dialog=types.SimpleNamespace(call_id="c1"), peer=("10.0.0.1", 1))
    rcclog.log_session_start(session)
    rcclog.log_keepalive_failure(session, "481", ends_session=True)
    rcclog.log_session_end(session, "keep-alive 481")
    rcclog.log_reload({"ok": True, "users": 9, "added": ["sip:n@x"], "removed": [], "changed": [], "elapsed": 0.01,
                       "would_refuse": ["sip:a@example.com tel:+1001: Cs_UserNotInDirectory: gone"]})
    rcclog.log_reload({"ok": False, "error": "dir.ldif:3: broken"})
    rcclog.log_rejected_connection(("192.0.2.1", 4000), "access denied")
    kinds = [re.match(rf"^{STAMP} (\w+)\s+(\S+)", line).groups() for line in read()]
    assert kinds == [("INFO", "session-start"), ("WARN", "keepalive-failure"), ("INFO", "session-end"),
                     ("INFO", "reload"), ("WARN", "reload-would-refuse"), ("ERROR", "reload-failed"),
                     ("WARN", "connection-rejected")]
    text = "\n".join(read())
    assert "session-start lync_uri=sip:a@example.com cic_user=A line=tel:+1001 station=1001 call_id=c1" in text
    assert 'reason="keep-alive 481"' in text and 'action="session ended"' in text
    assert "reload users=9 added=1 removed=0 changed=0" in text
    assert 'error="dir.ldif:3: broken"' in text
    assert "peer=192.0.2.1:4000" in text


def test_stop_detaches_the_observer(tmp_path):
    publisher = LogPublisher()
    observer = rcclog.start_rcc_log(config(tmp_path), publisher=publisher)
    publisher({"log_time": 0.0, "log_level": LogLevel.info, "log_namespace": "rccserver", "rcc_kind": "one",
               "rcc_fields": {}})
    rcclog.stop_rcc_log(observer, publisher=publisher)
    publisher({"log_time": 0.0, "log_level": LogLevel.info, "log_namespace": "rccserver", "rcc_kind": "two",
               "rcc_fields": {}})
    assert (tmp_path / "logs" / "rccserver.log").read_text() == "1970-01-01T00:00:00.000Z INFO  one\n"
