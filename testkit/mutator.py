"""Seeds and mutations for the wire fuzzer: Lync-shaped SIP messages, broken on purpose.

Everything here is pure and deterministic: `Mutator(seed)` yields the same
inputs for the same seed, so a failing input can be replayed from the seed and
index printed by the harness.

Seeds are what the Lync front end really sends on the RCC line (see
reference/lync-rcc-protocol.md): INVITE with RequestSystemStatus, INFO with
each CSTA request (bodies from testkit.messages), UPDATE, BYE, OPTIONS, ACK.
In-dialog seeds carry the Call-ID and tags of a live dialog (`DialogIds`) so
that mutated INFOs reach the CSTA codec and services instead of stopping at a 481.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import attrs

from testkit.messages import ED3, ED5, build_message, csta_requests

CRLF = b"\r\n"


@attrs.frozen(slots=True)
class DialogIds:
    """Where fuzz messages claim to come from, and the dialog they target."""

    user: str  # sip:alice@example.com
    line: str  # tel:+1001
    call_id: str
    from_tag: str
    to_tag: str
    host: str = "127.0.0.1"
    port: int = 5060
    transport: str = "TCP"


def _headers(d: DialogIds, method: str, cseq: int, *, in_dialog: bool, call_id: str | None = None,
             branch: str = "z9hG4bKfz") -> list[tuple[str, str]]:
    to = "<sip:rcc@rcc.example.com>" + (f";tag={d.to_tag}" if in_dialog else "")
    return [
        ("Via", f"SIP/2.0/{d.transport} {d.host}:{d.port};branch={branch}{cseq}{method.lower()}"),
        ("Max-Forwards", "70"),
        ("From", f"<{d.user}>;tag={d.from_tag};epid=fuzz"),
        ("To", to),
        ("Call-ID", call_id or d.call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", f"<sip:lync@{d.host}:{d.port};transport={d.transport.lower()}>"),
        ("User-Agent", "UCCAPI/15.0 OC/15.0 (Microsoft Lync)"),
    ]


def seeds(d: DialogIds, cseq_base: int = 1000) -> dict[str, bytes]:
    """Valid messages, name -> bytes. In-dialog ones use d's dialog; the INVITE opens a new one."""
    csta_ct = [("Content-Type", "application/csta+xml"), ("Content-Disposition", "signal;handling=required")]
    bodies = csta_requests(d.line)
    out: dict[str, bytes] = {}
    rss = bodies["RequestSystemStatus"].encode()
    out["INVITE"] = build_message(
        "INVITE sip:rcc@rcc.example.com SIP/2.0",
        _headers(d, "INVITE", 1, in_dialog=False, call_id=f"new-{d.call_id}") + [("Supported", "timer")] + csta_ct,
        rss)
    for index, (name, body) in enumerate(sorted(bodies.items())):
        out[f"INFO {name}"] = build_message(
            "INFO sip:rcc@rcc.example.com SIP/2.0",
            _headers(d, "INFO", cseq_base + index, in_dialog=True) + csta_ct, body.encode())
    out["INFO ed5"] = build_message(
        "INFO sip:rcc@rcc.example.com SIP/2.0",
        _headers(d, "INFO", cseq_base + 90, in_dialog=True) + csta_ct,
        csta_requests(d.line, ED5)["SnapshotDevice"].encode())
    out["UPDATE"] = build_message(
        "UPDATE sip:rcc@rcc.example.com SIP/2.0",
        _headers(d, "UPDATE", cseq_base + 91, in_dialog=True) + [("Session-Expires", "1800;refresher=uac")])
    out["re-INVITE"] = build_message(
        "INVITE sip:rcc@rcc.example.com SIP/2.0",
        _headers(d, "INVITE", cseq_base + 92, in_dialog=True) + [("Session-Expires", "1800;refresher=uac")] + csta_ct,
        rss)
    out["ACK"] = build_message("ACK sip:rcc@rcc.example.com SIP/2.0", _headers(d, "ACK", 1, in_dialog=True))
    out["OPTIONS"] = build_message(
        "OPTIONS sip:rcc@rcc.example.com SIP/2.0",
        _headers(d, "OPTIONS", 1, in_dialog=False, call_id=f"opt-{d.call_id}") + [("Accept", "application/sdp")])
    out["BYE"] = build_message("BYE sip:rcc@rcc.example.com SIP/2.0",
                               _headers(d, "BYE", cseq_base + 99, in_dialog=True))
    return out


