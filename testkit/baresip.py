"""baresip (Debian `baresip-core`, 1.0) as a real SIP desk phone in tests, driven like a person.

One `BaresipPhone` is one baresip process with one account, its own generated
configuration in its own directory, its SIP and control ports on 127.0.0.1 (found by
binding port 0), no sound hardware:

* the microphone is `ausine`: a steady tone of `tone_hz`, so a test can tell whose
  voice reached whom;
* the loudspeaker is `aubridge` (a virtual device that plays into nothing);
* the `sndfile` filter records what the phone sends (`dump-<time>-enc.wav`) and what it
  hears (`dump-<time>-dec.wav`) in `<workdir>/audio`; `heard_frequency()` and
  `sent_frequency()` count the zero crossings of the newest recording.

The test talks to the phone through the `ctrl_tcp` module: netstrings (`LEN:JSON,`)
both ways; a command is `{"command", "params", "token"}`, its reply carries
`"response": true`, `ok`, `data` and the same token; events carry `"event": true` and a
`type` (`CALL_INCOMING`, `CALL_RINGING`, `CALL_ESTABLISHED`, `CALL_CLOSED`, ...).
A background thread reads the socket: replies are matched to their command by token,
events are kept in order and `wait_event()` hands each one out once.

    with baresip_phones() as phone:
        alice = phone(user="1001", password="s3cret", registrar=("127.0.0.1", port), tone_hz=440)
        alice.wait_registered()
        alice.dial("sip:1002@127.0.0.1:5070")
        alice.wait_event("CALL_ESTABLISHED")
        assert abs(alice.heard_frequency() - 1000) < 50

Quirks of baresip 1.0 the driver absorbs (docs/sip-stations.md, "Testing with baresip"):
registration runs before the control client connects, so `wait_registered()` polls
`reginfo` instead of waiting for `REGISTER_OK`; every command acts on the "current"
call (the newest one); the far end's BYE shows as `CALL_CLOSED` with the param
"Connection reset by peer".
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

INSTALL_HINT = ("baresip (Debian package baresip-core) is required: run "
                "`bash scripts/install-system-deps` as root")
MODULE_DIRS = ("/usr/lib/baresip/modules", "/usr/lib/x86_64-linux-gnu/baresip/modules",
               "/usr/local/lib/baresip/modules")
AUDIO_DIRS = ("/usr/share/baresip", "/usr/local/share/baresip")
# What the driver loads; each must be in the module directory.
MODULES = ("g711.so", "sndfile.so", "ausine.so", "aubridge.so", "account.so", "menu.so", "ctrl_tcp.so")
# Events that come with every SDP exchange and every RTCP report; left out of error messages.
NOISE = frozenset({"CALL_RTCP", "CALL_LOCAL_SDP", "CALL_REMOTE_SDP", "CALL_RTPESTAB"})
# ANSI colour codes baresip puts around "OK " / "ERR" / "zzz" in `reginfo`.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class BaresipMissing(RuntimeError):
    """baresip or one of the modules the driver needs is not installed."""


class BaresipError(RuntimeError):
    """baresip did something other than what the test asked for (the message says what)."""


class CommandFailed(BaresipError):
    def __init__(self, command: str, params: str | None, reply: dict[str, Any]) -> None:
        self.reply = reply
        super().__init__(f"baresip refused {command!r} {params or ''}: {reply.get('data', '')!r}")


class RegistrationFailed(BaresipError):
    pass


def baresip_binary() -> str:
    """The baresip program: $BARESIP if set, else baresip on the PATH or in /usr/bin;
    BaresipMissing, naming scripts/install-system-deps, if there is none."""
    chosen = os.environ.get("BARESIP")
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise BaresipMissing(f"$BARESIP={chosen} is not an executable program; " + INSTALL_HINT)
        return chosen
    path = shutil.which("baresip") or next(
        (candidate for candidate in ("/usr/bin/baresip", "/usr/local/bin/baresip") if os.access(candidate, os.X_OK)),
        None)
    if path is None:
        raise BaresipMissing(INSTALL_HINT)
    return path


def module_dir() -> str:
    """The directory holding every module in MODULES; BaresipMissing otherwise."""
    for candidate in MODULE_DIRS:
        if all((Path(candidate) / name).exists() for name in MODULES):
            return candidate
    raise BaresipMissing(f"no baresip module directory with {', '.join(MODULES)} among {MODULE_DIRS}; "
                         + INSTALL_HINT)


def _free(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_block() -> int:
    """P such that P (UDP and TCP), P+1 and P+2 (TCP) are free on loopback right now:
    baresip listens for SIP on UDP and TCP P and for SIP/TLS on P+1 (always, even without
    a certificate); the driver puts ctrl_tcp on P+2."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
        if port + 2 < 65536 and _free(socket.SOCK_DGRAM, port) and all(
                _free(socket.SOCK_STREAM, candidate) for candidate in (port, port + 1, port + 2)):
            return port
    raise RuntimeError("no block of three free loopback ports")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it dies (Linux
    PR_SET_PDEATHSIG), so that a test run killed outright leaves no phone behind.
    Start phones from a thread that outlives them (the test's own)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- audio analysis (stdlib only) -------------------------------------------------------

@dataclass
class Recording:
    """One sndfile dump: 16-bit PCM, read to the end of the file (baresip writes the WAV
    header's sizes only when it closes the file, so a live recording claims to be empty)."""
    path: Path
    rate: int
    channels: int
    samples: array  # the first channel only

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def read_recording(path: Path) -> Recording:
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BaresipError(f"{path} is not a WAV file")
    position, rate, channels, bits = 12, 0, 0, 0
    while position + 8 <= len(data):
        chunk, size = data[position:position + 4], struct.unpack_from("<I", data, position + 4)[0]
        body = position + 8
        if chunk == b"fmt ":
            _format, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, body)
        elif chunk == b"data":
            if bits != 16 or channels < 1:
                raise BaresipError(f"{path}: expected 16-bit PCM, found {bits}-bit with {channels} channel(s)")
            end = body + size if 0 < size <= len(data) - body else len(data)
            pcm = data[body:end]
            pcm = pcm[:len(pcm) - len(pcm) % (2 * channels)]
            samples = array("h")
            samples.frombytes(pcm)
            if channels > 1:
                samples = samples[::channels]
            return Recording(path, rate, channels, samples)
        position = body + size + (size & 1)
    # The header is complete but no sample has arrived yet.
    return Recording(path, rate or 8000, channels or 1, array("h"))


