"""`rccserver check-config`: validate the configuration and every data file it names.

Errors make the configuration invalid (exit 2); doubtful but legal data is a
warning: a missing I3_FEATURE_LYNC licence, a domain account shared by two CIC
users, Lync users whose line is no station, CIC users without a Lync user,
directory entries that look like Lync users but cannot be used, SIP stations
without a [stations_line] for their phones to register with. Our TLS
certificate (PEM or PKCS#12) must load, match its key, be valid now and carry
the serverAuth EKU; one that expires within 30 days, an authority certificate
that is no CA, or a key or password file that every local user can read, is a
warning. An LDAP
directory is not contacted; its password and CA files must exist and be
readable. The state file ([state], SPEC 11) must be usable without changing it:
its directory writable, the file SQLite, ours and of a schema this rccserver
reads (an older one is a warning: it is migrated at the next start); saved
settings of stations the CIC data no longer has are a warning.

A configuration error does not hide the data files' problems: every error of
the configuration file is reported, and each file whose key is still valid is
checked all the same (SPEC section 2).
"""
from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import attrs

from rccserver.cic.data import LYNC_FEATURE, CicData, CicDataError, load_cic_data
from rccserver.server.config import DEFAULT_CONFIG_PATH, ConfigReading, LineConfig, is_pkcs12_path, read_config
from rccserver.directory.cache import DirectoryCache, DirectoryError
from rccserver.directory.ldif import load_ldif
from rccserver.sip.digest import Algorithm
from rccserver.stations.credentials import StationCredentials


@attrs.define
class CheckResult:
    """Problems found; each message starts with the file (and line) or key it is about."""

    errors: list[str] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _readable(config_path: str, path: str | None, key: str, result: CheckResult) -> None:
    if path is None:
        return
    if not os.path.isfile(path):
        result.errors.append(f"{config_path}: {key}: file not found: {path}")
    elif not os.access(path, os.R_OK):
        result.errors.append(f"{config_path}: {key}: not readable: {path}")


# Renewing takes a change window; say so a month ahead.
EXPIRY_WARNING = datetime.timedelta(days=30)


def _private(path: str | None, key: str, config_path: str, result: CheckResult) -> None:
    """Secrets (keys, passwords) should be readable by the service account only."""
    if path is None or not os.path.isfile(path):
        return
    if os.stat(path).st_mode & 0o004:
        result.warnings.append(f"{config_path}: {key}: {path} is readable by every local user: "
                               f"chmod 600 it (owner: the account rccserver runs as)")


def _authorities(config_path: str, line: LineConfig, result: CheckResult) -> None:
    from cryptography import x509

    from rccserver.transport.tls import TlsConfigError, load_certificates

    for index, path in enumerate(line.authority_certificates):
        try:
            certificates = load_certificates(path, "authority certificate")
        except TlsConfigError:
            continue  # server_context reports it
        for certificate in certificates:
            try:
                is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                is_ca = False
            if not is_ca:
                result.warnings.append(
                    f"{config_path}: line.authority_certificates[{index}]: {path}: "
                    f"{certificate.subject.rfc4514_string()} is not a CA certificate: name the CA that issued "
                    f"the Lync pool's certificate, not the pool's certificate itself")


# The [line] keys _tls reads: it runs when these are valid, whatever else is wrong in [line].
TLS_KEYS = ("transport", "certificate", "private_key", "certificate_password_file", "authority_certificates",
            "mutual_tls")


