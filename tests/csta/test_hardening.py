"""The attack corpus: each document is refused quickly and without a memory blow-up."""
import pathlib
import tracemalloc

import pytest
from lxml import etree

from rccserver.csta import MAX_BYTES, MAX_DEPTH, MAX_ELEMENTS, CstaDecodeError, ErrorCode, decode
from rccserver.csta import hardening

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE MakeCall [{"".join(entities)}]>'
            f'<MakeCall xmlns="{NS}"><callingDevice>&lol9;</callingDevice></MakeCall>').encode()


def quadratic_blowup() -> bytes:
    big = "A" * 20_000
    return (f'<!DOCTYPE MakeCall [<!ENTITY a "{big}">]><MakeCall xmlns="{NS}"><callingDevice>'
            + "&a;" * 10_000 + "</callingDevice></MakeCall>").encode()


def external_entity(path: pathlib.Path) -> bytes:
    return (f'<!DOCTYPE MakeCall [<!ENTITY xxe SYSTEM "file://{path}">]><MakeCall xmlns="{NS}">'
            "<callingDevice>&xxe;</callingDevice><calledDirectoryNumber>1</calledDirectoryNumber>"
            "</MakeCall>").encode()


def external_dtd(path: pathlib.Path) -> bytes:
    return (f'<!DOCTYPE MakeCall SYSTEM "file://{path}"><MakeCall xmlns="{NS}">'
            "<callingDevice>&fromdtd;</callingDevice></MakeCall>").encode()


def deep_nesting(depth: int) -> bytes:
    return (f'<MakeCall xmlns="{NS}">' + "<a>" * (depth - 1) + "</a>" * (depth - 1) + "</MakeCall>").encode()


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY fromdtd "TOP-SECRET-FROM-DTD">')
    return path, dtd


def attacks(secret):
    path, dtd = secret
    return {
        "billion laughs": billion_laughs(),
        "quadratic blow-up": quadratic_blowup(),
        "external entity": external_entity(path),
        "external DTD": external_dtd(dtd),
        "10,000-deep nesting": deep_nesting(10_000),
    }


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", ["billion laughs", "quadratic blow-up", "external entity",
                                  "external DTD", "10,000-deep nesting"])
def test_attack_is_refused_without_memory_blow_up(name, secret):
    body = attacks(secret)[name]
    tracemalloc.start()
    try:
        with pytest.raises(CstaDecodeError) as caught:
            decode(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.error_code == ErrorCode("operation", "generic")
    assert "SECRET" not in str(caught.value)
    # tracemalloc sees Python allocations; the refusal must not build anything large
    assert peak < 4 * len(body) + 256 * 1024


def test_parser_itself_resolves_no_entities_even_without_the_doctype_check(secret):
    """Defence in depth: were the DOCTYPE pre-check gone, lxml still reads no file."""
    parser = hardening._parser()
    for body in (external_entity(secret[0]), external_dtd(secret[1])):
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError:
            continue
        assert b"SECRET" not in etree.tostring(root)


def test_depth_limit_is_exactly_32():
    ok = f'<MakeCall xmlns="{NS}"><callingDevice>1</callingDevice><calledDirectoryNumber>2' \
         f'</calledDirectoryNumber><x>{"<a>" * (MAX_DEPTH - 2)}{"</a>" * (MAX_DEPTH - 2)}</x></MakeCall>'
    assert decode(ok.encode()).calling_device == "1"
    too_deep = ok.replace("<x>", "<x><a>").replace("</x>", "</a></x>")
    with pytest.raises(CstaDecodeError, match="deeper"):
        decode(too_deep.encode())


def test_size_limit():
    body = deep_nesting(2).replace(b"<a></a>", b"<a>" + b"x" * MAX_BYTES + b"</a>")
    with pytest.raises(CstaDecodeError, match="exceeds"):
        decode(body)


def test_element_count_limit():
    body = f'<MakeCall xmlns="{NS}">{"<a/>" * MAX_ELEMENTS}</MakeCall>'.encode()
    with pytest.raises(CstaDecodeError, match="elements"):
        decode(body)


def test_processing_instructions_and_comments_are_ignored():
    body = (f'<?xml version="1.0"?><!-- hi --><?pi x?><MonitorStop xmlns="{NS}"><!-- c -->'
            "<monitorCrossRefID>m1</monitorCrossRefID></MonitorStop>").encode()
    assert decode(body).monitor_cross_ref_id == "m1"
