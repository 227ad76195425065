"""How the switch reads a destination (rccserver.common.numbers): a station by its
number, any other dialable number as an external party, anything else refused."""
from __future__ import annotations

import pytest

from rccserver.switch import SwitchError
from switch_helpers import A, B, X


@pytest.mark.parametrize("destination, device, is_station", [
    ("1002", B, True),
    ("tel:+1002", B, True),
    ("sip:1002@example.com", B, True),
    ("tel:+1 (317) 555-2020;phone-context=+1", X, False),
    ("+1 317 555 2020", X, False),
    ("sip:+13175552020@example.com;user=phone", X, False),
])
def test_destination_names_a_station_or_an_outside_number(switch, destination, device, is_station):
    call = switch.make_call(A, destination).call_id
    called = switch.call(call).parties[1]
    assert (called.device, called.is_station) == (device, is_station)


@pytest.mark.parametrize("destination", ["sip:bob@example.com", "1\n002", "+1\u00a0317 555 2020", "1" * 33])
def test_what_is_not_a_number_is_refused(switch, destination):
    with pytest.raises(SwitchError) as refused:
        switch.make_call(A, destination)
    assert (refused.value.category, refused.value.value) == ("operation", "invalidDestination")


def test_a_remote_number_is_kept_in_canonical_form(switch):
    switch.set_remote_number(A, "sip:+1-317-555-2020@example.com;user=phone")
    assert switch.get_remote_number(A) == X
