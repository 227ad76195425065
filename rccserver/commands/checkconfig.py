"""`rccserver check-config`: validate the configuration and every data file it names.

Errors make the configuration invalid (exit 2); doubtful but legal data is a
warning: a missing I3_FEATURE_LYNC licence, a domain account shared by two CIC
users, Lync users whose line is no station, CIC users without a Lync user,
directory entries that look like Lync users but cannot be used. Our TLS
certificate (PEM or PKCS#12) must load, match its key, be valid now and carry
the serverAuth EKU; one that expires within 30 days, an authority certificate
that is no CA, or a key or password file that every local user can read, is a
warning. An LDAP
directory is not contacted; its password and CA files must exist and be
readable.
"""
from __future__ import annotations

import datetime
import os

import attrs

from rccserver.cic.data import LYNC_FEATURE, CicDataError, load_cic_data
from rccserver.server.config import ConfigError, is_pkcs12_path, load_config
from rccserver.directory.cache import DirectoryError
from rccserver.directory.ldif import load_ldif


@attrs.define
class CheckResult:
    """Problems found; each message starts with the file (and line) or key it is about."""

    errors: list[str] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _readable(config, path: str | None, key: str, result: CheckResult) -> None:
    if path is None:
        return
    if not os.path.isfile(path):
        result.errors.append(f"{config.path}: {key}: file not found: {path}")
    elif not os.access(path, os.R_OK):
        result.errors.append(f"{config.path}: {key}: not readable: {path}")


# Renewing takes a change window; say so a month ahead.
EXPIRY_WARNING = datetime.timedelta(days=30)


def _private(path: str | None, key: str, config, result: CheckResult) -> None:
    """Secrets (keys, passwords) should be readable by the service account only."""
    if path is None or not os.path.isfile(path):
        return
    if os.stat(path).st_mode & 0o004:
        result.warnings.append(f"{config.path}: {key}: {path} is readable by every local user: "
                               f"chmod 600 it (owner: the account rccserver runs as)")


def _authorities(config, result: CheckResult) -> None:
    from cryptography import x509

    from rccserver.transport.tls import TlsConfigError, load_certificates

    for index, path in enumerate(config.line.authority_certificates):
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
                    f"{config.path}: line.authority_certificates[{index}]: {path}: "
                    f"{certificate.subject.rfc4514_string()} is not a CA certificate: name the CA that issued "
                    f"the Lync pool's certificate, not the pool's certificate itself")


def _tls(config, result: CheckResult, now: datetime.datetime | None = None) -> None:
    line = config.line
    if line.transport != "tls":
        return
    from rccserver.transport.tls import TlsConfigError, load_identity, server_certificate_problems, server_context

    for key in ("certificate", "private_key", "certificate_password_file"):
        _readable(config, getattr(line, key), f"line.{key}", result)
    for index, path in enumerate(line.authority_certificates):
        _readable(config, path, f"line.authority_certificates[{index}]", result)
    if result.errors:
        return
    for key in ("private_key", "certificate_password_file"):
        _private(getattr(line, key), f"line.{key}", config, result)
    if is_pkcs12_path(line.certificate):
        _private(line.certificate, "line.certificate", config, result)
    try:
        identity = load_identity(line.certificate, line.private_key,
                                 certificate_password_file=line.certificate_password_file)
    except TlsConfigError as error:
        result.errors.append(f"{config.path}: line: {error}")
        return
    now = now or datetime.datetime.now(datetime.timezone.utc)
    problems = server_certificate_problems(identity, mutual_tls=line.mutual_tls, now=now)
    for problem in problems:
        target = result.errors if problem.severity == "error" else result.warnings
        target.append(f"{config.path}: line.certificate: {problem.message}")
    if any(problem.severity == "error" for problem in problems):
        return
    left = identity.leaf.not_valid_after_utc - now
    if left < EXPIRY_WARNING:
        result.warnings.append(f"{config.path}: line.certificate: {identity.source}: the certificate expires "
                               f"in {left.days} day(s), on {identity.leaf.not_valid_after_utc:%Y-%m-%d}: renew it")
    _authorities(config, result)
    try:
        server_context(line.certificate, line.private_key, line.authority_certificates, line.mutual_tls,
                       certificate_password_file=line.certificate_password_file, now=now)
    except TlsConfigError as error:
        result.errors.append(f"{config.path}: line: {error}")


def check_config(path: str | os.PathLike[str], *, now: datetime.datetime | None = None) -> CheckResult:
    """Validate the configuration and every data file it names; never raises for bad input.

    `now` (default: the current time) is when certificates must be valid."""
    result = CheckResult()
    try:
        config = load_config(path)
    except ConfigError as error:
        result.errors.append(str(error))
        return result
    _tls(config, result, now)
    directory = None
    if config.directory.source == "ldif":
        try:
            directory = load_ldif(config.directory.ldif_file, config.directory.netbios_domain)
        except DirectoryError as error:
            result.errors.append(str(error))
    else:
        _readable(config, config.directory.password_file, "directory.password_file", result)
        _private(config.directory.password_file, "directory.password_file", config, result)
        _readable(config, config.directory.ca_file, "directory.ca_file", result)
        result.warnings.append(f"{config.path}: directory.url: LDAP source {config.directory.url} is not "
                               f"contacted by check-config")
    try:
        cic = load_cic_data(config.cic.data_file)
    except CicDataError as error:
        result.errors.append(str(error))
        return result
    if not cic.has_feature(LYNC_FEATURE):
        result.warnings.append(f"{config.cic.data_file}: licenses.features: no {LYNC_FEATURE}: every logon "
                               f"will be refused with Cs_NoFeatureLicense")
    for account, ids in sorted(cic.shared_domain_accounts().items()):
        result.warnings.append(f"{config.cic.data_file}: users: domain account {account} is shared by "
                               f"{', '.join(ids)}: their logons get Cs_AmbiguousUser")
    if directory is not None:
        for skipped in directory.skipped:
            where = skipped.where or f"directory {skipped.dn}"
            result.warnings.append(f"{where}: entry {skipped.dn} skipped: {skipped.reason}")
        for user in directory:
            if user.enabled and user.line and cic.users_by_domain_account(user.domain_account) \
                    and cic.station_for_line(user.line) is None:
                cic_users = cic.users_by_domain_account(user.domain_account)
                if not any(u.allow_remote_number for u in cic_users):
                    result.warnings.append(f"{config.directory.ldif_file}: {user.sip_uri}: line {user.line} "
                                           f"matches no CIC station (Cs_StationNotFound)")
        accounts = {user.domain_account.lower() for user in directory}
        for cic_user in cic.users:
            if cic_user.nt_domain_user.lower() not in accounts:
                result.warnings.append(f"{config.cic.data_file}: user {cic_user.id}: no Lync user in the "
                                       f"directory has domain account {cic_user.nt_domain_user}")
    return result
