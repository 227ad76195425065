"""The state store's Redis backend, and the pool's station leases (SPEC section 11).

Servers sharing one `redis_url` form a pool. Client: the official `redis` package,
blocking, used only from this module's threads (never the reactor's), like the
SQLite backend's writer thread; every outcome reaches the reactor through `deliver`.

Keys (prefix `rccserver:`):
- `forwarding` hash, field `<station>|<type>` -> JSON record; `dnd` hash, field
  station -> "1"/"0"; `registrations` hash, field SIP user -> JSON list of bindings.
  Each save is one MULTI/EXEC with a PUBLISH on `changes:<db>`, so the other servers
  apply a setting as soon as it is saved (and read everything again whenever their
  subscription is (re)made, so an outage loses them nothing).
- `lease:<station>` hash: `user` -> the CIC user, `s:<server id>` -> that server's
  lease end (Redis TIME, ms). Claim, renewal and release are Lua scripts, so two
  servers can never grant one station to two users. The key itself expires with its
  last lease.

Durability: `done(None)` is called once Redis acknowledged the EXEC, so a setting is
confirmed only after Redis holds it; whether Redis holds it across its own crash
is its AOF's promise (`appendonly yes`, `appendfsync always` or `everysec`: the
operator's choice, docs/admin-guide.md).

Redis lost while running: a save someone waits for is retried until WRITE_WAIT
seconds have passed, then fails (StoreError: the client is told, nothing changed);
saves nobody waits for are retried until Redis is back, in order. Claims fail at
once (PoolUnavailable). Leases are renewed every `lease_seconds / 3` and again as
soon as Redis is back.
"""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
import socket
from typing import Callable

import redis

from rccserver.rcc.occupancy import Conflict
from rccserver.rcc.pool import ClaimReply, Granted, PoolUnavailable
from rccserver.state import DndRecord, Done, ForwardingRecord, RegistrationRecord, SavedState, StoreError

PREFIX = "rccserver:"
CHANNEL = PREFIX + "changes:"  # + the database number: Redis channels are not per database
MAX_BATCH = 256  # saves in one MULTI/EXEC at most
WRITE_WAIT = 10.0  # seconds a save someone waits for is retried while Redis is unreachable
RETRY_INTERVAL = 0.5  # seconds between tries while Redis is unreachable
SOCKET_TIMEOUT = 3.0
CONNECT_TIMEOUT = 2.0

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# KEYS[1] lease key; ARGV server id, user, lease ms. {1, user} granted, {0, other user} refused.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine = 's:' .. ARGV[1]
local h = redis.call('HGETALL', KEYS[1])
local user = false
local others = 0
local last = now + tonumber(ARGV[3])
for i = 1, #h, 2 do
  local f, v = h[i], h[i + 1]
  if f == 'user' then user = v
  elseif string.sub(f, 1, 2) == 's:' and f ~= mine then
    if tonumber(v) <= now then redis.call('HDEL', KEYS[1], f)
    else
      others = others + 1
      if tonumber(v) > last then last = tonumber(v) end
    end
  end
end
if others > 0 and user ~= ARGV[2] then return {0, user} end
redis.call('HSET', KEYS[1], 'user', ARGV[2], mine, now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], last - now)
return {1, ARGV[2]}
"""

# KEYS[1] lease key; ARGV server id.
_RELEASE = """
redis.call('HDEL', KEYS[1], 's:' .. ARGV[1])
local h = redis.call('HKEYS', KEYS[1])
for i = 1, #h do
  if string.sub(h[i], 1, 2) == 's:' then return 1 end
end
redis.call('DEL', KEYS[1])
return 0
"""


class RedisUnavailable(Exception):
    """Redis cannot be reached or refuses us (at start)."""


def shown_url(url: str) -> str:
    """The URL as logs and answers show it: a password in it replaced by ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}" if colon else f"{scheme}://***@{host}"


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
                                decode_responses=True)


def _forwarding_field(record: ForwardingRecord) -> str:
    return f"{record.station}|{record.forwarding_type}"


def _forwarding_json(record: ForwardingRecord) -> str:
    return json.dumps({"station": record.station, "forwarding_type": record.forwarding_type,
                       "active": record.active, "destination": record.destination,
                       "ring_count": record.ring_count})


def _forwarding_of(text: str) -> ForwardingRecord:
    data = json.loads(text)
    return ForwardingRecord(data["station"], data["forwarding_type"], bool(data["active"]),
                            data.get("destination"), data.get("ring_count"))


