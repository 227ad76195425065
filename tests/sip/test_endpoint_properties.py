"""Random interleavings of client requests, application answers and time never break
the endpoint's promises: every request but ACK gets exactly one final response,
every dialog ends exactly once, and nothing is left behind."""
from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings, strategies as st

from rccserver.sip.endpoint import Send, SendTo
from rccserver.sip.message import Request, Response
from rccserver.sip.parser import parse_message

from test_endpoint_harness import CSTA, Harness, Peer

OPS = st.one_of(
    st.tuples(st.just("invite"), st.integers(0, 9)),
    st.tuples(st.just("answer"), st.integers(0, 9), st.sampled_from([200, 200, 486, 180])),
    st.tuples(st.just("ack"), st.integers(0, 9)),
    st.tuples(st.just("info"), st.integers(0, 9)),
    st.tuples(st.just("reinvite"), st.integers(0, 9)),
    st.tuples(st.just("update"), st.integers(0, 9)),
    st.tuples(st.just("bye"), st.integers(0, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(st.just("options"), st.integers(0, 9)),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 5, 31, 40, 900, 1800])),
    st.tuples(st.just("reconnect"), st.integers(0, 9)),
    st.tuples(st.just("ours"), st.integers(0, 9)),
)


class World:
    def __init__(self) -> None:
        self.h = Harness(hold=True)
        self.peers: list[Peer] = []
        self.sent: Counter[tuple[str, str]] = Counter()  # (branch, method) -> requests
        self.finals: Counter[tuple[str, str]] = Counter()  # (branch, method) -> final responses
        self.last_invite: dict[int, tuple[bytes, str]] = {}  # peer index -> (INVITE bytes, via)
        self.conn = 1
        self.our_requests: list[Request] = []
        self.outcomes: list[object] = []

    def peer(self, index: int) -> Peer | None:
        return self.peers[index % len(self.peers)] if self.peers else None

    def collect(self, outputs) -> None:
        for output in outputs:
            if not isinstance(output, (Send, SendTo)):
                continue
            message = parse_message(output.data)
            if isinstance(message, Response):
                key = (message.top_via.branch, message.cseq[1])
                if message.status >= 200:
                    self.finals[key] += 1
                    if message.cseq[1] == "INVITE" and message.status < 300:
                        for peer in self.peers:
                            if peer.call_id == message.call_id and peer.to_tag is None:
                                peer.to_tag = message.to.tag
            else:
                self.our_requests.append(message)

    def feed(self, data: bytes) -> None:
        message = parse_message(data)
        if message.method != "ACK":
            self.sent[(message.top_via.branch, message.method)] += 1
        self.collect(self.h.feed(data, conn_id=self.conn))

    def run(self, op: tuple) -> None:
        kind = op[0]
        h = self.h
        if kind == "invite":
            peer = Peer()
            self.peers.append(peer)
            via = peer.via()
            data = peer.request("INVITE", via=via, to_tag=False, body=b"<RequestSystemStatus/>",
                                headers=f"Contact: <sip:alice@10.0.0.5>\nContent-Type: {CSTA}\nSupported: timer")
            self.last_invite[len(self.peers) - 1] = (data, via)
            self.feed(data)
        elif kind == "answer":
            if h.app.held:
                incoming = h.app.held.pop(op[1] % len(h.app.held))
                if op[2] < 200:
                    incoming.respond(op[2])
                    h.app.held.append(incoming)
                else:
                    incoming.respond(op[2], body=b"<x/>")
                self.collect(h.drain())
        elif kind == "cancel":
            if self.last_invite:
                index = sorted(self.last_invite)[op[1] % len(self.last_invite)]
                data, via = self.last_invite[index]
                peer = self.peers[index]
                cseq = parse_message(data).cseq[0]
                self.feed(peer.request("CANCEL", via=via, cseq=cseq, to_tag=False))
        elif kind == "tick":
            self.collect(h.advance(op[1]))
        elif kind == "reconnect":
            h.ep.connection_lost(self.conn)
            self.collect(h.drain())
            self.conn += 1
            h.connect(self.conn)
        elif kind == "ours":
            dialogs = list(h.ep.dialogs)
            if dialogs:
                h.ep.send_request(dialogs[op[1] % len(dialogs)], "INFO", body=b"<e/>", on_outcome=self.outcomes.append)
                self.collect(h.drain())
        else:
            peer = self.peer(op[1])
            if peer is None:
                return
            if kind == "options":
                self.feed(peer.request("OPTIONS", to_tag=peer.to_tag or False))
            elif peer.to_tag is None:
                return
            elif kind == "ack":
                self.feed(peer.request("ACK", cseq=peer.cseq))
            elif kind == "info":
                self.feed(peer.info())
            elif kind == "update":
                self.feed(peer.request("UPDATE", headers="Supported: timer"))
            elif kind == "bye":
                self.feed(peer.request("BYE"))
            elif kind == "reinvite":
                self.feed(peer.invite())

    def finish(self) -> None:
        h = self.h
        while h.app.held:
            h.app.held.pop().respond(200, body=b"<x/>")
            self.collect(h.drain())
        for peer in self.peers:
            if peer.to_tag is not None:
                self.feed(peer.request("ACK", cseq=peer.cseq))
                self.feed(peer.request("BYE"))
        self.collect(h.advance(64))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=5, max_size=50))
def test_random_interleavings_keep_the_invariants(ops: list[tuple]) -> None:
    world = World()
    # two signed-in clients to start from, then anything may happen
    prefix = [("invite", 0), ("invite", 0), ("answer", 0, 200), ("answer", 0, 200), ("ack", 0), ("ack", 1)]
    for op in prefix + ops:
        world.run(op)
    world.finish()
    h = world.h
    # every request (not ACK) got exactly one final response
    assert set(world.sent) == set(world.finals)
    assert all(world.finals[key] == world.sent[key] for key in world.sent), {k: (world.sent[k], v) for k, v in world.finals.items() if v != world.sent[k]}
    # no dialog, transaction or timer is left behind
    assert list(h.ep.dialogs) == []
    assert h.ep.server_transaction_count == 0
    assert h.ep.client_transaction_count == 0
    assert h.scheduler.next_deadline() is None
    # every dialog the app saw created ended exactly once
    created = [inc.dialog for inc in h.app.invites if inc.dialog is not None]
    ended = Counter(id(d) for d, _ in h.app.ended)
    assert sorted(ended.values()) == [1] * len(created)
    assert set(ended) == {id(d) for d in created}
    # each of our requests got exactly one outcome
    assert len(world.outcomes) == sum(1 for r in world.our_requests if r.method == "INFO")
