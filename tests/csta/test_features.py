"""GetCSTAFeaturesResponse lists exactly the services the server says it implements."""
import pytest
from lxml import etree

from rccserver.csta import (
    ED3, REQUESTS, SERVICE_LISTS, AnswerCall, GetCSTAFeatures, GetForwarding, MakeCall,
    MakeCallResponse, MonitorStart, SetForwarding, SingleStepTransferCall, decode, encode,
    features_response, service_name,
)


def lists_in(body: bytes) -> dict[str, list[str]]:
    root = etree.fromstring(body)
    services = root.find("{*}supportedServices")
    return {etree.QName(lst).localname: [etree.QName(e).localname for e in lst] for lst in services}


def test_only_the_given_services_are_offered_in_their_ecma_lists():
    answer = features_response([MakeCall, AnswerCall, MonitorStart, SetForwarding, GetCSTAFeatures])
    assert lists_in(encode(answer, ED3)) == {
        "capExchangeServList": ["getCSTAFeatures"],
        "monitoringServList": ["monitorStart"],
        "callControlServList": ["answerCall", "makeCall"],
        "logicalServList": ["setForwarding"],
    }


def test_service_names_follow_ecma_spelling():
    assert service_name(SingleStepTransferCall) == "singleStepTransfer"
    assert service_name(GetForwarding) == "getForwarding"
    assert service_name("MakeCall") == "makeCall"


def test_every_request_class_has_a_capability_entry():
    offered = features_response(REQUESTS).supported_services
    assert offered == {s for services in SERVICE_LISTS.values() for s in services}
    assert decode(encode(features_response(REQUESTS), ED3)) == features_response(REQUESTS)


@pytest.mark.parametrize("bad", [MakeCallResponse, "ParkCall", "MakeCallResponse", object])
def test_non_requests_are_refused(bad):
    with pytest.raises(ValueError):
        features_response([bad])


def test_no_services_gives_an_empty_list():
    root = etree.fromstring(encode(features_response([]), ED3))
    assert len(root.find("{*}supportedServices")) == 0
