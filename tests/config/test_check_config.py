"""`check_config`: the configuration and every data file it names; errors versus warnings.

The `rccserver check-config` command (exit codes, output, the bundled demo) is in
test_check_config_cli.py; PKCS#12 certificate problems in test_config_pkcs12_certificates.py.
"""
from __future__ import annotations

from pathlib import Path

from rccserver.commands import certs
from rccserver.commands.checkconfig import check_config
from rccserver.server.config import SCHEMA

LDIF = """\
dn: CN=Alice,DC=example,DC=com
sAMAccountName: alice
msRTCSIP-PrimaryUserAddress: sip:alice@example.com
msRTCSIP-Line: tel:+1001
msRTCSIP-UserEnabled: TRUE

dn: CN=Bob,DC=example,DC=com
sAMAccountName: bob
msRTCSIP-PrimaryUserAddress: sip:bob@example.com
msRTCSIP-Line: tel:+1002
msRTCSIP-UserEnabled: TRUE
"""

CIC = """\
[licenses]
features = ["I3_FEATURE_LYNC"]

[[users]]
id = "Alice"
nt_domain_user = 'EXAMPLE\\alice'
client_license = true

[[users]]
id = "Bob"
nt_domain_user = 'EXAMPLE\\bob'
client_license = true

[[stations]]
name = "A"
extension = "1001"

[[stations]]
name = "B"
extension = "1002"
"""

CONFIG = '[directory]\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n\n[cic]\ndata_file = "cic.toml"\n'


def setup(tmp_path: Path, config: str = CONFIG, ldif: str = LDIF, cic: str = CIC) -> Path:
    (tmp_path / "directory.ldif").write_text(ldif)
    (tmp_path / "cic.toml").write_text(cic)
    path = tmp_path / "rccserver.toml"
    path.write_text(config)
    return path


def test_a_clean_setup_has_no_findings(tmp_path):
    result = check_config(setup(tmp_path))
    assert (result.errors, result.warnings, result.valid) == ([], [], True)


def test_config_error_is_the_only_error(tmp_path):
    path = setup(tmp_path, config=CONFIG + "\n[line]\nsession_timeout = 5000\n")
    result = check_config(path)
    assert not result.valid
    assert result.errors == [f"{path}:9: line.session_timeout: must be below 1200 (got 5000)"]


def test_missing_lync_feature_is_a_warning(tmp_path):
    result = check_config(setup(tmp_path, cic=CIC.replace('"I3_FEATURE_LYNC"', "")))
    assert result.valid
    [warning] = result.warnings
    assert warning.startswith(f"{tmp_path / 'cic.toml'}: licenses.features: ")
    assert "I3_FEATURE_LYNC" in warning and "Cs_NoFeatureLicense" in warning


def test_shared_domain_account_is_a_warning(tmp_path):
    cic = CIC + '\n[[users]]\nid = "Alice2"\nnt_domain_user = \'example\\ALICE\'\n'
    result = check_config(setup(tmp_path, cic=cic))
    assert result.valid
    [warning] = result.warnings
    assert "Alice, Alice2" in warning and "Cs_AmbiguousUser" in warning


def test_lync_user_whose_line_is_no_station(tmp_path):
    result = check_config(setup(tmp_path, ldif=LDIF.replace("tel:+1002", "tel:+1099")))
    assert result.valid
    [warning] = result.warnings
    assert "sip:bob@example.com" in warning and "tel:+1099" in warning


def test_remote_number_users_are_not_warned_about(tmp_path):
    ldif = LDIF.replace("tel:+1002", "tel:+15550100")
    cic = CIC.replace("id = \"Bob\"\nnt_domain_user = 'EXAMPLE\\bob'\n",
                      "id = \"Bob\"\nnt_domain_user = 'EXAMPLE\\bob'\nallow_remote_number = true\n"
                      "extension = \"8002\"\n")
    assert cic != CIC
    result = check_config(setup(tmp_path, ldif=ldif, cic=cic))
    assert (result.errors, result.warnings) == ([], [])


def test_cic_user_without_directory_entry(tmp_path):
    cic = CIC + '\n[[users]]\nid = "Ghost"\nnt_domain_user = \'EXAMPLE\\ghost\'\n'
    result = check_config(setup(tmp_path, cic=cic))
    assert result.valid
    [warning] = result.warnings
    assert warning.startswith(f"{tmp_path / 'cic.toml'}: user Ghost: no Lync user")
    assert "EXAMPLE\\ghost" in warning


