"""SIP for the RCC line: sans-IO syntax (this package's public names below), transactions,
dialogs and the endpoint (their own modules)."""
from rccserver.sip.errors import HeaderError, SipParseError, UriError
from rccserver.sip.framer import FramedMessage, FramingError, KeepAlive, StreamFramer
from rccserver.sip.headers import COMPACT_FORMS, Headers, canonical_name
from rccserver.sip.message import REASON_PHRASES, Request, Response, make_response, reason_phrase
from rccserver.sip.parser import parse_message
from rccserver.sip.uri import (
    AbsoluteUri,
    NameAddr,
    SipUri,
    TelUri,
    parse_name_addr,
    parse_uri,
    split_header_list,
    uri_equal,
)
from rccserver.sip.via import Via, parse_via

__all__ = [
    "AbsoluteUri", "COMPACT_FORMS", "FramedMessage", "FramingError", "HeaderError", "Headers",
    "KeepAlive", "NameAddr", "REASON_PHRASES", "Request", "Response", "SipParseError", "SipUri",
    "StreamFramer", "TelUri", "UriError", "Via", "canonical_name", "make_response",
    "parse_message", "parse_name_addr", "parse_uri", "parse_via", "reason_phrase",
    "split_header_list", "uri_equal",
]