def _tls(config_path: str, line: LineConfig, result: CheckResult, now: datetime.datetime | None = None) -> None:
    if line.transport != "tls":
        return
    from rccserver.transport.tls import TlsConfigError, load_identity, server_certificate_problems, server_context

    errors_before = len(result.errors)
    for key in ("certificate", "private_key", "certificate_password_file"):
        _readable(config_path, getattr(line, key), f"line.{key}", result)
    for index, path in enumerate(line.authority_certificates):
        _readable(config_path, path, f"line.authority_certificates[{index}]", result)
    if len(result.errors) > errors_before:
        return
    for key in ("private_key", "certificate_password_file"):
        _private(getattr(line, key), f"line.{key}", config_path, result)
    if is_pkcs12_path(line.certificate):
        _private(line.certificate, "line.certificate", config_path, result)
    try:
        identity = load_identity(line.certificate, line.private_key,
                                 certificate_password_file=line.certificate_password_file)
    except TlsConfigError as error:
        result.errors.append(f"{config_path}: line: {error}")
        return
    now = now or datetime.datetime.now(datetime.timezone.utc)
    problems = server_certificate_problems(identity, mutual_tls=line.mutual_tls, now=now)
    for problem in problems:
        target = result.errors if problem.severity == "error" else result.warnings
        target.append(f"{config_path}: line.certificate: {problem.message}")
    if any(problem.severity == "error" for problem in problems):
        return
    left = identity.leaf.not_valid_after_utc - now
    if left < EXPIRY_WARNING:
        result.warnings.append(f"{config_path}: line.certificate: {identity.source}: the certificate expires "
                               f"in {left.days} day(s), on {identity.leaf.not_valid_after_utc:%Y-%m-%d}: renew it")
    _authorities(config_path, line, result)
    try:
        server_context(line.certificate, line.private_key, line.authority_certificates, line.mutual_tls,
                       certificate_password_file=line.certificate_password_file, now=now)
    except TlsConfigError as error:
        result.errors.append(f"{config_path}: line: {error}")


def _directory(reading: ConfigReading, result: CheckResult) -> DirectoryCache | None:
    """The LDIF directory if it can be located and read; the LDAP settings' files otherwise."""
    if not reading.known("directory.source"):
        return None
    if reading.value("directory.source") == "ldap":
        for key in ("password_file", "ca_file"):
            if reading.known(f"directory.{key}"):
                _readable(reading.path, reading.value(f"directory.{key}"), f"directory.{key}", result)
        if reading.known("directory.password_file"):
            _private(reading.value("directory.password_file"), "directory.password_file", reading.path, result)
        if reading.known("directory.url"):
            result.warnings.append(f"{reading.path}: directory.url: LDAP source {reading.value('directory.url')} "
                                   f"is not contacted by check-config")
        return None
    # A bad netbios_domain stands at its default here: it only forms the domain accounts.
    settings = reading.section("directory", needs=("source", "ldif_file"))
    if settings is None:
        return None
    try:
        directory = load_ldif(settings.ldif_file, settings.netbios_domain)
    except DirectoryError as error:
        result.errors.append(str(error))
        return None
    for skipped in directory.skipped:
        where = skipped.where or f"directory {skipped.dn}"
        result.warnings.append(f"{where}: entry {skipped.dn} skipped: {skipped.reason}")
    return directory


def _compare(directory: DirectoryCache, ldif_file: str, cic: CicData, cic_file: str, result: CheckResult) -> None:
    """Warnings about users that the directory and the CIC data do not agree on."""
    for user in directory:
        if user.enabled and user.line and cic.users_by_domain_account(user.domain_account) \
                and cic.station_for_line(user.line) is None:
            cic_users = cic.users_by_domain_account(user.domain_account)
            if not any(u.allow_remote_number for u in cic_users):
                result.warnings.append(f"{ldif_file}: {user.sip_uri}: line {user.line} "
                                       f"matches no CIC station (Cs_StationNotFound)")
    accounts = {user.domain_account.lower() for user in directory}
    for cic_user in cic.users:
        if cic_user.nt_domain_user.lower() not in accounts:
            result.warnings.append(f"{cic_file}: user {cic_user.id}: no Lync user in the "
                                   f"directory has domain account {cic_user.nt_domain_user}")


def _redis(reading: ConfigReading, result: CheckResult) -> None:
    """The pool's Redis as `run` would reach it at start (a PING, read-only)."""
    if not reading.known("state.redis_url"):
        return
    url = reading.value("state.redis_url")
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()
    except (redis.exceptions.RedisError, OSError) as error:
        from rccserver.server.state_redis import shown_url

        result.errors.append(f"{reading.path}: state.redis_url: {shown_url(url)}: Redis unreachable: {error} "
                             f"(the server would not start)")


def _trunk(reading: ConfigReading, result: CheckResult) -> None:
    """[trunk] accept_from that lets every address in: phones' INVITEs would skip their challenge."""
    if not reading.known("trunk.accept_from") or reading.value("trunk.accept_from") is None:
        return
    import ipaddress

    if reading.known("trunk.password") and reading.value("trunk.password") is not None:
        _private(reading.path, "trunk.password", reading.path, result)
    for index, value in enumerate(reading.value("trunk.accept_from")):
        if ipaddress.ip_network(value, strict=False).prefixlen == 0:
            result.warnings.append(
                f"{reading.path}: trunk.accept_from[{index}]: {value} is every address: any INVITE, a phone's "
                f"too, is then read as a trunk call for a DID without a digest challenge; list the peer's networks")


