from rccserver.rcc.session import RccSession, SessionRegistry


def session(session_id: str, device: str, cic_user: str = "alice") -> RccSession:
    return RccSession(session_id=session_id, dialog=None, lync_uri=f"sip:{session_id}@example.com",
                      domain_account=None, cic_user=cic_user, line="tel:+1", station=device,
                      remote_number=None, device=device, namespace="ed3", peer=None, started_at=0.0)


def test_sessions_on_a_device_oldest_first_and_forgotten_one_by_one():
    registry = SessionRegistry()
    first, second, other = session("a", "1001"), session("b", "1001", "bob"), session("c", "1002")
    for s in (first, second, other):
        registry.add(s)
    assert registry.sessions_on("1001") == [first, second]
    assert registry.user_sessions_on("1001", "bob") == [second]
    registry.remove(first)
    assert registry.sessions_on("1001") == [second] and first.ended
    registry.remove(first)  # harmless twice
    registry.remove(second)
    assert registry.sessions_on("1001") == [] and "1001" not in registry._by_device
    assert registry.sessions_on("1002") == [other] and len(registry) == 1


# -- is_monitored: a count kept as monitors start and stop and sessions come and go -------

from hypothesis import given, settings, strategies as st  # noqa: E402

DEVICES = ("1001", "1002", "1003")


def _monitored_by_looking(registry: SessionRegistry, device: str) -> bool:
    """What is_monitored must equal: the loop over the device's sessions it replaces."""
    return any(s.monitors for s in registry.sessions_on(device))


_STEP = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(DEVICES)),
    st.tuples(st.just("remove"), st.integers(0, 7)),
    st.tuples(st.just("start"), st.integers(0, 7)),
    st.tuples(st.just("stop"), st.integers(0, 15)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEP, max_size=40))
def test_is_monitored_equals_looking_at_every_session(steps):
    registry = SessionRegistry()
    sessions: list[RccSession] = []
    xrefs: list[str] = []
    for action, arg in steps:
        if action == "add":
            sessions.append(session(f"s{len(sessions)}", arg))
            registry.add(sessions[-1])
        elif action == "remove" and sessions:
            registry.remove(sessions[arg % len(sessions)])  # twice, or an ended one: harmless
        elif action == "start" and sessions:
            target = sessions[arg % len(sessions)]  # may have ended: its monitor tells nobody
            xrefs.append(registry.start_monitor(target, target.line).cross_ref_id)
        elif action == "stop" and xrefs:
            registry.stop_monitor(xrefs[arg % len(xrefs)])  # maybe stopped already
        for device in DEVICES:
            assert registry.is_monitored(device) == _monitored_by_looking(registry, device), (device, steps)


def test_is_monitored_for_every_subset_of_monitoring_sessions():
    for mask in range(1 << 4):
        registry = SessionRegistry()
        on_1001 = [session(f"a{i}", "1001") for i in range(2)]
        on_1002 = [session(f"b{i}", "1002") for i in range(2)]
        for i, s in enumerate(on_1001 + on_1002):
            registry.add(s)
            if mask & (1 << i):
                registry.start_monitor(s, s.line)
        assert registry.is_monitored("1001") == bool(mask & 0b0011)
        assert registry.is_monitored("1002") == bool(mask & 0b1100)
        for s in on_1001 + on_1002:
            registry.remove(s)
        assert not registry.is_monitored("1001") and not registry.is_monitored("1002")
