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
