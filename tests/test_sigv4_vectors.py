"""AWS's SigV4 conformance vectors, run through sesclient.sigv4.

The vectors live beside the repository in ``../shared/vectors`` (see its
README.md) and are read in place, never copied.  Two suites:

* ``sigv4/``: the classic suite (34 cases, header signing only: it has no
  presigned expectations).  Expected: ``.creq``, ``.sts``, ``.authz`` and the
  signed request ``.sreq`` (compared by meaning; its Authorization comes from
  ``.authz`` because ``get-vanilla-with-session-token.sreq`` carries a stale
  signature).
* ``sigv4-aws-c-auth/``: the v4 suite (38 cases), each signed both with an
  Authorization header and as a presigned URL.

Each case checks the canonical request, the string to sign and the signature
exactly, and that :func:`verify_request` accepts what was signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from sesclient.sigv4 import (
    SignatureError,
    canonical_request,
    credential_scope,
    derive_signing_key,
    payload_hash,
    presign_url,
    sign_request,
    signature,
    string_to_sign,
    verify_request,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
CLASSIC = VECTORS / "sigv4"
CAUTH = VECTORS / "sigv4-aws-c-auth"
MISSING = (
    f"../shared/vectors not found ({VECTORS}): SigV4 vectors live beside the repo, "
    "in the project's shared/ folder"
)
UNNORMALISED = "S3-style unnormalised path: SES (non-S3) always normalises"

# The suite's fixed parameters (README "Fixed suite parameters").
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
AMZ_DATE = "20150830T123600Z"
SCOPE = f"20150830/{REGION}/{SERVICE}/aws4_request"
SHORT_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    @property
    def url(self) -> str:
        return f"https://example.amazonaws.com{self.target}"


def parse_request(text: str) -> RawRequest:
    """Parse the suites' raw HTTP text.

    The request line may hold raw spaces (``GET /example space/ HTTP/1.1``);
    a line starting with whitespace continues the previous header (obs-fold).
    """
    lines = text.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rpartition(" ")[0]
    headers: list[tuple[str, str]] = []
    index = 1
    while index < len(lines) and lines[index] != "":
        line = lines[index]
        if line[:1] in (" ", "\t"):
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
        index += 1
    body = "\n".join(lines[index + 1 :]).encode()
    return RawRequest(method, target, headers, body)


def header_meaning(headers: list[tuple[str, str]] | dict[str, str]) -> dict[str, str]:
    """Headers by lower-case name, repeats joined with ',', whitespace folded."""
    items = headers.items() if isinstance(headers, dict) else headers
    merged: dict[str, list[str]] = {}
    for name, value in items:
        merged.setdefault(name.lower(), []).append(" ".join(value.split()))
    return {name: ",".join(values) for name, values in merged.items()}


def query_meaning(query: str) -> list[tuple[str, str]]:
    """Query pairs decoded, sorted: raw UTF-8 and %-escapes compare equal."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return sorted(pairs)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def signature_of(authorization: str) -> str:
    return authorization.rpartition("Signature=")[2]


def check_pieces(request: RawRequest, signed_headers: dict[str, str] | list, query: str) -> tuple:
    """Task 1 to 3 through the public pieces, from the request as it will be sent."""
    creq = canonical_request(
        request.method, request.path, query, signed_headers, payload_hash(request.body)
    )
    sts = string_to_sign(AMZ_DATE, credential_scope("20150830", REGION, SERVICE), creq)
    sig = signature(derive_signing_key(SECRET, "20150830", REGION, SERVICE), sts)
    return creq, sts, sig


def verify(request: RawRequest, headers, query: str):
    return verify_request(
        request.method,
        request.path,
        query,
        headers,
        request.body,
        lookup_secret={ACCESS_KEY: SECRET}.get,
        now=WHEN,
    )


# --------------------------------------------------------------------------
# Classic suite
# --------------------------------------------------------------------------


def _classic_cases() -> list:
    if not CLASSIC.is_dir():
        return [pytest.param(None, id="classic-vectors-missing", marks=pytest.mark.skip(MISSING))]
    return [
        pytest.param(req.parent, id=str(req.parent.relative_to(CLASSIC)))
        for req in sorted(CLASSIC.rglob("*.req"))
    ]


def _long_token() -> str:
    text = read(CLASSIC / "post-sts-token" / "readme.txt")
    marker = "example value for X-Amz-Security-Token:"
    return text.split(marker, 1)[1].strip()


