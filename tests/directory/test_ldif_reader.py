"""The LDIF reader (RFC 2849 content records) behind the ldif directory source."""
from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rccserver.directory.cache import DirectoryError
from rccserver.directory.ldif import load_ldif, parse_ldif


def entries(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    return [(entry.dn, entry.attributes) for entry in parse_ldif(text, "dir.ldif")]


def located_error(text: str) -> tuple[int, str]:
    with pytest.raises(DirectoryError) as caught:
        parse_ldif(text, "dir.ldif")
    match = re.match(r"dir\.ldif:(\d+): (.+)$", str(caught.value))
    assert match, f"error without file and line: {caught.value}"
    return int(match.group(1)), match.group(2)


def test_records_are_separated_by_blank_lines():
    text = "version: 1\n\ndn: CN=a,DC=x\ncn: a\n\n\ndn: CN=b,DC=x\ncn: b\nmail: b@x\nmail: b2@x\n"
    assert entries(text) == [("CN=a,DC=x", {"cn": ["a"]}), ("CN=b,DC=x", {"cn": ["b"], "mail": ["b@x", "b2@x"]})]


def test_folded_lines_are_joined_without_the_leading_space():
    text = "dn: CN=John Mil\n ler,DC=exam\n ple,DC=com\ndisplayName: John\n  Miller\n"
    assert entries(text) == [("CN=John Miller,DC=example,DC=com", {"displayName": ["John Miller"]})]


def test_base64_values_are_decoded_as_utf8():
    name = "Jürgen Müller"
    encoded = base64.b64encode(name.encode()).decode()
    text = f"dn: CN=j,DC=x\ndisplayName:: {encoded}\n"
    assert entries(text) == [("CN=j,DC=x", {"displayName": [name]})]


def test_base64_dn_and_folded_base64():
    dn = "CN=Zoë,DC=x"
    encoded = base64.b64encode(dn.encode()).decode()
    text = f"dn:: {encoded[:6]}\n {encoded[6:]}\ncn: z\n"
    assert entries(text)[0][0] == dn


def test_comments_are_ignored_even_between_attributes():
    text = "# export\n# of the domain\ndn: CN=a,DC=x\n# a comment\ncn: a\n#another\n\n# trailing\n"
    assert entries(text) == [("CN=a,DC=x", {"cn": ["a"]})]


def test_crlf_line_ends():
    text = "dn: CN=a,DC=x\r\ncn: a\r\n\r\ndn: CN=b,DC=x\r\ncn: b\r\n"
    assert entries(text) == [("CN=a,DC=x", {"cn": ["a"]}), ("CN=b,DC=x", {"cn": ["b"]})]


def test_entry_line_is_the_dn_line():
    text = "version: 1\n\n# c\ndn: CN=a,DC=x\ncn: a\n\ndn: CN=b,DC=x\n"
    assert [entry.line for entry in parse_ldif(text, "dir.ldif")] == [4, 7]


@pytest.mark.parametrize("text, line, words", [
    ("dn: CN=a,DC=x\ncn a\n", 2, "expected 'attribute: value'"),
    ("cn: a\ndn: CN=a,DC=x\n", 1, "before any dn"),
    ("dn: CN=a,DC=x\ncn: a\ndn: CN=b,DC=x\n", 3, "blank line"),
    ("dn: CN=a,DC=x\ndisplayName:: ***notbase64\n", 2, "base64"),
    ("dn: CN=a,DC=x\nchangetype: modify\n", 2, "change records"),
    ("dn: CN=a,DC=x\njpegPhoto:< file:///etc/passwd\n", 2, "URL values"),
    ("\n\ndn: CN=a,DC=x\ncn: a\n\n\ndn: CN=b,DC=x\nbroken line\n", 8, "expected 'attribute: value'"),
    ("dn: CN=a,DC=x\n\n\n# note\n\ncn: b\n", 6, "before any dn"),
])
def test_errors_name_the_file_and_line(text, line, words):
    number, message = located_error(text)
    assert number == line
    assert words in message


def test_error_line_counts_folded_lines():
    # The bad line is the 4th physical line even though line 2 is folded into line 1.
    number, _ = located_error("dn: CN=a,\n DC=x\ncn: a\nno colon here\n")
    assert number == 4


def test_missing_file(tmp_path):
    with pytest.raises(DirectoryError, match=r"nothere\.ldif: directory LDIF file not found"):
        load_ldif(tmp_path / "nothere.ldif", "EXAMPLE")


def test_error_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.ldif"
    path.write_text("dn: CN=a,DC=x\nsAMAccountName a\n")
    with pytest.raises(DirectoryError) as caught:
        load_ldif(path, "EXAMPLE")
    assert str(caught.value).startswith(f"{path}:2: ")


LYNC = """dn: CN=John,CN=Users,DC=example,DC=com
objectClass: user
sAMAccountName: JohnMiller
displayName: John Miller
msRTCSIP-PrimaryUserAddress: sip:John.Miller@Example.com
msRTCSIP-Line: tel:+44770
msRTCSIP-LineServer: sip:rcc@rcc.example.com
msRTCSIP-UserEnabled: TRUE

dn: CN=Off,CN=Users,DC=example,DC=com
sAMAccountName: off
msRTCSIP-PrimaryUserAddress: sip:off@example.com
msRTCSIP-UserEnabled: FALSE

dn: CN=Plain,CN=Users,DC=example,DC=com
sAMAccountName: plain

dn: CN=NoSam,CN=Users,DC=example,DC=com
msRTCSIP-PrimaryUserAddress: sip:nosam@example.com
msRTCSIP-UserEnabled: TRUE
"""


def test_lync_users_from_an_ldif_file(tmp_path):
    path = tmp_path / "directory.ldif"
    path.write_text(LYNC)
    cache = load_ldif(path, "EXAMPLE")
    assert len(cache) == 2  # John and the disabled one; Plain is no Lync user; NoSam is skipped
    john = cache.lookup("sip:john.miller@example.com")
    assert john.domain_account == "EXAMPLE\\JohnMiller"
    assert (john.line, john.line_server, john.display_name, john.enabled) == (
        "tel:+44770", "sip:rcc@rcc.example.com", "John Miller", True)
    assert cache.lookup("<SIP:JOHN.MILLER@EXAMPLE.COM>") == john
    assert cache.lookup("sip:off@example.com").enabled is False
    assert cache.lookup("sip:plain@example.com") is None
    [skipped] = cache.skipped
    assert skipped.dn == "CN=NoSam,CN=Users,DC=example,DC=com"
    assert "sAMAccountName" in skipped.reason
    assert skipped.where == f"{path}:18"


# -- property: whatever we write (folded anywhere, base64 or not), we read back -------------
names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(lambda n: n.lower() not in (
    "dn", "version", "changetype", "control"))
safe_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=40).filter(
    lambda v: v[0] not in ":<")
