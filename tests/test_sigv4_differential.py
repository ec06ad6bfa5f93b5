"""sesclient.sigv4 against botocore's signer on thousands of random requests.

Requests are generated from a fixed seed: methods, hosts with and without
ports, paths with unicode, reserved characters (percent-encoded as on the
wire), dot segments and repeated slashes, queries with repeated keys and
characters both raw and escaped (either hex case), headers with odd spacing,
unsigned hop-by-hop headers, bodies, and session tokens.  botocore gets the
query as decoded pairs and encodes it itself, the way its serializers hand it
over; sesclient gets the URL as it would go on the wire.  Both clocks are
frozen at the same instant and the resulting headers must be identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from sesclient.sigv4 import presign_url, sign_request

botocore_auth = pytest.importorskip("botocore.auth", reason="botocore is not installed")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials as BotoCredentials  # noqa: E402

SEED = 20150830
HEADER_CASES = 2000
PRESIGN_CASES = 300
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None


@pytest.fixture
def frozen_clock(monkeypatch):
    """Set botocore's signing time: ``frozen_clock[0] = datetime``."""
    holder: list[datetime] = [datetime(2015, 8, 30, 12, 36)]
    if hasattr(botocore_auth, "get_current_datetime"):
        monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda *a, **k: holder[0])
    else:  # older botocore reads datetime.datetime.utcnow() through its module global

        class _Frozen(datetime):
            @classmethod
            def utcnow(cls):  # type: ignore[override]
                return holder[0]

        class _Module:
            datetime = _Frozen

        monkeypatch.setattr(botocore_auth, "datetime", _Module)
    return holder


def _encode(text: str, rng: random.Random, *, keep: str = "") -> str:
    """Percent-encode like a client would, with the variations a server may meet."""
    lower_hex = rng.random() < 0.2
    raw_unicode = rng.random() < 0.3
    out = []
    for char in text:
        if char in UNRESERVED or char in keep or (raw_unicode and ord(char) > 127):
            out.append(char)
        else:
            for byte in char.encode():
                escape = f"%{byte:02X}"
                out.append(escape.lower() if lower_hex else escape)
    return "".join(out)


_WORDS = ["v2", "email", "identities", "outbound-emails", "a", "Z9", "~tilde", "x.y", "-_"]
_ODD = [
    "user+tag@example.com",
    "sp ace",
    "ሴ",
    "café",
    "日本語",
    "$delete",
    "a/b",
    "?q",
    "#frag",
    "%",
    "100%",
    "a=b&c",
    "(x)*'!",
    "semi;colon,comma",
    "emoji😀",
    ":@",
]
# Characters that are legal unescaped in a path segment and that a client may leave raw.
_PATH_RAW_OK = "!$&'()*+,;=:@"


def _random_text(rng: random.Random, pool: list[str]) -> str:
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))


def _random_path(rng: random.Random) -> str:
    segments = []
    for _ in range(rng.randint(0, 5)):
        roll = rng.random()
        if roll < 0.35:
            segments.append(rng.choice(_WORDS))
        elif roll < 0.75:
            keep = _PATH_RAW_OK if rng.random() < 0.3 else ""
            segments.append(_encode(_random_text(rng, _ODD + _WORDS), rng, keep=keep))
        elif roll < 0.85:
            segments.append(rng.choice([".", ".."]))
        else:
            segments.append("")  # makes "//"
    path = "/" + "/".join(segments)
    if segments and rng.random() < 0.3:
        path += "/"
    return path if rng.random() > 0.05 else ""


def _random_query(rng: random.Random) -> tuple[list[tuple[str, str]], str]:
    """(decoded pairs for botocore, the wire query string for sesclient)."""
    pairs: list[tuple[str, str]] = []
    keys = [
        rng.choice(["Param", "a", "A", "NextToken", "ሴ", "key with space", "k+", "x.y~z"])
        for _ in range(rng.randint(1, 3))
    ]
    for _ in range(rng.randint(0, 5)):
        key = rng.choice(keys)  # repeated keys on purpose
        if rng.random() < 0.2:
            key = _random_text(rng, _ODD)
        value = "" if rng.random() < 0.15 else _random_text(rng, _ODD + _WORDS + ["+/=", " "])
        pairs.append((key, value))
    # '+' and space may go raw: sesclient (like AWS) reads '+' as a plus sign.
    wire = "&".join(
        f"{_encode(k, rng, keep='+ ' if rng.random() < 0.2 else '')}"
        f"={_encode(v, rng, keep='+ ' if rng.random() < 0.2 else '')}"
        for k, v in pairs
    )
    return pairs, wire


_HEADER_NAMES = [
    "Content-Type",
    "X-Custom",
    "x-amz-meta-Thing",
    "My-Header1",
    "Accept",
    "User-Agent",  # not signed by either
    "Expect",  # not signed by either
    "X-Amzn-Trace-Id",  # not signed by either
    "Content-MD5",
]
_HEADER_VALUES = [
    "application/json",
    "  leading and trailing  ",
    "inner    runs\tof\t\twhitespace",
    "a,b, c",
    '"quoted   value"',
    "UPPER lower",
    "",
    "café",
    "x" * 40,
]


