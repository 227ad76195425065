"""Loading the AD cache from a real LDAP / Active Directory server (blocking; run it in a thread).

ldap3 does the protocol: simple bind with the password read from a file,
paged searches (RFC 2696; AD answers at most 1000 entries per page, other
servers cap a plain search with a size limit, so we always page), ldaps:// or
StartTLS with an optional CA file, and a timeout for connecting and for every
answer. Each failure says which step failed: connect, TLS, bind or search.
"""
from __future__ import annotations

import math
import ssl
from pathlib import Path
from typing import Protocol

import ldap3
from ldap3.core import exceptions as ldap_errors

from rccserver.directory.cache import DirectoryCache, DirectoryError, SkippedEntry
from rccserver.directory.entries import ATTRIBUTES, EntrySkipped, user_from_entry


class LdapSettings(Protocol):
    """The [directory] keys the loader reads (rccserver.server.config.DirectoryConfig)."""

    url: str | None
    bind_dn: str | None
    password_file: str | None
    search_dn: str | None
    search_filter: str
    page_size: int
    start_tls: bool
    ca_file: str | None
    timeout: float
    netbios_domain: str


def read_password(path: str | None) -> str | None:
    """The bind password: the file's text without its trailing newline."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise DirectoryError(f"directory.password_file {path}: cannot read: {why}") from None


def _tls(config: LdapSettings) -> ldap3.Tls | None:
    if not (config.url.lower().startswith("ldaps://") or config.start_tls):
        return None
    return ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=config.ca_file)


def _text(values: list) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _connect(config: LdapSettings, password: str | None) -> ldap3.Connection:
    where = f"LDAP {config.url}"
    try:
        server = ldap3.Server(config.url, get_info=ldap3.NONE, tls=_tls(config), connect_timeout=config.timeout)
        connection = ldap3.Connection(
            server, user=config.bind_dn, password=password, auto_bind=ldap3.AUTO_BIND_NONE,
            # ldap3 packs receive_timeout as whole seconds (struct 'LL'): a float is refused.
            receive_timeout=max(1, math.ceil(config.timeout)), read_only=True, raise_exceptions=True,
        )
        connection.open()
    except (ldap_errors.LDAPException, OSError, ssl.SSLError) as error:
        raise DirectoryError(f"{where}: cannot connect: {error}") from None
    try:
        if config.start_tls and not config.url.lower().startswith("ldaps://"):
            connection.start_tls()
    except (ldap_errors.LDAPException, OSError, ssl.SSLError) as error:
        _close(connection)
        raise DirectoryError(f"{where}: StartTLS failed: {error}") from None
    try:
        connection.bind()
    except ldap_errors.LDAPInvalidCredentialsResult:
        _close(connection)
        raise DirectoryError(f"{where}: bind as {config.bind_dn!r} refused: invalid credentials "
                             f"(check directory.password_file)") from None
    except (ldap_errors.LDAPException, OSError) as error:
        _close(connection)
        raise DirectoryError(f"{where}: bind as {config.bind_dn!r} failed: {error}") from None
    return connection


def _close(connection: ldap3.Connection) -> None:
    try:
        connection.unbind()
    except (ldap_errors.LDAPException, OSError):
        pass  # closing a broken connection; the real error is already on its way


def load_from_ldap(config: LdapSettings) -> DirectoryCache:
    """Blocking: bind, page through every Lync user under search_dn, build the cache."""
    connection = _connect(config, read_password(config.password_file))
    users = []
    skipped = []
    try:
        entries = connection.extend.standard.paged_search(
            search_base=config.search_dn, search_filter=config.search_filter,
            search_scope=ldap3.SUBTREE, attributes=list(ATTRIBUTES), paged_size=config.page_size,
            generator=True,
        )
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue  # referrals: AD answers them for other partitions; we stay in ours
            attributes = {name: _text(values) for name, values in entry["raw_attributes"].items()}
            try:
                user = user_from_entry(entry["dn"], attributes, config.netbios_domain)
            except EntrySkipped as why:
                skipped.append(SkippedEntry(entry["dn"], str(why)))
                continue
            if user is not None:
                users.append(user)
    except (ldap_errors.LDAPException, OSError) as error:
        raise DirectoryError(f"LDAP {config.url}: search under {config.search_dn!r} "
                             f"with {config.search_filter} failed: {error}") from None
    finally:
        _close(connection)
    return DirectoryCache(users, source=f"ldap {config.url}", skipped=skipped)
