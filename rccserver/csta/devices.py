"""Device and connection identifiers (ECMA-323 DeviceID / ConnectionID)."""
from typing import Any, Optional, Union

import attrs

from .errors import BAD_CALL, BAD_CONNECTION, BAD_DEVICE, CstaDecodeError
from .layout import CONNECTION_DEVICE, DEVICE, Record, Text, child, local_name


@attrs.frozen
class DeviceAbsence:
    """An event device parameter that names no device: `notKnown` or `notRequired`."""

    kind: str = attrs.field(validator=attrs.validators.in_(("notKnown", "notRequired")))


NOT_KNOWN = DeviceAbsence("notKnown")
NOT_REQUIRED = DeviceAbsence("notRequired")

# A device parameter in an event: the device ID string, echoed exactly, or an absence.
EventDevice = Union[str, DeviceAbsence]

CALL_ID = Text(256, BAD_CALL)


@attrs.frozen(kw_only=True)
class ConnectionID:
    """`{callID, deviceID}`: one device's connection to one call.

    ECMA lets either half be omitted; at least one must be present.
    """

    call_id: Optional[str] = child("callID", CALL_ID, default=None)
    device_id: Optional[str] = child("deviceID", CONNECTION_DEVICE, default=None)

    def __attrs_post_init__(self) -> None:
        if self.call_id is None and self.device_id is None:
            raise ValueError("a ConnectionID needs a call_id or a device_id")


CONNECTION = Record(ConnectionID, need_one=BAD_CONNECTION)


class EventDeviceKind:
    """Event device parameters: `<x><deviceIdentifier>id</deviceIdentifier></x>` or `<x><notKnown/></x>`.

    A bare `<x>id</x>` is accepted too.
    """

    __slots__ = ("device", "missing")

    def __init__(self, device: Text) -> None:
        self.device = device
        self.missing = BAD_DEVICE

    def decode(self, element: Any, where: str) -> EventDevice:
        if not len(element):
            return self.device.decode(element, where)
        for child_element in element:
            name = local_name(child_element.tag)
            if name == "deviceIdentifier":
                return self.device.decode(child_element, where)
            if name == "notKnown":
                return NOT_KNOWN
            if name == "notRequired":
                return NOT_REQUIRED
        raise CstaDecodeError(BAD_DEVICE, f"<{where}> names no device")

    def encode(self, value: Any, out: list[str], edition: int) -> None:
        if isinstance(value, DeviceAbsence):
            out.append(f"<{value.kind}/>")
            return
        out.append("<deviceIdentifier>")
        self.device.encode(value, out, edition)
        out.append("</deviceIdentifier>")


EVENT_DEVICE = EventDeviceKind(DEVICE)
