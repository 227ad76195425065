"""The phone line's side of the trunk (SPEC 9): INVITEs to the peer with the peer's digest
challenge answered, INVITEs from `accept_from` as trunk calls (no challenge), INVITEs from
anywhere else challenged like a phone's, and the OPTIONS pings."""
from __future__ import annotations

from rccserver.sip.digest import DigestClient
from rccserver.stations.trunk import TrunkMonitor
from phone_line_harness import Line, counting_random, sdp

PEER = ("203.0.113.5", 5060)
CHALLENGE = ("Proxy-Authenticate", 'Digest realm="carrier.example.net", nonce="n0nce", algorithm=MD5, qop="auth"')


def trunk_line(**options):
    line = Line()
    line.endpoint.set_trunk(PEER, "udp", "sbc.example.net", **options)
    called = []
    line.listener.trunk_called = called.append  # the call layer's stand-in for trunk calls
    peer = line.phone("carrier", host=PEER[0], port=PEER[1])
    return line, peer, called


def test_an_invite_to_the_peer_answers_its_407_and_is_answered():
    line, peer, _ = trunk_line()
    leg = line.call(line.endpoint.invite_peer, "sip:+13175550188@sbc.example.net", sdp(4000),
                    caller="+13175551001", identity="+13175551001",
                    auth=DigestClient("acme", "pw-acme", counting_random("trunk")), label="+13175550188")
    [first] = peer.requests("INVITE")
    assert first.uri == "sip:+13175550188@sbc.example.net"
    assert first.headers.get("From").startswith("<sip:+13175551001@")
    assert first.headers.get("P-Asserted-Identity") == "<sip:+13175551001@pbx.example.com>"
    assert first.body == sdp(4000)
    peer.respond(first, 407, headers=[CHALLENGE])
    assert [r.method for r in peer.requests()][-2:] == ["ACK", "INVITE"]
    second = peer.last_request("INVITE")
    assert second.cseq == (2, "INVITE") and second.call_id == first.call_id
    assert second.headers.get("From") == first.headers.get("From")
    assert second.headers.get("Proxy-Authorization").startswith('Digest username="acme", realm="carrier.example.net"')
    assert line.listener.names(leg) == []  # the challenge is the line's business, not the call layer's
    peer.respond(second, 200, tag="c1", body=sdp(7000))
    assert line.listener.names(leg) == ["leg_answered"]
    assert peer.last_request("ACK").cseq == (2, "ACK")


def test_a_forwarded_call_names_the_forwarding_station_in_diversion():
    line, peer, _ = trunk_line()
    line.call(line.endpoint.invite_peer, "sip:+13175550177@sbc.example.net", sdp(4000), caller="+13175550199",
              identity="+13175550199", diversion="+13175551001")
    invite = peer.last_request("INVITE")
    assert invite.headers.get("Diversion") == "<sip:+13175551001@pbx.example.com>;reason=unknown"


def test_a_second_challenge_after_credentials_is_a_failure_of_the_leg_at_the_third():
    line, peer, _ = trunk_line()
    leg = line.call(line.endpoint.invite_peer, "sip:+13175550188@sbc.example.net", sdp(4000),
                    caller="1001", auth=DigestClient("acme", "wrong", counting_random("trunk")))
    for _ in range(3):
        peer.respond(peer.last_request("INVITE"), 407, headers=[CHALLENGE])
    assert len(peer.requests("INVITE")) == 3  # two rounds of credentials, then no more
    assert line.listener.args("leg_failed", leg) == [(407, "Proxy Authentication Required")]


def test_without_credentials_a_challenge_fails_the_leg():
    line, peer, _ = trunk_line()
    leg = line.call(line.endpoint.invite_peer, "sip:+13175550188@sbc.example.net", sdp(4000), caller="1001")
    peer.respond(peer.last_request("INVITE"), 401, headers=[("WWW-Authenticate", CHALLENGE[1])])
    assert line.listener.args("leg_failed", leg) == [(401, "Unauthorized")]


def test_an_invite_from_the_peer_is_a_trunk_call_for_its_did_without_a_challenge():
    line, peer, called = trunk_line()
    invite, _ = peer.invite_request("+13175551001", sdp(6000))
    peer.send(invite)
    [leg] = called
    assert leg.dialled == "+13175551001" and leg.station == "carrier"  # From's user part, as sent
    assert leg.remote_sdp == sdp(6000)
    assert [r.status for r in peer.responses()] == [100]


def test_the_did_can_be_read_from_to():
    line, peer, called = trunk_line(did_from="to")
    invite, _ = peer.invite_request("+13175551001", sdp(6000))
    invite.uri = "sip:trunk-group-7@pbx.example.com"
    peer.send(invite)
    assert called[0].dialled == "+13175551001"


def test_an_invite_from_outside_accept_from_is_challenged_and_goes_nowhere():
    line, _, called = trunk_line(accept_from=["203.0.113.0/28"])
    stranger = line.phone("carrier", host="198.51.100.77", port=5060)
    invite, _ = stranger.invite_request("+13175550188", sdp(6000))
    stranger.send(invite)
    assert [r.status for r in stranger.responses()] == [407]
    assert called == [] and line.listener.names() == []


def test_accept_from_networks_replace_the_peers_address():
    line, peer, called = trunk_line(accept_from=["198.51.100.0/24"])
    assert line.endpoint.from_trunk(("198.51.100.9", 5060)) and not line.endpoint.from_trunk(PEER)


def test_options_pings_mark_the_trunk_up_then_down_when_it_stops_answering():
    line, peer, _ = trunk_line()
    changes = []
    monitor = TrunkMonitor(line.scheduler, line.endpoint.ping_trunk, interval=30,
                           observer=lambda state, detail: changes.append((state, detail)))
    monitor.start()
    line.run()
    ping = peer.last_request("OPTIONS")
    assert ping.uri == "sip:sbc.example.net:5060"
    peer.respond(ping, 200)
    assert monitor.state == "up" and monitor.last_status == 200
    line.drop = lambda phone, data: True  # the peer is gone
    line.advance(30 + 64 * 0.5 + 1)  # the next ping, then its Timer F
    assert monitor.state == "down" and monitor.last_status == 408
    assert changes == [("up", "OPTIONS answered 200 OK"), ("down", "OPTIONS answered 408 No Answer")]
    assert monitor.as_json()["failures"] >= 1
