"""The running server: Twisted services composed around the sans-IO core.

Start order: RCCServer log, directory and CIC data, switch, SIP endpoint and
RCC application, SIP listener, admin API, pid file. Stop order is the reverse;
before the listener goes, every RCC dialog is ended with BYE.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from rccserver.server.config import Config, ConfigError
from rccserver.server.effective_config import load_effective_config

log = Logger(namespace="rccserver.server.service")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2

# How long a stopping server waits for its BYEs to be answered.
SHUTDOWN_GRACE = 2.0


class RccService(service.MultiService):
    def __init__(self, config: Config, reactor) -> None:
        super().__init__()
        from rccserver.server.runtime import Runtime

        self.config = config
        self.reactor = reactor
        self.runtime = Runtime(config, reactor)

    def startService(self) -> None:
        self.runtime.start()
        for child in self.runtime.services():
            child.setServiceParent(self)
        super().startService()
        self.runtime.after_start()
        self._write_pid_file()

    @defer.inlineCallbacks
    def stopService(self):
        yield self.runtime.shutdown(SHUTDOWN_GRACE)
        yield defer.maybeDeferred(super().stopService)
        self._remove_pid_file()

    def reload(self):
        return self.runtime.reload()

    def _write_pid_file(self) -> None:
        path = Path(self.config.server.pid_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="ascii")

    def _remove_pid_file(self) -> None:
        try:
            Path(self.config.server.pid_file).unlink()
        except FileNotFoundError:
            pass


def run_server(config_path: str | None, *, log_format: str | None = None) -> int:
    from twisted.internet.error import CannotListenError

    from rccserver.server.runtime import DataError
    from rccserver.transport.access import AccessListError
    from rccserver.transport.tls import TlsConfigError

    try:
        config = load_effective_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if log_format is not None:
        import attrs

        config = attrs.evolve(config, server=attrs.evolve(config.server, log_format=log_format))

    from twisted.internet import reactor
    from twisted.logger import LogLevel, globalLogBeginner, textFileLogObserver

    # Warnings and errors also reach stderr; the RCCServer log gets everything of ours.
    stderr_observer = textFileLogObserver(sys.stderr)
    globalLogBeginner.beginLoggingTo(
        [lambda event: event.get("log_level", LogLevel.info) >= LogLevel.warn and stderr_observer(event)],
        redirectStandardIO=False,
    )
    server = RccService(config, reactor)

    def on_sighup(signum, frame) -> None:
        # Reload only once running; a SIGHUP during start-up is ignored, never fatal.
        if server.running:
            reactor.callFromThread(server.reload)

    # Installed before the port opens, so no SIGHUP can find the default action (exit).
    signal.signal(signal.SIGHUP, on_sighup)
    # Between the ports opening and the reactor running (which then installs its own
    # handler), a SIGTERM must still mean a clean stop, not death by signal.  (SIGINT is
    # left alone: the reactor only takes it over from Python's default handler.)
    stop_requested: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))
    try:
        server.startService()
    except (ConfigError, DataError, TlsConfigError, AccessListError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except (OSError, CannotListenError) as error:  # a port in use, an address not ours
        print(f"error: cannot start: {error}", file=sys.stderr)
        return EXIT_FAILED

    reactor.addSystemEventTrigger("before", "shutdown", server.stopService)
    reactor.callWhenRunning(lambda: stop_requested and reactor.stop())
    print(
        f"rccserver listening on {config.line.transport} {config.line.address}:"
        f"{server.runtime.sip_port}; log {config.server.log_file}",
        file=sys.stderr,
    )
    reactor.run()
    return EXIT_OK
