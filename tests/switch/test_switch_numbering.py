import pytest

from rccserver.switch.numbering import extension_key, is_valid_extension, normalize_dial_string


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1001", "1001"),
        ("tel:+1001", "+1001"),
        ("TEL:+1 (317) 555-2020", "+13175552020"),
        ("tel:+13175552020;phone-context=dialstring", "+13175552020"),
        (" 555.1234 ", "5551234"),
        ("*86#", "*86#"),
        ("", None),
        ("tel:", None),
        ("sip:bob@example.com", None),
        ("12a", None),
        ("++1", None),
        ("1" * 33, None),
        (None, None),
    ],
)
def test_normalize_dial_string(text, expected):
    assert normalize_dial_string(text) == expected


def test_extensions():
    assert extension_key("+1001") == "1001"
    assert is_valid_extension("44770") and not is_valid_extension("+1") and not is_valid_extension("")
