"""A fresh clone with nothing beside it must pass every test: nothing reads outside the repository."""
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parent.parent

# `../shared`, `/work/shared`, `parent / "shared"`, `parents[3] / "shared"`: any way of
# reaching the steering folder that sits beside the repository on our own machines.
OUTSIDE = re.compile(r"""\.\./shared\b|/work/shared\b|/\s*["']shared["']|["']shared["']\s*/|\bcorpora\b.*parents\[\d\]""")
CHECKED_SUFFIXES = {".py", ".sh", ".ini", ".cfg", ".toml", ".c", ".xml", ".md", ""}


def tracked_files() -> list[pathlib.Path]:
    names = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, text=True).split("\n")
    return [REPO / name for name in names if name and not name.startswith("tests/data/")]


def test_the_repository_is_a_git_checkout():
    assert len(tracked_files()) > 100


def test_nothing_reads_outside_the_repository():
    offenders = []
    for path in tracked_files():
        if path.suffix not in CHECKED_SUFFIXES or not path.is_file() or path == pathlib.Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_pattern_catches_the_forms_that_were_used():
    for line in (
        'CORPORA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "corpora"',
        'SHARED = REPO.parent / "shared"',
        "see ../shared/corpora/rfc4475",
        "notes in /work/shared/reference",
    ):
        assert OUTSIDE.search(line), line


def test_the_vendored_corpora_match_their_published_hashes():
    import hashlib

    for folder in ("rfc4475", "rfc5118"):
        base = REPO / "tests" / "data" / folder
        lines = (base / "SHA256SUMS").read_text().splitlines()
        assert len(lines) >= 12
        for line in lines:
            digest, name = line.split(maxsplit=1)
            assert hashlib.sha256((base / name.lstrip("*")).read_bytes()).hexdigest() == digest, name
