"""Digest authentication (RFC 3261 section 22, RFC 7616, RFC 8760): published vectors, challenges,
verification outcomes, nonce lifetime and replay, the header grammar, and the client side.

Expected responses come from the RFCs' worked examples, or are written out with hashlib
in the test itself (the formula of RFC 7616 section 3.4.1), never from the module under test.
"""
from __future__ import annotations

import hashlib
import itertools

import attrs
import pytest
from hypothesis import assume, given, settings, strategies as st

from rccserver.sip.digest import (
    Algorithm,
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestError,
    DigestServer,
    Outcome,
    StoredSecret,
    answer_challenge,
    parse_challenge,
    parse_credentials,
)
from rccserver.sip.message import Request, Response
from rccserver.sip.uri import uri_equal

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "example.com"
URI = "sip:example.com"
PASSWORD = "s3cret"

# RFC 7616 section 3.9.1
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_RESPONSES = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def counting_random():
    """Distinct, repeatable 'random' bytes: each call hashes the next integer."""
    counter = itertools.count()

    def random_bytes(n: int) -> bytes:
        return hashlib.sha256(str(next(counter)).encode()).digest()[:n]

    return random_bytes


def new_server(**kwargs) -> DigestServer:
    kwargs.setdefault("realm", REALM)
    kwargs.setdefault("secret", SECRET)
    return DigestServer(random_bytes=counting_random(), **kwargs)


def challenge_of(server: DigestServer, now: float, algorithm: Algorithm = Algorithm.MD5) -> DigestChallenge:
    [challenge] = server.challenges(now, [algorithm])
    return challenge


def credentials_for(challenge: DigestChallenge, *, password: str = PASSWORD, username: str = "1001",
                    method: str = "REGISTER", uri: str = URI, nc: int = 1, cnonce: str = "c0ffee") -> DigestCredentials:
    return answer_challenge(challenge, username=username, password=password, method=method, uri=uri,
                            cnonce=cnonce, nc=nc)


def verify(server: DigestServer, credentials: DigestCredentials, *, now: float, method: str = "REGISTER",
           uri: str = URI, secret: StoredSecret | None = StoredSecret(password=PASSWORD)):
    return server.verify(credentials, method=method, uri=uri, secret=secret, now=now)


# --------------------------------------------------------------------------
# Published vectors


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_worked_example(alg):
    challenge = parse_challenge(RFC7616_CHALLENGE.format(alg=alg))
    assert challenge.qop == ("auth", "auth-int") and challenge.realm == "http-auth@example.org"
    credentials = answer_challenge(challenge, username="Mufasa", password="Circle of Life", method="GET",
                                   uri="/dir/index.html", cnonce=RFC7616_CNONCE, nc=1)
    assert credentials.response == RFC7616_RESPONSES[alg]
    assert (credentials.qop, credentials.nc, credentials.algorithm) == ("auth", "00000001", alg)
    assert credentials.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_authorization_header_parses_as_printed(alg):
    # The example's header, folded over several lines in the RFC, as one line.
    text = (f'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm={alg}, '
            'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
            f'cnonce="{RFC7616_CNONCE}", qop=auth, response="{RFC7616_RESPONSES[alg]}", '
            'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    credentials = parse_credentials(text)
    assert (credentials.username, credentials.uri, credentials.nonce_count, credentials.cnonce) == (
        "Mufasa", "/dir/index.html", 1, RFC7616_CNONCE)
    assert credentials.algorithm_kind is Algorithm(alg)


def test_rfc7616_response_to_a_foreign_nonce_is_stale_not_wrong():
    """The RFC's own credentials are right for its password, but its nonce is not ours."""
    server = new_server(realm="http-auth@example.org")
    credentials = answer_challenge(parse_challenge(RFC7616_CHALLENGE.format(alg="SHA-256")), username="Mufasa",
                                   password="Circle of Life", method="GET", uri="/dir/index.html",
                                   cnonce=RFC7616_CNONCE)
    verdict = server.verify(credentials, method="GET", uri="/dir/index.html",
                            secret=StoredSecret(password="Circle of Life"), now=0.0)
    assert verdict.outcome is Outcome.STALE
    wrong = server.verify(credentials, method="GET", uri="/dir/index.html",
                          secret=StoredSecret(password="Circle Of Life"), now=0.0)
    assert wrong.outcome is Outcome.REJECTED


def test_rfc2617_example_with_qop_auth():
    challenge = DigestChallenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=("auth",),
                                opaque="5ccc069c403ebaf9f0171e9517f40e41")
    credentials = answer_challenge(challenge, username="Mufasa", password="Circle Of Life", method="GET",
                                   uri="/dir/index.html", cnonce="0a4f113b", nc=1)
    assert credentials.response == "6629fae49393a05397450978507c4ef1"


