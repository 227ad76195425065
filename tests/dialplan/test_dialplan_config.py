"""[dialplan] in the configuration file (SPEC section 10): rules read in order with their
file:line; check-config (and the server at start) refuses a pattern that does not compile
or a translation naming a group the pattern lacks, naming the file, the line and the key,
and reports every such error of the file at once."""
from __future__ import annotations

from pathlib import Path

import pytest

from rccserver import cli
from rccserver.dialplan import Rule
from rccserver.server.config import ConfigError, DialPlanConfig, load_config, read_config

GOOD = r"""[dialplan]
country_code = "44"

[[dialplan.dial]]
pattern = '^0(\d{10})$'
translation = '+44$1'

[[dialplan.dial]]               # an extension
pattern = '^(\d{4})$'
translation = '$1'

[[dialplan.inbound]]
pattern = '^\+44207946(0\d{3})$'
translation = '$1'
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    return path


def located(errors) -> list[tuple[int | None, str, str]]:
    return [(error.line, error.key, error.message) for error in errors]


def test_rules_are_read_in_order_with_where_they_stand(tmp_path):
    path = write(tmp_path, GOOD)
    assert load_config(path).dialplan == DialPlanConfig(
        country_code="44",
        dial=(Rule(r"^0(\d{10})$", "+44$1", f"{path}:5"), Rule(r"^(\d{4})$", "$1", f"{path}:9")),
        inbound=(Rule(r"^\+44207946(0\d{3})$", "$1", f"{path}:13"),),
    )


def test_no_dialplan_table_is_an_empty_plan(tmp_path):
    assert load_config(write(tmp_path, "[cic]\n")).dialplan == DialPlanConfig(None, (), ())


@pytest.mark.parametrize("old, new, line, key, words", [
    (r"'^0(\d{10})$'", r"'^0(\d{10}$'", 5, "dialplan.dial[0].pattern", "does not compile: missing ), unterminated"),
    ("'+44$1'", "'+44$2'", 6, "dialplan.dial[0].translation", "names $2, but the pattern has 1 group(s)"),
    (r"'^(\d{4})$'", r"'^\d{4}$'", 10, "dialplan.dial[1].translation", "names $1, but the pattern has 0 group(s)"),
    ("translation = '$1'\n\n[[dialplan.inbound]]", "translation = '${1}'\n\n[[dialplan.inbound]]", 10,
     "dialplan.dial[1].translation", "'$' at position 0 must be followed by a group number 1-9"),
    ("(0\\d{3})$'\ntranslation = '$1'", "(0\\d{3})$'\ntranslation = 'ext$1'", 14,
     "dialplan.inbound[0].translation", "does not read as a number"),
    ("pattern = '^(\\d{4})$'\n", "", 8, "dialplan.dial[1]", "pattern is required"),
    ("translation = '+44$1'\n", "translation = '+44$1'\npriority = 1\n", 7, "dialplan.dial[0].priority",
     "unknown key (known: pattern, translation)"),
    ("translation = '+44$1'\n", "translation = 44\n", 6, "dialplan.dial[0].translation", "must be a string"),
    ('country_code = "44"', 'country_code = "+44"', 2, "dialplan.country_code", "without '+'"),
    ('country_code = "44"', 'country_code = "999"', 2, "dialplan.country_code", "not the calling code"),
    ('country_code = "44"', 'country_code = "44"\nrules = []', 3, "dialplan.rules",
     "unknown key (known: country_code, dial, inbound)"),
])
def test_a_bad_rule_names_file_line_and_key(tmp_path, old, new, line, key, words):
    assert GOOD.count(old) >= 1
    path = write(tmp_path, GOOD.replace(old, new, 1))
    reading = read_config(path)
    assert len(reading.errors) == 1, reading.errors
    (error,) = reading.errors
    assert (error.file, error.line, error.key) == (str(path), line, key)
    assert words in error.message
    assert str(error).startswith(f"{path}:{line}: {key}: ")
    with pytest.raises(ConfigError) as first:  # the server at start: the same error
        load_config(path)
    assert (first.value.line, first.value.key) == (line, key)


def test_rules_must_be_an_array_of_tables(tmp_path):
    path = write(tmp_path, "[dialplan]\ncountry_code = \"1\"\ndial = '^9(\\d{10})$'\n")
    assert located(read_config(path).errors) == [
        (3, "dialplan.dial", "must be an array of tables ([[dialplan.dial]] with pattern, translation)")]


def test_every_error_of_the_file_at_once(tmp_path):
    text = GOOD.replace("'+44$1'", "'+44$3'").replace(r"'^(\d{4})$'", r"'^((\d{4})$'").replace(
        r"'^\+44207946(0\d{3})$'", "'['")
    path = write(tmp_path, text)
    assert located(read_config(path).errors) == [
        (6, "dialplan.dial[0].translation", "names $3, but the pattern has 1 group(s)"),
        (9, "dialplan.dial[1].pattern", "does not compile: missing ), unterminated subpattern at position 1"),
        (13, "dialplan.inbound[0].pattern", "does not compile: unterminated character set at position 0"),
    ]


def test_check_config_prints_them_and_exits_2(tmp_path, capsys):
    (tmp_path / "cic.toml").write_text('[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n')
    (tmp_path / "directory.ldif").write_text("")
    path = write(tmp_path, GOOD.replace("'+44$1'", "'+44$2'") + '\n[cic]\ndata_file = "cic.toml"\n')
    assert cli.main(["check-config", "--config", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"error: {path}:6: dialplan.dial[0].translation: names $2, but the pattern has 1 group(s)" in out
