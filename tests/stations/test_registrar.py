"""The registrar (RFC 3261 section 10, SPEC section 9): challenges, who may register what, contacts and
expiries, Call-ID/CSeq order, the bindings it keeps and the answers it gives.

Timers are in test_registrar_timers.py, the failure cool-down in test_auth_limiter.py, a model-based
run in test_registrar_stateful.py.
"""
from __future__ import annotations

import attrs
import pytest

from rccserver.sip.digest import parse_challenge
from rccserver.sip.uri import parse_name_addr
from rccserver.stations.registrar_events import AuthenticationFailed, BindingAdded, BindingRefreshed, BindingRemoved
from tests.stations.registrar_harness import (
    AMY,
    AMY_PASSWORD,
    BEN,
    BEN_PASSWORD,
    CARL,
    LOBBY,
    REALM,
    Phone,
    contact_expiries,
    md5,
    new_registrar,
    register_request,
)

AMY_DESK = "<sip:1001@192.0.2.10:5060>"
SOURCE = ("192.0.2.10", 5060)


def handle(registrar, request, now=0.0, source=SOURCE, transport="udp"):
    return registrar.handle_register(request, source=source, transport=transport, now=now)


def challenge_shape(response):
    """What a client can see in a 401 apart from the nonce and the tag."""
    challenges = [attrs.evolve(parse_challenge(value), nonce="") for value in response.headers.get_all(
        "WWW-Authenticate")]
    names = [name for name, _ in response.headers.items()]
    return response.status, response.reason, names, challenges


# --------------------------------------------------------------------------
# Challenges and authentication


def test_a_register_without_credentials_is_challenged_with_sha256_then_md5():
    registrar = new_registrar()
    request = register_request("1001", contacts=(AMY_DESK,))
    result = handle(registrar, request)
    response = result.response
    assert (response.status, result.events) == (401, ())
    first, second = (parse_challenge(value) for value in response.headers.get_all("WWW-Authenticate"))
    assert (first.algorithm, second.algorithm) == ("SHA-256", "MD5")
    assert (first.realm, first.qop, first.stale) == (REALM, ("auth",), False)
    # an ordinary response to the request (RFC 3261 8.2.6), with a To tag
    for name in ("Via", "From", "Call-ID", "CSeq"):
        assert response.headers.get(name) == request.headers.get(name)
    assert response.to.tag and response.to.uri == request.to.uri
    assert registrar.bindings("1001") == ()


def test_a_station_with_only_an_ha1_is_offered_md5_only():
    response = handle(new_registrar(), register_request("ben", contacts=("<sip:ben@192.0.2.11>",))).response
    [only] = response.headers.get_all("WWW-Authenticate")
    assert parse_challenge(only).algorithm == "MD5"
    phone = Phone(new_registrar(), "ben", BEN_PASSWORD)
    assert phone.send(("<sip:ben@192.0.2.11>",), now=0.0)[0].status == 200


def test_a_phone_registers_with_its_password():
    registrar = new_registrar()
    phone = Phone(registrar, "1001", AMY_PASSWORD, transport="tcp", host="198.51.100.7", port=40123)
    response, events = phone.send((AMY_DESK,), now=10.0)
    assert [r.status for r in phone.responses] == [401, 200]
    assert parse_challenge(phone.responses[0].headers.get_all("WWW-Authenticate")[0]).algorithm == "SHA-256"
    assert contact_expiries(response) == {"sip:1001@192.0.2.10:5060": 3600}
    assert events == [BindingAdded("1001", "1001", "sip:1001@192.0.2.10:5060", "tcp", ("198.51.100.7", 40123),
                                   "TestPhone/1.0", 3600)]
    assert registrar.registration("1001", now=10.0) == {
        "contact": "sip:1001@192.0.2.10:5060", "transport": "tcp", "expires_in": 3600, "user_agent": "TestPhone/1.0"}
    [binding] = registrar.bindings("1001")
    assert (binding.source, binding.call_id, binding.cseq, binding.registered_at) == (
        ("198.51.100.7", 40123), phone.call_id, 2, 10.0)


