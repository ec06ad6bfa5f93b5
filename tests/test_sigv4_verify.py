"""verify_request: the server side of sesclient.sigv4, checked against sign_request.

Requests are signed with :func:`sign_request` / :func:`presign_url` and then
handed to :func:`verify_request` the way a server receives them: the raw path
and query from the request line, the headers the HTTP client sends (plus the
ones it adds, like Host and User-Agent), and the body bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from sesclient import sigv4
from sesclient.sigv4 import (
    SignatureError,
    VerifiedRequest,
    canonical_request,
    payload_hash,
    presign_url,
    sign_request,
    verify_request,
)

WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+token/with=chars"
REGION = "us-east-1"
SERVICE = "ses"
V2 = "https://email.us-east-1.amazonaws.com"


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


CREDS = Creds(ACCESS_KEY, SECRET)
CREDS_WITH_TOKEN = Creds(ACCESS_KEY, SECRET, TOKEN)
SECRETS = {ACCESS_KEY: SECRET}


@dataclass
class Received:
    """A request as the server sees it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def verify(self, **overrides) -> VerifiedRequest:
        kwargs = {"lookup_secret": SECRETS.get, "now": WHEN}
        kwargs.update(overrides)
        return verify_request(self.method, self.path, self.query, self.headers, self.body, **kwargs)


def _host_of(url: str) -> str:
    authority = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    scheme = url.split("://", 1)[0]
    for default in (":443",) if scheme == "https" else (":80",):
        authority = authority.removesuffix(default)
    return authority


def send(method, url, headers, body, *, creds=CREDS, when=WHEN) -> Received:
    """Sign like the client and deliver like an HTTP client (which adds Host, User-Agent)."""
    signed = sign_request(
        method,
        url,
        headers,
        body,
        credentials=creds,
        region=REGION,
        service=SERVICE,
        timestamp=when,
    )
    wire_headers = [("Host", _host_of(url)), *signed.items()]
    wire_headers += [("User-Agent", "httpx/0.27"), ("Accept-Encoding", "gzip")]
    if body:
        wire_headers.append(("Content-Length", str(len(body))))
    target = url.split("://", 1)[1]
    target = target[target.find("/") :] if "/" in target else "/"
    path, _, query = target.partition("?")
    if isinstance(body, str):
        body = body.encode()
    return Received(method, path, query, wire_headers, body)


def expect_error(received: Received, code: str, **overrides) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        received.verify(**overrides)
    assert caught.value.code == code, caught.value
    return caught.value


REQUESTS = {
    "v1-send-email": (
        "POST",
        "https://email.us-east-1.amazonaws.com/",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=SendEmail&Version=2010-12-01&Source=a%40example.com",
    ),
    "v2-send-email": (
        "POST",
        f"{V2}/v2/email/outbound-emails",
        {"Content-Type": "application/json"},
        b'{"FromEmailAddress":"a@example.com","Content":{}}',
    ),
    "v2-identity-escaped": (
        "GET",
        f"{V2}/v2/email/identities/user%2Btag%40example.com",
        {},
        b"",
    ),
    "v2-list-query": (
        "GET",
        f"{V2}/v2/email/identities?PageSize=10&NextToken=ab%2Bc%2F%3D&PageSize=20",
        {"Accept": "application/json"},
        b"",
    ),
    "local-endpoint-port": (
        "PUT",
        "http://127.0.0.1:8025/v2/email/templates/caf%C3%A9",
        {"Content-Type": "application/json", "X-Custom": "  spaced   out  "},
        '{"TemplateContent":{"Subject":"café"}}',
    ),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("creds", [CREDS, CREDS_WITH_TOKEN], ids=["no-token", "token"])
def test_verify_accepts_what_sign_request_signs(name, creds):
    method, url, headers, body = REQUESTS[name]
    received = send(method, url, headers, body, creds=creds)
    verified = received.verify()
    assert verified == VerifiedRequest(
        access_key_id=ACCESS_KEY,
        region=REGION,
        service=SERVICE,
        signed_at=WHEN,
        signed_headers=verified.signed_headers,
        presigned=False,
        expires=None,
        session_token=creds.session_token,
    )
    expected_signed = {"host", "x-amz-date", *(h.lower() for h in headers)}
    if creds.session_token:
        expected_signed.add("x-amz-security-token")
    assert set(verified.signed_headers) == expected_signed
    assert "user-agent" not in verified.signed_headers


def test_server_side_headers_may_be_bytes():
    received = send("POST", f"{V2}/v2/email/outbound-emails", {"Content-Type": "a/b"}, b"{}")
    raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in received.headers]
    verified = verify_request(
        "POST", received.path, received.query, raw, b"{}", lookup_secret=SECRETS.get, now=WHEN
    )
    assert verified.access_key_id == ACCESS_KEY


