"""The RCCServer log's cheaper paths give the same text as the plain ones they replace:
the timestamp cached per second, the one-search quoting, the level table of the filter,
and the event text other observers build only when they show it."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import given, strategies as st
from twisted.logger import LogLevel, LogPublisher, formatEvent

from rccserver.server import rcclog


def reference_timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def reference_fields_text(kind, fields) -> str:
    def value(v):
        text = "-" if v is None or v == "" else str(v)
        return '"' + text.replace('"', '\\"') + '"' if re.search(r'[\s"=]', text) else text
    return kind + "".join(f" {name}={value(v)}" for name, v in fields.items())


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_timestamp_is_the_datetime_text(epoch):
    assert rcclog.timestamp(epoch) == reference_timestamp(epoch)


@given(st.integers(min_value=0, max_value=4_102_444_800), st.integers(min_value=-3, max_value=3))
def test_timestamp_at_second_and_millisecond_edges(second, ulps):
    # values a few representable steps around a second and around x.9995 / x.9999995
    import math
    for base in (float(second), second + 0.9995, second + 0.9999995, second + 0.0005):
        epoch = base
        for _ in range(abs(ulps)):
            epoch = math.nextafter(epoch, math.inf if ulps > 0 else -math.inf)
        assert rcclog.timestamp(epoch) == reference_timestamp(epoch)


def test_timestamp_cache_follows_the_second_back_and_forth():
    for epoch in (100.5, 101.25, 100.75, 86_400.0, 100.5):
        assert rcclog.timestamp(epoch) == reference_timestamp(epoch)


class Odd:
    def __str__(self) -> str:
        return "odd one"


values = st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(),
                   st.just(Odd()), st.sampled_from(["", "a=b", 'x"y', "tab\there", "line\nbreak", "plain"]))


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), values, max_size=10))
def test_fields_text_is_the_plain_formatting(fields):
    assert rcclog.fields_text("kind", fields) == reference_fields_text("kind", fields)


def reference_wanted(event, threshold) -> bool:
    level = event.get("log_level", LogLevel.info)
    namespace = str(event.get("log_namespace", ""))
    ours = namespace == "rccserver" or namespace.startswith("rccserver.")
    return level >= (threshold if ours else LogLevel.warn)


def test_filter_passes_what_the_level_predicate_passed(tmp_path):
    seen = []
    for threshold in rcclog.LEVELS.values():
        observer = rcclog.OursOrSerious(seen.append, threshold)
        for namespace in ("rccserver", "rccserver.sip", "rccserverish", "twisted.internet", "", None, 7):
            for level in LogLevel.iterconstants():
                event = {"log_level": level, "log_namespace": namespace}
                seen.clear()
                observer(event)
                assert bool(seen) == reference_wanted(event, threshold), (threshold, namespace, level)
        seen.clear()
        observer({})  # no level, no namespace: an info from someone else
        assert not seen


def test_other_observers_see_the_event_text():
    publisher = LogPublisher()
    events = []
    publisher.addObserver(events.append)
    old = rcclog.log.observer
    rcclog.log.observer = publisher
    try:
        rcclog.emit("custom", LogLevel.warn, why="a reason", n=3, gone=None)
    finally:
        rcclog.log.observer = old
    [event] = events
    assert formatEvent(event) == 'custom why="a reason" n=3 gone=-'
    assert (event["log_level"], event["log_namespace"], event["rcc_kind"]) == (LogLevel.warn, "rccserver", "custom")
    assert event["rcc_fields"] == {"why": "a reason", "n": 3, "gone": None}
    assert event["log_logger"] is rcclog.log and isinstance(event["log_time"], float)


def test_the_whitespace_of_str_split_is_the_whitespace_of_the_quoting_regex():
    # fields_text asks str.split whether any value has whitespace, instead of the regex's \s.
    whitespace = re.compile(r"\s")
    differ = [code for code in range(0x110000)
              if bool(whitespace.match(chr(code))) != (len(f"a{chr(code)}b".split(None, 1)) > 1)]
    assert differ == []


@given(st.lists(st.dictionaries(st.from_regex(r"[a-z_{}%]{1,8}", fullmatch=True), values, max_size=6), max_size=4),
       st.sampled_from(["kind", "logon", "100%", "%s", "%%"]))
def test_fields_text_with_names_seen_before_is_the_plain_formatting(lines, kind):
    # A "kind name=%s ..." template is kept per kind and names: the same names again, or
    # other ones; a '%' in a kind, a name or a value is text, not a conversion.
    for fields in lines + lines:
        assert rcclog.fields_text(kind, fields) == reference_fields_text(kind, fields)


class TurnReactor:
    """callLater(0) calls, run when the test ends the turn."""

    def __init__(self) -> None:
        self.calls = []

    def callLater(self, delay, function, *args):
        assert delay == 0
        self.calls.append((function, args))

    def end_turn(self) -> None:
        calls, self.calls = self.calls, []
        for function, args in calls:
            function(*args)


def rcc_event(kind, when, **fields):
    return {"rcc_kind": kind, "rcc_fields": fields, "log_level": LogLevel.info, "log_namespace": "rccserver",
            "log_time": when}


def test_a_turns_lines_are_on_disk_in_order_after_the_turn_and_the_same_bytes_as_line_by_line(tmp_path):
    reactor = TurnReactor()
    batched = rcclog.RccLogObserver(str(tmp_path / "turns.log"), max_bytes=400, backups=3, reactor=reactor)
    plain = rcclog.RccLogObserver(str(tmp_path / "lines.log"), max_bytes=400, backups=3)
    for turn in range(6):
        for n in range(4):
            event = rcc_event("logon", 1_700_000_000 + turn + n / 10, turn=turn, n=n, detail="a b")
            batched(event)
            plain(event)
        assert len(reactor.calls) == 1  # one flush per turn, however many lines
        reactor.end_turn()
        for name in ("turns.log", "turns.log.1", "turns.log.2", "turns.log.3"):
            twin = (tmp_path / name.replace("turns", "lines"))
            assert (tmp_path / name).exists() == twin.exists()
            if twin.exists():
                assert (tmp_path / name).read_bytes() == twin.read_bytes()
    batched(rcc_event("last", 1_700_000_010.0))
    batched.close()  # the line still waiting goes out with the close
    reactor.end_turn()  # and the flush that was due finds the file closed: nothing to do
    assert (tmp_path / "turns.log").read_text().splitlines()[-1].endswith(" INFO  last")


def test_lines_from_another_thread_than_the_reactors_are_written_at_once(tmp_path):
    import threading

    reactor = TurnReactor()
    observer = rcclog.RccLogObserver(str(tmp_path / "rcc.log"), max_bytes=10_000, backups=1, reactor=reactor)
    observer(rcc_event("first", 1_700_000_000.0))  # the reactor's thread: waits for the turn's end
    thread = threading.Thread(target=observer, args=(rcc_event("second", 1_700_000_001.0),))
    thread.start()
    thread.join()
    assert [line.split()[-1] for line in (tmp_path / "rcc.log").read_text().splitlines()] == ["first", "second"]
    observer.close()


def test_without_a_reactor_every_line_is_on_disk_at_once(tmp_path):
    observer = rcclog.RccLogObserver(str(tmp_path / "rcc.log"), max_bytes=10_000, backups=1)
    observer(rcc_event("first", 1_700_000_000.0))
    assert (tmp_path / "rcc.log").read_text().endswith(" INFO  first\n")
    observer.close()