def _random_headers(rng: random.Random, host: str) -> dict[str, str]:
    headers = {}
    for name in rng.sample(_HEADER_NAMES, rng.randint(0, 4)):
        spelled = name.lower() if rng.random() < 0.3 else name
        headers[spelled] = rng.choice(_HEADER_VALUES)
    if rng.random() < 0.15:
        headers["Host"] = host
    return headers


_HOSTS = [
    ("https", "email.us-east-1.amazonaws.com"),
    ("https", "EMAIL.eu-west-1.AmazonAWS.com"),
    ("https", "email.us-west-2.amazonaws.com:443"),
    ("http", "localhost:8080"),
    ("http", "127.0.0.1:80"),
    ("https", "127.0.0.1:4566"),
    ("http", "[::1]:9000"),
]


def _random_request(rng: random.Random):
    scheme, netloc = rng.choice(_HOSTS)
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "post"])
    path = _random_path(rng)
    pairs, wire_query = _random_query(rng) if rng.random() < 0.6 else ([], "")
    host_for_header = netloc.lower().removesuffix(":443").removesuffix(":80")
    headers = _random_headers(rng, host_for_header)
    body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 0, 5, 64, 300])))
    token = None
    if rng.random() < 0.5:
        token = "".join(rng.choice(UNRESERVED + "+/=") for _ in range(rng.randint(16, 120)))
    creds = Creds(
        rng.choice(["AKIDEXAMPLE", "ASIAQWERTY1234567890"]),
        "".join(rng.choice(UNRESERVED + "+/") for _ in range(40)),
        token,
    )
    region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
    service = rng.choice(["ses", "email", "service"])
    when = datetime(2015, 1, 1, tzinfo=timezone.utc) + timedelta(
        seconds=rng.randrange(15 * 365 * 86400)
    )
    base = f"{scheme}://{netloc}{path}"
    # An empty query goes out with or without its '?'.
    empty_query = "?" if rng.random() < 0.2 else ""
    url = f"{base}?{wire_query}" if wire_query else f"{base}{empty_query}"
    return method, base, url, pairs, headers, body, creds, region, service, when


def _botocore_sign(auth_class, creds, service, region, method, base, pairs, headers, body, **kw):
    boto_creds = BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
    request = AWSRequest(method=method, url=base, headers=dict(headers), data=body, params=pairs)
    auth_class(boto_creds, service, region, **kw).add_auth(request)
    return request


def test_authorization_headers_match_botocore(frozen_clock):
    rng = random.Random(SEED)
    for case in range(HEADER_CASES):
        method, base, url, pairs, headers, body, creds, region, service, when = _random_request(rng)
        frozen_clock[0] = when.replace(tzinfo=None)
        expected = _botocore_sign(
            botocore_auth.SigV4Auth, creds, service, region, method, base, pairs, headers, body
        )
        ours = sign_request(
            method,
            url,
            headers,
            body,
            credentials=creds,
            region=region,
            service=service,
            timestamp=when,
        )
        context = f"case {case}: {method} {url} {headers!r}"
        assert ours["Authorization"] == expected.headers["Authorization"], context
        assert ours["X-Amz-Date"] == expected.headers["X-Amz-Date"], context
        assert ours.get("X-Amz-Security-Token") == expected.headers.get("X-Amz-Security-Token")
        for name, value in headers.items():
            assert ours[name] == value, context


def test_str_bodies_are_signed_as_utf8(frozen_clock):
    rng = random.Random(SEED + 1)
    for _ in range(50):
        method, base, url, pairs, headers, _, creds, region, service, when = _random_request(rng)
        text = _random_text(rng, _ODD + _WORDS)
        frozen_clock[0] = when.replace(tzinfo=None)
        expected = _botocore_sign(
            botocore_auth.SigV4Auth,
            creds,
            service,
            region,
            method,
            base,
            pairs,
            headers,
            text.encode(),
        )
        ours = sign_request(
            method,
            url,
            headers,
            text,
            credentials=creds,
            region=region,
            service=service,
            timestamp=when,
        )
        assert ours["Authorization"] == expected.headers["Authorization"]


def test_presigned_urls_match_botocore(frozen_clock):
    rng = random.Random(SEED + 2)
    for case in range(PRESIGN_CASES):
        method, base, url, pairs, headers, _, creds, region, service, when = _random_request(rng)
        # botocore's presigner folds the query into a dict, so keep keys unique;
        # it also drops one particular Content-Type, so leave Content-Type out.
        unique = list(dict(pairs).items())
        query = "&".join(f"{_encode(k, rng)}={_encode(v, rng)}" for k, v in unique)
        url = f"{base}?{query}" if query else base
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        expires = rng.choice([1, 60, 900, 3600, 604800])
        frozen_clock[0] = when.replace(tzinfo=None)
        expected = _botocore_sign(
            botocore_auth.SigV4QueryAuth,
            creds,
            service,
            region,
            method,
            base,
            unique,
            headers,
            b"",
            expires=expires,
        )
        ours = presign_url(
            method,
            url,
            credentials=creds,
            region=region,
            service=service,
            expires=expires,
            timestamp=when,
            headers=headers,
        )
        expected_signature = expected.url.rpartition("&X-Amz-Signature=")[2]
        assert ours.rpartition("&X-Amz-Signature=")[2] == expected_signature, f"case {case}: {url}"
