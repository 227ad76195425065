import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"


@pytest.fixture(scope="session")
def corpora() -> pathlib.Path:
    """Third-party test data, read in place from ../shared/corpora."""
    assert CORPORA.is_dir(), f"expected the shared corpora at {CORPORA}"
    return CORPORA
