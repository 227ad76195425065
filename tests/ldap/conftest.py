"""The slapd fixture: one OpenLDAP server per test session, with TLS, 2,560 Lync users."""
from __future__ import annotations

import pytest

from rccserver.commands import certs
from tests.ldap.slapd_server import Population, SlapdServer, available

POPULATION = Population(enabled=2500, disabled=60, non_lync=40, in_sales=100)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory) -> SlapdServer:
    assert available(), "OpenLDAP (Debian slapd) is required: /usr/sbin/slapd, /usr/sbin/slapadd, /etc/ldap/schema"
    workdir = tmp_path_factory.mktemp("slapd")
    cert_set = certs.generate(workdir / "certs", host="ldap.example.com")
    server = SlapdServer(workdir, POPULATION,
                         tls=(cert_set.ca, cert_set.server.certificate, cert_set.server.private_key))
    server.ca_file = cert_set.ca
    server.start()
    yield server
    server.remove()
