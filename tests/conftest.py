import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
# Third-party corpora vendored into the repository (tests/data/README.md names their sources).
CORPORA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def corpora() -> pathlib.Path:
    """Third-party test data vendored in tests/data (RFC 4475, RFC 5118)."""
    assert CORPORA.is_dir(), f"expected the vendored corpora at {CORPORA}"
    return CORPORA


@pytest.fixture
def built_switch_events(monkeypatch) -> list:
    """Every event object the embedded switch builds while the test runs, in order."""
    from rccserver.switch.embedded import EmbeddedSwitch

    built: list = []
    original = EmbeddedSwitch._build

    def recording(self, *args):
        event = original(self, *args)
        built.append(event)
        return event

    monkeypatch.setattr(EmbeddedSwitch, "_build", recording)
    return built