any_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@st.composite
def ldif_documents(draw):
    records = []
    for _ in range(draw(st.integers(1, 4))):
        dn = "CN=" + draw(safe_values).replace(",", "") + ",DC=x"
        attributes: dict[str, list[str]] = {}
        for name in draw(st.lists(names, min_size=1, max_size=4, unique_by=str.lower)):
            attributes[name] = draw(st.lists(any_values, min_size=1, max_size=3))
        records.append((dn, attributes))
    width = draw(st.integers(2, 76))
    lines = []
    for dn, attributes in records:
        lines.append(f"dn: {dn}")
        for name, values in attributes.items():
            for value in values:
                if value.isascii() and value.isprintable() and value[0] not in " :<" and value[-1] != " ":
                    lines.append(f"{name}: {value}")
                else:
                    lines.append(f"{name}:: {base64.b64encode(value.encode()).decode()}")
        lines.append("")
    folded = []
    for line in lines:
        folded.append(line[:width])
        rest = line[width:]
        while rest:
            folded.append(" " + rest[:width - 1])
            rest = rest[width - 1:]
    return "\n".join(folded) + "\n", records


@given(ldif_documents())
def test_written_ldif_reads_back(document):
    text, records = document
    assert entries(text) == records


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.ldif"
    path.write_bytes("\ufeffversion: 1\n\n".encode() + LYNC.encode())
    assert len(load_ldif(path, "EXAMPLE")) == 2


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.ldif"
    path.write_bytes("dn: CN=J\xfcrgen,DC=x\n".encode("latin-1"))
    with pytest.raises(DirectoryError, match=r"latin1\.ldif: not UTF-8"):
        load_ldif(path, "EXAMPLE")


def test_binary_base64_of_attributes_we_do_not_read_is_kept(tmp_path):
    guid = base64.b64encode(bytes(range(256))[::17]).decode()
    path = tmp_path / "ad.ldif"
    path.write_text(LYNC.replace("objectClass: user\n", f"objectClass: user\nobjectGUID:: {guid}\n", 1))
    john = load_ldif(path, "EXAMPLE").lookup("sip:john.miller@example.com")
    # the entry reads as it does without the binary attribute
    assert (john.domain_account, john.line, john.display_name, john.enabled) == (
        "EXAMPLE\\JohnMiller", "tel:+44770", "John Miller", True)


def test_binary_base64_in_an_attribute_we_read_is_an_error():
    number, message = located_error("dn: CN=a,DC=x\nsAMAccountName:: /w==\n")
    assert number == 2 and "sAMAccountName" in message and "UTF-8" in message
