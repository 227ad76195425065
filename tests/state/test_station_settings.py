"""StationSettings (sans-IO): a station's forwarding and DND change only once the store holds
the new setting; a store failure changes nothing; the saved settings are applied at start;
changes made to the switch by another path are saved too. A real embedded switch, a store
that confirms when the test says so."""
from __future__ import annotations

import pytest

from rccserver.common.clock import Scheduler
from rccserver.state import DndRecord, ForwardingRecord, SavedState, StoreError
from rccserver.state.settings import StationSettings
from rccserver.switch import EmbeddedSwitch, ForwardingSetting, ForwardingType, SwitchError
from rccserver.switch import events as ev
from state_fakes import LaterStore

IMMEDIATE = ForwardingType.IMMEDIATE


@pytest.fixture
def switch():
    return EmbeddedSwitch(["1001", "1002", "1003"], scheduler=Scheduler(lambda: 0.0))


@pytest.fixture
def store():
    return LaterStore()


@pytest.fixture
def settings(switch, store):
    settings = StationSettings(switch, store)
    switch.add_change_observer(settings.switch_changed)
    return settings


def immediate(switch, station="1001") -> ForwardingSetting:
    return switch.get_forwarding(station)[0]


def test_forwarding_changes_once_the_store_confirmed_and_the_reply_follows(switch, store, settings):
    replies = []
    settings.set_forwarding("1001", "forwardImmediate", True, "tel:+1 317 555 3030", None, replies.append)
    assert immediate(switch) == ForwardingSetting(IMMEDIATE, False)  # not yet: the store has not confirmed
    assert switch.take_events() == [] and replies == []
    store.confirm()
    assert replies == [None]
    assert immediate(switch) == ForwardingSetting(IMMEDIATE, True, "+13175553030")
    assert switch.take_events() == [ev.Forwarding("1001", IMMEDIATE, True, "+13175553030", None)]
    # saved as the switch canonicalised it, and saved once (the switch's own event is not saved again)
    assert list(store.forwarding.values()) == [ForwardingRecord("1001", "forwardImmediate", True, "+13175553030")]
    assert store.pending == []


def test_dnd_changes_once_the_store_confirmed(switch, store, settings):
    replies = []
    settings.set_dnd("1002", True, replies.append)
    assert switch.get_dnd("1002") is False and replies == []
    store.confirm()
    assert switch.get_dnd("1002") is True and replies == [None]
    assert store.dnd == {"1002": DndRecord("1002", True)}


def test_a_store_failure_changes_nothing_and_replies_with_the_error(switch, store, settings):
    switch.set_forwarding("1001", "forwardBusy", True, "1003")
    switch.set_dnd("1001", True)
    store.confirm_all()
    switch.take_events()
    replies = []
    settings.set_forwarding("1001", "forwardBusy", False, None, None, replies.append)
    settings.set_dnd("1001", False, replies.append)
    store.fail()
    store.fail()
    assert [type(reply) for reply in replies] == [StoreError, StoreError]
    assert switch.get_forwarding("1001")[1] == ForwardingSetting(ForwardingType.BUSY, True, "1003")
    assert switch.get_dnd("1001") is True
    assert switch.take_events() == []
    # The next change is saved as a change from what the store still holds.
    settings.set_dnd("1001", False, replies.append)
    store.confirm()
    assert store.dnd["1001"] == DndRecord("1001", False) and switch.get_dnd("1001") is False


def test_a_setting_the_switch_refuses_is_refused_at_once_and_not_saved(switch, store, settings):
    for arguments in (("1001", "forwardImmediate", True, "1001", None),  # to itself
                      ("1001", "forwardNoAns", True, "1002", 99),  # ring count out of range
                      ("4711", "forwardImmediate", False, None, None)):  # no such station
        with pytest.raises(SwitchError):
            settings.set_forwarding(*arguments, reply=lambda error: None)
    with pytest.raises(SwitchError):
        settings.set_dnd("4711", True, lambda error: None)
    assert store.pending == []


def test_writes_complete_in_order_and_the_last_one_stands(switch, store, settings):
    replies = []
    settings.set_dnd("1001", True, replies.append)
    settings.set_dnd("1001", False, replies.append)
    store.confirm()
    assert switch.get_dnd("1001") is True
    store.confirm()
    assert switch.get_dnd("1001") is False and replies == [None, None]
    assert store.dnd["1001"] == DndRecord("1001", False)


