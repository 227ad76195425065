"""Mutation fuzzing of the CSTA decoder: it may only return a message or raise CstaDecodeError.

`python -m bench.fuzz_csta` runs the long profile (1,000,000 inputs; `tox -e fuzz`);
`--count N`, `--seed S` and `--max-seconds T` change it. The mutator is seeded and
deterministic: the same seed replays the same inputs. Valid seed bodies (our sample
requests and one encoding of every message class in every edition) get 1-3 stacked
mutations: byte flips, truncation, element deletion, duplication and reordering,
huge text, wrong namespace, wrong root, hostile tokens, splices and odd values.
Whatever decodes must also re-encode and decode to the same message.
"""
import argparse
import collections
import copy
import pathlib
import random
import sys
import time
from typing import Any, Callable, Optional

import attrs
from lxml import etree

from rccserver.csta import (
    CATEGORIES, MESSAGES, NOT_KNOWN, ConnectionID, CstaDecodeError, ErrorCode, Namespace, decode_document,
    encode,
)
from rccserver.csta.capabilities import LIST_OF_SERVICE, ServiceSet
from rccserver.csta.devices import EventDeviceKind
from rccserver.csta.layout import Boolean, Integer, Record, RecordList, Text, Token, layout_of

LONG_PROFILE = 1_000_000
SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "csta" / "samples"

# Only for building and mutating our own seed documents, never for untrusted input.
_SEED_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

_HOSTILE = [
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;", b"&#0;", b"&#xD800;", b"]]>", b"<![CDATA[x]]>", b"\x00",
    b"\xff\xfe", b"\xc3\x28", b"<?xml version='1.0'?>", b"<!-- c -->", b"<?pi x?>", b"<a:b>",
    b"xmlns='urn:x'", b"<" * 40, b"<a>" * 40, b"\r\n", b"\xef\xbb\xbf", b'encoding="UTF-16"',
]
_VALUES = ["", " ", "x" * 257, "x" * 256, "-1", "0", "101", "99999999999", "true", "false", "maybe",
           "normal", "doNotPrompt", "forwardBusy", "\u00e9\u4e2d\U0001F600", "tel:+1", "a&amp;b",
           "notKnown", "\t\n"]
_ROOTS = sorted(MESSAGES) + ["CSTAErrorCode", "ParkCall", "", "a:b", "MakeCallX", "makecall"]
_NAMESPACES = [ns.value for ns in Namespace] + [
    "", "urn:other", "http://www.ecmainternational.org/standards/ecma-323/csta/ed3",
    "http://www.ecma.ch/standards/ecma-323/csta/ed6", "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"]


def _example(kind: Any, rng: random.Random) -> Any:
    if isinstance(kind, Text):
        return rng.choice(["tel:+13175551010", "c8", "m1", "tel:73124;phone-context=dialstring",
                           "sip:andr\u00e9@example.com", "12#*"])
    if isinstance(kind, Token):
        return rng.choice(sorted(kind.values))
    if isinstance(kind, Boolean):
        return rng.random() < 0.5
    if isinstance(kind, Integer):
        return rng.randint(kind.low, min(kind.high, 30))
    if isinstance(kind, EventDeviceKind):
        return NOT_KNOWN if rng.random() < 0.2 else "tel:+13175552020"
    if isinstance(kind, Record):
        return example_message(kind.cls, rng)
    if isinstance(kind, RecordList):
        return tuple(_example(kind.record, rng) for _ in range(rng.randint(0, 2)))
    if isinstance(kind, ServiceSet):
        return frozenset(rng.sample(sorted(LIST_OF_SERVICE), rng.randint(0, 8)))
    raise TypeError(f"no example for {kind!r}")


def example_message(cls: type, rng: random.Random) -> Any:
    values = {}
    for field in layout_of(cls).fields:
        if field.required or rng.random() < 0.7:
            values[field.name] = _example(field.kind, rng)
    if cls is ConnectionID and not values:
        values["call_id"] = "c1"
    return cls(**values)


def seed_corpus(seed: int = 0) -> list[bytes]:
    """Valid bodies: the sample requests plus every message class in every edition."""
    rng = random.Random(seed)
    bodies = [path.read_bytes() for path in sorted(SAMPLES.glob("*.xml"))]
    for cls in sorted(MESSAGES.values(), key=lambda c: c.ELEMENT):
        for namespace in Namespace:
            bodies.append(encode(example_message(cls, rng), namespace))
    for category in sorted(CATEGORIES):
        bodies.append(encode(ErrorCode(category, sorted(CATEGORIES[category])[0]), Namespace.ED3))
    return bodies


# ---------------------------------------------------------------- mutations
def _flip(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buffer[rng.randrange(len(buffer))] = rng.randrange(256)
    return bytes(buffer)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))]