def test_rfc2069_example_without_qop_as_corrected_by_its_erratum():
    challenge = DigestChallenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093")
    credentials = answer_challenge(challenge, username="Mufasa", password="CircleOfLife", method="GET",
                                   uri="/dir/index.html", cnonce="unused")
    assert credentials.response == "1949323746fe6a43ef61f9606e7febea"
    assert (credentials.qop, credentials.nc, credentials.cnonce) == (None, None, None)
    assert "qop" not in credentials.header_value() and "cnonce" not in credentials.header_value()


def test_a_stored_md5_ha1_verifies_like_the_password():
    # RFC 2617's HA1 for Mufasa / testrealm@host.com / "Circle Of Life"
    ha1 = "939e7578ed9e3c518a452acee763bce9"
    server = new_server(realm="testrealm@host.com")
    credentials = answer_challenge(challenge_of(server, 0.0), username="Mufasa", password="Circle Of Life",
                                   method="REGISTER", uri=URI, cnonce="x")
    assert verify(server, credentials, now=0.0, secret=StoredSecret(ha1_md5=ha1.upper())).valid


# --------------------------------------------------------------------------
# Challenges


def test_challenges_offer_sha256_then_md5_with_one_nonce_and_qop_auth():
    headers = new_server().challenge_headers(10.0)
    assert [name for name, _ in headers] == ["WWW-Authenticate", "WWW-Authenticate"]
    first, second = (parse_challenge(value) for _, value in headers)
    assert (first.algorithm, second.algorithm) == ("SHA-256", "MD5")
    assert first.nonce == second.nonce
    for challenge in (first, second):
        assert (challenge.realm, challenge.qop, challenge.stale) == (REALM, ("auth",), False)
    assert 'qop="auth"' in headers[0][1] and "algorithm=SHA-256" in headers[0][1]


def test_stale_challenges_say_so_and_each_challenge_has_a_new_nonce():
    server = new_server()
    stale = [parse_challenge(value) for _, value in server.challenge_headers(10.0, stale=True)]
    assert all(challenge.stale for challenge in stale)
    assert "stale=true" in server.challenge_headers(10.0, stale=True)[0][1]
    assert len({challenge_of(server, 10.0).nonce for _ in range(20)}) == 20


def test_a_proxy_server_speaks_407_headers():
    server = new_server(proxy=True)
    assert {name for name, _ in server.challenge_headers(0.0)} == {"Proxy-Authenticate"}
    assert server.credentials_header == "Proxy-Authorization"


def test_what_a_stored_secret_may_be_offered():
    assert StoredSecret(password="p").algorithms == (Algorithm.SHA256, Algorithm.MD5)
    assert StoredSecret(ha1_md5="0" * 32).algorithms == (Algorithm.MD5,)
    with pytest.raises(ValueError):
        StoredSecret()
    assert "p4ss" not in repr(StoredSecret(password="p4ss"))


# --------------------------------------------------------------------------
# Verification


@pytest.mark.parametrize("algorithm", [Algorithm.MD5, Algorithm.SHA256])
def test_right_credentials_are_valid(algorithm):
    server = new_server()
    credentials = credentials_for(challenge_of(server, 100.0, algorithm))
    verdict = verify(server, credentials, now=101.0)
    assert (verdict.outcome, verdict.username) == (Outcome.VALID, "1001")
    # and the response is the RFC 7616 formula written out here
    h = md5 if algorithm is Algorithm.MD5 else sha256
    ha1, ha2 = h(f"1001:{REALM}:{PASSWORD}"), h(f"REGISTER:{URI}")
    assert credentials.response == h(f"{ha1}:{credentials.nonce}:00000001:c0ffee:auth:{ha2}")