def test_a_station_removed_while_the_write_was_under_way_is_answered_with_the_switch_error(switch, store, settings):
    replies = []
    settings.set_dnd("1003", True, replies.append)
    switch.remove_station("1003")
    store.confirm()
    assert len(replies) == 1 and isinstance(replies[0], SwitchError)


def test_changes_by_another_path_are_saved_without_waiting(switch, store, settings):
    switch.set_dnd("1002", True)  # e.g. the admin API or a phone's own DND key
    switch.set_forwarding("1002", "forwardImmediate", True, "1003")
    assert [kind for kind, _, done in store.pending] == ["dnd", "forwarding"]
    assert all(done is None for _, _, done in store.pending)
    store.confirm_all()
    switch.set_dnd("1002", True)  # no change: nothing to save
    assert store.pending == []


def test_another_path_changing_the_setting_during_the_write_does_not_leave_the_store_behind(switch, store, settings):
    """Ours is applied last, so the store must end with ours too."""
    replies = []
    settings.set_dnd("1001", True, replies.append)
    switch.set_dnd("1001", False)  # another path, while our write is under way
    store.confirm()  # ours
    assert switch.get_dnd("1001") is True
    store.confirm_all()  # the other path's, then ours again
    assert store.dnd["1001"] == DndRecord("1001", True)


def test_restore_applies_the_saved_settings_silently_and_names_the_absent_stations(switch, store):
    settings = StationSettings(switch, store)
    switch.add_change_observer(settings.switch_changed)
    saved = SavedState(
        forwarding=(ForwardingRecord("1001", "forwardNoAns", True, "+13175553030", 2),
                    ForwardingRecord("1002", "forwardImmediate", False),
                    ForwardingRecord("1001", "forwardImmediate", True, "1001"),  # no longer valid: stays off
                    ForwardingRecord("7777", "forwardBusy", True, "1001")),
        dnd=(DndRecord("1002", True), DndRecord("1003", False), DndRecord("8888", True)),
    )
    assert settings.restore(saved) == ("7777", "8888")
    assert switch.get_forwarding("1001")[2] == ForwardingSetting(ForwardingType.NO_ANSWER, True, "+13175553030", 2)
    assert immediate(switch) == ForwardingSetting(IMMEDIATE, False)
    assert switch.get_dnd("1002") is True and switch.get_dnd("1003") is False
    assert switch.take_events() == []  # nobody is told of a restore
    assert store.pending == []  # and nothing is written back
    switch.add_station("7777")  # e.g. a remote-number logon of that user's extension
    settings.restore_station("7777")
    assert switch.get_forwarding("7777")[1] == ForwardingSetting(ForwardingType.BUSY, True, "1001")
    assert store.pending == []


def test_the_dial_plan_reads_the_destination_once(store):
    """Saved, then set: the destination is what the dial plan made of what was dialled, not
    that read through the rules a second time (nor again at restore)."""
    from rccserver.dialplan import DialPlan, DialPlanRouter, Rule

    class Desk:
        def __init__(self, extension):
            self.extension, self.identification_address = extension, None

    rules = [Rule(r"^0(\d+)$", "+49$1"), Rule(r"^\+49(\d+)$", "+4930$1")]
    switch = EmbeddedSwitch(["1001", "1002"], scheduler=Scheduler(lambda: 0.0),
                            dial_plan=DialPlanRouter(DialPlan(rules, []), lambda: (Desk("1001"), Desk("1002"))))
    settings = StationSettings(switch, store)
    settings.set_forwarding("1001", "forwardImmediate", True, "0301234", None, lambda error: None)
    store.confirm()
    assert immediate(switch) == ForwardingSetting(IMMEDIATE, True, "+49301234")
    again = EmbeddedSwitch(["1001", "1002"], scheduler=Scheduler(lambda: 0.0),
                           dial_plan=DialPlanRouter(DialPlan(rules, []), lambda: (Desk("1001"), Desk("1002"))))
    StationSettings(again, LaterStore()).restore(store.load(0.0))
    assert immediate(again) == ForwardingSetting(IMMEDIATE, True, "+49301234")
