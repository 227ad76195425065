"""Loading the AD cache from a real LDAP / Active Directory server (blocking; run it in a thread).

ldap3 does the protocol: simple bind with the password read from a file,
paged searches (RFC 2696; AD answers at most 1000 entries per page), ldaps://
or StartTLS with an optional CA file.
"""
from __future__ import annotations

import ssl
from pathlib import Path

import ldap3
from ldap3.core import exceptions as ldap_errors

from rccserver.directory.cache import DirectoryCache, DirectoryError
from rccserver.directory.entries import ATTRIBUTES, user_from_entry


def read_password(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise DirectoryError(f"directory.password_file {path}: cannot read: {error}") from None


def _tls(config) -> ldap3.Tls | None:
    if not (config.url.lower().startswith("ldaps://") or config.start_tls):
        return None
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=config.ca_file,
    )


def load_from_ldap(config) -> DirectoryCache:
    """config: a DirectoryConfig with source = "ldap"."""
    where = f"LDAP {config.url}"
    try:
        server = ldap3.Server(config.url, get_info=ldap3.NONE, tls=_tls(config), connect_timeout=config.timeout)
        connection = ldap3.Connection(
            server, user=config.bind_dn, password=read_password(config.password_file),
            auto_bind=ldap3.AUTO_BIND_NONE, receive_timeout=config.timeout, read_only=True,
            raise_exceptions=True,
        )
        connection.open()
        if config.start_tls and not config.url.lower().startswith("ldaps://"):
            connection.start_tls()
        connection.bind()
    except ldap_errors.LDAPBindError as error:
        raise DirectoryError(f"{where}: bind as {config.bind_dn!r} refused: {error}") from None
    except (ldap_errors.LDAPException, OSError, ssl.SSLError) as error:
        raise DirectoryError(f"{where}: cannot connect: {error}") from None
    users = []
    try:
        entries = connection.extend.standard.paged_search(
            search_base=config.search_dn, search_filter=config.search_filter,
            search_scope=ldap3.SUBTREE, attributes=list(ATTRIBUTES), paged_size=config.page_size,
            generator=True,
        )
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attributes = {
                name: [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
                for name, values in entry["raw_attributes"].items()
            }
            user = user_from_entry(entry["dn"], attributes, config.netbios_domain)
            if user is not None:
                users.append(user)
    except (ldap_errors.LDAPException, OSError) as error:
        raise DirectoryError(f"{where}: search under {config.search_dn!r} failed: {error}") from None
    finally:
        try:
            connection.unbind()
        except (ldap_errors.LDAPException, OSError):
            pass
    return DirectoryCache(users, source=f"ldap {config.url}")