def test_an_md5_ha1_station_cannot_use_sha256():
    server = new_server()
    ha1_only = StoredSecret(ha1_md5=md5(f"1001:{REALM}:{PASSWORD}"))
    assert verify(server, credentials_for(challenge_of(server, 0.0)), now=0.0, secret=ha1_only).valid
    sha = credentials_for(challenge_of(server, 0.0, Algorithm.SHA256))
    verdict = verify(server, sha, now=0.0, secret=ha1_only)
    assert verdict.outcome is Outcome.REJECTED and "not offered" in verdict.reason


@pytest.mark.parametrize("change, reason", [
    (dict(password="wrong"), "wrong response"),
    (dict(method="INVITE"), "wrong response"),
    (dict(uri="sip:other.example.com"), "is not the Request-URI"),
])
def test_anything_different_is_rejected(change, reason):
    server = new_server()
    credentials = credentials_for(challenge_of(server, 0.0), **change)
    secret = StoredSecret(password=PASSWORD)
    verdict = verify(server, credentials, now=1.0, secret=secret)
    assert verdict.outcome is Outcome.REJECTED and reason in verdict.reason


def test_the_uri_may_differ_only_in_ways_rfc3261_calls_equal():
    server = new_server()
    credentials = credentials_for(challenge_of(server, 0.0), uri="sip:EXAMPLE.com")
    assert verify(server, credentials, now=0.0, uri="sip:example.com").valid


def test_an_unknown_user_is_rejected_whatever_it_sends():
    server = new_server()
    credentials = credentials_for(challenge_of(server, 0.0), username="9999")
    verdict = verify(server, credentials, now=0.0, secret=None)
    assert verdict.outcome is Outcome.REJECTED and verdict.username == "9999"


def test_another_realm_auth_int_and_unknown_algorithms_are_rejected():
    server = new_server()
    challenge = challenge_of(server, 0.0)
    other_realm = credentials_for(attrs.evolve(challenge, realm="elsewhere"))
    assert verify(server, other_realm, now=0.0).outcome is Outcome.REJECTED
    auth_int = credentials_for(attrs.evolve(challenge, qop=("auth-int",)))
    assert auth_int.qop == "auth-int"
    assert "qop" in verify(server, auth_int, now=0.0).reason
    sess = credentials_for(attrs.evolve(challenge, algorithm="MD5-sess"))
    assert verify(server, sess, now=0.0).outcome is Outcome.REJECTED
    odd = attrs.evolve(credentials_for(challenge), algorithm="AKAv1-MD5")
    assert verify(server, odd, now=0.0).outcome is Outcome.REJECTED


def test_the_algorithm_defaults_to_md5_when_absent():
    server = new_server()
    challenge = attrs.evolve(challenge_of(server, 0.0), algorithm=None)
    credentials = credentials_for(challenge)
    assert credentials.algorithm is None and "algorithm" not in credentials.header_value()
    assert verify(server, credentials, now=0.0).valid


def test_nonce_count_must_increase():
    server = new_server()
    challenge = challenge_of(server, 0.0)
    assert verify(server, credentials_for(challenge, nc=1), now=1.0).valid
    replay = verify(server, credentials_for(challenge, nc=1), now=2.0)
    assert replay.outcome is Outcome.STALE and "already used" in replay.reason
    assert verify(server, credentials_for(challenge, nc=3), now=3.0).valid
    assert verify(server, credentials_for(challenge, nc=2), now=4.0).outcome is Outcome.STALE
    assert verify(server, credentials_for(challenge, nc=4), now=5.0).valid


def test_a_replay_with_a_wrong_response_is_rejected_and_does_not_burn_the_count():
    server = new_server()
    challenge = challenge_of(server, 0.0)
    assert verify(server, credentials_for(challenge, nc=5, password="guess"), now=1.0).outcome is Outcome.REJECTED
    assert verify(server, credentials_for(challenge, nc=1), now=1.0).valid


