"""Wiring: one server instance's objects, built from a Config.

The Runtime owns the data (directory cache, CIC data), the station occupancy
registry, the scheduler, the switch and the state store that keeps its stations'
settings (server/state_store.py), the SIP endpoint and RCC application, the
SIP listener, the stations line when configured (server/stations.py) and the
admin site, and swaps the data on a reload.  The RCC
application reports to the log and metrics observers (server/observers.py); the
admin API reads and drives the server through admin/backend.py.
"""
from __future__ import annotations

import ctypes
import gc
import time

import attrs
from twisted.application import internet, service
from twisted.internet import defer, endpoints, threads
from twisted.logger import Logger

from rccserver.admin.backend import RuntimeAdminBackend
from rccserver.dialplan import DialPlan, DialPlanRouter
from rccserver.admin.api import make_site
from rccserver.admin.metrics import Metrics
from rccserver.cic.data import CicData, CicDataError, load_cic_data
from rccserver.commands.reloadclient import write_outcome
from rccserver.common import collector
from rccserver.common.clock import Scheduler
from rccserver.common.product import product_token
from rccserver.directory.cache import DirectoryCache, DirectoryError
from rccserver.rcc.application import CurrentData, RccApplication
from rccserver.rcc.occupancy import OccupancyRegistry
from rccserver.rcc.session import SessionRegistry
from rccserver.server import rcclog
from rccserver.server.config import Config, is_pkcs12_path
from rccserver.server.observers import LogObserver, MetricsObserver, Observers
from rccserver.server.reloader import ChildReloader, load_directory
from rccserver.server.turns import release_in_turns, run_in_turns
from rccserver.server.station_observers import StationsLogObserver, StationsMetricsObserver, StationsObservers
from rccserver.server.stations import StationsLine, phone_settings, trunk_route
from rccserver.server.state_store import StateUnavailable, log_state_restored, open_state_store
from rccserver.sip.endpoint import Endpoint
from rccserver.state.registrations import RegistrationPersistence
from rccserver.state.settings import StationSettings
from rccserver.stations.terminal import SipTerminals
from rccserver.switch import EmbeddedSwitch, SwitchOptions
from rccserver.transport.endpoint_driver import EndpointDriver
from rccserver.transport.limits import TransportLimits
from rccserver.transport.listener import listener_from_line
from rccserver.transport.outbound import ConnectionPool
from rccserver.transport.scheduler_timer import SchedulerTimer
from rccserver.transport.tls import client_options

log = Logger(namespace="rccserver.server.runtime")


class DataError(Exception):
    """A data file named by the configuration cannot be loaded (at start)."""


@attrs.frozen
class DataSnapshot:
    """The directory and the CIC data, loaded and swapped together (all or nothing)."""

    directory: DirectoryCache
    cic: CicData

    def diff(self, newer: "DataSnapshot"):
        return self.directory.diff(newer.directory)

    def __len__(self) -> int:
        return len(self.directory)


def load_data(config: Config) -> DataSnapshot:
    """Blocking: runs at start (a reload runs the same loaders in a child process, reload_worker.py)."""
    with collector.paused():  # after_start collects once, then freezes what was loaded
        return DataSnapshot(load_directory(config.directory), load_cic_data(config.cic.data_file))


def _freeze_heap(collect_first: bool = False) -> None:
    # The loaded data is a million long-lived objects; without this every full
    # collection walks them all and stalls SIP handling for hundreds of ms.
    # (Collecting first is for start-up only: on a live server it is such a stall.)
    if collect_first:
        gc.collect()
    freeze = getattr(gc, "freeze", None)  # CPython only (PyPy has none: docs/pypy.md)
    if freeze is not None:
        freeze()


