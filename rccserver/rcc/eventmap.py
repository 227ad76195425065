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
        # flush() tells only sessions with a monitor: the switch need not build call events
        # for other stations (a switch without the hook builds them all; flush drops them).
        # monitored(station): whether flush() would tell anyone of an event of `station` (its
        # test, asked early). The registry answers from its count of monitors per device, not
        # by a loop over the station's sessions for every event the switch might build.
        self.monitored = app.sessions.is_monitored
        set_interest = getattr(app.switch, "set_outbox_interest", None)
        if set_interest is not None:
            set_interest(self.monitored)

    def flush(self) -> None:
        """Deliver every event the switch has queued."""
        events = self.app.switch.take_events()
        if not events:
            return  # most requests: nothing happened that a station is told of
        sessions = self.app.sessions
        sessions_on, is_monitored = sessions.sessions_on, sessions.is_monitored
        for event in events:
            if not is_monitored(event.station):
                continue  # no session on the station monitors it: nobody is told
            for session in sessions_on(event.station):
                if not session.monitors:
                    continue  # a session without MonitorStart is told nothing
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
        build = _BUILDERS.get(type(event))
        if build is None:
            raise TypeError(f"no CSTA mapping for switch event {event!r}")
        common = {"monitor_cross_ref_id": xref}
        info = getattr(event, "local_connection_info", None)
        if info is not None:
            common["local_connection_info"] = info.value
        cause = getattr(event, "cause", None)
        if cause is not None:
            common["cause"] = cause.value
        return build(self, event, session, common)

    def _service_initiated(self, event, session, common):
        return csta.ServiceInitiatedEvent(
            initiated_connection=self.connection(session, event.connection),
            initiating_device=self.device(session, event.initiating_device), **common)

    def _originated(self, event, session, common):
        d = self.device
        return csta.OriginatedEvent(
            originated_connection=self.connection(session, event.connection),
            calling_device=d(session, event.calling_device), called_device=d(session, event.called_device),
            **common)

    def _delivered(self, event, session, common):
        d = self.device
        return csta.DeliveredEvent(
            connection=self.connection(session, event.connection), alerting_device=d(session, event.alerting_device),
            calling_device=d(session, event.calling_device), called_device=d(session, event.called_device),
            last_redirection_device=d(session, event.last_redirection_device), **common)

    def _established(self, event, session, common):
        d = self.device
        return csta.EstablishedEvent(
            established_connection=self.connection(session, event.connection),
            answering_device=d(session, event.answering_device), calling_device=d(session, event.calling_device),
            called_device=d(session, event.called_device),
            last_redirection_device=d(session, event.last_redirection_device), **common)

    def _connection_cleared(self, event, session, common):
        return csta.ConnectionClearedEvent(
            dropped_connection=self.connection(session, event.connection),
            releasing_device=self.device(session, event.releasing_device), **common)

    def _held(self, event, session, common):
        return csta.HeldEvent(
            held_connection=self.connection(session, event.connection),
            holding_device=self.device(session, event.holding_device), **common)

    def _retrieved(self, event, session, common):
        return csta.RetrievedEvent(
            retrieved_connection=self.connection(session, event.connection),
            retrieving_device=self.device(session, event.retrieving_device), **common)

    def _diverted(self, event, session, common):
        d = self.device
        return csta.DivertedEvent(
            connection=self.connection(session, event.connection), diverting_device=d(session, event.diverting_device),
            new_destination=d(session, event.new_destination),
            last_redirection_device=d(session, event.last_redirection_device), **common)

    def _transferred(self, event, session, common):
        d = self.device
        return csta.TransferedEvent(
            primary_old_call=self.connection(session, event.primary_old_call),
            secondary_old_call=self.connection(session, event.secondary_old_call) if event.secondary_old_call else None,
            transferring_device=d(session, event.transferring_device),
            transferred_to_device=d(session, event.transferred_to_device),
            transferred_connections=self.connection_list(session, event.transferred_connections), **common)

    def _conferenced(self, event, session, common):
        return csta.ConferencedEvent(
            primary_old_call=self.connection(session, event.primary_old_call),
            secondary_old_call=self.connection(session, event.secondary_old_call),
            conferencing_device=self.device(session, event.conferencing_device),
            conference_connections=self.connection_list(session, event.conference_connections), **common)

    def _failed(self, event, session, common):
        d = self.device
        return csta.FailedEvent(
            failed_connection=self.connection(session, event.connection), failing_device=d(session, event.failing_device),
            calling_device=d(session, event.calling_device), called_device=d(session, event.called_device),
            last_redirection_device=d(session, event.last_redirection_device), **common)

    def _forwarding(self, event, session, common):
        return csta.ForwardingEvent(
            monitor_cross_ref_id=common["monitor_cross_ref_id"], device=session.line,
            forwarding_type=event.forwarding_type.value, forward_status=event.forward_status,
            forward_to=self.device(session, event.forward_to) if event.forward_to else None,
            ring_count=event.ring_count)

    def _do_not_disturb(self, event, session, common):
        return csta.DoNotDisturbEvent(
            monitor_cross_ref_id=common["monitor_cross_ref_id"], device=session.line,
            do_not_disturb_on=event.do_not_disturb_on)

    def _digits_generated(self, event, session, common):
        return csta.DigitsGeneratedEvent(
            monitor_cross_ref_id=common["monitor_cross_ref_id"], connection=self.connection(session, event.connection),
            digit_generated_list=event.digits)


# switch event class -> the EventMapper method that builds its CSTA event (by type, not an isinstance ladder)
_BUILDERS = {
    sw.ServiceInitiated: EventMapper._service_initiated, sw.Originated: EventMapper._originated,
    sw.Delivered: EventMapper._delivered, sw.Established: EventMapper._established,
    sw.ConnectionCleared: EventMapper._connection_cleared, sw.Held: EventMapper._held,
    sw.Retrieved: EventMapper._retrieved, sw.Diverted: EventMapper._diverted,
    sw.Transferred: EventMapper._transferred, sw.Conferenced: EventMapper._conferenced,
    sw.Failed: EventMapper._failed, sw.Forwarding: EventMapper._forwarding,
    sw.DoNotDisturb: EventMapper._do_not_disturb, sw.DigitsGenerated: EventMapper._digits_generated,
}