def test_without_qop_a_nonce_is_good_for_one_request():
    server = new_server()
    challenge = attrs.evolve(challenge_of(server, 0.0), qop=())
    credentials = credentials_for(challenge)
    assert credentials.qop is None
    assert verify(server, credentials, now=0.0).valid
    assert verify(server, credentials, now=1.0).outcome is Outcome.STALE


@pytest.mark.parametrize("lifetime", [300.0, 30.0])
def test_a_nonce_lives_for_the_configured_lifetime(lifetime):
    server = new_server(nonce_lifetime=lifetime)
    challenge = challenge_of(server, 1000.0)
    assert verify(server, credentials_for(challenge, nc=1), now=1000.0 + lifetime).valid
    late = verify(server, credentials_for(challenge, nc=2), now=1000.0 + lifetime + 1)
    assert late.outcome is Outcome.STALE and "expired" in late.reason
    # An expired nonce with the wrong password is simply wrong: stale is only for the right password.
    wrong = verify(server, credentials_for(challenge, nc=3, password="nope"), now=1000.0 + lifetime + 1)
    assert wrong.outcome is Outcome.REJECTED


def test_a_nonce_from_the_future_is_stale():
    server = new_server()
    challenge = challenge_of(server, 1000.0)
    assert verify(server, credentials_for(challenge), now=999.0).valid  # within the clock skew
    assert verify(server, credentials_for(challenge_of(server, 1000.0)), now=900.0).outcome is Outcome.STALE


def test_nonces_are_signed_by_the_secret():
    server = new_server()
    challenge = challenge_of(server, 0.0)
    other = new_server(secret=b"another secret, also long enough")
    assert verify(other, credentials_for(challenge), now=0.0).outcome is Outcome.STALE
    # a nonce with one character changed is not ours either (the response is computed over it)
    nonce = challenge.nonce
    tampered = nonce[:5] + ("A" if nonce[5] != "A" else "B") + nonce[6:]
    verdict = verify(server, credentials_for(attrs.evolve(challenge, nonce=tampered)), now=0.0)
    assert verdict.outcome is Outcome.STALE and "not issued" in verdict.reason
    # a nonce of another realm (same secret) is not usable here
    elsewhere = new_server(realm="example.org")
    moved = attrs.evolve(challenge_of(elsewhere, 0.0), realm=REALM)
    assert verify(server, credentials_for(moved), now=0.0).outcome is Outcome.STALE


def test_the_nonce_count_table_is_bounded_and_never_reopens_a_replay():
    server = new_server(max_tracked_nonces=2)
    first, second, third = (challenge_of(server, t) for t in (0.0, 1.0, 2.0))
    for challenge in (first, second, third):
        assert verify(server, credentials_for(challenge, nc=1), now=3.0).valid
    assert len(server._counts) == 2
    # `first` was forgotten: its next use cannot be checked for replay, so it is stale
    assert verify(server, credentials_for(first, nc=2), now=4.0).outcome is Outcome.STALE
    assert verify(server, credentials_for(third, nc=2), now=4.0).valid
    assert verify(server, credentials_for(challenge_of(server, 5.0), nc=1), now=5.0).valid


def test_expired_nonces_leave_the_table():
    server = new_server(nonce_lifetime=10.0)
    for t in range(5):
        assert verify(server, credentials_for(challenge_of(server, float(t))), now=float(t)).valid
    assert verify(server, credentials_for(challenge_of(server, 100.0)), now=100.0).valid
    assert len(server._counts) == 1


def test_the_secret_must_be_long_enough():
    with pytest.raises(ValueError):
        DigestServer(realm=REALM, secret=b"short", random_bytes=counting_random())


# --------------------------------------------------------------------------
# Credentials in a request


def register(*authorizations: str) -> Request:
    headers = [("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1"), ("From", "<sip:1001@example.com>;tag=a"),
               ("To", "<sip:1001@example.com>"), ("Call-ID", "c1"), ("CSeq", "1 REGISTER")]
    headers += [("Authorization", value) for value in authorizations]
    return Request("REGISTER", URI, headers)


