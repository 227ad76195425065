"""GetCSTAFeaturesResponse built from what the server implements, so Lync sees exactly that."""
from typing import Iterable, Union

from .capabilities import LIST_OF_SERVICE
from .registry import MESSAGES
from .responses import GetCSTAFeaturesResponse

_SERVICE_NAME_EXCEPTIONS = {"SingleStepTransferCall": "singleStepTransfer"}


def service_name(request: Union[type, str]) -> str:
    """The capability entry name of a request class or root element name (MakeCall -> makeCall)."""
    element = request if isinstance(request, str) else getattr(request, "ELEMENT", None)
    if element is None or element not in MESSAGES or element.endswith(("Response", "Event")):
        raise ValueError(f"{request!r} is not a CSTA request")
    name = _SERVICE_NAME_EXCEPTIONS.get(element, element[0].lower() + element[1:])
    if name not in LIST_OF_SERVICE:
        raise ValueError(f"{element} has no entry in the ECMA capability lists")
    return name


def features_response(services: Iterable[Union[type, str]]) -> GetCSTAFeaturesResponse:
    """The capabilities answer listing exactly `services` (request classes or element names)."""
    return GetCSTAFeaturesResponse(supported_services=frozenset(service_name(s) for s in services))