def test_a_wrong_password_is_challenged_again_and_reported():
    registrar = new_registrar()
    phone = Phone(registrar, "1001", "guess", host="203.0.113.9", port=5062)
    response, events = phone.send((AMY_DESK,), now=0.0, retries=1)
    assert [r.status for r in phone.responses] == [401, 401]
    assert response.headers.get_all("WWW-Authenticate")  # a fresh challenge, not a dead end
    [failure] = events
    assert isinstance(failure, AuthenticationFailed)
    assert (failure.user, failure.aor_user, failure.source) == ("1001", "1001", ("203.0.113.9", 5062))
    assert "wrong response" in failure.reason
    assert registrar.bindings("1001") == () and registrar.counters.auth_failures == 1


def test_an_unknown_user_is_challenged_and_refused_exactly_like_a_known_one():
    stations = (AMY, CARL, LOBBY)  # every SIP station has a password: one shape of challenge
    known, unknown = new_registrar(stations), new_registrar(stations)
    first_known = handle(known, register_request("1001", contacts=(AMY_DESK,))).response
    first_unknown = handle(unknown, register_request("1999", contacts=("<sip:1999@192.0.2.10:5060>",))).response
    assert challenge_shape(first_known) == challenge_shape(first_unknown)
    # and a wrong password for an existing station is refused as an unknown user's anything
    known_phone = Phone(known, "1001", "guess")
    unknown_phone = Phone(unknown, "1999", "guess")
    refused_known, events_known = known_phone.send((AMY_DESK,), now=1.0, retries=1)
    refused_unknown, events_unknown = unknown_phone.send(("<sip:1999@192.0.2.10:5060>",), now=1.0, retries=1)
    assert challenge_shape(refused_known) == challenge_shape(refused_unknown)
    assert [type(e) for e in events_known] == [type(e) for e in events_unknown] == [AuthenticationFailed]
    assert events_unknown[0].user == "1999" and events_unknown[0].reason == "unknown user"


def test_unknown_users_get_each_shape_of_challenge_stations_get_and_always_the_same_one():
    registrar = new_registrar((AMY, BEN))  # one SHA-256 + MD5 station, one MD5-only station
    station_shapes = {("SHA-256", "MD5"), ("MD5",)}

    def offered(user: str) -> tuple[str, ...]:
        response = handle(registrar, register_request(user, contacts=(f"<sip:{user}@192.0.2.10>",))).response
        return tuple(parse_challenge(v).algorithm for v in response.headers.get_all("WWW-Authenticate"))

    shapes = {user: offered(user) for user in (f"{n}" for n in range(2000, 2100))}
    assert set(shapes.values()) == station_shapes
    assert 20 < sum(shape == ("MD5",) for shape in shapes.values()) < 80
    assert all(offered(user) == shape for user, shape in list(shapes.items())[:10])
    assert offered("1001") == ("SHA-256", "MD5") and offered("ben") == ("MD5",)


def test_a_stale_nonce_is_answered_with_stale_true_and_is_no_failure():
    registrar = new_registrar(nonce_lifetime=300.0)
    phone = Phone(registrar, "1001", AMY_PASSWORD)
    phone.send((AMY_DESK,), now=0.0)
    response, events = phone.send((AMY_DESK,), now=100.0)  # reuses the nonce: nc 2
    assert [r.status for r in phone.responses] == [401, 200, 200]
    response, events = phone.send((AMY_DESK,), now=1000.0)  # the nonce expired meanwhile
    assert [r.status for r in phone.responses[3:]] == [401, 200]
    assert all(parse_challenge(v).stale for v in phone.responses[3].headers.get_all("WWW-Authenticate"))
    assert [type(e) for e in events] == [BindingRefreshed]
    assert registrar.counters.auth_failures == 0