def test_credentials_in_a_request_are_those_for_our_realm():
    server = new_server()
    ours = credentials_for(challenge_of(server, 0.0))
    theirs = attrs.evolve(ours, realm="other.example.com")
    found = server.credentials_in(register("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", theirs.header_value(),
                                           ours.header_value()))
    assert found == ours
    assert server.credentials_in(register()) is None
    assert server.credentials_in(register(theirs.header_value())) is None
    with pytest.raises(DigestError):
        server.credentials_in(register('Digest username="1001", realm="example.com"'))


# --------------------------------------------------------------------------
# The header grammar


def test_quoted_strings_unescape_and_names_and_scheme_ignore_case():
    text = ('  dIgEsT  USERNAME = "a\\"b\\\\c" ,realm="example.com",, nonce=abc/def=, URI="sip:x", '
            'Response="0123", qop="auth", NC=0000000a, cnonce="z", userhash=false, future="param"  ')
    credentials = parse_credentials(text)
    assert credentials.username == 'a"b\\c'
    assert credentials.nonce == "abc/def="  # unquoted, read leniently
    assert (credentials.qop, credentials.nc, credentials.nonce_count) == ("auth", "0000000a", 10)
    assert parse_credentials(credentials.header_value()) == credentials


def test_challenge_fields():
    challenge = parse_challenge('Digest realm="r", nonce="n", stale=TRUE, domain="sip:a sip:b", qop=auth')
    assert (challenge.stale, challenge.domain, challenge.qop, challenge.algorithm_kind) == (
        True, "sip:a sip:b", ("auth",), Algorithm.MD5)
    assert parse_challenge(challenge.header_value()) == challenge
    assert parse_challenge('Digest realm="r", nonce="n", algorithm=AKAv1-MD5').algorithm_kind is None


@pytest.mark.parametrize("text, words", [
    ("", "does not start with an authentication scheme"),
    ("Digest", "no parameters"),
    ("Digest ,, ", "no parameters"),
    ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "not Digest"),
    ('Digest username="1001', "not terminated"),
    ('Digest username="1001\\', "not terminated"),
    ("Digest username", "no '=' value"),
    ("Digest username=", "empty value"),
    ('Digest username="a" realm="b"', "expected ','"),
    ('Digest ="a"', "expected a parameter name"),
    ('Digest username="a", username="b"', "appears twice"),
    ('Digest(username="a")', "unexpected '('"),
    ('Digest username="a", realm="b", nonce="c", uri="d", response="e", nc=xyz, qop=auth, cnonce="f"',
     "nc must be 8 hexadecimal digits"),
    ('Digest username="a", realm="b", nonce="c", uri="d", response="e", nc=123456789, qop=auth, cnonce="f"',
     "nc must be 8 hexadecimal digits"),
    ('Digest username="a", realm="b", nonce="c", uri="d", response="e", qop=auth', "qop needs both nc and cnonce"),
    ('Digest username="a", realm="b", nonce="c", uri="d"', "has no response"),
    ('Digest realm="b", nonce="c", uri="d", response="e"', "has no username"),
    ('Digest username="a\r\nX: y", realm="b"', "CR, LF or NUL"),
    ('Digest username="' + "a" * 9000 + '"', "longer than"),
    ("Digest " + ", ".join(f"p{i}=1" for i in range(40)), "more than 32 parameters"),
    ('Digest username="\ud800"', "not text"),
])
def test_garbage_is_refused_with_a_reason(text, words):
    with pytest.raises(DigestError) as caught:
        parse_credentials(text)
    assert words in caught.value.reason


@pytest.mark.parametrize("text, words", [
    ('Digest nonce="n"', "has no realm"),
    ('Digest realm="r"', "has no nonce"),
    ("Bearer abc", "not Digest"),
])
def test_bad_challenges_are_refused_with_a_reason(text, words):
    with pytest.raises(DigestError) as caught:
        parse_challenge(text)
    assert words in caught.value.reason


# --------------------------------------------------------------------------
# The client side


def challenge_response(status: int, *values: str) -> Response:
    name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    return Response(status, headers=[(name, value) for value in values])


