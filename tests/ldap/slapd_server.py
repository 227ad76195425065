"""A throw-away OpenLDAP server for tests: Debian's /usr/sbin/slapd on loopback.

It stands in for an Active Directory domain controller: our schema
(schemas/ldap/rccserver-ad.schema) gives it sAMAccountName and the
msRTCSIP-* attributes, a service account binds with a password, and a size
limit of PAGE_LIMIT entries per search forces clients to use paged results
(RFC 2696), as AD's MaxPageSize does.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import attrs

from testkit.serverproc import free_port

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "ldap" / "rccserver-ad.schema"
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SYSTEM_SCHEMAS = Path("/etc/ldap/schema")

BASE_DN = "DC=example,DC=com"
USERS_DN = f"CN=Users,{BASE_DN}"
SALES_DN = f"CN=Sales,{USERS_DN}"
ROOT_DN = f"CN=admin,{BASE_DN}"
ROOT_PASSWORD = "root-secret"
BIND_DN = f"CN=svc-rcc,{USERS_DN}"
BIND_PASSWORD = "S3rvice pass"  # a space on purpose: the password file is read verbatim
PAGE_LIMIT = 500


def available() -> bool:
    return Path(SLAPD).exists() and Path(SLAPADD).exists() and (SYSTEM_SCHEMAS / "core.schema").exists()


@attrs.frozen
class Population:
    """What the generated directory holds."""

    enabled: int  # Lync users with msRTCSIP-UserEnabled TRUE
    disabled: int  # Lync users with FALSE
    non_lync: int  # users without msRTCSIP-PrimaryUserAddress
    in_sales: int  # of the enabled ones, how many live one level deeper (CN=Sales)

    @property
    def lync_users(self) -> int:
        return self.enabled + self.disabled


def user_sam(index: int) -> str:
    return f"user{index:05d}"


def user_line(index: int) -> str:
    return f"tel:+1317555{index:05d}"


def _entry(dn: str, *pairs: tuple[str, str]) -> str:
    return "\n".join([f"dn: {dn}", *(f"{name}: {value}" for name, value in pairs)]) + "\n"


def directory_ldif(population: Population) -> str:
    entries = [
        _entry(BASE_DN, ("objectClass", "dcObject"), ("objectClass", "organization"), ("dc", "example"),
               ("o", "Example")),
        _entry(USERS_DN, ("objectClass", "organizationalRole"), ("cn", "Users")),
        _entry(SALES_DN, ("objectClass", "organizationalRole"), ("cn", "Sales")),
        _entry(BIND_DN, ("objectClass", "user"), ("cn", "svc-rcc"), ("sn", "service"),
               ("sAMAccountName", "svc-rcc"), ("userPassword", BIND_PASSWORD)),
    ]
    lync = population.lync_users
    for index in range(lync):
        sam = user_sam(index)
        parent = SALES_DN if index < population.in_sales else USERS_DN
        enabled = "TRUE" if index < population.enabled else "FALSE"
        entries.append(_entry(
            f"CN={sam},{parent}", ("objectClass", "user"), ("cn", sam), ("sn", sam),
            ("sAMAccountName", sam), ("displayName", f"User {index}"),
            ("msRTCSIP-PrimaryUserAddress", f"sip:{sam}@example.com"), ("msRTCSIP-Line", user_line(index)),
            ("msRTCSIP-LineServer", "sip:rcc@rcc.example.com"), ("msRTCSIP-UserEnabled", enabled),
        ))
    for index in range(population.non_lync):
        sam = f"plain{index:04d}"
        entries.append(_entry(f"CN={sam},{USERS_DN}", ("objectClass", "user"), ("cn", sam), ("sn", sam),
                              ("sAMAccountName", sam)))
    return "\n".join(entries)


def _slapd_conf(workdir: Path, tls: tuple[Path, Path, Path] | None) -> str:
    schemas = [SYSTEM_SCHEMAS / name for name in ("core.schema", "cosine.schema", "inetorgperson.schema")]
    lines = [f"include {path}" for path in [*schemas, SCHEMA]]
    lines += [
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        f"pidfile {workdir / 'slapd.pid'}",
        f"argsfile {workdir / 'slapd.args'}",
    ]
    if tls:
        ca, certificate, key = tls
        lines += [f"TLSCACertificateFile {ca}", f"TLSCertificateFile {certificate}",
                  f"TLSCertificateKeyFile {key}"]
    lines += [
        "database mdb",
        "maxsize 268435456",
        f'suffix "{BASE_DN}"',
        f'rootdn "{ROOT_DN}"',
        f"rootpw {ROOT_PASSWORD}",
        f"directory {workdir / 'db'}",
        "index objectClass eq",
        # Like AD's MaxPageSize: at most PAGE_LIMIT entries per plain search or per page,
        # any number in total through paging. The rootdn is exempt (slapadd, checks).
        f"limits users size.soft={PAGE_LIMIT} size.hard={PAGE_LIMIT} size.pr={PAGE_LIMIT} "
        "size.prtotal=unlimited",
        "access to attrs=userPassword by anonymous auth by * none",
        "access to * by users read by * none",
    ]
    return "\n".join(lines) + "\n"


class SlapdServer:
    """start() writes the config, loads the population with slapadd, runs slapd; stop() kills it."""

    def __init__(self, workdir: Path, population: Population, *, tls: tuple[Path, Path, Path] | None = None) -> None:
        self.workdir = Path(workdir)
        self.population = population
        self.tls = tls
        self.port = free_port()
        self.ldaps_port = free_port() if tls else None
        self.process: subprocess.Popen | None = None
        self.password_file = self.workdir / "ldap.secret"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def start(self, timeout: float = 20.0) -> "SlapdServer":
        (self.workdir / "db").mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "slapd.conf"
        conf.write_text(_slapd_conf(self.workdir, self.tls))
        data = self.workdir / "data.ldif"
        data.write_text(directory_ldif(self.population))
        self.password_file.write_text(BIND_PASSWORD + "\n")
        loaded = subprocess.run([SLAPADD, "-q", "-f", str(conf), "-l", str(data)],
                                capture_output=True, text=True, timeout=120)
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd failed ({loaded.returncode}):\n{loaded.stderr[-3000:]}")
        urls = self.url + (f" {self.ldaps_url}" if self.tls else "")
        self.log_path = self.workdir / "slapd.stderr"
        self._log = open(self.log_path, "wb")
        # -d 0: stay in the foreground (so we own the process) without debug output.
        self.process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", urls, "-d", "0"],
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        ports = [self.port] + ([self.ldaps_port] if self.tls else [])
        while ports:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not listen within {timeout} s:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", ports[0]), timeout=0.5):
                    ports.pop(0)
            except OSError:
                time.sleep(0.05)
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self._log.close()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir / "db", ignore_errors=True)
