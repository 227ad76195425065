"""`rccserver check-config` (SPEC section 2): exit 0 valid (warnings allowed), 2 invalid, every problem located."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rccserver.cli import main
from tests.e2e import testbed

REPO = testbed.Path(__file__).resolve().parents[2]


def write_deployment(directory, *, ldif: str | None = None, cic: str | None = None, config_extra: str = "",
                     features=("I3_FEATURE_LYNC",)):
    """The e2e testbed's files (config, LDIF, CIC data), optionally with replaced data files."""
    process = testbed.write_testbed(directory, features=features)
    if ldif is not None:
        (directory / "directory.ldif").write_text(ldif)
    if cic is not None:
        (directory / "cic.toml").write_text(cic)
    if config_extra:
        path = directory / "rccserver.toml"
        path.write_text(path.read_text() + config_extra)
    return process.config_path


def check(capsys, config_path) -> tuple[int, list[str]]:
    code = main(["check-config", "--config", str(config_path)])
    return code, capsys.readouterr().out.splitlines()


def test_the_demo_configuration_is_valid_with_a_warning():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "rccserver", "check-config"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert warnings, "the demo data has a Lync user whose line is no station: check-config warns"
    assert not [line for line in lines if line.startswith("error: ")]
    assert lines[-1] == f"configuration valid ({len(warnings)} warning(s))"


def test_the_testbed_is_valid_and_warns_about_its_shared_account(tmp_path, capsys):
    code, lines = check(capsys, write_deployment(tmp_path))
    assert code == 0
    shared = [line for line in lines if "shared" in line]
    assert len(shared) == 1
    assert shared[0].startswith("warning: ") and "EXAMPLE\\gina" in shared[0] and "Gina1, Gina2" in shared[0]
    assert "Cs_AmbiguousUser" in shared[0]
    assert any(line.startswith("warning: ") and "sip:dave@example.com" in line and "Cs_StationNotFound" in line
               for line in lines)
    # ivan may use a remote number: his non-station line is no warning
    assert not any("ivan" in line for line in lines)


def test_missing_lync_licence_is_a_warning(tmp_path, capsys):
    code, lines = check(capsys, write_deployment(tmp_path, features=()))
    assert code == 0
    [licence] = [line for line in lines if "I3_FEATURE_LYNC" in line]
    assert licence.startswith("warning: ") and "licenses.features" in licence and "Cs_NoFeatureLicense" in licence


def test_cic_user_without_a_lync_user_is_a_warning(tmp_path, capsys):
    cic = testbed.cic_text() + "\n[[users]]\nid = \"Zed\"\nnt_domain_user = 'EXAMPLE\\zed'\n"
    code, lines = check(capsys, write_deployment(tmp_path, cic=cic))
    assert code == 0
    assert any(line.startswith("warning: ") and "Zed" in line and "EXAMPLE\\zed" in line for line in lines)


def assert_invalid(code: int, lines: list[str], *fragments: str) -> str:
    assert code == 2, lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors, lines
    assert lines[-1].endswith("invalid")
    matching = [line for line in errors if all(fragment in line for fragment in fragments)]
    assert matching, f"no error with {fragments} in {errors}"
    return matching[0]


def test_broken_config_is_located(tmp_path, capsys):
    path = write_deployment(tmp_path)
    text = path.read_text().replace('transport = "tcp"', 'transport = "udp"')
    path.write_text(text)
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("transport"))
    assert_invalid(*check(capsys, path), f"{path}:{number}: line.transport:", "must be one of")


def test_config_syntax_error_is_located(tmp_path, capsys):
    path = write_deployment(tmp_path)
    text = path.read_text().replace('source = "ldif"', 'source = "ldif')
    path.write_text(text)
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("source"))
    assert_invalid(*check(capsys, path), f"{path}:{number}:", "TOML syntax error")


def test_broken_ldif_is_located(tmp_path, capsys):
    ldif = testbed.ldif_text().replace("sAMAccountName: carol", "sAMAccountName carol")
    number = ldif.splitlines().index("sAMAccountName carol") + 1
    path = write_deployment(tmp_path, ldif=ldif)
    assert_invalid(*check(capsys, path), f"{tmp_path / 'directory.ldif'}:{number}:", "attribute: value")