def test_the_client_answers_the_first_challenge_it_can_and_the_server_accepts_it():
    server = new_server()
    client = DigestClient("1001", PASSWORD, counting_random())
    headers = server.challenge_headers(0.0)
    response = challenge_response(401, 'Digest realm="example.com", nonce="n", algorithm=AKAv1-MD5',
                                  *(value for _, value in headers))
    name, value = client.answer(response, method="REGISTER", uri=URI)
    assert name == "Authorization"
    credentials = parse_credentials(value)
    assert credentials.algorithm == "SHA-256"
    assert verify(server, credentials, now=1.0).valid


def test_the_client_answers_407_with_proxy_authorization():
    server = new_server(proxy=True)
    client = DigestClient("trunk", PASSWORD, counting_random())
    response = challenge_response(407, *(value for _, value in server.challenge_headers(0.0, [Algorithm.MD5])))
    name, value = client.answer(response, method="INVITE", uri="sip:+13175550199@sbc.example.com")
    assert name == "Proxy-Authorization"
    assert server.verify(parse_credentials(value), method="INVITE", uri="sip:+13175550199@sbc.example.com",
                         secret=StoredSecret(password=PASSWORD), now=0.0).valid


def test_the_client_counts_requests_per_nonce_and_echoes_opaque():
    server = new_server()
    client = DigestClient("1001", PASSWORD, counting_random())
    challenge = attrs.evolve(challenge_of(server, 0.0), opaque="op aque")
    first = client.authorize(challenge, method="REGISTER", uri=URI)
    second = client.authorize(challenge, method="REGISTER", uri=URI)
    assert (first.nc, second.nc) == ("00000001", "00000002")
    assert first.cnonce != second.cnonce
    assert first.opaque == "op aque" and 'opaque="op aque"' in first.header_value()
    assert verify(server, first, now=0.0).valid and verify(server, second, now=0.0).valid
    fresh = client.authorize(challenge_of(server, 1.0), method="REGISTER", uri=URI)
    assert fresh.nc == "00000001"


def test_the_client_refuses_what_it_cannot_answer():
    client = DigestClient("u", "p", counting_random())
    with pytest.raises(DigestError, match="AKAv1-MD5"):
        client.answer(challenge_response(401, 'Digest realm="r", nonce="n", algorithm=AKAv1-MD5'),
                      method="REGISTER", uri=URI)
    with pytest.raises(DigestError, match="qop"):
        client.answer(challenge_response(401, 'Digest realm="r", nonce="n", qop="auth-conf"'),
                      method="REGISTER", uri=URI)
    with pytest.raises(DigestError):
        client.answer(challenge_response(401, "garbage ="), method="REGISTER", uri=URI)
    with pytest.raises(DigestError, match="no challenge"):
        client.answer(Response(200), method="REGISTER", uri=URI)


def test_session_variants_sha512_256_and_auth_int_follow_rfc7616():
    challenge = DigestChallenge(realm="r", nonce="n", algorithm="SHA-512-256-sess", qop=("auth-int",))
    credentials = answer_challenge(challenge, username="u", password="p", method="MESSAGE", uri="sip:x",
                                   cnonce="c", nc=2, body=b"hello")

    def h(data: str | bytes) -> str:
        return hashlib.new("sha512_256", data.encode() if isinstance(data, str) else data).hexdigest()

    ha1 = h(f"{h('u:r:p')}:n:c")
    ha2 = h(f"MESSAGE:sip:x:{h(b'hello')}")
    assert credentials.response == h(f"{ha1}:n:00000002:c:auth-int:{ha2}")
    md5_sess = answer_challenge(attrs.evolve(challenge, algorithm="MD5-sess", qop=()), username="u", password="p",
                                method="MESSAGE", uri="sip:x", cnonce="c")
    assert md5_sess.cnonce == "c" and md5_sess.nc is None  # -sess needs the cnonce even without qop
    assert md5_sess.response == md5(f"{md5(md5('u:r:p') + ':n:c')}:n:{md5('MESSAGE:sip:x')}")


# --------------------------------------------------------------------------
# Properties

users = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
passwords = st.text(min_size=1, max_size=30)
methods = st.sampled_from(["REGISTER", "INVITE", "SUBSCRIBE", "MESSAGE", "BYE", "OPTIONS"])
request_uris = st.builds(lambda user, host: f"sip:{user}@{host}" if user else f"sip:{host}",
                         st.text("abc123", max_size=6), st.sampled_from(["example.com", "10.0.0.1", "pbx.local:5060"]))
stores = st.sampled_from(["password", "ha1"])


def secret_of(store: str, username: str, password: str) -> StoredSecret:
    if store == "password":
        return StoredSecret(password=password)
    return StoredSecret(ha1_md5=md5(f"{username}:{REALM}:{password}"))


@settings(max_examples=150, deadline=None)
@given(username=users, password=passwords, method=methods, uri=request_uris, store=stores,
       use_sha=st.booleans(), requests=st.integers(1, 4), now=st.floats(0, 1e9))
def test_what_the_client_computes_the_server_accepts(username, password, method, uri, store, use_sha, requests,
                                                     now):
    server = new_server()
    secret = secret_of(store, username, password)
    algorithm = Algorithm.SHA256 if use_sha and store == "password" else Algorithm.MD5
    client = DigestClient(username, password, counting_random())
    challenge = challenge_of(server, now, algorithm)
    for _ in range(requests):  # the client may reuse a nonce; each use counts up
        sent = parse_credentials(client.authorize(challenge, method=method, uri=uri).header_value())
        assert server.verify(sent, method=method, uri=uri, secret=secret, now=now).valid


@settings(max_examples=150, deadline=None)
@given(username=users, password=passwords, method=methods, uri=request_uris, store=stores,
       nc=st.integers(1, 1000), change=st.sampled_from(["password", "method", "uri", "uri-param", "nonce", "nc"]),
       other=st.text(min_size=1, max_size=8))
def test_any_change_breaks_the_response(username, password, method, uri, store, nc, change, other):
    server = new_server()
    challenge = challenge_of(server, 0.0)
    credentials = answer_challenge(challenge, username=username, password=password, method=method, uri=uri,
                                   cnonce="cn", nc=nc)
    secret = secret_of(store, username, password)
    request_method, request_uri = method, uri
    if change == "password":
        assume(other != password)
        secret = secret_of(store, username, other)
    elif change == "method":
        request_method = method + "X"
    elif change == "uri":  # the request went elsewhere than the credentials say
        request_uri = uri.replace("sip:", "sip:x", 1)
        assume(not uri_equal(request_uri, uri))
    elif change == "uri-param":  # the uri parameter was edited to match the request
        request_uri = uri.replace("sip:", "sip:x", 1)
        credentials = attrs.evolve(credentials, uri=request_uri)
    elif change == "nonce":  # another nonce of ours, equally valid
        credentials = attrs.evolve(credentials, nonce=challenge_of(server, 0.0).nonce)
    else:
        credentials = attrs.evolve(credentials, nc=f"{nc + 1:08x}")
    verdict = server.verify(credentials, method=request_method, uri=request_uri, secret=secret, now=0.0)
    assert verdict.outcome is Outcome.REJECTED


header_text = st.text(st.sampled_from(list('Digest usernamrlco=",\\ \t\x01;:<>@/auth') + ["\r", "é"]), max_size=80)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=200), header_text, header_text.map(lambda t: "Digest " + t)))
def test_the_parsers_raise_only_their_own_error(text):
    for parse in (parse_credentials, parse_challenge):
        try:
            parsed = parse(text)
        except DigestError as error:
            assert error.reason
        else:
            assert parse(parsed.header_value()) == parsed


safe_text = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                    min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.builds(DigestCredentials, username=safe_text, realm=safe_text, nonce=safe_text, uri=safe_text,
                 response=safe_text, cnonce=safe_text, opaque=st.none() | safe_text,
                 algorithm=st.none() | st.sampled_from(["MD5", "SHA-256", "token-x"]),
                 qop=st.sampled_from(["auth", "auth-int"]), nc=st.integers(0, 2**32 - 1).map("{:08x}".format)))
def test_credentials_survive_writing_and_reading(credentials):
    assert parse_credentials(credentials.header_value()) == credentials