def test_escaped_identity_path_is_double_encoded_like_botocore():
    # botocore sends /v2/email/identities/user%2Btag%40example.com and signs
    # /v2/email/identities/user%252Btag%2540example.com (see the vectors README).
    received = send("GET", f"{V2}/v2/email/identities/user%2Btag%40example.com", {}, b"")
    creq = canonical_request(
        "GET", received.path, received.query, received.headers, payload_hash(b"")
    )
    assert creq.split("\n")[1] == "/v2/email/identities/user%252Btag%2540example.com"
    received.verify()


def test_body_may_arrive_as_memoryview_or_bytearray():
    received = send("POST", f"{V2}/v2/email/outbound-emails", {}, b'{"a":1}')
    for body in (bytearray(received.body), memoryview(received.body)):
        verify_request(
            "POST",
            received.path,
            received.query,
            received.headers,
            body,
            lookup_secret=SECRETS.get,
            now=WHEN,
        )


# --------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------


def _v2_send() -> Received:
    return send(
        "POST",
        f"{V2}/v2/email/outbound-emails",
        {"Content-Type": "application/json", "X-Custom": "signed"},
        b'{"FromEmailAddress":"a@example.com"}',
        creds=CREDS_WITH_TOKEN,
    )


def test_wrong_secret_is_signature_does_not_match():
    error = expect_error(
        _v2_send(), "SignatureDoesNotMatch", lookup_secret={ACCESS_KEY: SECRET + "x"}.get
    )
    assert error.status_code == 403
    assert "does not match" in error.message


def test_unknown_access_key_is_invalid_client_token_id():
    error = expect_error(_v2_send(), "InvalidClientTokenId", lookup_secret=lambda key: None)
    assert error.status_code == 403


def test_lookup_secret_receives_the_access_key_id():
    seen = []
    _v2_send().verify(lookup_secret=lambda key: seen.append(key) or SECRET)
    assert seen == [ACCESS_KEY]


def test_clock_skew_boundaries():
    received = _v2_send()
    received.verify(now=WHEN + timedelta(minutes=15))
    received.verify(now=WHEN - timedelta(minutes=15))
    error = expect_error(received, "SignatureExpired", now=WHEN + timedelta(minutes=25))
    assert error.message == (
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z "
        "(20150830T130100Z - 15 min.)"
    )
    error = expect_error(received, "RequestTimeTooSkewed", now=WHEN - timedelta(minutes=16))
    assert error.message == (
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z "
        "(20150830T122000Z + 15 min.)"
    )
    expect_error(
        received,
        "SignatureExpired",
        now=WHEN + timedelta(minutes=6),
        max_skew=timedelta(minutes=5),
    )


def test_naive_now_is_utc():
    _v2_send().verify(now=WHEN.replace(tzinfo=None))
    expect_error(_v2_send(), "SignatureExpired", now=WHEN.replace(tzinfo=None) + timedelta(hours=1))


def _replace_header(received: Received, name: str, value: str) -> Received:
    headers = [(n, value if n.lower() == name else v) for n, v in received.headers]
    assert headers != received.headers
    return Received(received.method, received.path, received.query, headers, received.body)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda r: Received(r.method, r.path, r.query, r.headers, r.body + b" "), id="body"
        ),
        pytest.param(lambda r: Received("PUT", r.path, r.query, r.headers, r.body), id="method"),
        pytest.param(
            lambda r: Received(r.method, r.path + "x", r.query, r.headers, r.body), id="path"
        ),
        pytest.param(
            lambda r: Received(r.method, r.path, "a=1", r.headers, r.body), id="query-added"
        ),
        pytest.param(lambda r: _replace_header(r, "x-custom", "changed"), id="signed-header"),
        pytest.param(lambda r: _replace_header(r, "content-type", "text/plain"), id="content-type"),
        pytest.param(lambda r: _replace_header(r, "host", "evil.example.com"), id="host"),
        pytest.param(
            lambda r: _replace_header(r, "x-amz-security-token", TOKEN + "x"), id="session-token"
        ),
        pytest.param(
            lambda r: _replace_header(r, "x-amz-date", "20150830T123601Z"), id="date-same-day"
        ),
    ],
)
def test_tampering_breaks_the_signature(tamper):
    expect_error(tamper(_v2_send()), "SignatureDoesNotMatch")