SILENCE_RMS = 100.0  # the ausine tone after PCMU is about 11,700 rms; silence a few units


def rms(samples: array) -> float:
    if not samples:
        return 0.0
    return (sum(sample * sample for sample in samples) / len(samples)) ** 0.5


def zero_crossing_frequency(samples: array, rate: int) -> float:
    """The frequency of a single steady tone: sign changes / 2 / duration, with a small
    dead band around zero so that quantisation noise does not count as crossings."""
    if len(samples) < 2:
        return 0.0
    threshold = max(64.0, rms(samples) * 0.1)
    crossings, sign, first, last = 0, 0, None, None
    for index, sample in enumerate(samples):
        if sample > threshold:
            new = 1
        elif sample < -threshold:
            new = -1
        else:
            continue
        if sign and new != sign:
            crossings += 1
            if first is None:
                first = index
            last = index
        sign = new
    if crossings < 2 or first is None or last is None or last == first:
        return 0.0
    # Measure between the first and the last crossing: whole half-periods only.
    return (crossings - 1) / 2 / ((last - first) / rate)


# --- the control connection --------------------------------------------------------------

def netstring(payload: bytes) -> bytes:
    return b"%d:%s," % (len(payload), payload)


class NetstringReader:
    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        messages = []
        while True:
            colon = self.buffer.find(b":")
            if colon < 0:
                if len(self.buffer) > 10:
                    raise BaresipError(f"not a netstring from ctrl_tcp: {self.buffer[:40]!r}")
                return messages
            length = int(self.buffer[:colon])
            end = colon + 1 + length
            if len(self.buffer) < end + 1:
                return messages
            if self.buffer[end:end + 1] != b",":
                raise BaresipError(f"netstring from ctrl_tcp does not end in a comma: {self.buffer[:end + 1]!r}")
            messages.append(self.buffer[colon + 1:end])
            self.buffer = self.buffer[end + 1:]