def test_classic_suite_is_complete():
    if not CLASSIC.is_dir():
        pytest.skip(MISSING)
    assert len(list(CLASSIC.rglob("*.req"))) == 34


@pytest.mark.parametrize("case_dir", _classic_cases())
def test_classic_header_signing(case_dir: Path):
    name = case_dir.name
    request = parse_request(read(case_dir / f"{name}.req"))
    expected_creq = read(case_dir / f"{name}.creq")
    expected_sts = read(case_dir / f"{name}.sts")
    expected_authz = read(case_dir / f"{name}.authz")

    token_after = None
    if name == "get-vanilla-with-session-token":
        creds = Creds(ACCESS_KEY, SECRET, SHORT_TOKEN)
    elif name == "post-sts-header-before":
        creds = Creds(ACCESS_KEY, SECRET, _long_token())
    elif name == "post-sts-header-after":
        # The token is added after signing, so it is left out of the signature.
        creds = Creds(ACCESS_KEY, SECRET)
        token_after = _long_token()
    else:
        creds = Creds(ACCESS_KEY, SECRET)

    sent = sign_request(
        request.method,
        request.url,
        request.headers,
        request.body,
        credentials=creds,
        region=REGION,
        service=SERVICE,
        timestamp=WHEN,
    )
    assert sent["Authorization"] == expected_authz
    assert sent["X-Amz-Date"] == AMZ_DATE

    to_sign = {k: v for k, v in sent.items() if k != "Authorization"}
    creq, sts, sig = check_pieces(request, to_sign, request.query)
    assert creq == expected_creq
    assert sts == expected_sts
    assert sig == signature_of(expected_authz)

    if token_after is not None:
        sent["X-Amz-Security-Token"] = token_after

    sreq = parse_request(read(case_dir / f"{name}.sreq"))
    expected_headers = header_meaning(sreq.headers)
    expected_headers["authorization"] = expected_authz  # .sreq may be stale, .authz is right
    assert header_meaning(sent) == expected_headers
    assert (sreq.method, sreq.target) == (request.method, request.target)

    verified = verify(request, sent, request.query)
    assert verified.access_key_id == ACCESS_KEY
    assert verified.session_token == (token_after or creds.session_token)


@pytest.mark.parametrize("case_dir", _classic_cases())
def test_classic_query_signing_round_trips(case_dir: Path):
    """The classic suite has no presigned expectations: presign each request and verify it."""
    name = case_dir.name
    request = parse_request(read(case_dir / f"{name}.req"))
    headers = [
        (n, v)
        for n, v in request.headers
        if n.lower() not in ("x-amz-date", "x-amz-security-token")
    ]
    token = SHORT_TOKEN if "token" in name or "sts" in name else None
    url = presign_url(
        request.method,
        request.url,
        credentials=Creds(ACCESS_KEY, SECRET, token),
        region=REGION,
        service=SERVICE,
        expires=3600,
        timestamp=WHEN,
        headers=headers,
        body=request.body,
    )
    query = url.partition("?")[2]
    verified = verify(request, headers, query)
    assert verified.presigned and verified.expires == 3600
    assert verified.session_token == token
    # Each signed header really is covered: change one and the signature fails.
    for index, (header, value) in enumerate(headers):
        tampered = list(headers)
        tampered[index] = (header, value + "x")
        with pytest.raises(SignatureError) as caught:
            verify(request, tampered, query)
        assert caught.value.code == "SignatureDoesNotMatch"


# --------------------------------------------------------------------------
# aws-c-auth v4 suite
# --------------------------------------------------------------------------


def _cauth_cases() -> list:
    if not CAUTH.is_dir():
        return [
            pytest.param(None, None, id="c-auth-vectors-missing", marks=pytest.mark.skip(MISSING))
        ]
    cases = []
    for context_file in sorted(CAUTH.glob("*/context.json")):
        context = json.loads(read(context_file))
        for mode in ("header", "query"):
            marks = () if context["normalize"] else pytest.mark.skip(UNNORMALISED)
            cases.append(
                pytest.param(
                    context_file.parent, mode, id=f"{context_file.parent.name}-{mode}", marks=marks
                )
            )
    return cases


def test_cauth_suite_is_complete():
    if not CAUTH.is_dir():
        pytest.skip(MISSING)
    contexts = [json.loads(read(p)) for p in CAUTH.glob("*/context.json")]
    assert len(contexts) == 38
    assert sum(1 for c in contexts if not c["normalize"]) == 7


