"""CSTA services: one handler per request class, and nothing else.

The handler table is the single source of truth for what we offer: the
GetCSTAFeaturesResponse is built from its keys, so Lync shows exactly the
features that work. Handlers turn a request into switch operations and return
the positive response; a failure is an `ErrorCode` (raised as ServiceError, or
a SwitchError from the switch), answered as CSTAErrorCode in the 200 OK.
SetForwarding and SetDoNotDisturb answer `Pending`: their response waits until
the state store holds the new setting (rccserver/state/settings.py), and a store
failure answers STORE_FAILED.
"""
from __future__ import annotations

from typing import Any, Callable

import attrs

from rccserver import csta
from rccserver.csta import ConnectionID, ErrorCode
from rccserver.switch import SwitchError
from rccserver.common.numbers import line_number
from rccserver.state import StoreError

MAX_DEVICE_ID = 256
# The state store could not keep a setting (disk full, file locked): nothing changed.
STORE_FAILED = ErrorCode("systemResourceAvailability", "resourceOutOfService")

# answer(reply_to, session, response body, service name, result label): RccApplication.answer_csta
Answer = Callable[[Any, Any, bytes, str, str], None]


class ServiceError(Exception):
    def __init__(self, category: str, value: str) -> None:
        super().__init__(f"{category}/{value}")
        self.error_code = ErrorCode(category, value)


def _no_session() -> ServiceError:
    return ServiceError("operation", "generic")


@attrs.frozen
class Pending:
    """A handler's answer that comes later: `start(finish)` begins the work, and the work
    calls finish(the response, or a ServiceError / SwitchError / StoreError) now or later.
    `start` may raise ServiceError or SwitchError to refuse at once."""

    start: Callable[[Callable[[Any], None]], None]