def _insert_hostile(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(_HOSTILE) + data[at:]


def _splice(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    other = rng.choice(corpus)
    return data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]


def _tree_mutation(operation: Callable[[Any, random.Random], None]) -> Callable[[bytes, random.Random], bytes]:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        try:
            root = etree.fromstring(data, _SEED_PARSER)
        except etree.XMLSyntaxError:
            return _flip(data, rng)  # an earlier mutation broke it; fall back to bytes
        operation(root, rng)
        return etree.tostring(root, xml_declaration=rng.random() < 0.5, encoding="UTF-8")
    return mutate


def _elements(root: Any) -> list[Any]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


def _delete(root: Any, rng: random.Random) -> None:
    candidates = _elements(root)[1:]
    if candidates:
        victim = rng.choice(candidates)
        victim.getparent().remove(victim)


def _duplicate(root: Any, rng: random.Random) -> None:
    candidates = _elements(root)[1:]
    if candidates:
        original = rng.choice(candidates)
        original.addnext(copy.deepcopy(original))


def _reorder(root: Any, rng: random.Random) -> None:
    parent = rng.choice(_elements(root))
    children = list(parent)
    rng.shuffle(children)
    for child in children:
        parent.append(child)


def _huge_text(root: Any, rng: random.Random) -> None:
    rng.choice(_elements(root)).text = "9" * rng.choice([257, 5_000, 70_000])


def _odd_value(root: Any, rng: random.Random) -> None:
    target = rng.choice(_elements(root))
    if len(target) == 0:
        target.text = rng.choice(_VALUES)


def _wrong_namespace(root: Any, rng: random.Random) -> None:
    local = etree.QName(root).localname
    uri = rng.choice(_NAMESPACES)
    root.tag = f"{{{uri}}}{local}" if uri else local


def _wrong_root(root: Any, rng: random.Random) -> None:
    name = rng.choice(_ROOTS)
    uri = etree.QName(root).namespace
    if name and ":" not in name:
        root.tag = f"{{{uri}}}{name}" if uri else name


def _deep(root: Any, rng: random.Random) -> None:
    node = rng.choice(_elements(root))
    for _ in range(rng.choice([20, 40, 200])):
        node = etree.SubElement(node, "d")


MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    _flip, _truncate, _insert_hostile,
    _tree_mutation(_delete), _tree_mutation(_duplicate), _tree_mutation(_reorder),
    _tree_mutation(_huge_text), _tree_mutation(_odd_value), _tree_mutation(_wrong_namespace),
    _tree_mutation(_wrong_root), _tree_mutation(_deep),
]


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 3)):
        if not data:
            return data
        if rng.random() < 0.05:
            data = _splice(data, rng, corpus)
        else:
            data = rng.choice(MUTATIONS)(data, rng)
    return data


# ---------------------------------------------------------------- the property
def check(data: bytes) -> str:
    """'accepted' or the refusal's error code; raises AssertionError (or anything else) on a bug."""
    try:
        message, namespace = decode_document(data)
    except CstaDecodeError as error:
        return str(error.error_code)
    again = decode_document(encode(message, namespace))[0]
    if decode_document(encode(again, namespace))[0] != again:
        raise AssertionError(f"re-encoding is not stable for {message!r}")
    return "accepted"


@attrs.frozen
class Failure:
    index: int
    data: bytes
    error: str


@attrs.define
class Summary:
    inputs: int = 0
    outcomes: collections.Counter = attrs.Factory(collections.Counter)
    failures: list[Failure] = attrs.Factory(list)
    seconds: float = 0.0
    stopped_by_time: bool = False

    def lines(self) -> list[str]:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        lines = [f"inputs: {self.inputs:,}  failures: {len(self.failures)}  "
                 f"time: {self.seconds:.1f} s  ({rate:,.0f}/s)"
                 + ("  [stopped by --max-seconds]" if self.stopped_by_time else "")]
        lines += [f"  {outcome:<45} {count:>10,}" for outcome, count in self.outcomes.most_common()]
        lines += [f"  FAILURE #{f.index}: {f.error}  input={f.data[:200]!r}" for f in self.failures[:10]]
        return lines


def run(count: int, seed: int = 1, max_seconds: Optional[float] = None, keep_failures: int = 20) -> Summary:
    rng = random.Random(seed)
    corpus = seed_corpus(seed)
    summary = Summary()
    start = time.perf_counter()
    for index in range(count):
        data = corpus[index] if index < len(corpus) else mutate(rng.choice(corpus), rng, corpus)
        try:
            summary.outcomes[check(data)] += 1
        except Exception as error:  # noqa: BLE001  -- the fuzzer's job is to catch and report everything
            summary.outcomes["FAILURE"] += 1
            if len(summary.failures) < keep_failures:
                summary.failures.append(Failure(index, data, f"{type(error).__name__}: {error}"))
        summary.inputs += 1
        if max_seconds is not None and index % 1000 == 0 and time.perf_counter() - start > max_seconds:
            summary.stopped_by_time = True
            break
    summary.seconds = time.perf_counter() - start
    return summary


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=LONG_PROFILE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=4 * 3600.0)
    args = parser.parse_args(argv)
    summary = run(args.count, args.seed, args.max_seconds)
    print(f"CSTA decoder fuzz, seed {args.seed}")
    print("\n".join(summary.lines()))
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
