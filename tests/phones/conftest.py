import tempfile
from pathlib import Path

import pytest

from testkit.baresip import baresip_phones
from tests.phones.registrar import PASSWORD, Registrar


@pytest.fixture
def registrar():
    """Kamailio as a registrar on UDP loopback; every user's password is PASSWORD."""
    with tempfile.TemporaryDirectory(prefix="registrar-") as workdir:
        with Registrar(Path(workdir), PASSWORD) as running:
            yield running


@pytest.fixture
def baresip_phone(registrar_first):
    """phone(user=..., tone_hz=..., ...) starts a baresip phone; all are stopped (killed if
    need be) and their directories removed after the test, pass or fail."""
    with baresip_phones() as factory:
        yield factory


@pytest.fixture
def registrar_first(request):
    """Phones stop before the registrar (else `quit` waits for an un-REGISTER answer):
    when a test uses both, set the registrar up first so that it is torn down last."""
    if "registrar" in request.fixturenames:
        request.getfixturevalue("registrar")
