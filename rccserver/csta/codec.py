"""decode(bytes) -> message and encode(message, namespace) -> bytes.

Decoding matches elements by local name, tolerates unknown children, and turns
every refusal into one exception, CstaDecodeError, carrying the CSTAErrorCode
to answer with. Requests in the plain shapes Lync sends are read without a tree
(fast_decode); everything else goes through the hardened parser (decode_parsed).
Encoding builds the text directly (no tree), by a function generated per class
and edition from its layout (templates); encode_by_layout is the general walk it
must equal.
"""
from typing import Any, Callable

from . import events as _events, requests as _requests, responses as _responses  # noqa: F401  (register)
from .errors import (
    CATEGORIES, MALFORMED, UNKNOWN_SERVICE, CstaDecodeError, CstaEncodeError, ErrorCode,
)
from .fast_decode import decode_plain
from .hardening import parse_document
from .layout import decode_record, encode_record, escape_text, layout_of, local_name
from .namespaces import BY_URI, Namespace
from .registry import MESSAGES
from .templates import renderer

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
ERROR_ELEMENT = "CSTAErrorCode"


def decode(data: bytes) -> Any:
    """The message in `data`; raises CstaDecodeError (and nothing else) for any bad body."""
    return decode_document(data)[0]


def decode_document(data: bytes) -> tuple[Any, Namespace]:
    """The message and the namespace (edition) it came in, to answer in the same one."""
    plain = decode_plain(data)  # Lync's usual shapes; None sends everything else through lxml
    if plain is not None:
        return plain
    return decode_parsed(data)


def decode_parsed(data: bytes) -> tuple[Any, Namespace]:
    """decode_document through the hardened parser and the layouts, whatever the shape."""
    root = parse_document(data)
    tag = root.tag
    uri, brace, element = tag[1:].partition("}")
    namespace = BY_URI.get(uri) if tag.startswith("{") and brace else None
    if namespace is None:
        shown = uri if tag.startswith("{") else "no namespace"
        raise CstaDecodeError(MALFORMED, f"<{local_name(tag)}> is in {shown}, not an ECMA-323 ed3/ed4/ed5 namespace")
    if element == ERROR_ELEMENT:
        return _decode_error_code(root), namespace
    cls = MESSAGES.get(element)
    if cls is None:
        raise CstaDecodeError(UNKNOWN_SERVICE, f"unsupported CSTA message <{element[:80]}>")
    return decode_record(layout_of(cls), root, element), namespace


def _decode_error_code(root: Any) -> ErrorCode:
    for child in root:
        category = local_name(child.tag)
        allowed = CATEGORIES.get(category)
        if allowed is None:
            continue
        value = (child.text or "").strip()
        if value not in allowed or len(child):
            raise CstaDecodeError(MALFORMED, f"unknown CSTAErrorCode value {category}/{value[:40]}")
        return ErrorCode(category, value)
    raise CstaDecodeError(MALFORMED, "CSTAErrorCode names no error category")


def encode(message: Any, namespace: Namespace = Namespace.ED3) -> bytes:
    """UTF-8 bytes of `message` as the root of a document in `namespace`.

    Raises CstaEncodeError for values that cannot be sent and TypeError for a
    non-message. Fields newer than the edition (e.g. ringDuration in ed3) are left out.
    """
    frame = _FRAMES.get((type(message), namespace))
    if frame is None:
        if namespace not in BY_URI:
            raise CstaEncodeError(f"{namespace!r} is not an ECMA-323 ed3/ed4/ed5 namespace")
        if type(message) is ErrorCode:
            return _encode_error_code(message, namespace)
        frame = _frame(message, BY_URI[namespace])
    head, render, tail = frame
    return f"{head}{render(message)}{tail}".encode("utf-8")


_ERROR_CODES: dict[tuple[ErrorCode, Namespace], bytes] = {}


def _encode_error_code(code: ErrorCode, namespace: Namespace) -> bytes:
    body = _ERROR_CODES.get((code, namespace))
    if body is None:
        inner = f"<{code.category}>{escape_text(code.value)}</{code.category}>" if code.value \
            else f"<{code.category}/>"
        body = f'{_XML_DECLARATION}<{ERROR_ELEMENT} xmlns="{namespace}">{inner}</{ERROR_ELEMENT}>'.encode()
        if len(_ERROR_CODES) < 1024:  # a few dozen codes in three editions
            _ERROR_CODES[(code, namespace)] = body
    return body


# (message class, namespace) -> (document head, field renderer, root end tag)
_FRAMES: dict[tuple[type, Namespace], tuple[str, Callable[[Any], str], str]] = {}


def _frame(message: Any, namespace: Namespace) -> tuple[str, Callable[[Any], str], str]:
    cls = type(message)
    element = getattr(cls, "ELEMENT", None)
    if element is None or MESSAGES.get(element) is not cls:
        raise TypeError(f"{message!r} is not a CSTA message")
    frame = _FRAMES[(cls, namespace)] = (f'{_XML_DECLARATION}<{element} xmlns="{namespace}">',
                                          renderer(cls, namespace.edition), f"</{element}>")
    return frame


def encode_by_layout(message: Any, namespace: Namespace = Namespace.ED3) -> bytes:
    """What encode gives, by the general walk of the layout (the reference for the templates)."""
    if type(message) is ErrorCode:
        return _encode_error_code(message, namespace)
    element = type(message).ELEMENT
    out = [f'{_XML_DECLARATION}<{element} xmlns="{namespace}">']
    encode_record(layout_of(type(message)), message, out, BY_URI[namespace].edition)
    out.append(f"</{element}>")
    return "".join(out).encode("utf-8")
