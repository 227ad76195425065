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
