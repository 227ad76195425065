"""The whole sans-IO core with a state store that confirms when the test says so: Lync's
SetForwarding / SetDoNotDisturb is answered only after the store holds the setting, the
Forwarding / DoNotDisturb event follows the response, and a store failure answers a CSTA
error and changes nothing."""
from __future__ import annotations

from rccserver import csta
from rccserver.sip import Response
from rccserver.state.settings import StationSettings
from tests.rcc.rcc_harness import ED3, Core, Lync, server_requests
from tests.state.state_fakes import LaterStore

LINE = "tel:+1001"
SET_FORWARDING = (f'<SetForwarding xmlns="{ED3}"><device>{LINE}</device><forwardingType>forwardImmediate'
                  f'</forwardingType><activateForward>true</activateForward><forwardDN>tel:+13175553030</forwardDN>'
                  f"</SetForwarding>")
SET_DND = f'<SetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>'
GET_FORWARDING = f'<GetForwarding xmlns="{ED3}"><device>{LINE}</device></GetForwarding>'
GET_DND = f'<GetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device></GetDoNotDisturb>'


def core_with(store) -> tuple[Core, Lync]:
    core = Core()
    core.app.settings = StationSettings(core.switch, store)
    alice = Lync(core, "sip:alice@example.com", LINE)
    assert alice.sign_in().status == 200
    alice.monitor()
    return core, alice


def info_answers(messages) -> list[Response]:
    return [m for m in messages if isinstance(m, Response) and m.cseq[1] == "INFO"]


def event_names(messages) -> list[str]:
    return [type(csta.decode(request.body)).__name__ for request in server_requests(messages, "INFO")]


def test_set_forwarding_is_answered_once_the_store_confirmed_and_the_event_follows():
    store = LaterStore()
    core, alice = core_with(store)
    waiting = core.feed(alice.request("INFO", SET_FORWARDING.encode()))
    assert info_answers(waiting) == [] and event_names(waiting) == []  # nothing until the store confirms
    assert [kind for kind, _, _ in store.pending] == ["forwarding"]
    store.confirm()
    after = core.drain()
    [answer] = info_answers(after)
    assert answer.status == 200 and csta.decode(answer.body) == csta.SetForwardingResponse()
    assert event_names(after) == ["ForwardingEvent"]
    assert after.index(answer) < after.index(server_requests(after, "INFO")[0])  # the response goes first
    forwarding = alice.csta(GET_FORWARDING).forwarding_list[0]
    assert (forwarding.forward_status, forwarding.forward_dn) == (True, "tel:+13175553030")


def test_other_requests_are_answered_while_a_setting_is_being_written():
    store = LaterStore()
    core, alice = core_with(store)
    core.feed(alice.request("INFO", SET_DND.encode()))
    assert alice.csta(GET_DND) == csta.GetDoNotDisturbResponse(do_not_disturb_on=False)  # not confirmed yet
    store.confirm()
    [answer] = info_answers(core.drain())
    assert csta.decode(answer.body) == csta.SetDoNotDisturbResponse()
    assert alice.csta(GET_DND) == csta.GetDoNotDisturbResponse(do_not_disturb_on=True)


def test_a_store_failure_answers_a_csta_error_and_changes_nothing():
    store = LaterStore()
    core, alice = core_with(store)
    core.feed(alice.request("INFO", SET_FORWARDING.encode()))
    core.feed(alice.request("INFO", SET_DND.encode()))
    store.fail()
    store.fail()
    after = core.drain()
    assert [csta.decode(answer.body) for answer in info_answers(after)] == [
        csta.ErrorCode("systemResourceAvailability", "resourceOutOfService")] * 2
    assert event_names(after) == []
    assert alice.csta(GET_FORWARDING).forwarding_list[0].forward_status is False
    assert alice.csta(GET_DND) == csta.GetDoNotDisturbResponse(do_not_disturb_on=False)
    assert store.forwarding == {} and store.dnd == {}


def test_a_refused_setting_is_answered_at_once_without_a_write():
    store = LaterStore()
    core, alice = core_with(store)
    to_itself = SET_FORWARDING.replace("tel:+13175553030", LINE)
    answer = alice.csta(to_itself)
    assert answer == csta.ErrorCode("operation", "invalidForwardingDestination")
    assert store.pending == []


def test_the_answer_comes_even_when_the_session_ended_while_the_write_was_under_way():
    """The setting stands (it is saved); the INFO still gets its 200 through its transaction."""
    store = LaterStore()
    core, alice = core_with(store)
    info = alice.request("INFO", SET_DND.encode())
    core.feed(info)
    bye = alice.final(core.feed(alice.request("BYE")), "BYE")
    assert bye.status == 200
    store.confirm()
    answers = [m for m in core.drain() if isinstance(m, Response) and m.cseq == (info.cseq[0], "INFO")]
    assert [answer.status for answer in answers] == [200]
    assert core.switch.get_dnd("1001") is True
