"""The configured directory source: an LDIF export or a live LDAP / Active Directory server.

Blocking. The server loads through it at start and, on a reload, in a child process
(rccserver/server/reload_worker.py);
`rccserver probe` reads a user's line through it, so both see the same directory.
"""
from __future__ import annotations

from rccserver.directory.cache import DirectoryCache
from rccserver.directory.ldif import load_ldif


def load_directory(config) -> DirectoryCache:
    """Load from the [directory] table (a rccserver.server.config.DirectoryConfig); raises DirectoryError."""
    if config.source == "ldap":
        # Imported here: ldap3 is a tenth of a second that an LDIF deployment (or a probe) need not pay.
        from rccserver.directory.ldap import load_from_ldap

        return load_from_ldap(config)
    return load_ldif(config.ldif_file, config.netbios_domain)