def test_a_phone_may_register_only_its_own_aor():
    registrar = new_registrar()
    phone = Phone(registrar, "1001", AMY_PASSWORD)
    response, events = phone.send(("<sip:ben@192.0.2.10>",), now=0.0, to=f"<sip:ben@{REALM}>")
    assert response.status == 403
    [failure] = events
    assert (failure.user, failure.aor_user) == ("1001", "ben") and "does not own" in failure.reason
    assert registrar.bindings("ben") == () and registrar.bindings("1001") == ()


def test_an_escaped_aor_user_is_the_same_user():
    phone = Phone(new_registrar(), "1001", AMY_PASSWORD)
    assert phone.send((AMY_DESK,), now=0.0, to=f"<sip:%31001@{REALM}>")[0].status == 200


def test_an_unreadable_authorization_is_a_400_and_a_reported_failure():
    registrar = new_registrar()
    result = handle(registrar, register_request("1001", contacts=(AMY_DESK,), authorization='Digest username="1001'))
    assert result.response.status == 400
    [failure] = result.events
    assert failure.user is None and "not terminated" in failure.reason


def test_a_simulated_station_cannot_register():
    phone = Phone(new_registrar(), "1000", "anything")
    assert phone.send(("<sip:1000@192.0.2.10>",), now=0.0, retries=1)[0].status == 401


# --------------------------------------------------------------------------
# Contacts and expiries


def registered(settings=None, stations=(AMY, BEN, LOBBY)):
    registrar = new_registrar(stations, **(settings or {}))
    return registrar, Phone(registrar, "1001", AMY_PASSWORD)


def test_several_bindings_per_station_and_the_200_lists_them_all():
    registrar, phone = registered()
    phone.send(("<sip:1001@192.0.2.10:5060>", "<sip:1001@10.0.0.8:5070;transport=tcp>;expires=120"), now=0.0)
    response, _ = phone.send(("<sip:1001@192.0.2.20>",), now=60.0, expires=600)
    assert contact_expiries(response) == {
        "sip:1001@192.0.2.10:5060": 3540, "sip:1001@10.0.0.8:5070;transport=tcp": 60, "sip:1001@192.0.2.20": 600}
    assert [str(b.contact) for b in registrar.bindings("1001")] == [
        "sip:1001@192.0.2.10:5060", "sip:1001@10.0.0.8:5070;transport=tcp", "sip:1001@192.0.2.20"]
    assert registrar.bindings_of_extension("1001") == registrar.bindings("1001")
    assert registrar.binding_count == 3
    # the most recent registration is the station's summary
    assert registrar.registration("1001", now=60.0)["contact"] == "sip:1001@192.0.2.20"


def test_the_contact_expires_parameter_wins_over_the_header():
    _, phone = registered()
    response, _ = phone.send(("<sip:1001@192.0.2.10>;expires=120", "<sip:1001@192.0.2.11>"), now=0.0, expires=900)
    assert contact_expiries(response) == {"sip:1001@192.0.2.10": 120, "sip:1001@192.0.2.11": 900}


def test_without_any_expiry_the_default_applies():
    _, phone = registered({"default_expires": 1800})
    assert contact_expiries(phone.send((AMY_DESK,), now=0.0)[0]) == {"sip:1001@192.0.2.10:5060": 1800}


def test_expires_zero_removes_that_binding_only():
    registrar, phone = registered()
    phone.send(("<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.11>"), now=0.0)
    response, events = phone.send(("<sip:1001@192.0.2.10>",), now=5.0, expires=0)
    assert contact_expiries(response) == {"sip:1001@192.0.2.11": 3595}
    assert events == [BindingRemoved("1001", "1001", "sip:1001@192.0.2.10", SOURCE, "unregistered")]
    # the same with the parameter, and a contact that was never bound is no error
    response, events = phone.send(("<sip:1001@192.0.2.11>;expires=0", "<sip:1001@192.0.2.99>;expires=0"), now=6.0)
    assert (response.status, contact_expiries(response)) == (200, {})
    assert [e.contact for e in events] == ["sip:1001@192.0.2.11"]
    assert registrar.registration("1001", now=6.0) is None