def test_unsigned_headers_may_change():
    received = _replace_header(_v2_send(), "user-agent", "something-else/1.0")
    received.headers.append(("X-Added-By-Proxy", "1"))
    received.verify()


def test_date_outside_the_credential_scope_is_refused():
    received = _replace_header(_v2_send(), "x-amz-date", "20150831T000100Z")
    error = expect_error(
        received, "SignatureDoesNotMatch", now=datetime(2015, 8, 31, 0, 1, tzinfo=timezone.utc)
    )
    assert "Credential scope" in error.message


def test_missing_authentication_token():
    received = _v2_send()
    received.headers = [(n, v) for n, v in received.headers if n.lower() != "authorization"]
    expect_error(received, "MissingAuthenticationToken")


def _with_authorization(value: str) -> Received:
    return _replace_header(_v2_send(), "authorization", value)


CREDENTIAL = f"Credential={ACCESS_KEY}/20150830/{REGION}/{SERVICE}/aws4_request"


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256",
        f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=host;x-amz-date",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        f"AWS4-HMAC-SHA256 {CREDENTIAL}, Signature=" + "0" * 64,
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20150830/{REGION}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20150830/{REGION}/{SERVICE}/aws5_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=x-amz-date, Signature=" + "0" * 64,
        f"AWS {ACCESS_KEY}:c2lnbmF0dXJl",
        "AWS4-HMAC-SHA1 " + CREDENTIAL + ", SignedHeaders=host, Signature=" + "0" * 64,
    ],
    ids=[
        "algorithm-only",
        "no-signature",
        "no-credential",
        "no-signed-headers",
        "short-scope",
        "bad-terminator",
        "host-not-signed",
        "sigv2",
        "wrong-algorithm",
    ],
)
def test_malformed_authorization_is_incomplete_signature(authorization):
    error = expect_error(_with_authorization(authorization), "IncompleteSignature")
    assert error.status_code == 400


@pytest.mark.parametrize("signature", ["0" * 64, "abc", "é" * 64, ""])
def test_bogus_signature_values_do_not_match(signature):
    authorization = dict(_v2_send().headers)["Authorization"]
    forged = authorization.rpartition("Signature=")[0] + "Signature=" + signature
    code = "IncompleteSignature" if not signature else "SignatureDoesNotMatch"
    expect_error(_with_authorization(forged), code)


@pytest.mark.parametrize(
    "date", ["", "2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z"]
)
def test_bad_x_amz_date_is_incomplete_signature(date):
    received = _v2_send()
    received.headers = [(n, v) for n, v in received.headers if n != "X-Amz-Date"]
    if date:
        received.headers.append(("X-Amz-Date", date))
    expect_error(received, "IncompleteSignature")


# --------------------------------------------------------------------------
# Presigned URLs
# --------------------------------------------------------------------------


def _presigned(url=f"{V2}/v2/email/identities?PageSize=5", *, creds=CREDS_WITH_TOKEN, **kw):
    signed_url = presign_url(
        "GET",
        url,
        credentials=creds,
        region=REGION,
        service=SERVICE,
        timestamp=WHEN,
        **kw,
    )
    target = signed_url.split("://", 1)[1]
    path, _, query = target[target.find("/") :].partition("?")
    return signed_url, Received("GET", path, query, [("Host", _host_of(url))], b"")