def test_skipped_directory_entry_is_a_warning_with_its_line(tmp_path):
    ldif = LDIF + "\ndn: CN=NoSam,DC=example,DC=com\nmsRTCSIP-PrimaryUserAddress: sip:nosam@example.com\n"
    path = setup(tmp_path, ldif=ldif)
    result = check_config(path)
    assert result.valid
    [warning] = result.warnings
    assert warning.startswith(f"{tmp_path / 'directory.ldif'}:13: ") and "sAMAccountName" in warning


def test_ldif_error_and_cic_error_are_both_reported(tmp_path):
    path = setup(tmp_path, ldif=LDIF + "\ndn: CN=x\nbroken\n",
                 cic=CIC.replace('extension = "1002"', 'extension = "1001"'))
    result = check_config(path)
    assert len(result.errors) == 2
    assert result.errors[0].startswith(f"{tmp_path / 'directory.ldif'}:14: expected 'attribute: value'")
    assert result.errors[1].startswith(f"{tmp_path / 'cic.toml'}:") and "stations[1].extension" in result.errors[1]
    assert "duplicate station extension" in result.errors[1]


def test_missing_data_files(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_text(CONFIG)
    result = check_config(path)
    assert result.errors == [f"{tmp_path / 'directory.ldif'}: directory LDIF file not found",
                             f"{tmp_path / 'cic.toml'}: file not found"]


def test_ldap_password_and_ca_files_must_exist(tmp_path):
    config = ('[directory]\nsource = "ldap"\nurl = "ldap://127.0.0.1:1"\nbind_dn = "cn=svc"\n'
              'password_file = "secret"\nsearch_dn = "dc=example,dc=com"\nca_file = "ca.pem"\n'
              '[cic]\ndata_file = "cic.toml"\n')
    path = setup(tmp_path, config=config)
    result = check_config(path)
    assert result.errors == [f"{path}: directory.password_file: file not found: {tmp_path / 'secret'}",
                             f"{path}: directory.ca_file: file not found: {tmp_path / 'ca.pem'}"]
    assert any("not contacted" in warning for warning in result.warnings)
    (tmp_path / "secret").write_text("pw\n")
    (tmp_path / "ca.pem").write_text("ca\n")
    assert check_config(path).valid


def test_tls_files_that_are_not_certificates(tmp_path):
    (tmp_path / "server.pem").write_text("not a certificate\n")
    (tmp_path / "server.key").write_text("not a key\n")
    path = setup(tmp_path, config=CONFIG + '[line]\ntransport = "tls"\ncertificate = "server.pem"\n'
                                          'private_key = "server.key"\n')
    result = check_config(path)
    assert not result.valid
    assert result.errors[0].startswith(f"{path}: line: ")


def test_good_tls_files(tmp_path):
    made = certs.generate(tmp_path / "certs", variants=False)
    config = CONFIG + (f'[line]\ntransport = "tls"\nmutual_tls = true\ncertificate = "{made.server.certificate}"\n'
                       f'private_key = "{made.server.private_key}"\nauthority_certificates = ["{made.ca}"]\n')
    result = check_config(setup(tmp_path, config=config))
    assert (result.errors, result.warnings) == ([], [])


# -- a config error does not hide the data files' problems (SPEC section 2) ------------------

def test_a_config_error_does_not_hide_the_data_files_problems(tmp_path):
    path = setup(tmp_path, config=CONFIG + "\n[line]\nsession_timeout = 5000\n",
                 ldif=LDIF + "\ndn: CN=x\nbroken\n", cic=CIC.replace('extension = "1002"', 'extension = "1001"'))
    result = check_config(path)
    assert not result.valid
    assert len(result.errors) == 3, result.errors
    assert result.errors[0] == f"{path}:9: line.session_timeout: must be below 1200 (got 5000)"
    assert result.errors[1].startswith(f"{tmp_path / 'directory.ldif'}:14: expected 'attribute: value'")
    assert result.errors[2].startswith(f"{tmp_path / 'cic.toml'}:")
    assert "duplicate station extension" in result.errors[2]


def test_every_bad_key_of_the_config_is_reported(tmp_path):
    config = ('[server]\nlog_level = "loud"\n\n[line]\nsession_timeout = "60"\nreceive_port = 70000\n'
              'recieve_port = 1\n\n[directory]\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n\n'
              '[cic]\ndata_file = "cic.toml"\n\n[switsch]\nkind = "embedded"\n')
    path = setup(tmp_path, config=config)
    result = check_config(path)
    assert result.errors == [
        f"{path}:16: switsch: unknown table [switsch] (known: {', '.join(SCHEMA)})",
        f"{path}:2: server.log_level: must be one of 'debug', 'info', 'warn', 'error' (got 'loud')",
        f"{path}:7: line.recieve_port: unknown key (known: {', '.join(SCHEMA['line'])})",
        f"{path}:6: line.receive_port: must be a port number 0-65535 (got 70000)",
        f"{path}:5: line.session_timeout: must be an integer (got '60')",
    ]
    # the data files are clean and were checked: a CIC user without a Lync user would be a warning
    assert result.warnings == []


def test_a_data_file_whose_key_is_invalid_is_not_looked_for(tmp_path):
    config = '[directory]\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n\n[cic]\ndata_file = 5\n'
    path = setup(tmp_path, config=config, ldif=LDIF + "\ndn: CN=x\nbroken\n")
    result = check_config(path)
    assert result.errors[0] == f"{path}:6: cic.data_file: must be a path string (got 5)"
    assert result.errors[1].startswith(f"{tmp_path / 'directory.ldif'}:14: ")
    assert len(result.errors) == 2, result.errors  # no guess at where the CIC data might be


def test_an_ldif_is_still_read_when_the_netbios_domain_is_bad(tmp_path):
    config = '[directory]\nldif_file = "directory.ldif"\nnetbios_domain = ""\n\n[cic]\ndata_file = "cic.toml"\n'
    ldif = LDIF + "\ndn: CN=NoSam,DC=example,DC=com\nmsRTCSIP-PrimaryUserAddress: sip:nosam@example.com\n"
    path = setup(tmp_path, config=config, ldif=ldif)
    result = check_config(path)
    assert result.errors == [f"{path}:3: directory.netbios_domain: must not be empty"]
    # the LDIF's own findings; none that compare domain accounts, which the bad key makes unknown
    [warning] = result.warnings
    assert warning.startswith(f"{tmp_path / 'directory.ldif'}:13: ") and "sAMAccountName" in warning


def test_ldap_files_are_checked_despite_another_error(tmp_path):
    config = ('[line]\nmin_se = 10\n[directory]\nsource = "ldap"\nurl = "ldap://127.0.0.1:1"\nbind_dn = "cn=svc"\n'
              'password_file = "secret"\nsearch_dn = "dc=example,dc=com"\n[cic]\ndata_file = "cic.toml"\n')
    path = setup(tmp_path, config=config)
    result = check_config(path)
    assert result.errors == [f"{path}:2: line.min_se: must be at least 90 (got 10)",
                             f"{path}: directory.password_file: file not found: {tmp_path / 'secret'}"]


def test_tls_files_are_checked_despite_another_line_error(tmp_path):
    (tmp_path / "server.pem").write_text("not a certificate\n")
    (tmp_path / "server.key").write_text("not a key\n")
    path = setup(tmp_path, config=CONFIG + '[line]\nsession_timeout = 5000\ntransport = "tls"\n'
                                          'certificate = "server.pem"\nprivate_key = "server.key"\n')
    result = check_config(path)
    assert result.errors[0] == f"{path}:8: line.session_timeout: must be below 1200 (got 5000)"
    assert len(result.errors) == 2 and result.errors[1].startswith(f"{path}: line: "), result.errors


def test_a_config_syntax_error_leaves_nothing_to_locate(tmp_path):
    path = setup(tmp_path, config=CONFIG.replace('"cic.toml"', '"cic.toml'), cic="not toml at all = = =\n")
    result = check_config(path)
    [error] = result.errors
    assert error.startswith(f"{path}:6: TOML syntax error")


def test_skipped_directory_entries_are_reported_when_the_cic_data_is_broken(tmp_path):
    ldif = LDIF + "\ndn: CN=NoSam,DC=example,DC=com\nmsRTCSIP-PrimaryUserAddress: sip:nosam@example.com\n"
    result = check_config(setup(tmp_path, ldif=ldif, cic="[licenses\n"))
    [error] = result.errors
    assert error.startswith(f"{tmp_path / 'cic.toml'}:1: TOML syntax error")
    [warning] = result.warnings
    assert warning.startswith(f"{tmp_path / 'directory.ldif'}:13: ") and "sAMAccountName" in warning