def _return_free_heap() -> None:
    """Give glibc's free heap memory back to the system, once, after start-up.

    Start-up frees large transients (loading the directory, pickling the reload
    baseline: ~38 MB of glibc heap at 100,000 users), and freeing them raised glibc's
    trim threshold, so it kept them: the idle server's RSS was 372 MB, 333 MB after
    this.  Not glibc (no malloc_trim): nothing to do."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


# Per reactor turn around a reload's swap (a few ms each): stations compared, sessions checked.
STATION_SLICE = 5000
SESSION_SLICE = 200


@attrs.frozen
class StationChanges:
    """What a reload's new CIC data does to the switch's stations, worked out before the
    swap against the stations the switch had then (`present`)."""

    present: tuple[str, ...]
    joining: tuple[str, ...]  # new stations
    leaving: tuple[str, ...]  # no longer CIC stations: removed at the swap if idle and unused


class Runtime:
    def __init__(self, config: Config, reactor) -> None:
        self.config = config
        self.reactor = reactor
        self.metrics = Metrics()
        self.metrics_observer = MetricsObserver(self.metrics, SessionRegistry())  # sessions: set in start()
        self.observer = Observers(LogObserver(), self.metrics_observer)
        self.sip_port: int | None = None
        self.admin_port: int | None = None
        self.stations: StationsLine | None = None  # None without [stations_line]
        self.terminals: SipTerminals | None = None  # the call layer of the SIP stations, with it
        self.trunk = None  # the [trunk] peer's route (stations/trunk.py TrunkRoute), with the stations line
        self._reload_seq = 0
        self._reloading: defer.Deferred | None = None
        self._reload_waiters: list[defer.Deferred] = []
        self._services: list[service.IService] = []

    # -- start -------------------------------------------------------------------
    def start(self) -> None:
        config = self.config
        self.log_observer = rcclog.start_rcc_log(config, reactor=self.reactor)
        try:
            snapshot = load_data(config)
        except (DirectoryError, CicDataError) as error:
            raise DataError(str(error)) from error
        directory, cic = snapshot.directory, snapshot.cic
        self.data = CurrentData(directory=directory, cic=cic)
        self.reloader = ChildReloader(config, reactor=self.reactor, initial=DataSnapshot(directory, cic),
                                      snapshot=DataSnapshot, prepare=lambda new: self._station_changes(new.cic))
        self.occupancy = OccupancyRegistry()
        # The one timer structure of the core: endpoint, keep-alives and switch share it,
        # and the driver keeps one reactor timer for its earliest deadline.
        self.scheduler = Scheduler(clock=self.reactor.seconds)
        # Its one reactor timer, shared by both lines' drivers: every tick flushes both.
        self.timer = SchedulerTimer(self.reactor, self.scheduler)
        # SPEC 10: every dialled number goes through the dial plan, against the CIC data in
        # force (a reload's new identification addresses count at once); the trunk asks
        # dial_plan_router.station_for_did.
        plan = config.dialplan
        self.dial_plan = DialPlan(plan.dial, plan.inbound, plan.country_code)
        self.dial_plan_router = DialPlanRouter(self.dial_plan, lambda: self.data.cic.stations)
        self.switch = EmbeddedSwitch(
            [station.extension for station in cic.stations],
            options=SwitchOptions(
                auto_answer_after=config.switch.auto_answer_after,
                ring_interval=config.switch.ring_interval,
            ),
            scheduler=self.scheduler,
            dial_plan=self.dial_plan_router,
        )
        self._open_state()
        self.app = RccApplication(
            data=self.data,
            occupancy=self.occupancy,
            switch=self.switch,
            session_timeout=config.line.session_timeout,
            domain_name=config.line.domain_name,
            keepalive_misses=config.line.keepalive_misses,
            scheduler=self.scheduler,
            wall_clock=time.time,
            observer=self.observer,
            number_presentation=self.dial_plan.presentation,
            settings=self.settings,
            leases=self.leases,
        )
        # Switch events from any input (a phone hanging up, too) become CSTA events first,
        # then each line's output is carried out.
        self.timer.add_flush(self.app.events.flush)
        # Then the log lines of the input or tick reach the file, before the lines' drivers
        # (added below) carry out the answers, which may leave at once (transport/write_now.py).
        self.timer.add_flush(self.log_observer.rcc_observer.flush)
        self.endpoint = Endpoint(
            self.app,
            domain_name=config.line.domain_name,
            scheduler=self.scheduler,
            user_agent=product_token(config.server.advertise_version),
            session_expires=config.line.session_expires,
            min_se=config.line.min_se,
        )
        self.app.attach(self.endpoint)
        self.metrics_observer.sessions = self.app.sessions
        self.pool = ConnectionPool(reactor=self.reactor, sink=None, client_tls=self._client_tls())
        self.driver = EndpointDriver(self.endpoint, self.reactor, self.scheduler, pool=self.pool, timer=self.timer)
        self.pool.sink = self.driver
        limits = TransportLimits(
            max_connections_per_source=config.line.max_connections_per_source,
            idle_timeout=config.line.idle_timeout,
            header_timeout=config.line.header_timeout,
        )
        self.listener = listener_from_line(
            config.line, reactor=self.reactor, sink=self.driver, limits=limits,
            on_rejected=self.observer.connection_rejected,
        )
        self._services.append(self.listener)
        if config.stations_line is not None:
            self.stations = self._stations_line(cic)
            self._services.extend(self.stations.services())
        log_state_restored(config, self._saved_state, self._stations_absent, self._registrations_restored)
        del self._saved_state  # read once, at start
        if config.admin.listen:
            host, _, port = config.admin.listen.rpartition(":")
            host = host.strip("[]")
            admin_endpoint = endpoints.TCP4ServerEndpoint(self.reactor, int(port), interface=host) if ":" not in host \
                else endpoints.TCP6ServerEndpoint(self.reactor, int(port), interface=host)
            self.admin_service = internet.StreamServerEndpointService(admin_endpoint, make_site(RuntimeAdminBackend(self)))
            self._services.append(self.admin_service)

    # -- state (SPEC section 11) ------------------------------------------------------
    def _open_state(self) -> None:
        """Open the state store and apply the saved forwarding and DND to the switch's
        stations: before any listener opens, so no client sees a station without them."""
        try:
            # A confirmed write may answer a CSTA request: carry out every line's output then.
            self.state_store, self._saved_state = open_state_store(self.config, self.reactor,
                                                                   after_completion=self.timer.flush)
        except StateUnavailable as error:
            raise DataError(str(error)) from None
        self.settings = StationSettings(self.switch, self.state_store)
        # A pool (backend = "redis"): the store holds the station leases and tells of the
        # settings the other servers save; a server alone: LocalLeases.
        self.leases = self.state_store if hasattr(self.state_store, "claim") else None
        if hasattr(self.state_store, "on_pool_change"):
            self.state_store.on_pool_change = self.settings.pool_changed
        self._stations_absent = self.settings.restore(self._saved_state)
        self._registrations_restored = (0, len(self._saved_state.registrations))  # no stations line: none
        # Changes that reach the switch by another path than the RCC services are saved too.
        self.switch.add_change_observer(self.settings.switch_changed, call_events=False)

    def state_problem(self) -> str | None:
        """Why the state store is degraded (the pool's Redis unreachable), or None."""
        if getattr(self.state_store, "healthy", True):
            return None
        return f"Redis {self.state_store.shown_url} unreachable"

    def _stations_line(self, cic: CicData) -> StationsLine:
        """Registrar, phone line and listeners for the SIP stations, and the call layer
        (SipTerminals) that carries the switch's calls of SIP stations on their phones."""
        self.terminals = SipTerminals(self.switch, phone_settings(cic), domain_name=self.config.line.domain_name,
                                      observer=rcclog.log_station_call)
        # The registrar's bindings are saved at each change; the saved ones are bound again.
        registrations = RegistrationPersistence(self.state_store, clock=self.scheduler.now, wall_clock=time.time)
        stations = StationsLine(
            self.config, cic, reactor=self.reactor, scheduler=self.scheduler, timer=self.timer, legs=self.terminals,
            observer=StationsObservers(StationsLogObserver(), StationsMetricsObserver(self.metrics), registrations),
            on_rejected=self.observer.connection_rejected,
            on_refused_datagram=lambda peer: self.metrics.station_datagrams_refused.inc(),
        )
        self.terminals.attach(stations.endpoint)
        if self.config.trunk is not None:
            try:
                self.trunk = trunk_route(self.config, stations.endpoint, self.scheduler, self.dial_plan_router,
                                         lambda: self.data.cic, rcclog.log_station_call)
            except OSError as error:  # the peer's host name does not resolve
                raise DataError(f"{self.config.path}: trunk.peer: cannot resolve {self.config.trunk.host}: "
                                f"{error}") from None
            self.terminals.attach_trunk(self.trunk)
            self.metrics.watch_trunk(self.trunk)
        self.metrics.watch_registrar(stations.registrar)
        registrations.attach(stations.registrar)
        if hasattr(self.state_store, "on_pool_registrations"):
            def pool_registrations(sip_user, records) -> None:
                registrations.adopt(sip_user, records)
                stations.endpoint.refresh_timers()  # adopted bindings lapse on time

            self.state_store.on_pool_registrations = pool_registrations
        self._registrations_restored = registrations.restore(self._saved_state.registrations)
        stations.endpoint.refresh_timers()  # the restored bindings lapse on time
        return stations

    def _client_tls(self):
        """TLS options for reaching a front end again when a TLS dialog's connection is gone:
        verify it against our authority certificates, present our own PEM certificate."""
        line = self.config.line
        if line.transport != "tls":
            return None
        pem_identity = line.private_key is not None and not is_pkcs12_path(line.certificate)
        return lambda host: client_options(
            host, authority_certificates=tuple(line.authority_certificates),
            certificate=line.certificate if pem_identity else None,
            private_key=line.private_key if pem_identity else None,
        )

    def services(self) -> list[service.IService]:
        return list(self._services)

    def after_start(self) -> None:
        self.sip_port = self.listener.port
        _freeze_heap(collect_first=True)
        _return_free_heap()
        rcclog.log_started(self.config, self.sip_port)
        if self.stations is not None:
            rcclog.log_stations_line_started(self.config.stations_line.address, self.stations.ports())

    # -- stop ----------------------------------------------------------------------
    @defer.inlineCallbacks
    def shutdown(self, grace: float):
        """BYE every dialog, give the BYEs a moment to be answered, close connections."""
        self.endpoint.shutdown()
        self.driver.flush()
        if grace > 0 and len(self.app.sessions) == 0:
            from twisted.internet import task

            yield task.deferLater(self.reactor, min(grace, 0.5), lambda: None)
        yield self.pool.close_all()
        if self.stations is not None:
            yield self.stations.shutdown()
        # Saves still queued are committed before the process ends.
        yield threads.deferToThread(self.state_store.close)
        rcclog.log_shutdown()
        rcclog.stop_rcc_log(self.log_observer)

    # -- reload -----------------------------------------------------------------------
    def reload(self) -> defer.Deferred:
        """Reload the directory and the CIC data (in a child process); swap both on success."""
        if self._reloading is not None:
            # The running reload may have read the files before this caller's edits:
            # queue one more after it; every caller queued meanwhile shares that one.
            waiter: defer.Deferred = defer.Deferred()
            self._reload_waiters.append(waiter)
            return waiter
        started = time.monotonic()

        def loaded(outcome):
            if not outcome.ok:
                self._reloading = None
                return self._reload_failed(outcome.error)
            log.info("reload loaded by process {pid}; rebuilt in {swap:.1f} ms of reactor time, "
                     "longest turn {turn:.1f} ms", pid=outcome.worker_pid,
                     swap=(self.reloader.last_swap or 0) * 1000, turn=(self.reloader.longest_slice or 0) * 1000)
            # The swap's turn: everything readers see changes here, at once.
            snapshot = self.reloader.current
            retired = [self.data.directory, self.data.cic]
            self.data.directory = snapshot.directory
            self.data.cic = snapshot.cic
            self._apply_station_changes(snapshot.cic, outcome.prepared)
            if self.stations is not None:
                self.terminals.update_phones(phone_settings(snapshot.cic))
                self.stations.replace_stations(snapshot.cic)
            del snapshot
            # After it, in turns of their own: the report of the sessions the new data would
            # refuse, the outcome, and freeing the data replaced.
            refused = run_in_turns(self.reactor, self._sessions_now_refused_in_turns(list(self.app.sessions)))

            def publish(would_refuse: list[str]) -> dict:
                self._reloading = None
                result = {
                    "ok": True,
                    "users": len(self.data.directory),
                    "added": sorted(outcome.diff.added),
                    "removed": sorted(outcome.diff.removed),
                    "changed": sorted(outcome.diff.changed),
                    "would_refuse": would_refuse,
                    "elapsed": round(time.monotonic() - started, 3),
                }
                _freeze_heap()
                release_in_turns(self.reactor, retired)
                return self._publish_reload(result)

            def unchecked(failure) -> list[str]:
                # A bug in the check: the new data is in force all the same; say so, list none.
                log.failure("checking the live sessions against the reloaded data failed", failure)
                return []

            return refused.addErrback(unchecked).addCallback(publish)

        def crashed(failure):
            self._reloading = None
            return self._reload_failed(failure.getErrorMessage())

        def next_queued(result):
            waiters, self._reload_waiters = self._reload_waiters, []
            if waiters:
                def share(queued_result):
                    for waiter in waiters:
                        waiter.callback(queued_result)
                self.reload().addCallback(share)
            return result

        self._reloading = self.reloader.reload()
        self._reloading.addCallbacks(loaded, crashed)
        self._reloading.addCallback(next_queued)
        return self._reloading

    def _station_changes(self, cic):
        """Generator, a slice per reactor turn before a reload's swap: StationChanges."""
        present = self.switch.stations()
        known = set(present)
        yield
        stations = cic.stations
        wanted: set[str] = set()
        joining: list[str] = []
        for start in range(0, len(stations), STATION_SLICE):
            for station in stations[start:start + STATION_SLICE]:
                wanted.add(station.extension)
                if station.extension not in known:
                    joining.append(station.extension)
            yield
        leaving: list[str] = []
        for start in range(0, len(present), STATION_SLICE):
            leaving += [extension for extension in present[start:start + STATION_SLICE] if extension not in wanted]
            yield
        return StationChanges(present, tuple(dict.fromkeys(joining)), tuple(leaving))

    def _apply_station_changes(self, cic, changes: StationChanges | None) -> None:
        """At the swap: the changes worked out before it, if the switch's stations are still
        those they were worked out against; else the whole comparison, now."""
        if changes is None or self.switch.stations() != changes.present:
            self._sync_stations(cic)
            return
        for extension in changes.joining:
            self.switch.add_station(extension)
            self.settings.restore_station(extension)  # settings saved for it before it left
        if changes.leaving:
            in_use = {session.device for session in self.app.sessions}
            for extension in changes.leaving:
                if extension not in in_use and not self.switch.snapshot(extension):
                    self.switch.remove_station(extension)

    def _sync_stations(self, cic) -> None:
        """New stations join the switch; removed ones leave once idle (remote-number
        devices of live sessions stay)."""
        wanted = {station.extension for station in cic.stations}
        in_use = {session.device for session in self.app.sessions}
        for extension in wanted - set(self.switch.stations()):
            self.switch.add_station(extension)
            self.settings.restore_station(extension)  # settings saved for it before it left
        for extension in set(self.switch.stations()) - wanted - in_use:
            if not self.switch.snapshot(extension):
                self.switch.remove_station(extension)

    def _reload_failed(self, error: str) -> dict:
        return self._publish_reload({"ok": False, "error": error})

    def _publish_reload(self, result: dict) -> dict:
        self._reload_seq += 1
        result["seq"] = self._reload_seq
        self.metrics.reloads.labels(result="ok" if result["ok"] else "failed").inc()
        rcclog.log_reload(result)
        try:
            write_outcome(self.config.server.pid_file, result)
        except OSError as error:
            log.warn("cannot write the reload outcome: {error}", error=error)
        return result

    def _sessions_now_refused_in_turns(self, sessions: list):
        """Generator, a slice of `sessions` per reactor turn: those a logon with the data in
        force would refuse (they stay up), as the reload's outcome lists them."""
        from rccserver.rcc.logon import LogonAttempt, decide_logon

        refused = []
        for start in range(0, len(sessions), SESSION_SLICE):
            for session in sessions[start:start + SESSION_SLICE]:
                attempt = LogonAttempt(content_type="application/csta+xml", csta_ok=True,
                                       line=session.line, from_uri=session.lync_uri)
                decision = decide_logon(attempt, self.data.directory, self.data.cic, self.occupancy)
                if decision.code != "Cs_Success":
                    refused.append(f"{session.lync_uri} {session.line}: {decision.code}: {decision.detail}")
            yield
        return refused
