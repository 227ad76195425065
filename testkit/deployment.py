"""A generated deployment of N users, for benchmarks and the soak.

`write_deployment(dir, users=N)` writes a config, an AD LDIF with N enabled Lync
users and CIC data with one licensed user and one station per AD user:

    user i: sip:u<i>@example.com, line tel:+2<i:06d>, EXAMPLE\\u<i>, station 2<i:06d>

so every generated user logs on with Cs_Success on a station of its own.
"""
from __future__ import annotations

from pathlib import Path

import attrs

from testkit.serverconfig import config_text
from testkit.serverproc import ServerProcess, free_port

DOMAIN = "example.com"
# The load client holds hundreds of connections from one address.
MAX_CONNECTIONS_PER_SOURCE = 256


@attrs.frozen(slots=True)
class BenchUser:
    index: int

    @property
    def sam(self) -> str:
        return f"u{self.index}"

    @property
    def uri(self) -> str:
        return f"sip:u{self.index}@{DOMAIN}"

    @property
    def extension(self) -> str:
        return f"2{self.index:06d}"

    @property
    def line(self) -> str:
        return f"tel:+{self.extension}"


def ldif_text(count: int, *, renamed: bool = False) -> str:
    """`renamed` changes every displayName: a reload then reports every user as changed."""
    suffix = " (reloaded)" if renamed else ""
    return "\n".join(
        f"dn: CN=u{i},CN=Users,DC=example,DC=com\n"
        f"objectClass: user\n"
        f"sAMAccountName: u{i}\n"
        f"displayName: User {i}{suffix}\n"
        f"msRTCSIP-PrimaryUserAddress: sip:u{i}@{DOMAIN}\n"
        f"msRTCSIP-Line: tel:+2{i:06d}\n"
        f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\n"
        f"msRTCSIP-UserEnabled: TRUE\n"
        for i in range(count)
    )


def cic_text(count: int) -> str:
    parts = ['[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n']
    parts.extend(
        f"[[users]]\nid = \"U{i}\"\nnt_domain_user = 'EXAMPLE\\u{i}'\nextension = \"8{i:06d}\"\n"
        f"client_license = true\nallow_remote_number = false\n"
        for i in range(count)
    )
    parts.extend(
        f"[[stations]]\nname = \"Desk{i}\"\nextension = \"2{i:06d}\"\nidentification_address = \"tel:+2{i:06d}\"\n"
        for i in range(count)
    )
    return "\n".join(parts)


def write_deployment(directory: Path, *, users: int, session_timeout: int = 0) -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    sip_port, admin_port = free_port(), free_port()
    (directory / "directory.ldif").write_text(ldif_text(users))
    (directory / "cic.toml").write_text(cic_text(users))
    (directory / "rccserver.toml").write_text(
        config_text(sip_port=sip_port, admin_port=admin_port, session_timeout=session_timeout,
                    line_extra=f"max_connections_per_source = {MAX_CONNECTIONS_PER_SOURCE}")
    )
    return ServerProcess(directory / "rccserver.toml", sip_port, admin_port, users)