def _state(reading: ConfigReading, result: CheckResult):
    """The state file as the server would use it; its FileReport when it holds settings."""
    if not reading.known("state.backend") or not reading.known("state.file"):
        return None
    if reading.value("state.backend") == "redis":
        _redis(reading, result)
        return None
    path = reading.value("state.file")
    if not path:
        return None  # kept in memory only
    if Path(reading.path).resolve() == Path(DEFAULT_CONFIG_PATH).resolve():
        path = str(Path.cwd() / Path(path).name)  # where `run` without --config keeps it (effective_config.py)
    from rccserver.server.state_sqlite import SCHEMA_VERSION, StateFileError, inspect

    try:
        report = inspect(path, time.time())
    except StateFileError as error:
        result.errors.append(f"{reading.path}: state.file: {path}: {error}")
        return None
    if report.exists and report.version < SCHEMA_VERSION:
        result.warnings.append(f"{reading.path}: state.file: {path}: schema version {report.version} is "
                               f"migrated to {SCHEMA_VERSION} at the next start; an older rccserver cannot read "
                               f"it then: back it up first (docs/admin-guide.md, Where the state lives)")
    return report


def _absent_stations(state_file: str, saved, cic: CicData, result: CheckResult) -> None:
    """Saved settings of stations that are neither in the CIC data nor a remote-number user's."""
    known = {station.extension for station in cic.stations}
    known |= {user.extension for user in cic.users if user.allow_remote_number and user.extension}
    absent = sorted(saved.stations() - known)
    if absent:
        result.warnings.append(f"{state_file}: forwarding/DND saved for station(s) {', '.join(absent)} that "
                               f"the CIC data has not: ignored (they apply again if the station comes back)")


def check_config(path: str | os.PathLike[str], *, now: datetime.datetime | None = None) -> CheckResult:
    """Validate the configuration and every data file it names; never raises for bad input.

    Every error of the configuration file is reported, and each file it names whose key
    is valid is still checked. `now` (default: the current time) is when certificates
    must be valid."""
    result = CheckResult()
    reading = read_config(path)
    result.errors.extend(str(error) for error in reading.errors)
    line = reading.section("line", needs=TLS_KEYS)
    if line is not None:
        if line.transport != "tls" and reading.known("stations_line.transports") \
                and "tls" in reading.value("stations_line.transports"):
            # The stations line's TLS listener serves [line]'s certificate (no client certificates).
            line = attrs.evolve(line, transport="tls", mutual_tls=False)
        _tls(reading.path, line, result, now)
    directory = _directory(reading, result)
    _trunk(reading, result)
    state = _state(reading, result)
    if not reading.known("cic.data_file"):
        return result
    cic_file = reading.value("cic.data_file")
    try:
        cic = load_cic_data(cic_file)
    except CicDataError as error:
        result.errors.append(str(error))
        return result
    if not cic.has_feature(LYNC_FEATURE):
        result.warnings.append(f"{cic_file}: licenses.features: no {LYNC_FEATURE}: every logon "
                               f"will be refused with Cs_NoFeatureLicense")
    if cic.sip_stations and not reading.has_stations_line:
        extensions = ", ".join(station.extension for station in cic.sip_stations)
        result.warnings.append(f"{cic_file}: stations: SIP station(s) {extensions} can never register: "
                               f"{reading.path} has no [stations_line]")
    if cic.sip_stations and reading.known("stations_line.digest_algorithms"):
        offered = tuple(Algorithm(name) for name in reading.value("stations_line.digest_algorithms"))
        for user in StationCredentials(cic.sip_stations, secret=b"", offered=offered).unanswerable():
            result.errors.append(f"{cic_file}: stations: SIP station {user} stores an ha1 (MD5), but "
                                 f"[stations_line] digest_algorithms offers no MD5: its phone can never register")
    if state is not None:
        _absent_stations(state.path, state.saved, cic, result)
    for account, ids in sorted(cic.shared_domain_accounts().items()):
        result.warnings.append(f"{cic_file}: users: domain account {account} is shared by "
                               f"{', '.join(ids)}: their logons get Cs_AmbiguousUser")
    # Comparing domain accounts needs the configured domain.
    if directory is not None and reading.known("directory.netbios_domain"):
        _compare(directory, reading.value("directory.ldif_file"), cic, cic_file, result)
    return result