def test_contacts_are_matched_by_rfc3261_uri_equality():
    registrar, phone = registered()
    phone.send(("<sip:1001@Phone.Example.com;transport=udp>",), now=0.0)
    response, events = phone.send(("<sip:1001@phone.example.com;TRANSPORT=udp>",), now=1.0, expires=0)
    assert [type(e) for e in events] == [BindingRemoved] and registrar.bindings("1001") == ()


def test_star_with_expires_zero_removes_every_binding():
    registrar, phone = registered()
    phone.send(("<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.11>"), now=0.0)
    response, events = phone.send(("*",), now=1.0, expires=0)
    assert response.status == 200 and response.headers.get("Contact") is None
    assert sorted(e.contact for e in events) == ["sip:1001@192.0.2.10", "sip:1001@192.0.2.11"]
    assert registrar.bindings("1001") == ()


@pytest.mark.parametrize("contacts, expires", [
    (("*",), 60),
    (("*",), None),
    (("*", "<sip:1001@192.0.2.10>"), 0),
])
def test_star_with_anything_else_is_a_400(contacts, expires):
    registrar, phone = registered()
    phone.send((AMY_DESK,), now=0.0)
    response, events = phone.send(contacts, now=1.0, expires=expires)
    assert (response.status, events) == (400, [])
    assert len(registrar.bindings("1001")) == 1


def test_below_min_expires_is_423_with_min_expires():
    registrar, phone = registered({"min_expires": 60})
    response, events = phone.send(("<sip:1001@192.0.2.10>;expires=30", "<sip:1001@192.0.2.11>"), now=0.0)
    assert (response.status, response.headers.get("Min-Expires"), events) == (423, "60", [])
    assert registrar.bindings("1001") == ()
    assert phone.send(("<sip:1001@192.0.2.10>;expires=60",), now=1.0)[0].status == 200


def test_above_max_expires_is_shortened():
    _, phone = registered({"max_expires": 3600})
    response, events = phone.send((AMY_DESK,), now=0.0, expires=86400)
    assert contact_expiries(response) == {"sip:1001@192.0.2.10:5060": 3600} and events[0].expires == 3600
    # (the parser already refuses an Expires header beyond 2**32-1; a contact parameter is read here)
    response, _ = phone.send(("<sip:1001@192.0.2.10:5060>;expires=99999999999999999999",), now=0.0)
    assert contact_expiries(response) == {"sip:1001@192.0.2.10:5060": 3600}


def test_no_contact_is_a_query_that_changes_nothing():
    registrar, phone = registered()
    phone.send((AMY_DESK,), now=0.0)
    response, events = phone.send((), now=100.0)
    assert (response.status, events) == (200, [])
    assert contact_expiries(response) == {"sip:1001@192.0.2.10:5060": 3500}
    assert registrar.bindings("1001")[0].expires_at == 3600.0


def test_contact_parameters_are_kept_and_echoed_with_the_remaining_expiry():
    registrar, phone = registered()
    contact = '<sip:1001@192.0.2.10;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1'
    response, _ = phone.send((contact,), now=0.0, expires=300)
    echoed = parse_name_addr(response.headers.get("Contact"))
    assert echoed.param("+sip.instance") == '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    assert (echoed.param("reg-id"), echoed.param("expires"), str(echoed.uri)) == ("1", "300", "sip:1001@192.0.2.10;ob")