# -- mutations -----------------------------------------------------------------------
def _split(message: bytes) -> tuple[list[bytes], bytes]:
    head, sep, body = message.partition(b"\r\n\r\n")
    return head.split(CRLF), body if sep else b""


def _join(lines: list[bytes], body: bytes) -> bytes:
    return CRLF.join(lines) + b"\r\n\r\n" + body


def _header_index(rng: random.Random, lines: list[bytes]) -> int | None:
    return rng.randrange(1, len(lines)) if len(lines) > 1 else None


def delete_header(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    index = _header_index(rng, lines)
    if index is not None:
        del lines[index]
    return _join(lines, body)


def duplicate_header(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    index = _header_index(rng, lines)
    if index is not None:
        lines.insert(rng.randrange(1, len(lines) + 1), lines[index])
    return _join(lines, body)


CONTENT_LENGTHS = (b"0", b"-1", b"1", b"99999999999999999999", b"65537", b"abc", b"", b"1e3", b" 12 ", b"0x10")


def content_length_mismatch(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    lines = [line for line in lines if not line.lower().startswith((b"content-length:", b"l:"))]
    choice = rng.randrange(4)
    if choice == 0:
        value = rng.choice(CONTENT_LENGTHS)
    elif choice == 1:
        value = str(max(0, len(body) + rng.choice((-3, -1, 1, 2, 40)))).encode()
    else:
        value = str(len(body)).encode()
    lines.append(b"Content-Length: " + value)
    if choice == 3:  # two Content-Length headers that disagree
        lines.append(b"l: " + str(len(body) + 7).encode())
    return _join(lines, body)


def truncate(rng: random.Random, message: bytes) -> bytes:
    return message[: rng.randrange(0, len(message))] if message else message


HUGE_SIZES = (300, 4096, 20000, 70000)


def huge_value(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    index = _header_index(rng, lines)
    if index is None:
        return message
    name = lines[index].split(b":", 1)[0]
    filler = rng.choice((b"A", b"9", b";x=y", b"<sip:a@b>,", b"%"))
    size = rng.choice(HUGE_SIZES)
    lines[index] = name + b": " + (filler * (size // len(filler) + 1))[:size]
    return _join(lines, body)


def binary_junk(rng: random.Random, message: bytes) -> bytes:
    junk = bytes(rng.randrange(256) for _ in range(rng.choice((1, 4, 32, 300))))
    at = rng.randrange(0, len(message) + 1)
    return message[:at] + junk + message[at:]


def flip_bytes(rng: random.Random, message: bytes) -> bytes:
    data = bytearray(message)
    for _ in range(rng.choice((1, 2, 8))):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


START_LINES = (
    b"INVITE sip:rcc@rcc.example.com SIP/3.0", b"FOO sip:rcc@rcc.example.com SIP/2.0", b"INFO  SIP/2.0",
    b"INFO sip:rcc@rcc.example.com", b"SIP/2.0 200 OK", b"SIP/2.0 999999999999 Huge", b"INFO <sip:x> SIP/2.0",
    b"INFO sip:rcc@[::1 SIP/2.0", b"\x00INFO sip:rcc@rcc.example.com SIP/2.0", b"REGISTER sip:example.com SIP/2.0",
    b"SUBSCRIBE sip:rcc@rcc.example.com SIP/2.0", b"", b"CANCEL sip:rcc@rcc.example.com SIP/2.0",
)


def bad_start_line(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    lines[0] = rng.choice(START_LINES)
    return _join(lines, body)


def _replace_body(message: bytes, body: bytes) -> bytes:
    lines, _ = _split(message)
    lines = [line for line in lines if not line.lower().startswith((b"content-length:", b"l:"))]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return _join(lines, body)


def _deep(depth: int) -> bytes:
    return (b"<a>" * depth) + (b"</a>" * depth)


XML_ATTACKS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]>'
    b'<GetCSTAFeatures xmlns="' + ED3.encode() + b'">&y;</GetCSTAFeatures>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r>&xxe;</r>',
    b'<GetCSTAFeatures xmlns="urn:other"/>',
    b'<SnapshotDevice xmlns="' + ED3.encode() + b'"><snapshotObject>' + b"9" * 300 + b"</snapshotObject></SnapshotDevice>",
    b'<MakeCall xmlns="' + ED3.encode() + b'">' + _deep(40) + b"</MakeCall>",
    b"<unclosed",
    b"",
    b"\xff\xfe<\x00a\x00/\x00>\x00",
    b'<MonitorStart xmlns="' + ED3.encode() + b'"><monitorObject><deviceObject></deviceObject></monitorObject></MonitorStart>',
    b'<?xml version="1.0" encoding="EBCDIC-XX"?><a/>',
    b'<x:MakeCall xmlns:x="' + ED3.encode() + b'"><x:callingDevice>tel:+1</x:callingDevice></x:MakeCall>',
    b"<![CDATA[junk]]>",
    b'<GetCSTAFeatures xmlns="' + ED3.encode() + b'"/><GetCSTAFeatures xmlns="' + ED3.encode() + b'"/>',
)


def mutate_body(rng: random.Random, message: bytes) -> bytes:
    _, body = _split(message)
    choice = rng.randrange(4)
    if choice == 0 or not body:
        new = rng.choice(XML_ATTACKS)
    elif choice == 1:  # drop a random element's text or a run of characters
        start = rng.randrange(len(body))
        new = body[:start] + body[start + rng.randrange(1, 40):]
    elif choice == 2:  # swap the namespace or the root name
        new = body.replace(ED3.encode(), rng.choice((ED5.encode(), b"urn:bogus", b""))) if rng.random() < 0.5 \
            else body.replace(b"<", b"<Bogus", 1)
    else:  # huge text content
        new = body.replace(b"tel:+", b"tel:+" + b"1" * rng.choice((257, 5000, 60000)), 1)
    return _replace_body(message, new)


def compact_forms(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    table = {b"via": b"v", b"from": b"f", b"to": b"t", b"call-id": b"i", b"contact": b"m",
             b"content-type": b"c", b"content-length": b"l", b"supported": b"k"}
    out = [lines[0]]
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        short = table.get(name.strip().lower())
        out.append(short + sep + value if short and rng.random() < 0.7 else line)
    return _join(out, body)


def fold_and_case(rng: random.Random, message: bytes) -> bytes:
    lines, body = _split(message)
    index = _header_index(rng, lines)
    if index is not None:
        line = lines[index]
        mid = len(line) // 2
        lines[index] = rng.choice((line.upper(), line.lower(), line[:mid] + b"\r\n " + line[mid:],
                                   line.replace(b": ", b"   :   ", 1), line + b"\x00"))
    return _join(lines, body)


def line_endings(rng: random.Random, message: bytes) -> bytes:
    return message.replace(b"\r\n", rng.choice((b"\n", b"\r", b"\r\r\n", b"\n\r")))


MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "delete_header": delete_header,
    "duplicate_header": duplicate_header,
    "content_length": content_length_mismatch,
    "truncate": truncate,
    "huge_value": huge_value,
    "binary_junk": binary_junk,
    "flip_bytes": flip_bytes,
    "bad_start_line": bad_start_line,
    "mutate_body": mutate_body,
    "compact_forms": compact_forms,
    "fold_and_case": fold_and_case,
    "line_endings": line_endings,
}


@attrs.frozen(slots=True)
class FuzzInput:
    index: int
    seed_name: str
    mutations: tuple[str, ...]
    data: bytes


class Mutator:
    """An endless, reproducible stream of mutated seeds."""

    def __init__(self, seed_messages: dict[str, bytes], seed: int = 0) -> None:
        if not seed_messages:
            raise ValueError("the mutator needs at least one seed message")
        self.seed_messages = seed_messages
        self.names = sorted(seed_messages)
        self.seed = seed

    def input(self, index: int) -> FuzzInput:
        """The index-th input; the same (seed, index) always gives the same bytes."""
        rng = random.Random(self.seed * 1_000_003 + index)
        name = rng.choice(self.names)
        data = self.seed_messages[name]
        applied = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            mutation = rng.choice(sorted(MUTATIONS))
            data = MUTATIONS[mutation](rng, data)
            applied.append(mutation)
        return FuzzInput(index, name, tuple(applied), data)

    def inputs(self, start: int, count: int) -> Iterator[FuzzInput]:
        for index in range(start, start + count):
            yield self.input(index)


def split_everywhere(stream: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The stream cut in two at every offset 1..len-1."""
    for offset in range(1, len(stream)):
        yield stream[:offset], stream[offset:]
