"""CSTA codec figures: decode/encode rates, and the cost of refusing each attack document.

Figures are printed, never asserted. BENCH_SCALE=smoke runs tiny counts.
"""
import pathlib
import tempfile
import time
import tracemalloc
from typing import Callable

from bench.common import rate, scale
from rccserver.csta import (
    ED3, NOT_KNOWN, ConnectionID, CstaDecodeError, DeliveredEvent, MakeCall, decode, encode,
)

NS = ED3.value
LINE = "tel:+13175551010"

MAKE_CALL = MakeCall(calling_device=LINE, called_directory_number="tel:+13175552020",
                     auto_originate="doNotPrompt")
DELIVERED = DeliveredEvent(
    monitor_cross_ref_id="99fda87c", connection=ConnectionID(call_id="c7", device_id=LINE),
    alerting_device=LINE, calling_device="tel:+13175552020", called_device=LINE,
    last_redirection_device=NOT_KNOWN, local_connection_info="alerting", cause="newCall")


def _attacks(directory: pathlib.Path) -> dict[str, bytes]:
    secret = directory / "secret.txt"
    secret.write_text("secret")
    dtd = directory / "evil.dtd"
    dtd.write_text('<!ENTITY e "from dtd">')
    laughs = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    return {
        "normal MakeCall": encode(MAKE_CALL, ED3),
        "billion laughs": (f'<!DOCTYPE MakeCall [{"".join(laughs)}]><MakeCall xmlns="{NS}">'
                           "<callingDevice>&l9;</callingDevice></MakeCall>").encode(),
        "quadratic blow-up": (f'<!DOCTYPE MakeCall [<!ENTITY a "{"A" * 20_000}">]><MakeCall xmlns="{NS}">'
                              f'<callingDevice>{"&a;" * 10_000}</callingDevice></MakeCall>').encode(),
        "external entity (local file)": (f'<!DOCTYPE MakeCall [<!ENTITY x SYSTEM "file://{secret}">]>'
                                         f'<MakeCall xmlns="{NS}"><callingDevice>&x;</callingDevice>'
                                         "</MakeCall>").encode(),
        "external DTD": (f'<!DOCTYPE MakeCall SYSTEM "file://{dtd}"><MakeCall xmlns="{NS}">'
                         "<callingDevice>&e;</callingDevice></MakeCall>").encode(),
        "10,000-deep nesting": (f'<MakeCall xmlns="{NS}">' + "<a>" * 10_000 + "</a>" * 10_000
                                + "</MakeCall>").encode(),
        "64 KiB + 1 body": (f'<MakeCall xmlns="{NS}"><callingDevice>' + "x" * 65_536
                            + "</callingDevice></MakeCall>").encode(),
    }


def _decode_outcome(body: bytes) -> str:
    try:
        decode(body)
    except CstaDecodeError as error:
        return f"refused {error.error_code}"
    return "accepted"


def _measure(label: str, body: bytes, repeat: int) -> None:
    start = time.perf_counter()
    for _ in range(repeat):
        outcome = _decode_outcome(body)
    per_call = (time.perf_counter() - start) / repeat
    tracemalloc.start()
    _decode_outcome(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<32} {len(body):>8} B  {per_call * 1e6:>9.1f} us  peak {peak / 1024:>8.1f} KiB  {outcome}")


def main() -> None:
    make_call_body = encode(MAKE_CALL, ED3)
    delivered_body = encode(DELIVERED, ED3)
    n = scale(50_000, smoke=20)
    rates: dict[str, Callable[[], object]] = {
        "decode MakeCall": lambda: decode(make_call_body),
        "encode MakeCall": lambda: encode(MAKE_CALL, ED3),
        "decode+encode MakeCall": lambda: encode(decode(make_call_body), ED3),
        "decode DeliveredEvent": lambda: decode(delivered_body),
        "encode DeliveredEvent": lambda: encode(DELIVERED, ED3),
        "decode+encode DeliveredEvent": lambda: encode(decode(delivered_body), ED3),
    }
    for label, func in rates.items():
        rate(label, func, n)
    print("attack documents (time per refusal, peak Python memory of one decode):")
    with tempfile.TemporaryDirectory() as directory:
        for label, body in _attacks(pathlib.Path(directory)).items():
            _measure(label, body, scale(200, smoke=2))


if __name__ == "__main__":
    main()
