"""House rule: the registrar and digest authentication are sans-IO; importing them must not pull in Twisted."""
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_stations_and_digest_import_no_twisted():
    code = (
        "import sys, rccserver.stations.registrar, rccserver.sip.digest;"
        "bad = [m for m in sys.modules if m == 'twisted' or m.startswith('twisted.')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