def test_presigned_url_verifies():
    signed_url, received = _presigned(expires=300)
    assert signed_url.startswith(f"{V2}/v2/email/identities?PageSize=5&X-Amz-Algorithm=")
    params = dict(p.split("=", 1) for p in received.query.split("&"))
    assert params["X-Amz-Expires"] == "300"
    assert params["X-Amz-SignedHeaders"] == "host"
    assert (
        params["X-Amz-Credential"]
        == f"{ACCESS_KEY}%2F20150830%2F{REGION}%2F{SERVICE}%2Faws4_request"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", params["X-Amz-Signature"])
    verified = received.verify(now=WHEN + timedelta(seconds=300))
    assert verified.presigned and verified.expires == 300
    assert verified.session_token == TOKEN
    assert verified.signed_headers == ("host",)


def test_presigned_url_with_signed_headers():
    headers = {"X-Custom": "v", "Content-Type": "application/json"}
    _, received = _presigned(headers=headers)
    received.headers += list(headers.items())
    assert received.verify().signed_headers == ("content-type", "host", "x-custom")
    received.headers[-1] = ("Content-Type", "text/plain")
    expect_error(received, "SignatureDoesNotMatch")


def test_presigned_url_expiry():
    _, received = _presigned(expires=60)
    received.verify(now=WHEN + timedelta(seconds=60))
    error = expect_error(received, "SignatureExpired", now=WHEN + timedelta(seconds=61))
    assert "20150830T123600Z" in error.message
    expect_error(received, "RequestTimeTooSkewed", now=WHEN - timedelta(minutes=16))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda q: q.replace("PageSize=5", "PageSize=6"), "SignatureDoesNotMatch"),
        (lambda q: q + "&Extra=1", "SignatureDoesNotMatch"),
        (lambda q: q.replace("X-Amz-Expires=900", "X-Amz-Expires=1800"), "SignatureDoesNotMatch"),
        (lambda q: re.sub(r"&X-Amz-Signature=[0-9a-f]+", "", q), "IncompleteSignature"),
        (lambda q: re.sub(r"&X-Amz-Credential=[^&]+", "", q), "IncompleteSignature"),
        (lambda q: q.replace("X-Amz-Expires=900", "X-Amz-Expires=604801"), "IncompleteSignature"),
        (lambda q: q.replace("X-Amz-Expires=900", "X-Amz-Expires=soon"), "IncompleteSignature"),
        (lambda q: q.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), "IncompleteSignature"),
    ],
    ids=[
        "param-changed",
        "param-added",
        "expires-stretched",
        "no-signature",
        "no-credential",
        "expires-too-long",
        "expires-not-a-number",
        "algorithm",
    ],
)
def test_tampered_presigned_url_is_refused(change, code):
    _, received = _presigned()
    received.query = change(received.query)
    expect_error(received, code)


def test_presigned_and_header_auth_together_is_refused():
    _, received = _presigned()
    received.headers.append(("Authorization", f"AWS4-HMAC-SHA256 {CREDENTIAL}"))
    expect_error(received, "InvalidRequest")


def test_presign_url_validates_expires():
    for bad in (0, 604801, -5):
        with pytest.raises(ValueError):
            _presigned(expires=bad)
    for bad in (True, 1.5, "60"):
        with pytest.raises(TypeError):
            _presigned(expires=bad)


# --------------------------------------------------------------------------
# sign_request's contract
# --------------------------------------------------------------------------


def _sign(headers, body=b"", url=f"{V2}/v2/email/outbound-emails", **kw):
    kw.setdefault("credentials", CREDS)
    kw.setdefault("timestamp", WHEN)
    return sign_request("POST", url, headers, body, region=REGION, service=SERVICE, **kw)


def test_sign_request_returns_input_plus_auth_headers_without_mutating_input():
    headers = {"Content-Type": "application/json", "X-Custom": "1"}
    before = dict(headers)
    out = _sign(headers)
    assert headers == before
    assert list(out) == ["Content-Type", "X-Custom", "X-Amz-Date", "Authorization"]
    out = _sign(headers, credentials=CREDS_WITH_TOKEN)
    assert list(out)[-3:] == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"]
    assert out["X-Amz-Security-Token"] == TOKEN
    assert "x-amz-security-token" in out["Authorization"]


def test_sign_request_replaces_stale_auth_headers_case_insensitively():
    fresh = _sign({"Content-Type": "a/b"}, credentials=CREDS_WITH_TOKEN)
    stale = _sign(
        {
            "authorization": "old",
            "content-type": "a/b",
            "x-amz-date": "19990101T000000Z",
            "X-AMZ-SECURITY-TOKEN": "old-token",
        },
        credentials=CREDS_WITH_TOKEN,
    )
    assert {k.lower(): v for k, v in stale.items()} == {k.lower(): v for k, v in fresh.items()}
    assert len(stale) == len(fresh)


