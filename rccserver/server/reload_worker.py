"""The reload's child process: `python -m rccserver.server.reload_worker`.

The server (rccserver/server/reloader.py ChildReloader) starts it for each reload,
so that parsing 100,000 users and diffing them against the data in force holds
the GIL of another process, not the reactor's. The exchange is pickles on the
pipes, never the command line (the LDAP bind password is read here, from the
password file the request names):

- stdin: (DirectoryConfig, CIC data file path, baseline) where the baseline is
  the directory in force as {uri_key: (sip_uri as written, digest of the record)},
  pickled (see `baseline`): enough for the diff, a few bytes a user.
- stdout: frames, each an 8-byte big-endian length and that many bytes. The
  first is a pickle of ("error", message) for a load that failed as expected
  (bad file, LDAP down), or of ("ok", Loaded) with the slice counts in place of
  the slices; then every slice (pickled plain tuples, that the reactor turns into
  objects a slice per turn) and the new baseline, a frame each. Frames let the
  server take the answer in as it arrives, with no copy of the whole.

Anything else (a bug, a crash) ends the process without an answer; the server
reports that as a failed reload and keeps its data.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import struct
import sys

import attrs

from rccserver.common import collector

SLICE = 1000  # records per slice: a few milliseconds of the reactor's time to rebuild
# The load is background work: where the cores are short, the server's reactor (SIP
# handling) goes first. Nice 5 gives the child about a third of an equal share.
NICENESS = 5


@attrs.frozen
class Loaded:
    """The child's answer, ready to swap: every big part is a list of pickled slices
    (on the pipe, the first frame holds their counts instead; see the module's text)."""

    pid: int
    source: str
    skipped: tuple  # SkippedEntry values (few)
    users: list  # pickled slices of (uri_key, *DirectoryUser fields)
    features: tuple
    cic_users: list  # pickled slices of CicUser field tuples
    stations: list  # pickled slices of Station field tuples
    added: tuple
    removed: tuple
    changed: tuple
    baseline: bytes  # of the new directory, for the next reload's diff


def _digest(record: tuple) -> bytes:
    return hashlib.blake2b(repr(record).encode("utf-8", "surrogatepass"), digest_size=12).digest()


def baseline(directory) -> bytes:
    """The directory's diff baseline: {uri_key: (sip_uri, digest of every field)}, pickled."""
    return pickle.dumps({key: (user.sip_uri, _digest(attrs.astuple(user, recurse=False)))
                         for key, user in directory._users.items()}, pickle.HIGHEST_PROTOCOL)


def _slices(records: list) -> list[bytes]:
    return [pickle.dumps(records[i:i + SLICE], pickle.HIGHEST_PROTOCOL) for i in range(0, len(records), SLICE)]


def load(directory_config, cic_path: str, old_baseline: bytes) -> Loaded:
    """Blocking, in the child: load both sources, diff the directory against the baseline."""
    from rccserver.cic.data import load_cic_data
    from rccserver.directory.source import load_directory

    directory = load_directory(directory_config)
    cic = load_cic_data(cic_path)
    before = pickle.loads(old_baseline)
    after = {}
    records = []
    for key, user in directory._users.items():
        fields = attrs.astuple(user, recurse=False)
        after[key] = (user.sip_uri, _digest(fields))
        records.append((key, *fields))
    return Loaded(
        pid=os.getpid(),
        source=directory.source,
        skipped=directory.skipped,
        users=_slices(records),
        features=tuple(cic.features),
        cic_users=_slices([attrs.astuple(user, recurse=False) for user in cic.users]),
        stations=_slices([attrs.astuple(station, recurse=False) for station in cic.stations]),
        added=tuple(sorted(after[k][0] for k in after.keys() - before.keys())),
        removed=tuple(sorted(before[k][0] for k in before.keys() - after.keys())),
        changed=tuple(sorted(after[k][0] for k in after.keys() & before.keys() if after[k][1] != before[k][1])),
        baseline=pickle.dumps(after, pickle.HIGHEST_PROTOCOL),
    )


def lower_priority() -> None:
    try:
        os.nice(NICENESS)
    except OSError:
        pass  # not allowed here: load at the server's priority


def main() -> int:
    from rccserver.cic.data import CicDataError
    from rccserver.directory.cache import DirectoryError

    lower_priority()
    directory_config, cic_path, old_baseline = pickle.load(sys.stdin.buffer)
    try:
        with collector.paused():  # a short-lived process: refcounting frees all it drops
            loaded = load(directory_config, cic_path, old_baseline)
    except (DirectoryError, CicDataError, OSError) as error:
        frames = [pickle.dumps(("error", str(error)), pickle.HIGHEST_PROTOCOL)]
    else:
        head = attrs.evolve(loaded, users=len(loaded.users), cic_users=len(loaded.cic_users),
                            stations=len(loaded.stations), baseline=b"")
        frames = [pickle.dumps(("ok", head), pickle.HIGHEST_PROTOCOL),
                  *loaded.users, *loaded.cic_users, *loaded.stations, loaded.baseline]
    out = sys.stdout.buffer
    for frame in frames:
        out.write(struct.pack("!Q", len(frame)))
        out.write(frame)
    out.flush()
    return 0


def answer_from_frames(frames: list[bytes]) -> tuple | None:
    """The server's side: ("error", message) or ("ok", Loaded) from the frames; None if
    they are not a whole answer (the child died while writing)."""
    if not frames:
        return None
    kind, head = pickle.loads(frames[0])
    if kind != "ok":
        return kind, head
    rest = frames[1:]
    counts = (head.users, head.cic_users, head.stations)
    if len(rest) != sum(counts) + 1:
        return None
    first, second = counts[0], counts[0] + counts[1]
    return kind, attrs.evolve(head, users=rest[:first], cic_users=rest[first:second],
                              stations=rest[second:-1], baseline=rest[-1])


if __name__ == "__main__":
    # Run as imported under its own name, so that the answer pickles Loaded by that name.
    from rccserver.server import reload_worker

    sys.exit(reload_worker.main())