@dataclass
class AudioMark:
    kind: str
    path: Path | None
    samples: int


@dataclass
class Media:
    """The current call's audio stream: SDP direction as this phone sees it (sendrecv;
    sendonly when it holds; recvonly when it is held), RTP packets sent and received."""
    direction: str
    sent: int
    received: int
    debug: str = field(repr=False, default="")


@dataclass
class Reply:
    ok: bool
    data: str
    raw: dict[str, Any] = field(repr=False)


# --- the phone --------------------------------------------------------------------------

class BaresipPhone:
    """One baresip process with one account.

    user, password: the account (`auth_user` is the user); password None: no auth_pass.
    registrar: (host, port) to REGISTER with; None: no registration (peer-to-peer calls).
    domain: the host part of the address of record; default the registrar's host (or
        127.0.0.1). When it differs from the registrar's host, requests go to the
        registrar as the outbound proxy.
    transport: "udp" or "tcp" towards the registrar and for calls.
    tone_hz: the frequency the phone's microphone picks up (10-20000).
    answermode: "manual" (rings until accept()) or "auto" (answers at once).
    regint: registration interval in seconds (baresip re-registers on its own).
    display_name: the name in From (and in the far end's CALL_INCOMING peerdisplayname).
    extra_config: more `config` lines (key: value), replacing the driver's own.
    sip_trace: log every SIP message sent and received (`baresip -s`) in baresip.log.
    """

    def __init__(self, workdir: Path, *, user: str, password: str | None = None,
                 registrar: tuple[str, int] | None = None, domain: str | None = None,
                 transport: str = "udp", tone_hz: int = 440, answermode: str = "manual",
                 regint: int = 600, display_name: str | None = None,
                 extra_config: dict[str, str] | None = None, sip_trace: bool = False) -> None:
        if transport not in ("udp", "tcp"):
            raise ValueError(f"transport must be udp or tcp, not {transport!r}")
        if answermode not in ("manual", "auto", "early"):
            raise ValueError(f"answermode must be manual, auto or early, not {answermode!r}")
        if not 10 <= tone_hz <= 20000:
            raise ValueError("ausine plays 10 to 20000 Hz")
        self.binary = baresip_binary()
        self.modules = module_dir()
        self.workdir = Path(workdir)
        self.user = user
        self.password = password
        self.registrar = registrar
        self.domain = domain or (registrar[0] if registrar else "127.0.0.1")
        self.transport = transport
        self.tone_hz = tone_hz
        self.answermode = answermode
        self.regint = regint if registrar else 0
        self.display_name = display_name
        self.extra_config = dict(extra_config or {})
        self.sip_trace = sip_trace
        self.audio_dir = self.workdir / "audio"
        self.log_path = self.workdir / "baresip.log"
        self.sip_port = self.ctrl_port = 0
        self.process: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Condition()
        self._replies: dict[str, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._tokens = itertools.count(1)
        self._reader_error: BaseException | None = None
        self._closed = False

    # -- addresses

    @property
    def aor(self) -> str:
        """The address of record, e.g. sip:1001@127.0.0.1:5060."""
        if self.registrar and self.domain == self.registrar[0]:
            return f"sip:{self.user}@{self.registrar[0]}:{self.registrar[1]}"
        return f"sip:{self.user}@{self.domain}"

    @property
    def contact_uri(self) -> str:
        """Where the phone itself listens: dial this to call it directly (no registrar).
        No transport parameter: baresip adds its account's own when dialling."""
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    # -- configuration

    def account_line(self) -> str:
        name = f'"{self.display_name}" ' if self.display_name else ""
        params = [f"answermode={self.answermode}", f"regint={self.regint}",
                  "audio_codecs=pcmu,pcma", "mwi=no", "pubint=0", "ptime=20"]
        if self.password is not None:
            params += [f"auth_user={self.user}", f"auth_pass={self.password}"]
        if self.registrar and self.domain != self.registrar[0]:
            host, port = self.registrar
            params.append(f'outbound="sip:{host}:{port};transport={self.transport}"')
        return f"{name}<{self.aor};transport={self.transport}>;" + ";".join(params)

    def config_text(self) -> str:
        audio = next((path for path in AUDIO_DIRS if Path(path).is_dir()), AUDIO_DIRS[0])
        device = f"phone{self.sip_port}"
        settings: dict[str, str] = {
            "poll_method": "epoll",
            "sip_listen": f"127.0.0.1:{self.sip_port}",
            "call_local_timeout": "120",
            "call_max_calls": "4",
            "audio_path": audio,
            "audio_player": f"aubridge,{device}",
            "audio_source": f"ausine,{self.tone_hz}",
            "audio_alert": f"aubridge,{device}-alert",
            "ausrc_srate": "48000",
            "ausrc_channels": "2",
            "auplay_srate": "48000",
            "auplay_channels": "2",
            "audio_level": "no",
            "ausrc_format": "s16",
            "auplay_format": "s16",
            "auenc_format": "s16",
            "audec_format": "s16",
            "audio_buffer": "20-160",
            "rtp_tos": "0",
            "rtcp_mux": "no",
            "jitter_buffer_delay": "1-5",
            "rtp_stats": "no",
            "net_interface": "127.0.0.1",
            "module_path": self.modules,
            "snd_path": str(self.audio_dir),
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}",
            "ringback_disabled": "yes",
            "menu_bell": "no",
            # no "[0:00:01] audio=..." status line every 100 ms in the log
            "statmode_default": "off",
        }
        settings.update(self.extra_config)
        lines = ["# written by testkit/baresip.py"]
        lines += [f"{key}\t{value}" for key, value in settings.items()]
        # Codec and filter modules first, then the audio drivers; account.so reads the
        # accounts file; menu.so provides the commands ctrl_tcp relays.
        lines += ["module\tg711.so", "module\tsndfile.so", "module\tausine.so", "module\taubridge.so",
                  "module_tmp\taccount.so", "module_app\tmenu.so", "module_app\tctrl_tcp.so"]
        return "\n".join(lines) + "\n"

    # -- life cycle

    def start(self, timeout: float = 15.0, attempts: int = 3) -> "BaresipPhone":
        """Start baresip and connect to its control port. Ports are found free just before;
        when another process takes one in between, start again on other ports."""
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except BaresipError:
                if attempt + 1 == attempts or "Address already in use" not in self.log_tail():
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> "BaresipPhone":
        self.sip_port = free_port_block()
        self.ctrl_port = self.sip_port + 2
        self._sock, self._reader, self._reader_error, self._closed = None, None, None, False
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.audio_dir.mkdir(exist_ok=True)
        (self.workdir / "config").write_text(self.config_text())
        (self.workdir / "accounts").write_text(self.account_line() + "\n")
        (self.workdir / "contacts").write_text("")
        log = open(self.log_path, "wb")
        try:
            # -f: our own directory, never ~/.baresip; stdin closed: no console UI.
            command = [self.binary, "-f", str(self.workdir)] + (["-s"] if self.sip_trace else [])
            self.process = subprocess.Popen(command, cwd=self.workdir,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()
        try:
            self._connect(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _connect(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BaresipError(f"baresip exited with {self.process.returncode} before its control port "
                                   f"opened:\n{self.log_tail()}")
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=0.5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BaresipError(f"baresip's ctrl_tcp did not listen on {self.ctrl_port} within "
                                       f"{timeout} s:\n{self.log_tail()}")
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name=f"baresip-{self.user}", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        reader = NetstringReader()
        assert self._sock is not None
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    break
                for payload in reader.feed(data):
                    message = json.loads(payload)
                    with self._lock:
                        if message.get("response"):
                            self._replies[str(message.get("token"))] = message
                        elif message.get("event"):
                            message["received_at"] = time.monotonic()
                            self._events.append(message)
                        self._lock.notify_all()
        except (OSError, ValueError, BaresipError) as error:
            if not self._closed:
                self._reader_error = error
        finally:
            with self._lock:
                self._closed = True
                self._lock.notify_all()

    def stop(self, timeout: float = 2.0) -> int | None:
        """Quit baresip: the `quit` command (it un-registers first), then SIGTERM twice, then
        SIGKILL; returns the exit status (0 unless it had to be killed). Safe to call twice.
        Stop phones before their registrar: without one to answer the un-REGISTER, `quit`
        waits `timeout` seconds in vain."""
        if self.process is None:
            return None
        if self.process.poll() is None and self._sock is not None and not self._closed:
            with contextlib.suppress(OSError):
                self._sock.sendall(netstring(json.dumps({"command": "quit", "token": "quit"}).encode()))
        # `quit` waits for the un-REGISTER to be answered (32 s without a registrar); so does
        # the first SIGTERM, the second exits at once; SIGKILL if even that does not help.
        for send, wait in ((None, timeout), (signal.SIGTERM, 0.3), (signal.SIGTERM, timeout),
                           (signal.SIGKILL, timeout)):
            if send is not None and self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, send)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self._reader is not None:
            self._reader.join(timeout)
        return self.process.returncode

    def __enter__(self) -> "BaresipPhone":
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    # -- commands and events

    def command(self, command: str, params: str | None = None, *, timeout: float = 5.0,
                check: bool = True) -> Reply:
        """Send one ctrl_tcp command and wait for its reply; CommandFailed if `ok` is false
        (unless check=False)."""
        if self._sock is None:
            raise BaresipError("the phone is not started")
        token = f"{command}-{next(self._tokens)}"
        message: dict[str, Any] = {"command": command, "token": token}
        if params is not None:
            message["params"] = params
        with self._lock:
            if self._closed:
                raise BaresipError(f"the control connection is closed ({self._reader_error}):\n{self.log_tail()}")
        self._sock.sendall(netstring(json.dumps(message).encode()))
        deadline = time.monotonic() + timeout
        with self._lock:
            while token not in self._replies:
                remaining = deadline - time.monotonic()
                if self._closed:
                    raise BaresipError(f"baresip closed the control connection during {command!r}:\n"
                                       f"{self.log_tail()}")
                if remaining <= 0:
                    raise TimeoutError(f"no reply to {command!r} within {timeout} s:\n{self.log_tail()}")
                self._lock.wait(remaining)
            raw = self._replies.pop(token)
        reply = Reply(bool(raw.get("ok")), ANSI.sub("", str(raw.get("data", ""))), raw)
        if check and not reply.ok:
            raise CommandFailed(command, params, raw)
        return reply

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far, in order (a copy)."""
        with self._lock:
            return list(self._events)

    def event_types(self) -> list[str]:
        return [event.get("type", "") for event in self.events]

    def event_mark(self) -> int:
        """A bookmark in the event history: take it *before* an action and pass it to
        wait_event(since=...) to accept only what the action caused."""
        with self._lock:
            return len(self._events)

    def wait_event(self, type: str, timeout: float = 10.0, *, since: int = 0,
                   match: Callable[[dict[str, Any]], bool] | None = None, **fields: Any) -> dict[str, Any]:
        """The oldest event of this type not handed out yet (and not older than the mark
        `since`), whose keys equal `fields` (e.g. id=call_id, param="offer") and for which
        `match` holds; waits for it. Each event is handed out once; events of other types
        (or that do not match) stay available to later calls. An event that arrived
        before the call is found too: there is no race between an action and its wait.
        Mind events that recur (CALL_REMOTE_SDP comes with every offer and answer, the
        call's first one too): bound them with `since`."""
        def wanted(event: dict[str, Any]) -> bool:
            return (event.get("type") == type and all(event.get(key) == value for key, value in fields.items())
                    and (match is None or match(event)))

        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for index, event in enumerate(self._events):
                    if index >= since and index not in self._taken and wanted(event):
                        self._taken.add(index)
                        return event
                remaining = deadline - time.monotonic()
                dead = self._closed and self.process is not None and self.process.poll() is not None
                if remaining <= 0 or dead:
                    seen = [(event.get("type"), event.get("param", "")) for event in self._events
                            if event.get("type") not in NOISE]
                    raise TimeoutError(f"{self.user}: no {type} {fields or ''} within {timeout} s"
                                       f"{' (baresip exited)' if dead else ''}; events so far: {seen}\n"
                                       f"{self.log_tail()}")
                self._lock.wait(min(remaining, 0.2))

    # -- registration

    def registration_state(self) -> str | None:
        """"OK", "ERR" or "zzz" (not answered yet) for the account, from `reginfo`;
        None when the account does not register."""
        data = self.command("reginfo").data
        for line in data.splitlines():
            if f"sip:{self.user}@" in line:
                found = re.search(r"\b(OK|ERR|zzz)\b", line)
                if found:
                    return found.group(1)
        return None

    def wait_registered(self, timeout: float = 10.0) -> str:
        """Until `reginfo` shows the account registered (returns the reginfo text).
        RegistrationFailed as soon as it shows ERR (wrong password, 403, no answer, ...);
        the REGISTER_FAIL event's param, when one arrived, says why."""
        if not self.registrar:
            raise BaresipError(f"{self.user} has no registrar")
        deadline = time.monotonic() + timeout
        while True:
            state = self.registration_state()
            if state == "OK":
                return self.command("reginfo").data
            if state == "ERR":
                raise RegistrationFailed(f"{self.user} failed to register with {self.registrar}: "
                                         f"{self.registration_failure() or 'reginfo shows ERR'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user} not registered within {timeout} s (state {state}):\n"
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def registration_failure(self) -> str | None:
        """Why the registration failed, from the newest REGISTER_FAIL event or the log."""
        failures = [event for event in self.events if event.get("type") == "REGISTER_FAIL"]
        if failures:
            return failures[-1].get("param") or "REGISTER_FAIL"
        found = re.findall(r"reg: \S+: (.+)", ANSI.sub("", self.log_tail(20000)))
        return found[-1].strip() if found else None

    # -- a person at a desk

    def dial(self, uri: str) -> Reply:
        """Dial a SIP URI (or a number, which baresip completes with the account's domain)."""
        return self.command("dial", uri)

    def accept(self) -> Reply:
        """Pick up the ringing call."""
        return self.command("accept")

    def hangup(self) -> Reply:
        """Hang up the current call (the newest one)."""
        return self.command("hangup")

    def hold(self) -> Reply:
        return self.command("hold")

    def resume(self) -> Reply:
        return self.command("resume")

    def transfer(self, target: str) -> Reply:
        """Blind transfer of the current call: REFER to `target`, a URI or a number that
        baresip completes with the account's domain."""
        return self.command("transfer", target)

    def send_dtmf(self, digits: str) -> None:
        for digit in digits:
            self.command("sndcode", digit)

    def list_calls(self) -> str:
        return self.command("listcalls").data

    def active_calls(self) -> int:
        """How many calls the phone has (ringing, established or on hold), from `listcalls`."""
        found = re.search(r"Active calls \((\d+)\)", self.list_calls())
        return int(found.group(1)) if found else 0

    def on_hold(self) -> bool:
        """Whether the current call is on hold from this side (`listcalls` says "(on hold)").
        The held side does not know it is held: see media().direction ("recvonly")."""
        return "(on hold)" in self.list_calls()

    # -- media

    def media(self) -> "Media | None":
        """The current call's audio stream from `audio_debug`; None without a call."""
        reply = self.command("audio_debug", check=False)
        if not reply.ok or "dir=" not in reply.data:
            return None
        direction = re.search(r"audio dir=(\w+)", reply.data)
        sent = re.search(r"TX: packets=(\d+)", reply.data)
        received = [int(count) for count in re.findall(r"rcvd=(\d+)", reply.data)]
        return Media(direction.group(1) if direction else "?", int(sent.group(1)) if sent else 0,
                     sum(received), reply.data)

    def wait_media_flowing(self, packets: int = 10, timeout: float = 10.0) -> "Media":
        """Until the current call has sent and received `packets` more RTP packets than now
        (20 ms each): proof that audio flows both ways, e.g. after resume(), when
        baresip 1.0 no longer records what the phone hears (see heard_frequency)."""
        start = self.media()
        if start is None:
            raise BaresipError(f"{self.user} has no call:\n{self.list_calls()}")
        deadline = time.monotonic() + timeout
        while True:
            now = self.media()
            if now is None:
                raise BaresipError(f"{self.user}: the call ended while waiting for RTP")
            if now.sent - start.sent >= packets and now.received - start.received >= packets:
                return now
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user}: RTP did not flow both ways within {timeout} s: "
                                   f"{start} then {now}")
            time.sleep(0.1)

    def recordings(self, kind: str = "dec") -> list[Path]:
        """The sndfile dumps of one kind ("dec": heard, "enc": sent), oldest first."""
        files = list(self.audio_dir.glob(f"dump-*-{kind}.wav"))
        return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))

    def audio_mark(self, kind: str = "dec") -> "AudioMark":
        """Where the newest recording ends now: pass it as `after=` to measure only what
        comes later."""
        files = self.recordings(kind)
        if not files:
            return AudioMark(kind, None, 0)
        return AudioMark(kind, files[-1], len(read_recording(files[-1]).samples))

    def _frequency(self, kind: str, seconds: float, timeout: float, after: "AudioMark | None") -> float:
        if after is not None and after.kind != kind:
            raise ValueError(f"a mark of {after.kind!r} audio cannot bound {kind!r} audio")
        deadline = time.monotonic() + timeout
        while True:
            files = self.recordings(kind)
            recording = read_recording(files[-1]) if files else None
            samples = array("h")
            if recording is not None:
                samples = recording.samples
                if after is not None and after.path == recording.path:
                    samples = samples[after.samples:]
                elif after is not None and after.path is not None and recording.path.stat().st_mtime_ns < \
                        after.path.stat().st_mtime_ns:
                    samples = array("h")
            if recording is not None and len(samples) >= seconds * recording.rate:
                tail = samples[-int(seconds * recording.rate):]
                return zero_crossing_frequency(tail, recording.rate) if rms(tail) >= SILENCE_RMS else 0.0
            if time.monotonic() > deadline:
                what = "no recording" if recording is None else \
                    f"{recording.path.name} has {len(samples) / recording.rate:.2f} s after the mark"
                raise TimeoutError(f"{self.user}: not {seconds} s of {kind} audio within {timeout} s ({what}); "
                                   "baresip 1.0 stops recording what a phone hears at the call's first hold")
            time.sleep(0.05)

    def heard_frequency(self, seconds: float = 1.0, timeout: float = 10.0, after: "AudioMark | None" = None) -> float:
        """The tone in the last `seconds` of what the phone hears (the newest `-dec` dump),
        0.0 for silence; waits until that much audio has arrived (after the mark, if
        given). TimeoutError if it does not.

        baresip 1.0 quirk: the `-dec` dump of a call ends at its first hold (the re-INVITE
        tears down the receive filters and does not rebuild them), on both sides; after
        resume() use wait_media_flowing(). A new call starts a new dump."""
        return self._frequency("dec", seconds, timeout, after)

    def sent_frequency(self, seconds: float = 1.0, timeout: float = 10.0, after: "AudioMark | None" = None) -> float:
        """The tone in the last `seconds` of what the phone sends (the newest `-enc` dump;
        it goes on through hold: the microphone keeps recording while nothing is sent)."""
        return self._frequency("enc", seconds, timeout, after)

    def __repr__(self) -> str:
        return f"<BaresipPhone {self.user} sip:{self.sip_port} ctrl:{self.ctrl_port}>"


