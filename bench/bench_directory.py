"""AD cache figures: LDIF load time for a large generated export, lookups and logon decisions per second.

100,000 Lync users by default (1,000 with BENCH_SCALE=smoke), written to a
temporary LDIF file like an AD export (folded DNs, base64 display names,
non-Lync entries between them), plus a matching CIC data set.
"""
from __future__ import annotations

import base64
import itertools
import tempfile
import time
from pathlib import Path

from bench.common import rate, scale
from rccserver.cic.data import LYNC_FEATURE, CicData, CicUser, Station
from rccserver.directory.ldif import load_ldif
from rccserver.logon import LogonAttempt, decide_logon
from rccserver.occupancy import OccupancyRegistry


def _sam(index: int) -> str:
    return f"user{index:06d}"


def _line(index: int) -> str:
    return f"tel:+1317{index:07d}"


def write_export(path: Path, users: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("version: 1\n\n")
        for index in range(users):
            sam = _sam(index)
            display = base64.b64encode(f"Üser {index}".encode()).decode()
            out.write(
                f"dn: CN={sam},OU=Lync Users,OU=Headquarters,DC=corp,DC=example,DC=c\n om\n"
                f"objectClass: user\nsAMAccountName: {sam}\ndisplayName:: {display}\n"
                f"msRTCSIP-PrimaryUserAddress: sip:{sam}@example.com\nmsRTCSIP-Line: {_line(index)}\n"
                f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\nmsRTCSIP-UserEnabled: TRUE\n\n")
            if index % 10 == 0:
                out.write(f"dn: CN=plain{index},DC=corp,DC=example,DC=com\nobjectClass: user\n"
                          f"sAMAccountName: plain{index}\n\n")


def cic_for(users: int) -> CicData:
    return CicData(
        [CicUser(f"U{i}", f"EXAMPLE\\{_sam(i)}", None, True, False) for i in range(users)],
        [Station(f"Desk{i}", f"1317{i:07d}", None) for i in range(users)],
        [LYNC_FEATURE],
    )


def main() -> None:
    users = scale(100_000, 1_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.ldif"
        write_export(path, users)
        size = path.stat().st_size
        started = time.perf_counter()
        cache = load_ldif(path, "EXAMPLE")
        elapsed = time.perf_counter() - started
    assert len(cache) == users, f"loaded {len(cache)} of {users} users"
    print(f"{'LDIF load':<48} {users / elapsed:>12,.0f} users/s  "
          f"({users} users, {size / 1e6:.1f} MB in {elapsed:.3f} s)")

    uris = itertools.cycle([f"SIP:{_sam(i).upper()}@example.com" for i in range(0, users, max(1, users // 997))])
    rate("directory lookup by SIP URI", lambda: cache.lookup(next(uris)), scale(500_000, 1_000))

    cic = cic_for(users)
    registry = OccupancyRegistry()
    attempts = itertools.cycle([
        LogonAttempt("application/csta+xml", True, _line(i), f"sip:{_sam(i)}@example.com")
        for i in range(0, users, max(1, users // 997))
    ])
    rate("logon decision (Cs_Success)", lambda: decide_logon(next(attempts), cache, cic, registry),
         scale(100_000, 500))


if __name__ == "__main__":
    main()