def _registration_json(record: RegistrationRecord) -> dict:
    return {"sip_user": record.sip_user, "extension": record.extension, "contact": record.contact,
            "contact_params": [list(p) for p in record.contact_params], "call_id": record.call_id,
            "cseq": record.cseq, "transport": record.transport, "source_host": record.source_host,
            "source_port": record.source_port, "user_agent": record.user_agent,
            "registered_at": record.registered_at, "updated_at": record.updated_at,
            "expires_at": record.expires_at}


def _registration_of(data: dict) -> RegistrationRecord:
    return RegistrationRecord(**{**data, "contact_params": tuple((n, v) for n, v in data["contact_params"])})


def read_state(client: redis.Redis, now: float) -> SavedState:
    forwarding = tuple(sorted((_forwarding_of(v) for v in client.hgetall(PREFIX + "forwarding").values()),
                              key=lambda r: (r.station, r.forwarding_type)))
    dnd = tuple(DndRecord(station, on == "1") for station, on in sorted(client.hgetall(PREFIX + "dnd").items()))
    registrations = tuple(
        _registration_of(item)
        for _, text in sorted(client.hgetall(PREFIX + "registrations").items())
        for item in json.loads(text) if item["expires_at"] > now)
    return SavedState(forwarding, dnd, registrations)


class _Write:
    __slots__ = ("what", "apply", "done", "deadline")

    def __init__(self, what: str, apply: Callable[[redis.client.Pipeline], None], done: Done | None) -> None:
        self.what = what
        self.apply = apply
        self.done = done
        self.deadline: float | None = None


_STOP = object()


