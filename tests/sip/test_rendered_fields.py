"""RenderedFields.lines_then (the per-response memo) answers exactly as lines() does."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rccserver.sip.rendered_fields import RenderedFields

_FIELDS = st.sampled_from([
    (),
    (("Content-Type", "application/csta+xml"),),
    (("content-type", "application/csta+xml"), ("X-A", "1")),
    (("Content-Length", "5"),),  # the general path places it: None
    (("Bad Name", "x"),),  # Headers refuses it
    (("X-B", ["unhashable"]),),
])
_SERVERS = st.sampled_from(["rccserver/1", "other/2", "bad\r\nvalue"])


def _expected(fields, name, value):
    try:
        return RenderedFields().lines((*fields, (name, value)))
    except (ValueError, TypeError) as error:
        return type(error)


@settings(deadline=None)
@given(st.lists(st.tuples(_FIELDS, _SERVERS), min_size=1, max_size=8))
def test_lines_then_is_lines_of_the_fields_then_the_pair(sequence):
    rendered = RenderedFields()
    for fields, server in sequence:
        expected = _expected(fields, "Server", server)
        if isinstance(expected, type):
            with pytest.raises(expected):
                rendered.lines_then(fields, "Server", server)
        else:
            assert rendered.lines_then(fields, "Server", server) == expected
            assert rendered.lines_then(fields, "Server", server) == expected  # the memo


def test_lines_then_does_not_answer_an_equal_but_other_name():
    rendered = RenderedFields()
    fields = (("Content-Type", "application/csta+xml"),)
    assert rendered.lines_then(fields, "Server", "a") == "Content-Type: application/csta+xml\r\nServer: a\r\n"
    assert rendered.lines_then(fields, "User-Agent", "a") == "Content-Type: application/csta+xml\r\nUser-Agent: a\r\n"