@pytest.mark.parametrize("contact, reason", [
    ("<tel:+13175550100>", "Contact Must Be A SIP URI"),
    ("<sip:1001@192.0.2.10>;expires=soon", "Invalid Contact Expires"),
    ("<sip:1001@192.0.2.10>;expires", "Invalid Contact Expires"),
])
def test_unusable_contacts_are_a_400(contact, reason):
    registrar, phone = registered()
    response, _ = phone.send((contact,), now=0.0)
    assert (response.status, response.reason) == (400, reason)
    assert registrar.bindings("1001") == ()


def test_a_station_holds_a_bounded_number_of_bindings():
    registrar, phone = registered({"max_bindings_per_station": 2})
    phone.send(("<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.11>"), now=0.0)
    response, _ = phone.send(("<sip:1001@192.0.2.12>",), now=1.0)
    assert (response.status, response.reason) == (403, "Too Many Bindings")
    # replacing one within the same request is fine
    response, _ = phone.send(("<sip:1001@192.0.2.10>;expires=0", "<sip:1001@192.0.2.12>"), now=2.0)
    assert response.status == 200 and len(registrar.bindings("1001")) == 2


# --------------------------------------------------------------------------
# Call-ID and CSeq (RFC 3261 10.3 step 7)


def test_an_old_cseq_on_the_same_call_id_changes_nothing_at_all():
    registrar, phone = registered()
    phone.send((AMY_DESK,), now=0.0, expires=600)  # CSeq 1 (401), 2 (200)
    phone.cseq = 1  # the next REGISTER goes out as CSeq 2 (challenge reused), then 3 after a 401
    response, events = phone.send((AMY_DESK, "<sip:1001@192.0.2.11>"), now=10.0, expires=900)
    assert (response.status, response.reason, events) == (400, "Out of Order CSeq", [])
    [binding] = registrar.bindings("1001")  # the new contact was not added either: all or nothing
    assert binding.expires_at == 600.0


def test_another_call_id_may_refresh_and_remove_whatever_its_cseq():
    registrar = new_registrar()
    Phone(registrar, "1001", AMY_PASSWORD, call_id="boot-1").send((AMY_DESK,), now=0.0, expires=600)
    after_reboot = Phone(registrar, "1001", AMY_PASSWORD, call_id="boot-2")
    response, events = after_reboot.send((AMY_DESK,), now=10.0, expires=900)
    assert response.status == 200 and [type(e) for e in events] == [BindingRefreshed]
    assert registrar.bindings("1001")[0].call_id == "boot-2"
    assert after_reboot.send((AMY_DESK,), now=20.0, expires=0)[0].status == 200
    assert registrar.bindings("1001") == ()


# --------------------------------------------------------------------------
# Other refusals and the rest of the surface


def test_an_unsupported_required_extension_is_420():
    _, phone = registered()
    response, _ = phone.send((AMY_DESK,), now=0.0, extra=("Require: path, gruu",))
    assert (response.status, response.headers.get("Unsupported")) == (420, "path, gruu")


def test_a_to_without_a_sip_user_is_400():
    registrar = new_registrar()
    response = handle(registrar, register_request("1001", to=f"<sip:{REALM}>")).response
    assert (response.status, response.reason) == (400, "To Must Name A SIP User")
    response = handle(registrar, register_request("1001", to="<tel:+1001>")).response
    assert response.status == 400


def test_only_register_is_handled():
    request = register_request("1001")
    request.method = "OPTIONS"
    with pytest.raises(ValueError):
        handle(new_registrar(), request)


def test_the_server_header_is_added_when_configured():
    response = handle(new_registrar(server_header="rccserver"), register_request("1001")).response
    assert response.headers.get("Server") == "rccserver"
    assert handle(new_registrar(), register_request("1001")).response.headers.get("Server") is None