def test_a_token_header_without_token_credentials_is_kept_and_signed():
    out = _sign({"X-Amz-Security-Token": "from-caller"})
    assert out["X-Amz-Security-Token"] == "from-caller"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in out["Authorization"]


def test_repeated_headers_are_sent_once_joined():
    out = _sign([("My-Header", "b"), ("Other", "x"), ("my-header", " a "), ("MY-HEADER", "c")])
    assert out["My-Header"] == "b,a,c"
    assert "my-header" not in out and "MY-HEADER" not in out


def test_str_body_is_utf8_and_timestamps_are_utc():
    base = _sign({}, body="café".encode())
    assert _sign({}, body="café") == base
    assert _sign({}, body="café", timestamp=WHEN.replace(tzinfo=None)) == base
    paris = timezone(timedelta(hours=2))
    assert _sign({}, body="café", timestamp=WHEN.astimezone(paris)) == base
    with pytest.raises(TypeError):
        _sign({}, timestamp="20150830T123600Z")


def test_default_timestamp_is_now():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    out = _sign({}, timestamp=None)
    after = datetime.now(timezone.utc)
    signed_at = datetime.strptime(out["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= signed_at <= after


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Email.US-East-1.amazonaws.com/", "email.us-east-1.amazonaws.com"),
        ("https://email.us-east-1.amazonaws.com:443/", "email.us-east-1.amazonaws.com"),
        ("http://localhost:80/", "localhost"),
        ("http://localhost:8025/", "localhost:8025"),
        ("https://localhost:80/", "localhost:80"),
        ("https://user:pw@example.com/", "example.com"),
        ("http://[::1]:8025/", "[::1]:8025"),
        ("https://example.com?x=1", "example.com"),
        ("https://example.com#frag", "example.com"),
    ],
)
def test_host_is_derived_from_the_url(url, host):
    derived = _sign({}, url=url)
    given = _sign({"Host": host}, url=url)
    assert derived["Authorization"] == given["Authorization"]
    assert "Host" not in derived


@pytest.mark.parametrize(
    "url", ["/relative", "email.amazonaws.com/x", "https:///x", "https://h:port/"]
)
def test_bad_urls_raise_value_error(url):
    with pytest.raises(ValueError):
        _sign({}, url=url)


# --------------------------------------------------------------------------
# Secrets stay secret
# --------------------------------------------------------------------------


def test_no_secret_in_errors_reprs_or_caches():
    received = _v2_send()
    authorization = dict(received.headers)["Authorization"]
    real_signature = authorization.rpartition("Signature=")[2]
    errors: list[BaseException] = []

    def collect(rcv, **kw):
        try:
            rcv.verify(**kw)
        except SignatureError as error:
            errors.append(error)

    collect(received, lookup_secret={ACCESS_KEY: SECRET + "x"}.get)
    collect(received, lookup_secret=lambda key: None)
    collect(received, now=WHEN + timedelta(hours=1))
    collect(received, now=WHEN - timedelta(hours=1))
    collect(_replace_header(received, "x-custom", "other"))
    collect(_with_authorization(authorization.replace("Credential=", "Credential=x/")))
    collect(_with_authorization(authorization.replace(", Signature=", ", Sig=")))
    _, presigned = _presigned()
    collect(presigned, lookup_secret={ACCESS_KEY: SECRET + "x"}.get)
    presigned.query = presigned.query.replace("X-Amz-Expires=900", "X-Amz-Expires=0")
    collect(presigned)
    assert len(errors) == 9

    verified = received.verify()
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(e.args) for e in errors] + [repr(verified), str(verified)]
    texts += [repr(sigv4._KEY_CACHE), repr(list(sigv4._KEY_CACHE.values()))]
    for text in texts:
        assert SECRET not in text
        assert TOKEN not in text
        assert real_signature not in text
    for key in sigv4._KEY_CACHE.values():
        assert key.key.hex() not in repr(sigv4._KEY_CACHE)
    assert verified.session_token == TOKEN  # kept, just not shown
