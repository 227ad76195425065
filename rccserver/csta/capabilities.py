"""ECMA-285/323 capability lists: which `supportedServices` list names each service.

Service entry names are the ECMA-285 `*ServList` component names (lowerCamelCase
of the service; note `singleStepTransfer` for SingleStepTransferCall).
"""
from types import MappingProxyType
from typing import Any

from .errors import MALFORMED, CstaEncodeError
from .layout import local_name

# list element -> its service entries, in ECMA order (we encode in this order)
SERVICE_LISTS: MappingProxyType = MappingProxyType({
    "capExchangeServList": ("getCSTAFeatures",),
    "systemStatServList": ("requestSystemStatus", "systemStatus"),
    "monitoringServList": ("monitorStart", "monitorStop"),
    "snapshotServList": ("snapshotDevice",),
    "callControlServList": (
        "alternateCall", "answerCall", "clearConnection", "conferenceCall",
        "consultationCall", "deflectCall", "holdCall", "makeCall", "reconnectCall",
        "retrieveCall", "singleStepTransfer", "transferCall",
    ),
    "callAssociatedServList": ("generateDigits",),
    "logicalServList": ("getDoNotDisturb", "getForwarding", "setDoNotDisturb", "setForwarding"),
})

LIST_OF_SERVICE: MappingProxyType = MappingProxyType(
    {service: lst for lst, services in SERVICE_LISTS.items() for service in services})


class ServiceSet:
    """`supportedServices`: the presence of an entry element means "supported".

    Entries we do not know (other lists, vendor entries) are skipped on decode.
    """

    __slots__ = ("missing",)

    def __init__(self) -> None:
        self.missing = MALFORMED

    def decode(self, element: Any, where: str) -> frozenset:
        found = set()
        for service_list in element:
            known = SERVICE_LISTS.get(local_name(service_list.tag))
            if known is None:
                continue
            for entry in service_list:
                name = local_name(entry.tag)
                if name in known:
                    found.add(name)
        return frozenset(found)

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        unknown = set(value) - LIST_OF_SERVICE.keys()
        if unknown:
            raise CstaEncodeError(f"unknown CSTA service names {sorted(unknown)}")
        for list_name, services in SERVICE_LISTS.items():
            entries = [f"<{s}/>" for s in services if s in value]
            if entries:
                out.append(f"<{list_name}>{''.join(entries)}</{list_name}>")