@contextlib.contextmanager
def baresip_phones(base_dir: Path | None = None, *, keep: bool = False) -> Iterator[Callable[..., BaresipPhone]]:
    """A factory of started phones, each in its own directory under `base_dir` (a fresh
    temporary directory when None); on exit every phone is stopped, killed if need be, and
    the temporary directory removed (unless keep=True or base_dir was given).

        with baresip_phones() as phone:
            alice = phone(user="1001", tone_hz=440)

    A pytest fixture wraps it:

        @pytest.fixture
        def baresip_phone():
            with baresip_phones() as factory:
                yield factory
    """
    baresip_binary()  # fail at once, with the install hint, when baresip is missing
    module_dir()
    owned = base_dir is None
    root = Path(tempfile.mkdtemp(prefix="baresip-")) if owned else Path(base_dir)
    phones: list[BaresipPhone] = []

    def make(**options: Any) -> BaresipPhone:
        workdir = root / f"{options.get('user', 'phone')}-{len(phones)}"
        phone = BaresipPhone(workdir, **options)
        phones.append(phone)
        return phone.start()

    try:
        yield make
    finally:
        errors = []
        for phone in phones:
            try:
                phone.stop()
            except Exception as error:  # stop every phone even when one misbehaves
                errors.append(error)
        if owned and not keep:
            shutil.rmtree(root, ignore_errors=True)
        if errors:
            raise errors[0]
