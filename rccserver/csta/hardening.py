"""Turning untrusted bytes into an lxml tree, safely.

No DTD, no entities, no network, no DOCTYPE at all; bounded size, depth and
element count. Every refusal is a CstaDecodeError with operation/generic.
"""
import re
import threading
from typing import Any

from lxml import etree

from .errors import MALFORMED, CstaDecodeError

MAX_BYTES = 64 * 1024
MAX_DEPTH = 32  # the root element is depth 1
MAX_ELEMENTS = 1000

ACCEPTED_ENCODINGS = frozenset({
    "utf-8", "utf8", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
    "us-ascii", "ascii",
})

_DECLARED_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml\s[^>]{0,200}?encoding\s*=\s*[\"']([^\"'>]{0,40})[\"']")
_TOO_DEEP = etree.XPath("boolean(/" + "/".join(["*"] * (MAX_DEPTH + 1)) + ")")
_ELEMENT_COUNT = etree.XPath("count(//*)")

_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False,
        )
    return parser


def parse_document(data: bytes) -> Any:
    """The root element of `data`, or CstaDecodeError saying why the body is refused."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"CSTA bodies are bytes, not {type(data).__name__}")
    if not data.strip():
        raise CstaDecodeError(MALFORMED, "empty body")
    if len(data) > MAX_BYTES:
        raise CstaDecodeError(MALFORMED, f"body of {len(data)} bytes exceeds {MAX_BYTES}")
    if b"\x00" in data:
        raise CstaDecodeError(MALFORMED, "NUL byte in body (only UTF-8 and ISO-8859-1 are accepted)")
    if b"<!DOCTYPE" in data:
        raise CstaDecodeError(MALFORMED, "DOCTYPE is not allowed")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in ACCEPTED_ENCODINGS:
        raise CstaDecodeError(MALFORMED, f"encoding {declared.group(1)[:40]!r} is not accepted")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as error:
        raise CstaDecodeError(MALFORMED, f"not well-formed XML: {error}") from None
    if _TOO_DEEP(root):
        raise CstaDecodeError(MALFORMED, f"document deeper than {MAX_DEPTH} levels")
    if _ELEMENT_COUNT(root) > MAX_ELEMENTS:
        raise CstaDecodeError(MALFORMED, f"document has more than {MAX_ELEMENTS} elements")
    return root
