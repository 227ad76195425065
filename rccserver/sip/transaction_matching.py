"""Which transaction a message belongs to (RFC 3261 sections 17.1.3 and 17.2.3).

A server transaction is found by the top Via's branch and sent-by and the
method (ACK counting as the INVITE it acknowledges), with the RFC 2543
fallback for requests whose branch lacks the magic cookie.  A client
transaction is found by the response's top Via branch and its CSeq method:
a CANCEL shares its INVITE's branch but is a transaction of its own.
"""
from __future__ import annotations

from typing import NamedTuple

import attrs

from rccserver.sip.message import Request, Response
from rccserver.sip.via import Via

MAGIC_COOKIE = "z9hG4bK"


class Rfc3261Key(NamedTuple):
    """Server transaction identity when the top Via has a magic-cookie branch.

    A named tuple, not an attrs class: one is built and hashed for every request
    received (looked up, stored, removed), and a tuple's hash and equality run in C.
    It equals only tuples of the same three strings; no table holding transaction
    keys holds such tuples."""

    branch: str
    sent_by: str
    method: str  # ACK is stored as INVITE so that it finds its INVITE


@attrs.frozen(slots=True)
class Rfc2543Key:
    """Fallback identity for requests without a usable branch (sipe, RFC 2543 peers).

    The To tag is left out on purpose: the INVITE that created a transaction had
    none, while the ACK for our non-2xx carries ours.
    """

    request_uri: str
    from_tag: str | None
    call_id: str
    cseq: int
    top_via: str
    method: str


ServerKey = Rfc3261Key | Rfc2543Key
_new_tuple = tuple.__new__


@attrs.frozen(slots=True)
class ClientKey:
    """Client transaction identity: our branch and the request's method."""

    branch: str
    method: str


TransactionKey = ServerKey | ClientKey


def has_rfc3261_branch(branch: str | None) -> bool:
    """True for a branch that starts with the magic cookie and has something after it."""
    return branch is not None and len(branch) > len(MAGIC_COOKIE) and branch.startswith(MAGIC_COOKIE)


def server_key(
    *,
    method: str,
    branch: str | None,
    sent_by: str,
    request_uri: str,
    from_tag: str | None,
    call_id: str,
    cseq: int,
    top_via: str,
) -> ServerKey:
    """The key under which a server transaction for this request is stored or found.

    ACK maps to the INVITE it acknowledges; CANCEL keeps its own method, so it
    gets its own transaction (the TU finds the INVITE with `cancel_target_key`).
    """
    keyed_method = "INVITE" if method == "ACK" else method
    if has_rfc3261_branch(branch):
        return Rfc3261Key(branch, sent_by.lower(), keyed_method)  # type: ignore[arg-type]
    return Rfc2543Key(request_uri, from_tag, call_id, cseq, top_via, keyed_method)


def server_key_of(request: Request) -> ServerKey:
    """`server_key` read from a parsed request."""
    return server_key_from_via(
        request.method, request.top_via, request.uri, request.from_.tag, request.call_id, request.cseq[0]
    )


def server_key_from_via(
    method: str, via: Via, request_uri: str, from_tag: str | None, call_id: str, cseq: int
) -> ServerKey:
    """`server_key` for a request with this top Via: the branch is read and checked
    once, and the Via's text is written only for the RFC 2543 fallback."""
    keyed_method = "INVITE" if method == "ACK" else method
    branch = via.branch
    if has_rfc3261_branch(branch):
        # Rfc3261Key(...) without its Python-level __new__ (one frame per request)
        # and Via.sent_by written out: no property call, no f-string without a port
        port = via.port
        sent_by = via.host if port is None else f"{via.host}:{port}"
        return _new_tuple(Rfc3261Key, (branch, sent_by.lower(), keyed_method))  # type: ignore[no-any-return]
    return Rfc2543Key(request_uri, from_tag, call_id, cseq, str(via), keyed_method)


def cancel_target_key(key: ServerKey) -> ServerKey:
    """The key of the INVITE transaction that a CANCEL with this key refers to."""
    if type(key) is Rfc3261Key:
        return key._replace(method="INVITE")
    return attrs.evolve(key, method="INVITE")


def client_key_of(message: Request | Response) -> ClientKey | None:
    """The client transaction a response belongs to (or that our request creates).

    None when the top Via has no branch: such a response cannot be ours.
    """
    branch = message.top_via.branch
    if not branch:
        return None
    return ClientKey(branch, message.cseq[1])