class ServiceRunner:
    def __init__(self, app) -> None:
        self.app = app
        self.handlers: dict[type, Callable] = {
            csta.RequestSystemStatus: self.request_system_status,
            csta.GetCSTAFeatures: self.get_csta_features,
            csta.MonitorStart: self.monitor_start,
            csta.MonitorStop: self.monitor_stop,
            csta.SnapshotDevice: self.snapshot_device,
            csta.MakeCall: self.make_call,
            csta.AnswerCall: self.answer_call,
            csta.ClearConnection: self.clear_connection,
            csta.HoldCall: self.hold_call,
            csta.RetrieveCall: self.retrieve_call,
            csta.AlternateCall: self.alternate_call,
            csta.DeflectCall: self.deflect_call,
            csta.SingleStepTransferCall: self.single_step_transfer,
            csta.ConsultationCall: self.consultation_call,
            csta.TransferCall: self.transfer_call,
            csta.ConferenceCall: self.conference_call,
            csta.GenerateDigits: self.generate_digits,
            csta.SetForwarding: self.set_forwarding,
            csta.GetForwarding: self.get_forwarding,
            csta.SetDoNotDisturb: self.set_dnd,
            csta.GetDoNotDisturb: self.get_dnd,
        }
        self.features = csta.features_response(self.handlers)

    @property
    def switch(self):
        return self.app.switch

    # -- dispatch --------------------------------------------------------------
    def handle(self, session, body: bytes, reply_to) -> None:
        """Run one CSTA request; the application's answer_csta gets (reply_to, session, response
        body, service name, result label), at once or, for a Pending response, once it is known.
        No closure per request: the INFO and its session are handed through."""
        answer: Answer = self.app.answer_csta
        namespace = session.namespace if session is not None else csta.ED3
        try:
            request, namespace = csta.decode_document(body)
        except csta.CstaDecodeError as error:
            answer(reply_to, session, csta.encode(error.error_code, namespace), "undecodable", str(error.error_code))
            return
        service = type(request).__name__
        handler = self.handlers.get(type(request))
        try:
            if handler is None:
                raise ServiceError("operation", "invalidFeature")
            if session is None:
                raise _no_session()
            response = handler(session, request)
            if type(response) is Pending:
                response.start(lambda outcome: _answer(outcome, namespace, service, answer, reply_to, session))
                return
        except (ServiceError, SwitchError) as error:
            response = error
        _answer(response, namespace, service, answer, reply_to, session)

    # -- devices ----------------------------------------------------------------
    def own_device(self, session, device_id: str | None) -> None:
        """The client may only act on its own line (compared as numbers)."""
        if device_id is None:
            return
        if len(device_id) > MAX_DEVICE_ID:
            raise ServiceError("operation", "invalidDeviceIdentifier")
        if device_id != session.line and line_number(device_id) != line_number(session.line):
            raise ServiceError("operation", "privilegeViolationOnSpecifiedDevice")

    def call_of(self, session, connection: ConnectionID) -> str:
        self.own_device(session, connection.device_id)
        if connection.call_id is None:
            raise ServiceError("operation", "invalidCallIdentifier")
        return connection.call_id

    def destination(self, uri: str) -> str:
        """A dialled number for the switch: a station named by its whole identification
        address is that station; anything else goes as dialled, for the switch's dial plan
        (SPEC 10) to read (an extension too: the dial rules come first)."""
        if len(uri) > MAX_DEVICE_ID:
            raise ServiceError("operation", "invalidDeviceIdentifier")
        station = self.app.data.cic.station_for_line(uri)
        if station is not None and station.identification_address == uri:
            return station.extension
        number = line_number(uri)
        if not number:
            raise ServiceError("operation", "invalidDestination")
        return uri

    def connection(self, session, call_id: str) -> ConnectionID:
        return ConnectionID(call_id=call_id, device_id=session.line)

    def device_of(self, session):
        device = session.device
        if device is None:
            raise ServiceError("operation", "invalidDeviceIdentifier")
        return device

    # -- remote-number logons ------------------------------------------------------
    def remote_logon(self, cic_user: str, number: str) -> str:
        """A remote-number logon: the CIC user's extension becomes a switch device whose
        calls ring the remote number; returns that device."""
        extension = self.app.data.cic.user_by_id(cic_user).extension
        if not self.switch.has_station(extension):
            self.switch.add_station(extension)
            self.app.settings.restore_station(extension)  # its forwarding and DND from before a restart
        self.switch.set_remote_number(extension, number)
        return extension

    def remote_logoff(self, session) -> None:
        if not self.app.sessions.user_sessions_on(session.device, session.cic_user):
            self.switch.set_remote_number(session.device, None)

    # -- services --------------------------------------------------------------------
    def request_system_status(self, session, request):
        return csta.RequestSystemStatusResponse(system_status="normal")

    def get_csta_features(self, session, request):
        return self.features

    def monitor_start(self, session, request):
        self.own_device(session, request.monitor_object)
        monitor = self.app.sessions.start_monitor(session, request.monitor_object)
        return csta.MonitorStartResponse(monitor_cross_ref_id=monitor.cross_ref_id)

    def monitor_stop(self, session, request):
        monitor = self.app.sessions.monitor(request.monitor_cross_ref_id)
        if monitor is None or monitor.session is not session:
            raise ServiceError("operation", "invalidCrossRefID")
        self.app.sessions.stop_monitor(request.monitor_cross_ref_id)
        return csta.MonitorStopResponse()

    def snapshot_device(self, session, request):
        self.own_device(session, request.snapshot_object)
        infos = tuple(
            csta.SnapshotDeviceResponseInfo(
                connection=self.connection(session, item.call_id), local_connection_state=item.state.value
            )
            for item in self.switch.snapshot(self.device_of(session))
        )
        return csta.SnapshotDeviceResponse(calls=infos)

    def make_call(self, session, request):
        self.own_device(session, request.calling_device)
        call_id = self.switch.make_call(
            self.device_of(session), self.destination(request.called_directory_number)
        ).call_id
        return csta.MakeCallResponse(
            calling_device=ConnectionID(call_id=call_id, device_id=request.calling_device),
            called_device=request.called_directory_number,
        )

    def answer_call(self, session, request):
        self.switch.answer_call(self.device_of(session), self.call_of(session, request.call_to_be_answered))
        return csta.AnswerCallResponse()

    def clear_connection(self, session, request):
        self.switch.clear_connection(self.device_of(session), self.call_of(session, request.connection_to_be_cleared))
        return csta.ClearConnectionResponse()

    def hold_call(self, session, request):
        self.switch.hold_call(self.device_of(session), self.call_of(session, request.call_to_be_held))
        return csta.HoldCallResponse()

    def retrieve_call(self, session, request):
        self.switch.retrieve_call(self.device_of(session), self.call_of(session, request.call_to_be_retrieved))
        return csta.RetrieveCallResponse()

    def alternate_call(self, session, request):
        self.switch.alternate_call(
            self.device_of(session), self.call_of(session, request.held_call), self.call_of(session, request.active_call)
        )
        return csta.AlternateCallResponse()

    def deflect_call(self, session, request):
        self.switch.deflect_call(
            self.device_of(session), self.call_of(session, request.call_to_be_diverted),
            self.destination(request.new_destination),
        )
        return csta.DeflectCallResponse()

    def single_step_transfer(self, session, request):
        new_call = self.switch.single_step_transfer(
            self.device_of(session), self.call_of(session, request.active_call),
            self.destination(request.transferred_to),
        ).call_id
        transferred = ConnectionID(call_id=new_call, device_id=request.transferred_to)
        return csta.SingleStepTransferCallResponse(transferred_call=transferred)

    def consultation_call(self, session, request):
        new_call = self.switch.consultation_call(
            self.device_of(session), self.call_of(session, request.existing_call),
            self.destination(request.consulted_device),
        ).call_id
        return csta.ConsultationCallResponse(initiated_call=self.connection(session, new_call))

    def transfer_call(self, session, request):
        result = self.switch.transfer_call(
            self.device_of(session), self.call_of(session, request.held_call), self.call_of(session, request.active_call)
        )
        return csta.TransferCallResponse(transferred_call=ConnectionID(call_id=result.call_id))

    def conference_call(self, session, request):
        conference = self.switch.conference_call(
            self.device_of(session), self.call_of(session, request.held_call), self.call_of(session, request.active_call)
        )
        return csta.ConferenceCallResponse(
            conference_call=self.connection(session, conference.call_id),
            connections=self.app.events.connection_list(session, conference.connections),
        )

    def generate_digits(self, session, request):
        self.switch.generate_digits(
            self.device_of(session), self.call_of(session, request.connection_to_send_digits),
            request.characters_to_send,
        )
        return csta.GenerateDigitsResponse()

    def set_forwarding(self, session, request):
        self.own_device(session, request.device)
        if request.forwarding_type is None:
            raise ServiceError("operation", "valueOutOfRange")
        destination = None
        if request.activate_forward:
            if not request.forward_dn:
                raise ServiceError("operation", "invalidForwardingDestination")
            destination = self.destination(request.forward_dn)
        device = self.device_of(session)

        def start(finish) -> None:
            self.app.settings.set_forwarding(
                device, request.forwarding_type, request.activate_forward, destination, request.ring_count,
                lambda error: finish(error or csta.SetForwardingResponse()),
            )

        return Pending(start)

    def get_forwarding(self, session, request):
        self.own_device(session, request.device)
        items = tuple(
            csta.ForwardListItem(
                forwarding_type=item.type.value, forward_status=item.active,
                forward_dn=self.app.events.device(session, item.destination) if item.destination else None,
                ring_count=item.ring_count,
            )
            for item in self.switch.get_forwarding(self.device_of(session))
        )
        return csta.GetForwardingResponse(forwarding_list=items)

    def set_dnd(self, session, request):
        self.own_device(session, request.device)
        device = self.device_of(session)

        def start(finish) -> None:
            self.app.settings.set_dnd(device, request.do_not_disturb_on,
                                      lambda error: finish(error or csta.SetDoNotDisturbResponse()))

        return Pending(start)

    def get_dnd(self, session, request):
        self.own_device(session, request.device)
        return csta.GetDoNotDisturbResponse(do_not_disturb_on=self.switch.get_dnd(self.device_of(session)))


def _answer(outcome, namespace, service: str, answer: Answer, reply_to, session) -> None:
    """Encode a handler's outcome (a response or a failure) and hand it to `answer`."""
    code = _error_code(outcome)
    if code is not None:
        answer(reply_to, session, csta.encode(code, namespace), service, str(code))
    else:
        answer(reply_to, session, csta.encode(outcome, namespace), service, "ok")


def _error_code(outcome) -> ErrorCode | None:
    """The CSTAErrorCode for a failed outcome; None for a response."""
    if not isinstance(outcome, Exception):  # a response: one test, not three
        return None
    if isinstance(outcome, ServiceError):
        return outcome.error_code
    if isinstance(outcome, SwitchError):
        return ErrorCode(outcome.category, outcome.value)
    if isinstance(outcome, StoreError):
        return STORE_FAILED
    return None
