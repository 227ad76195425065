"""The rccserver.toml that the test deployments share.

Everything is relative to the configuration's directory: the RCCServer log,
the pid file, an LDIF directory (`directory.ldif`, NetBIOS domain EXAMPLE) and
the CIC data (`cic.toml`); SIP over TCP on 127.0.0.1 as rcc.example.com, the
admin API on loopback.
"""
from __future__ import annotations


def config_text(*, sip_port: int, admin_port: int, session_timeout: int = 0, line_extra: str = "",
                switch_extra: str = "") -> str:
    """`line_extra` is added to [line]; a key it sets replaces the default of that key."""
    overridden = {item.split("=", 1)[0].strip() for item in line_extra.splitlines() if "=" in item}
    line_defaults = "\n".join(
        f"{key} = {value}"
        for key, value in (("domain_name", '"rcc.example.com"'), ("transport", '"tcp"'),
                           ("address", '"127.0.0.1"'), ("receive_port", sip_port),
                           ("session_timeout", session_timeout))
        if key not in overridden
    )
    return f"""[server]
log_file = "rccserver.log"
pid_file = "rccserver.pid"

[line]
{line_defaults}
{line_extra}

[directory]
source = "ldif"
ldif_file = "directory.ldif"
netbios_domain = "EXAMPLE"

[cic]
data_file = "cic.toml"

[switch]
{switch_extra}

[admin]
listen = "127.0.0.1:{admin_port}"
"""