def test_a_reload_that_drops_a_station_drops_its_bindings():
    registrar = new_registrar((AMY, BEN))
    Phone(registrar, "1001", AMY_PASSWORD).send((AMY_DESK,), now=0.0)
    Phone(registrar, "ben", BEN_PASSWORD).send(("<sip:ben@192.0.2.11>",), now=0.0)
    new_amy = attrs.evolve(AMY, password="changed")
    events = registrar.replace_stations([new_amy])
    assert events == [BindingRemoved("ben", "1002", "sip:ben@192.0.2.11", SOURCE, "station removed")]
    assert len(registrar.bindings("1001")) == 1  # kept, although its password changed
    assert registrar.registration("1002", now=0.0) is None and registrar.next_deadline() == 3600.0
    ben = Phone(registrar, "ben", BEN_PASSWORD)
    assert ben.send(("<sip:ben@192.0.2.11>",), now=1.0, retries=1)[0].status == 401
    assert Phone(registrar, "1001", "changed", call_id="after-reload").send((AMY_DESK,), now=1.0)[0].status == 200


def test_a_stored_ha1_is_checked_against_the_configured_realm():
    # the same ha1 is useless under another realm (the administrator must recompute it)
    registrar = new_registrar(realm="other.example.com")
    phone = Phone(registrar, "ben", BEN_PASSWORD)
    assert phone.send(("<sip:ben@192.0.2.11>",), now=0.0, retries=1)[0].status == 401
    assert md5(f"ben:{REALM}:{BEN_PASSWORD}") == BEN.ha1


def test_the_counters():
    registrar, phone = registered()
    phone.send((AMY_DESK,), now=0.0)  # 401, 200: added
    phone.send((AMY_DESK,), now=1.0)  # 200: refreshed
    Phone(registrar, "1001", "guess").send((AMY_DESK,), now=2.0, retries=1)  # 401, 401: one failure
    phone.send((AMY_DESK,), now=3.0, expires=0)  # removed
    phone.send(("*",), now=4.0)  # 400
    counters = registrar.counters
    assert attrs.asdict(counters) == {
        "requests": 7, "registrations": 3, "challenges": 3, "auth_failures": 1, "rate_limited": 0, "refused": 1,
        "bindings_added": 1, "bindings_refreshed": 1, "bindings_removed": 1, "bindings_expired": 0}
    counters.requests = 0  # a copy
    assert registrar.counters.requests == 7


@pytest.mark.parametrize("settings", [
    {"min_expires": 0},
    {"min_expires": 600, "max_expires": 60},
    {"min_expires": 600, "default_expires": 300},
    {"max_bindings_per_station": 0},
])
def test_settings_that_make_no_sense_are_refused(settings):
    with pytest.raises(ValueError):
        new_registrar(**settings)


def test_adopting_the_pools_bindings_replaces_ours_silently():
    """Another server of the pool took the REGISTERs: its bindings become ours, none echoed."""
    there, phone = registered()
    phone.send(("<sip:1001@192.0.2.10:5060>", "<sip:1001@192.0.2.30:5062>"), now=0.0, expires=600)
    here, mine = registered()
    mine.send(("<sip:1001@192.0.2.99:5060>",), now=0.0, expires=600)
    here.adopt_bindings("1001", there.bindings("1001"), now=10.0)
    assert [str(b.contact) for b in here.bindings("1001")] == ["sip:1001@192.0.2.10:5060", "sip:1001@192.0.2.30:5062"]
    assert here.registration("1001", now=10.0)["expires_in"] == 590
    # a refresh there moves the expiry here; an unregister there removes it here
    phone.send(("<sip:1001@192.0.2.10:5060>",), now=100.0, expires=900)
    here.adopt_bindings("1001", there.bindings("1001"), now=100.0)
    assert {str(b.contact): b.expires_in(100.0) for b in here.bindings("1001")}["sip:1001@192.0.2.10:5060"] == 900
    here.adopt_bindings("1001", (), now=120.0)
    assert here.bindings("1001") == () and here.next_deadline() is None
    here.adopt_bindings("9999", there.bindings("1001"), now=120.0)  # no such station: nothing
    assert here.binding_count == 0