class RedisStateStore:
    """`StateStore` in Redis, shared by a pool; also the pool's `StationLeases`.

    `deliver(thunk)` runs `thunk` on the reactor thread; `on_failure(what, error)` is
    told of each save that failed for good; `on_pool_change(record)` of each setting
    another server saved (on the reactor thread); `on_health(ok, reason)` of each
    change of Redis reachability; `on_lease_lost(station, other_user)` of a lease
    another user took while this server could not renew it."""

    def __init__(self, url: str, *, lease_seconds: int, deliver: Callable[[Callable[[], None]], None],
                 on_failure: Callable[[str, StoreError], None] | None = None,
                 on_pool_change: Callable[[ForwardingRecord | DndRecord], None] | None = None,
                 on_health: Callable[[bool, str], None] | None = None,
                 on_lease_lost: Callable[[str, str], None] | None = None,
                 server_id: str | None = None) -> None:
        self.url = url
        self.shown_url = shown_url(url)
        self.lease_seconds = lease_seconds
        self.server_id = server_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:12]}"
        self._deliver = deliver
        self._on_failure = on_failure
        self.on_pool_change = on_pool_change
        # told of each AOR's bindings another server saved (its registrar's, shared)
        self.on_pool_registrations: Callable[[str, tuple[RegistrationRecord, ...]], None] | None = None
        self._on_health = on_health
        self._on_lease_lost = on_lease_lost
        self._writer = _client(url)
        self._channel = CHANNEL + str(self._writer.connection_pool.connection_kwargs.get("db", 0))
        self._leaser = _client(url)
        try:
            self._writer.ping()
        except (redis.exceptions.RedisError, OSError) as error:
            raise RedisUnavailable(str(error) or type(error).__name__) from None
        self._claim = self._leaser.register_script(_CLAIM)
        self._release = self._leaser.register_script(_RELEASE)
        self._writes: queue.SimpleQueue = queue.SimpleQueue()
        self._lease_ops: queue.SimpleQueue = queue.SimpleQueue()
        self._held: dict[str, str] = {}  # station -> user, as this server holds them (lease thread only)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._healthy = {"writer": True, "leases": True}
        self._health_lock = threading.Lock()
        self._pubsub = None

    # -- start and stop --------------------------------------------------------------------
    def load(self, now: float) -> SavedState:
        try:
            return read_state(self._writer, now)
        except (redis.exceptions.RedisError, OSError, ValueError, KeyError, TypeError) as error:
            raise RedisUnavailable(str(error) or type(error).__name__) from None

    def start(self) -> None:
        for name, target in (("writer", self._run_writer), ("leases", self._run_leases),
                             ("subscriber", self._run_subscriber)):
            thread = threading.Thread(target=target, name=f"rccserver-redis-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Blocking: try what is queued (for at most WRITE_WAIT while Redis is gone), give
        this server's leases back, stop the threads."""
        self._writes.put(_STOP)
        self._lease_ops.put((_STOP, None, None, None))
        self._stopping.set()
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        for thread in self._threads:
            thread.join(timeout=WRITE_WAIT + 2 * SOCKET_TIMEOUT)
        self._threads = []

    @property
    def healthy(self) -> bool:
        with self._health_lock:
            return all(self._healthy.values())

    def _health(self, part: str, ok: bool, reason: str = "") -> None:
        with self._health_lock:
            before = all(self._healthy.values())
            self._healthy[part] = ok
            after = all(self._healthy.values())
        if before != after and self._on_health is not None:
            self._deliver(lambda: self._on_health(after, reason))

    # -- saves (any thread; in practice the reactor's) ----------------------------------------
    def save_forwarding(self, record: ForwardingRecord, done: Done | None = None) -> None:
        text = _forwarding_json(record)
        message = json.dumps({"server": self.server_id, "kind": "forwarding", "record": text})

        def apply(pipe) -> None:
            pipe.hset(PREFIX + "forwarding", _forwarding_field(record), text)
            pipe.publish(self._channel, message)

        self._writes.put(_Write(f"forwarding {record.forwarding_type} of station {record.station}", apply, done))

    def save_dnd(self, record: DndRecord, done: Done | None = None) -> None:
        message = json.dumps({"server": self.server_id, "kind": "dnd", "station": record.station, "on": record.on})

        def apply(pipe) -> None:
            pipe.hset(PREFIX + "dnd", record.station, "1" if record.on else "0")
            pipe.publish(self._channel, message)

        self._writes.put(_Write(f"do-not-disturb of station {record.station}", apply, done))

    def save_registrations(self, sip_user: str, records: tuple[RegistrationRecord, ...],
                           done: Done | None = None) -> None:
        items = [_registration_json(r) for r in records]
        text = json.dumps(items)
        message = json.dumps({"server": self.server_id, "kind": "registrations", "sip_user": sip_user,
                              "records": items})

        def apply(pipe) -> None:
            if records:
                pipe.hset(PREFIX + "registrations", sip_user, text)
            else:
                pipe.hdel(PREFIX + "registrations", sip_user)
            pipe.publish(self._channel, message)  # the pool's other registrars take them over

        self._writes.put(_Write(f"registrations of {sip_user}", apply, done))

    # -- the writer thread ----------------------------------------------------------------------
    def _run_writer(self) -> None:
        pending: list[_Write] = []
        stopping = False
        stop_deadline: float | None = None
        while True:
            if not pending:
                if stopping:
                    return
                item = self._writes.get()
                if item is _STOP:
                    return
                pending.append(item)
            while True:  # whatever else queued up meanwhile
                try:
                    item = self._writes.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    stop_deadline = time.monotonic() + WRITE_WAIT
                else:
                    pending.append(item)
            while pending:
                batch = pending[:MAX_BATCH]
                try:
                    self._execute(batch)
                except REDIS_ERRORS as error:
                    self._health("writer", False, f"{self.shown_url}: {error}")
                    self._expire(pending, str(error) or type(error).__name__)
                    if stopping and time.monotonic() > stop_deadline:
                        for left in pending:
                            self._report(left, StoreError(f"Redis {self.shown_url} unreachable at stop"))
                        return
                    time.sleep(RETRY_INTERVAL)
                    break
                except redis.exceptions.RedisError as error:  # Redis refused it (out of memory, read-only)
                    if len(batch) > 1:
                        self._one_by_one(batch, pending)
                        continue
                    pending.pop(0)
                    self._report(batch[0], StoreError(f"Redis {self.shown_url}: {error}"))
                    continue
                del pending[:len(batch)]
                self._health("writer", True)
                for write in batch:
                    if write.done is not None:
                        self._report(write, None)

    def _execute(self, batch: list[_Write]) -> None:
        """One MULTI/EXEC for the batch: Redis appends it to its AOF (and, with `appendfsync
        always`, syncs it) before it answers."""
        pipe = self._writer.pipeline(transaction=True)
        for write in batch:
            write.apply(pipe)
        pipe.execute()

    def _one_by_one(self, batch: list[_Write], pending: list[_Write]) -> None:
        """A batch Redis refused: find the write(s) it refuses, the others go through."""
        for write in batch:
            try:
                self._execute([write])
            except REDIS_ERRORS:
                return  # Redis went away: the caller retries what is left in `pending`
            except redis.exceptions.RedisError as error:
                pending.remove(write)
                self._report(write, StoreError(f"Redis {self.shown_url}: {error}"))
                continue
            pending.remove(write)
            if write.done is not None:
                self._report(write, None)

    def _expire(self, pending: list[_Write], reason: str) -> None:
        """Saves someone waits for fail once WRITE_WAIT passed; the others wait for Redis."""
        now = time.monotonic()
        for write in list(pending):
            if write.done is None:
                continue
            if write.deadline is None:
                write.deadline = now + WRITE_WAIT
            elif now >= write.deadline:
                pending.remove(write)
                self._report(write, StoreError(f"Redis {self.shown_url} unreachable: {reason}"))

    def _report(self, write: _Write, outcome: StoreError | None) -> None:
        def on_reactor() -> None:
            if outcome is not None and self._on_failure is not None:
                self._on_failure(write.what, outcome)
            if write.done is not None:
                write.done(outcome)

        self._deliver(on_reactor)

    # -- leases (StationLeases; called on the reactor thread) -------------------------------------
    def claim(self, station: str, user_id: str, reply: ClaimReply) -> None:
        self._lease_ops.put(("claim", station, user_id, reply))

    def release(self, station: str) -> None:
        self._lease_ops.put(("release", station, None, None))

    def _run_leases(self) -> None:
        every = self.lease_seconds / 3
        next_renewal = time.monotonic() + every
        while True:
            try:
                op, station, user, reply = self._lease_ops.get(timeout=max(0.0, next_renewal - time.monotonic()))
            except queue.Empty:
                self._renew()
                next_renewal = time.monotonic() + (every if self._healthy["leases"] else min(every, 1.0))
                continue
            if op is _STOP:
                for held in list(self._held):
                    if not self._give_back(held):
                        break  # Redis is gone: the rest lapse on their own, the stop does not wait
                return
            if op == "claim":
                self._take(station, user, reply)
            else:
                self._held.pop(station, None)
                self._give_back(station)

    def _take(self, station: str, user: str, reply: ClaimReply) -> None:
        try:
            granted, holder = self._claim(keys=[PREFIX + "lease:" + station],
                                          args=[self.server_id, user, int(self.lease_seconds * 1000)])
        except (redis.exceptions.RedisError, OSError) as error:
            reason = f"Redis {self.shown_url} unreachable: {error}"
            self._health("leases", False, reason)
            self._deliver(lambda: reply(PoolUnavailable(station, reason)))
            return
        self._health("leases", True)
        if int(granted):
            self._held[station] = user
            self._deliver(lambda: reply(Granted(station)))
        else:
            self._deliver(lambda: reply(Conflict(station, holder)))

    def _give_back(self, station: str) -> bool:
        try:
            self._release(keys=[PREFIX + "lease:" + station], args=[self.server_id])
        except (redis.exceptions.RedisError, OSError):
            return False  # it lapses within lease_seconds on its own
        return True

    def _renew(self) -> None:
        try:
            if not self._held:
                self._leaser.ping()
            held = list(self._held.items())
            pipe = self._leaser.pipeline(transaction=False)  # one round trip for every lease
            for station, user in held:
                self._claim(keys=[PREFIX + "lease:" + station],
                            args=[self.server_id, user, int(self.lease_seconds * 1000)], client=pipe)
            answers = pipe.execute() if held else []
            for (station, user), (granted, holder) in zip(held, answers):
                if not int(granted) and self._on_lease_lost is not None:
                    # Taken by another user while we could not renew: our sessions go on, unleased.
                    self._held.pop(station, None)
                    self._deliver(lambda s=station, h=holder: self._on_lease_lost(s, h))
        except (redis.exceptions.RedisError, OSError) as error:
            self._health("leases", False, f"Redis {self.shown_url} unreachable: {error}")
            return
        self._health("leases", True)

    # -- the subscriber thread: what the other servers save ---------------------------------------
    def _run_subscriber(self) -> None:
        client = _client(self.url)
        client.connection_pool.connection_kwargs["socket_timeout"] = None  # listening waits
        while not self._stopping.is_set():
            try:
                self._pubsub = client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self._channel)
                # Subscribed first, then everything read: nothing saved meanwhile is missed.
                saved = read_state(_client(self.url), time.time())
                for record in saved.forwarding + saved.dnd:
                    self._to_reactor(record)
                for message in self._pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    self._handle(message["data"])
            except Exception:  # noqa: BLE001 - Redis gone, or the subscription closed under us at stop
                if self._stopping.is_set():
                    return
                time.sleep(RETRY_INTERVAL)

    def _handle(self, data: str) -> None:
        try:
            change = json.loads(data)
            if change.get("server") == self.server_id:
                return
            if change["kind"] == "forwarding":
                self._to_reactor(_forwarding_of(change["record"]))
            elif change["kind"] == "dnd":
                self._to_reactor(DndRecord(change["station"], bool(change["on"])))
            elif change["kind"] == "registrations" and self.on_pool_registrations is not None:
                sip_user = str(change["sip_user"])
                records = tuple(_registration_of(item) for item in change["records"])
                self._deliver(lambda: self.on_pool_registrations(sip_user, records))
        except (ValueError, KeyError, TypeError):
            pass  # not ours to understand

    def _to_reactor(self, record: ForwardingRecord | DndRecord) -> None:
        if self.on_pool_change is not None:
            self._deliver(lambda: self.on_pool_change(record))