def _cauth_context(case_dir: Path) -> dict:
    context = json.loads(read(case_dir / "context.json"))
    # The suite's parameters are the fixed ones this file signs with.
    assert context["credentials"]["access_key_id"] == ACCESS_KEY
    assert context["credentials"]["secret_access_key"] == SECRET
    assert (context["region"], context["service"]) == (REGION, SERVICE)
    assert datetime.fromisoformat(context["timestamp"].replace("Z", "+00:00")) == WHEN
    return context


@pytest.mark.parametrize(("case_dir", "mode"), _cauth_cases())
def test_cauth(case_dir: Path, mode: str):
    context = _cauth_context(case_dir)
    request = parse_request(read(case_dir / "request.txt"))
    token = context["credentials"].get("token")
    omit_token = bool(context.get("omit_session_token"))
    creds = Creds(ACCESS_KEY, SECRET, None if omit_token else token)
    expected_creq = read(case_dir / f"{mode}-canonical-request.txt")
    expected_sts = read(case_dir / f"{mode}-string-to-sign.txt")
    expected_sig = read(case_dir / f"{mode}-signature.txt").strip()
    signed_request = parse_request(read(case_dir / f"{mode}-signed-request.txt"))

    if mode == "header":
        headers = list(request.headers)
        if context["sign_body"]:
            headers.append(("x-amz-content-sha256", hashlib.sha256(request.body).hexdigest()))
        sent = sign_request(
            request.method,
            request.url,
            headers,
            request.body,
            credentials=creds,
            region=REGION,
            service=SERVICE,
            timestamp=WHEN,
        )
        to_sign = {k: v for k, v in sent.items() if k != "Authorization"}
        creq, sts, sig = check_pieces(request, to_sign, request.query)
        assert signature_of(sent["Authorization"]) == expected_sig
        if omit_token:
            sent["X-Amz-Security-Token"] = token
        assert header_meaning(sent) == header_meaning(signed_request.headers)
        assert signed_request.target == request.target
        verified = verify(request, sent, request.query)
        assert verified.session_token == token
    else:
        url = presign_url(
            request.method,
            request.url,
            credentials=creds,
            region=REGION,
            service=SERVICE,
            expires=context["expiration_in_seconds"],
            timestamp=WHEN,
            headers=request.headers,
            body=request.body,
        )
        assert url.startswith(request.url.partition("?")[0] + "?")
        query = url.partition("?")[2]
        assert dict(query_meaning(query))["X-Amz-Signature"] == expected_sig
        unsigned_query = "&".join(
            p for p in query.split("&") if not p.startswith("X-Amz-Signature=")
        )
        creq, sts, sig = check_pieces(request, request.headers, unsigned_query)
        if omit_token:
            query += "&X-Amz-Security-Token=" + quote(token, safe="-_.~")
        assert query_meaning(query) == query_meaning(signed_request.query)
        assert signed_request.path == request.path
        assert header_meaning(signed_request.headers) == header_meaning(request.headers)
        if omit_token:
            # A presigned query's parameters are all signed; a token slipped in
            # afterwards is refused rather than trusted.
            with pytest.raises(SignatureError) as caught:
                verify(request, request.headers, query)
            assert caught.value.code == "SignatureDoesNotMatch"
        else:
            verified = verify(request, request.headers, query)
            assert verified.presigned and verified.session_token == token

    assert creq == expected_creq
    assert sts == expected_sts
    assert sig == expected_sig


# --------------------------------------------------------------------------
# Signing key derivation
# --------------------------------------------------------------------------


def test_signing_key_matches_the_published_example():
    # AWS's documented key-derivation example (IAM, 2012-02-15).
    key = derive_signing_key(SECRET, "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_key_is_the_hmac_chain_and_cached_per_scope():
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    for secret, date, region, service in [
        ("s3cr3t", "20240101", "eu-west-1", "ses"),
        ("s3cr3t", "20240102", "eu-west-1", "ses"),
        ("other", "20240101", "eu-west-1", "ses"),
        ("s3cr3t", "20240101", "us-east-1", "ses"),
        ("s3cr3t", "20240101", "eu-west-1", "email"),
    ]:
        chain = step(
            step(step(step(f"AWS4{secret}".encode(), date), region), service), "aws4_request"
        )
        assert derive_signing_key(secret, date, region, service) == chain
        assert derive_signing_key(secret, date, region, service) == chain  # from the cache
