"""`rccserver check-config`: validate the configuration and every data file it names.

Errors make the configuration invalid (exit 2); doubtful but legal data is a
warning: a missing I3_FEATURE_LYNC licence, a domain account shared by two CIC
users, Lync users whose line is no station, CIC users without a Lync user,
directory entries that look like Lync users but cannot be used. An LDAP
directory is not contacted; its password and CA files must exist and be
readable.
"""
from __future__ import annotations

import os

import attrs

from rccserver.cic.data import LYNC_FEATURE, CicDataError, load_cic_data
from rccserver.config import ConfigError, load_config
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


def _tls(config, result: CheckResult) -> None:
    line = config.line
    if line.transport != "tls":
        return
    from rccserver.transport.tls import TlsConfigError, server_context

    for key in ("certificate", "private_key"):
        _readable(config, getattr(line, key), f"line.{key}", result)
    for index, path in enumerate(line.authority_certificates):
        _readable(config, path, f"line.authority_certificates[{index}]", result)
    if result.errors:
        return
    try:
        server_context(line.certificate, line.private_key, line.authority_certificates, line.mutual_tls)
    except TlsConfigError as error:
        result.errors.append(f"{config.path}: line: {error}")


def check_config(path: str | os.PathLike[str]) -> CheckResult:
    """Validate the configuration and every data file it names; never raises for bad input."""
    result = CheckResult()
    try:
        config = load_config(path)
    except ConfigError as error:
        result.errors.append(str(error))
        return result
    _tls(config, result)
    directory = None
    if config.directory.source == "ldif":
        try:
            directory = load_ldif(config.directory.ldif_file, config.directory.netbios_domain)
        except DirectoryError as error:
            result.errors.append(str(error))
    else:
        _readable(config, config.directory.password_file, "directory.password_file", result)
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
