"""Hypothesis strategies for SIP syntax objects (shared by the tests in tests/sip)."""
import ipaddress
import re

from hypothesis import strategies as st

from rccserver.sip import uri as grammar
from rccserver.sip.uri import AbsoluteUri, NameAddr, SipUri, TelUri
from rccserver.sip.via import Via

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()"

tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
escapes = st.integers(0, 255).map(lambda b: f"%{b:02X}")


def escaped_text(chars: str, min_size: int = 1) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(chars), escapes), min_size=min_size, max_size=12).map("".join)


labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: f"[{ipaddress.IPv6Address(n).compressed}]")
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.none() | st.integers(0, 65535)

uri_params = st.lists(
    st.tuples(escaped_text(UNRESERVED + "[]/:&+$"), st.none() | escaped_text(UNRESERVED + "[]/:&+$")),
    max_size=4,
).map(tuple)
uri_headers = st.lists(
    st.tuples(escaped_text(UNRESERVED + "[]/?:+$"), escaped_text(UNRESERVED + "[]/?:+$", min_size=0)),
    max_size=3,
).map(tuple)

sip_uris = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.none() | escaped_text(UNRESERVED + "&=+$,;?/"),
    password=st.none(),
    host=hosts,
    port=ports,
    params=uri_params,
    headers=uri_headers,
).flatmap(
    # A password only exists with a user.
    lambda u: st.just(u) if u.user is None else st.builds(
        lambda pw: SipUri(scheme=u.scheme, user=u.user, password=pw, host=u.host, port=u.port,
                          params=u.params, headers=u.headers),
        st.none() | escaped_text(UNRESERVED + "&=+$,", min_size=0)))

tel_uris = st.builds(
    TelUri,
    number=st.from_regex(re.compile(r"\+?[0-9][0-9\-.()]{0,14}"), fullmatch=True),
    params=st.lists(
        st.tuples(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10),
                  st.none() | escaped_text(UNRESERVED + "[]/:&+$")),
        max_size=3).map(tuple),
)
absolute_uris = st.builds(
    AbsoluteUri,
    scheme=st.sampled_from(["http", "urn", "mailto", "soap.beep", "im", "pres", "isbn"]),
    rest=escaped_text(UNRESERVED + ";/?:@&=+$,"),
)
uris = st.one_of(sip_uris, tel_uris, absolute_uris)
uri_texts = st.one_of(
    st.from_regex(re.compile(grammar.SIP_URI_CAP), fullmatch=True),
    st.from_regex(re.compile(grammar.TEL_URI_CAP), fullmatch=True),
    st.from_regex(re.compile(grammar.ABSOLUTE_URI_CAP), fullmatch=True),
)

display_names = st.none() | st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20)
quoted_values = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                        max_size=10).map(grammar.quote_string)
param_values = st.one_of(st.none(), tokens, quoted_values,
                         st.text(TOKEN_CHARS + ":[]", min_size=1, max_size=12))
header_params = st.lists(st.tuples(tokens, param_values), max_size=4).map(tuple)
name_addrs = st.builds(NameAddr, display_name=display_names, uri=uris, params=header_params)
name_addr_texts = st.from_regex(re.compile(grammar.NAME_ADDR_CAP), fullmatch=True)

vias = st.builds(
    Via,
    protocol=st.just("SIP/2.0"),
    transport=st.sampled_from(["UDP", "TCP", "TLS", "tcp", "tls", "SCTP", "WS"]),
    host=hosts,
    port=ports,
    params=header_params,
)
