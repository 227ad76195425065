"""AD cache and logon figures: LDIF load of 100,000 users, reload diff, CIC data load, lookups, logon decisions.

The generated LDIF looks like an AD export (folded DNs, base64 display names,
non-Lync entries between the Lync users). BENCH_SCALE=smoke shrinks every count.
"""
from __future__ import annotations

import base64
import random
import tempfile
import time
from pathlib import Path

from bench.common import rate, scale
from rccserver.cic.data import LYNC_FEATURE, CicData, CicUser, Station, load_cic_data
from rccserver.directory.ldif import load_ldif
from rccserver.rcc.logon import CSTA_CONTENT_TYPE, LogonAttempt, decide_logon
from rccserver.rcc.occupancy import OccupancyRegistry


def _sam(index: int) -> str:
    return f"user{index:06d}"


def _line(index: int) -> str:
    return f"tel:+1317{index:07d}"


def write_export(path: Path, users: int, version: int = 0) -> None:
    """An AD-like export; `version` changes the display name of every 10th user (what a reload diffs)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("version: 1\n\n")
        for index in range(users):
            sam = _sam(index)
            display = base64.b64encode(f"Üser {index} v{version if index % 10 == 0 else 0}".encode()).decode()
            out.write(
                f"dn: CN={sam},OU=Lync Users,OU=Headquarters,DC=corp,DC=example,DC=c\n om\n"
                f"objectClass: user\nsAMAccountName: {sam}\ndisplayName:: {display}\n"
                f"msRTCSIP-PrimaryUserAddress: sip:{sam}@example.com\nmsRTCSIP-Line: {_line(index)}\n"
                f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\nmsRTCSIP-UserEnabled: TRUE\n\n")
            if index % 10 == 0:
                out.write(f"dn: CN=plain{index},DC=corp,DC=example,DC=com\nobjectClass: user\n"
                          f"sAMAccountName: plain{index}\n\n")


def _cic_toml(users: int) -> str:
    parts = ['[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n']
    parts += [f"[[users]]\nid = \"U{i}\"\nnt_domain_user = 'EXAMPLE\\{_sam(i)}'\nclient_license = true\n"
              for i in range(users)]
    parts += [f"[[stations]]\nname = \"D{i}\"\nextension = \"1317{i:07d}\"\n" for i in range(users)]
    return "\n".join(parts)


def _timed(label: str, func):
    start = time.perf_counter()
    result = func()
    print(f"{label:<48} {time.perf_counter() - start:>12.3f} s")
    return result


def main() -> None:
    users = scale(100_000, 200)
    cic_users = scale(20_000, 100)
    with tempfile.TemporaryDirectory() as workdir:
        export = Path(workdir) / "directory.ldif"
        write_export(export, users)
        newer = Path(workdir) / "directory-v1.ldif"
        write_export(newer, users, version=1)
        size_kib = export.stat().st_size // 1024
        cache = _timed(f"LDIF load, {users:,} users ({size_kib:,} KiB)", lambda: load_ldif(export, "EXAMPLE"))
        assert len(cache) == users, f"loaded {len(cache)} of {users} users"
        reloaded = _timed("LDIF load of the next version (reload)", lambda: load_ldif(newer, "EXAMPLE"))
        changed = _timed("diff of the two caches", lambda: cache.diff(reloaded))
        print(f"{'  changed users':<48} {len(changed.changed):>12,}")
        cic_path = Path(workdir) / "cic.toml"
        cic_path.write_text(_cic_toml(cic_users))
        _timed(f"CIC data load, {cic_users:,} users + stations", lambda: load_cic_data(cic_path))
    del reloaded

    pick = random.Random(7)
    uris = [f"SIP:{_sam(pick.randrange(users)).upper()}@Example.COM" for _ in range(1000)]
    counter = iter(range(10**12))
    rate("directory lookup (hit, mixed case)", lambda: cache.lookup(uris[next(counter) % 1000]), scale(300_000, 100))
    rate("directory lookup (miss)", lambda: cache.lookup("sip:nobody@example.com"), scale(300_000, 100))

    cic = CicData([CicUser(f"U{i}", f"EXAMPLE\\{_sam(i)}", None, True, False) for i in range(users)],
                  [Station(f"D{i}", f"1317{i:07d}", None) for i in range(users)], [LYNC_FEATURE])
    occupancy = OccupancyRegistry()
    attempts = []
    for _ in range(1000):
        index = pick.randrange(users)
        # Lines as Lync may send them: separators to strip before the number matches the station.
        attempts.append(LogonAttempt(CSTA_CONTENT_TYPE, True, f"tel:+1 (317) {index:07d}",
                                     f"sip:{_sam(index)}@example.com"))
    refused = LogonAttempt(CSTA_CONTENT_TYPE, True, "tel:+1", "sip:nobody@example.com")

    def decide_success() -> None:
        decision = decide_logon(attempts[next(counter) % 1000], cache, cic, occupancy)
        assert decision.ok, decision

    rate("logon decision (Cs_Success, full chain)", decide_success, scale(100_000, 50))
    rate("logon decision (Cs_UserNotInDirectory)", lambda: decide_logon(refused, cache, cic, occupancy),
         scale(100_000, 50))


if __name__ == "__main__":
    main()