def test_missing_ldif_is_named(tmp_path, capsys):
    path = write_deployment(tmp_path)
    (tmp_path / "directory.ldif").unlink()
    assert_invalid(*check(capsys, path), str(tmp_path / "directory.ldif"), "not found")


def test_duplicate_station_in_cic_data_is_located(tmp_path, capsys):
    cic = testbed.cic_text() + '\n[[stations]]\nname = "Again"\nextension = "1002"\n'
    number = len(cic.splitlines())
    path = write_deployment(tmp_path, cic=cic)
    assert_invalid(*check(capsys, path), f"{tmp_path / 'cic.toml'}:{number}: stations[4].extension:", "duplicate")


def test_duplicate_cic_user_is_located(tmp_path, capsys):
    cic = testbed.cic_text() + "\n[[users]]\nid = \"Bob\"\nnt_domain_user = 'EXAMPLE\\bob2'\n"
    number = len(cic.splitlines()) - 1
    path = write_deployment(tmp_path, cic=cic)
    assert_invalid(*check(capsys, path), f"{tmp_path / 'cic.toml'}:{number}: users[8].id:", "duplicate user id")


def test_missing_cic_data_is_named(tmp_path, capsys):
    path = write_deployment(tmp_path)
    (tmp_path / "cic.toml").unlink()
    assert_invalid(*check(capsys, path), str(tmp_path / "cic.toml"), "file not found")


def test_ldif_and_cic_errors_are_both_reported(tmp_path, capsys):
    ldif = testbed.ldif_text() + "\nbroken\n"
    cic = testbed.cic_text() + "\n[[users]]\nid = 3\n"
    code, lines = check(capsys, write_deployment(tmp_path, ldif=ldif, cic=cic))
    assert_invalid(code, lines, "directory.ldif")
    assert_invalid(code, lines, "cic.toml", "users[8].id")


def test_unusable_tls_key_is_an_error(tmp_path, capsys):
    from rccserver import certs

    cert_set = certs.generate(tmp_path / "certs", host="rcc.example.com", variants=False)
    path = write_deployment(tmp_path)
    text = path.read_text().replace(
        'transport = "tcp"',
        f'transport = "tls"\ncertificate = "{cert_set.server.certificate}"\nprivate_key = "{cert_set.client.private_key}"')
    path.write_text(text)
    assert_invalid(*check(capsys, path), "line")


def test_ldap_password_file_missing_is_an_error(tmp_path, capsys):
    path = write_deployment(tmp_path)
    text = path.read_text().replace('source = "ldif"', 'source = "ldap"\nurl = "ldap://127.0.0.1:1"\n'
                                    'bind_dn = "CN=svc"\npassword_file = "ldap.secret"\nsearch_dn = "DC=x"')
    path.write_text(text)
    assert_invalid(*check(capsys, path), "directory.password_file", str(tmp_path / "ldap.secret"))


@pytest.mark.parametrize("argv", [["check-config", "--config", "/nonexistent/rcc.toml"]])
def test_missing_config_file(capsys, argv):
    code = main(argv)
    lines = capsys.readouterr().out.splitlines()
    assert_invalid(code, lines, "/nonexistent/rcc.toml", "file not found")


def test_run_with_a_broken_config_exits_2_naming_file_line_and_key(tmp_path):
    path = write_deployment(tmp_path)
    text = path.read_text().replace("session_timeout = 0", "session_timeout = 1200")
    path.write_text(text)
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("session_timeout"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "rccserver", "run", "--config", str(path)], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert f"{path}:{number}: line.session_timeout: must be below 1200" in done.stderr


def test_run_with_a_broken_data_file_exits_2_naming_it(tmp_path):
    ldif = testbed.ldif_text() + "\nno colon\n"
    path = write_deployment(tmp_path, ldif=ldif)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "rccserver", "run", "--config", str(path)], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert f"{tmp_path / 'directory.ldif'}:{len(ldif.splitlines())}:" in done.stderr
