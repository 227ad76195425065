"""`rccserver check-config` and `rccserver run` (SPEC section 2) on a whole deployment: exit 0 valid
(warnings allowed), 2 invalid, every problem printed and located.

Each finding of check_config itself (which warning, which error, where) is in test_check_config.py.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rccserver.cli import main
from testkit import testbed

REPO = testbed.Path(__file__).resolve().parents[2]


def write_deployment(directory, *, ldif: str | None = None):
    """The e2e testbed's files (config, LDIF, CIC data), optionally with a replaced LDIF file."""
    process = testbed.write_testbed(directory)
    if ldif is not None:
        (directory / "directory.ldif").write_text(ldif)
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
    # dave's line tel:+1099 is no station on purpose (the Cs_StationNotFound demo user): the one warning
    assert len(warnings) == 1 and "sip:dave@example.com" in warnings[0], lines
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


def assert_invalid(code: int, lines: list[str], *fragments: str) -> str:
    assert code == 2, lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors, lines
    assert lines[-1].endswith("invalid")
    matching = [line for line in errors if all(fragment in line for fragment in fragments)]
    assert matching, f"no error with {fragments} in {errors}"
    return matching[0]


def test_config_syntax_error_is_located(tmp_path, capsys):
    path = write_deployment(tmp_path)
    text = path.read_text().replace('source = "ldif"', 'source = "ldif')
    path.write_text(text)
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("source"))
    assert_invalid(*check(capsys, path), f"{path}:{number}:", "TOML syntax error")


def test_unusable_tls_key_is_an_error(tmp_path, capsys):
    from rccserver.commands import certs

    cert_set = certs.generate(tmp_path / "certs", host="rcc.example.com", variants=False)
    path = write_deployment(tmp_path)
    text = path.read_text().replace(
        'transport = "tcp"',
        f'transport = "tls"\ncertificate = "{cert_set.server.certificate}"\nprivate_key = "{cert_set.client.private_key}"')
    path.write_text(text)
    assert_invalid(*check(capsys, path), f"{path}: line: {cert_set.client.private_key}: private key does not match "
                                         f"the certificate in {cert_set.server.certificate}")


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


def test_a_config_error_and_the_data_files_problems_are_all_printed(tmp_path, capsys):
    ldif = testbed.ldif_text() + "\nno colon\n"
    path = write_deployment(tmp_path, ldif=ldif)
    text = path.read_text().replace("session_timeout = 0", "session_timeout = 5000")
    assert text != path.read_text()
    path.write_text(text)
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("session_timeout"))
    code, lines = check(capsys, path)
    assert_invalid(code, lines, f"{path}:{number}: line.session_timeout: must be below 1200")
    assert_invalid(code, lines, f"{tmp_path / 'directory.ldif'}:{len(ldif.splitlines())}:")
    # the CIC data was read as well: its shared-account warning is there
    assert any(line.startswith("warning: ") and "Gina1, Gina2" in line for line in lines)
    assert lines[-1].startswith("2 error(s), ")
