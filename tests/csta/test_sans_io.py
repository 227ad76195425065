"""The codec is sans-IO: importing and using it pulls in no Twisted."""
import subprocess
import sys


def test_csta_package_imports_no_twisted():
    code = ("import sys, rccserver.csta as c; "
            "c.decode(c.encode(c.MakeCall(calling_device='a', called_directory_number='b'), c.ED3)); "
            "print(sorted(m for m in sys.modules if m == 'twisted' or m.startswith('twisted.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
