"""From switch events to CSTA events, and on to every dialog monitoring the station.

The switch names devices by extension (stations) or dial string (external
parties, e.g. "+13175552020"). Lync must see its own line exactly as it sent
it, other stations by their identification address, and external parties as
tel URIs, E.164 whenever the number has an E.164 form (SPEC 10: Lync looks a
caller up by it); each monitor gets the event with its own monitorCrossRefID.
"""
from __future__ import annotations

from rccserver import csta
from rccserver.csta import ConnectionID, ConnectionListItem
from rccserver.switch import events as sw


class EventMapper:
    def __init__(self, app) -> None:
        self.app = app

    def flush(self) -> None:
        """Deliver every event the switch has queued."""
        for event in self.app.switch.take_events():
            sessions = self.app.sessions.sessions_on(event.station)
            for session in sessions:
                for monitor in list(session.monitors.values()):
                    message = self.to_csta(event, session, monitor.cross_ref_id)
                    if message is not None:
                        self.app.send_event(session, message)

    # -- devices ---------------------------------------------------------------
    def device(self, session, device: str | None):
        if device is None:
            return csta.NOT_KNOWN
        if device == session.device:
            return session.line
        station = self.app.data.cic.station_by_extension(device)
        if station is not None:
            return station.identification_address or f"tel:{device}"
        if ":" in device:
            return device
        present = self.app.number_presentation
        return (present(device) if present is not None else None) or f"tel:{device}"

    def connection(self, session, connection) -> ConnectionID:
        return ConnectionID(call_id=connection.call_id, device_id=self.device(session, connection.device))

    def connection_list(self, session, items) -> tuple:
        return tuple(
            ConnectionListItem(
                new_connection=self.connection(session, item.new) if item.new else None,
                old_connection=self.connection(session, item.old) if item.old else None,
            )
            for item in items
        )

    # -- one event -----------------------------------------------------------------
    def to_csta(self, event, session, xref: str):
        d = lambda device: self.device(session, device)  # noqa: E731
        common = dict(monitor_cross_ref_id=xref)
        info = getattr(event, "local_connection_info", None)
        if info is not None:
            common["local_connection_info"] = info.value
        cause = getattr(event, "cause", None)
        if cause is not None:
            common["cause"] = cause.value
        if isinstance(event, sw.ServiceInitiated):
            return csta.ServiceInitiatedEvent(
                initiated_connection=self.connection(session, event.connection),
                initiating_device=d(event.initiating_device), **common)
        if isinstance(event, sw.Originated):
            return csta.OriginatedEvent(
                originated_connection=self.connection(session, event.connection),
                calling_device=d(event.calling_device), called_device=d(event.called_device), **common)
        if isinstance(event, sw.Delivered):
            return csta.DeliveredEvent(
                connection=self.connection(session, event.connection), alerting_device=d(event.alerting_device),
                calling_device=d(event.calling_device), called_device=d(event.called_device),
                last_redirection_device=d(event.last_redirection_device), **common)
        if isinstance(event, sw.Established):
            return csta.EstablishedEvent(
                established_connection=self.connection(session, event.connection),
                answering_device=d(event.answering_device), calling_device=d(event.calling_device),
                called_device=d(event.called_device), last_redirection_device=d(event.last_redirection_device),
                **common)
        if isinstance(event, sw.ConnectionCleared):
            return csta.ConnectionClearedEvent(
                dropped_connection=self.connection(session, event.connection),
                releasing_device=d(event.releasing_device), **common)
        if isinstance(event, sw.Held):
            return csta.HeldEvent(
                held_connection=self.connection(session, event.connection),
                holding_device=d(event.holding_device), **common)
        if isinstance(event, sw.Retrieved):
            return csta.RetrievedEvent(
                retrieved_connection=self.connection(session, event.connection),
                retrieving_device=d(event.retrieving_device), **common)
        if isinstance(event, sw.Diverted):
            return csta.DivertedEvent(
                connection=self.connection(session, event.connection), diverting_device=d(event.diverting_device),
                new_destination=d(event.new_destination),
                last_redirection_device=d(event.last_redirection_device), **common)
        if isinstance(event, sw.Transferred):
            return csta.TransferedEvent(
                primary_old_call=self.connection(session, event.primary_old_call),
                secondary_old_call=self.connection(session, event.secondary_old_call) if event.secondary_old_call else None,
                transferring_device=d(event.transferring_device),
                transferred_to_device=d(event.transferred_to_device),
                transferred_connections=self.connection_list(session, event.transferred_connections), **common)
        if isinstance(event, sw.Conferenced):
            return csta.ConferencedEvent(
                primary_old_call=self.connection(session, event.primary_old_call),
                secondary_old_call=self.connection(session, event.secondary_old_call),
                conferencing_device=d(event.conferencing_device),
                conference_connections=self.connection_list(session, event.conference_connections), **common)
        if isinstance(event, sw.Failed):
            return csta.FailedEvent(
                failed_connection=self.connection(session, event.connection), failing_device=d(event.failing_device),
                calling_device=d(event.calling_device), called_device=d(event.called_device),
                last_redirection_device=d(event.last_redirection_device), **common)
        if isinstance(event, sw.Forwarding):
            return csta.ForwardingEvent(
                monitor_cross_ref_id=xref, device=session.line, forwarding_type=event.forwarding_type.value,
                forward_status=event.forward_status,
                forward_to=d(event.forward_to) if event.forward_to else None, ring_count=event.ring_count)
        if isinstance(event, sw.DoNotDisturb):
            return csta.DoNotDisturbEvent(
                monitor_cross_ref_id=xref, device=session.line, do_not_disturb_on=event.do_not_disturb_on)
        if isinstance(event, sw.DigitsGenerated):
            return csta.DigitsGeneratedEvent(
                monitor_cross_ref_id=xref, connection=self.connection(session, event.connection),
                digit_generated_list=event.digits)
        raise TypeError(f"no CSTA mapping for switch event {event!r}")
