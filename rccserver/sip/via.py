"""Via header values (RFC 3261 §20.42, RFC 3581 rport, RFC 5118 IPv6 forms).

`parse_via` reads one via-parm; a Via header line may hold several separated by
commas (use `Headers.get_all('Via')` or `Request.vias`). Lync and sipe send
in-dialog Vias without a branch and with a lowercase transport (`SIP/2.0/tcp`);
both are accepted and kept as written.
"""
from __future__ import annotations

import re
from typing import Callable

import attrs

from rccserver.common.records import record_maker
from rccserver.sip.errors import HeaderError
from rccserver.sip.uri import (
    GENERIC_PARAMS,
    HOST,
    LWS,
    PORT,
    SWS,
    TOKEN,
    Params,
    _format_params,
    _lookup,
    diagnose_params,
    nocap,
    split_params,
)

VIA_PARM_CAP = (
    rf"(?P<name>{TOKEN}){SWS}/{SWS}(?P<version>{TOKEN}){SWS}/{SWS}(?P<transport>{TOKEN})"
    rf"{LWS}(?P<host>{HOST})(?:{SWS}:{SWS}(?P<port>{PORT}))?(?P<params>{GENERIC_PARAMS})"
)
VIA_LIST = rf"{nocap(VIA_PARM_CAP)}(?:{SWS},{SWS}{nocap(VIA_PARM_CAP)})*"

_VIA_PARM_RE = re.compile(VIA_PARM_CAP)
_SENT_PROTOCOL_RE = re.compile(rf"{TOKEN}{SWS}/{SWS}{TOKEN}{SWS}/{SWS}{TOKEN}")


@attrs.frozen(kw_only=True)
class Via:
    """One via-parm: sent-protocol, sent-by and parameters (values as written)."""

    protocol: str = "SIP/2.0"
    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def transport_upper(self) -> str:
        return self.transport.upper()

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def param(self, name: str) -> str | None:
        """Parameter value: None if absent, '' if present without a value."""
        return _lookup(self.params, name)

    @property
    def branch(self) -> str | None:
        # `param("branch")` without its two calls: every request's transaction key reads it.
        for pname, value in self.params:
            if pname == "branch" or pname.lower() == "branch":
                return "" if value is None else value
        return None

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> str | None:
        """None if absent, '' for the bare flag (a request asking for it), else the port."""
        return self.param("rport")

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with `name` set to `value` (None = flag), replacing it in place or appending."""
        lname = name.lower()
        params = list(self.params)
        for index, (pname, _) in enumerate(params):
            if pname.lower() == lname:
                params[index] = (pname, value)
                break
        else:
            params.append((name, value))
        return attrs.evolve(self, params=tuple(params))

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{_format_params(self.params)}"


# Every request's top Via is built from the parser's template, so skipping attrs' frozen
# __init__ (keyword binding plus object.__setattr__ per field, about twice the cost) counts
# per message. `_assembled_via(protocol, transport, host, port, params)` takes values already
# read and checked (Via has no validators or converters to skip).
_assembled_via: Callable[[str, str, str, int | None, Params], Via] = record_maker(Via)


def parse_via(value: str) -> Via:
    """Parse one via-parm such as 'SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1;rport'."""
    text = value.strip(" \t")
    plain = _parse_plain_via(text)
    return plain if plain is not None else _parse_via_by_grammar(text)


def _parse_via_by_grammar(text: str) -> Via:
    """parse_via by the full RFC 3261 regex (any shape; says what is wrong)."""
    m = _VIA_PARM_RE.fullmatch(text)
    if m is None:
        raise HeaderError(f"malformed Via: {diagnose_via(text)}")
    port = m.group("port")
    return Via(
        protocol=f"{m.group('name')}/{m.group('version')}",
        transport=m.group("transport"),
        host=m.group("host"),
        port=None if port is None else int(port),
        params=split_params(m.group("params")),
    )


# The common shape, 'SIP/2.0/TCP host:5061;branch=z9hG4bK..;rport': no blanks but the
# one after the sent-protocol, a hostname or IPv4 address, unquoted bracket-free
# parameter values. Every text it matches the full grammar matches too, read the same.
_PLAIN_VIA_RE = re.compile(
    rf"SIP/2\.0/({TOKEN}) ([A-Za-z0-9_][A-Za-z0-9_\-.]*)(?::([0-9]{{1,5}}))?"
    rf"((?:;{TOKEN}(?:=[A-Za-z0-9\-.!%*_+`'~:]+)?)*)"
)


def _parse_plain_via(text: str) -> Via | None:
    """`text` read by a simpler regex and plain splitting when it has the common shape;
    None for anything else (blanks around separators, quoted values such as Lync's
    ms-internal-info, IPv6 references, a port above 65535), which the full regex decides."""
    m = _PLAIN_VIA_RE.fullmatch(text)
    if m is None:
        return None
    transport, host, port_text, param_text = m.groups()
    port = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            return None
    params: Params = ()
    if param_text:
        # Neither a token nor an unquoted value holds ';' or '=': splitting reads them.
        pairs = []
        for piece in param_text[1:].split(";"):
            name, eq, pvalue = piece.partition("=")
            pairs.append((name, pvalue) if eq else (name, None))
        params = tuple(pairs)
    return _assembled_via("SIP/2.0", transport, host, port, params)


def diagnose_via(text: str) -> str:
    """Why `text` (one or several via-parms) does not parse."""
    if not text:
        return "empty value"
    for item in text.split(","):
        item = item.strip(" \t")
        if not item:
            return "empty element (stray ',')"
        if _VIA_PARM_RE.fullmatch(item):
            continue
        sent, has_params, params = item.partition(";")
        m = _SENT_PROTOCOL_RE.match(sent)
        if m is None:
            return f"bad sent-protocol in {item[:60]!r} (expected e.g. SIP/2.0/TCP)"
        sent_by = sent[m.end():].strip(" \t")
        if not sent_by:
            return "missing sent-by host"
        if not re.fullmatch(rf"{HOST}(?:{SWS}:{SWS}{PORT})?", sent_by):
            return f"invalid sent-by {sent_by!r}"
        if has_params:
            return diagnose_params(";" + params)
        return f"malformed via-parm {item[:60]!r}"
    return "malformed value"
