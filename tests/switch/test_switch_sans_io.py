"""House rule: the switch is sans-IO; importing it must not pull in Twisted."""
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_switch_imports_no_twisted():
    code = (
        "import sys, rccserver.switch, rccserver.switch.embedded, rccserver.switch.connection_fsm;"
        "bad = [m for m in sys.modules if m == 'twisted' or m.startswith('twisted.') or m.startswith('rccserver.csta')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
