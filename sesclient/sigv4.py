"""AWS Signature Version 4: signing outgoing requests and verifying incoming ones.

This module is pure (no I/O) and uses the standard library only.  The client
signs every request with :func:`sign_request`; :func:`presign_url` makes
query-string-signed URLs; a server checks what it receives with
:func:`verify_request`, or with :func:`verify_parsed_request` when its HTTP
layer has already parsed the headers (as the local SES endpoint's does).  Both
directions share the same canonicalisation code, so a request that this module
signs is one that this module accepts.

The steps follow AWS's published signing process for services other than
Amazon S3 (SES is one):

* Task 1: Create a canonical request (:func:`canonical_request`).
* Task 2: Create a string to sign (:func:`string_to_sign`).
* Task 3: Calculate the signature (:func:`derive_signing_key`, :func:`signature`).
* Task 4: Add the signature to the HTTP request (:func:`sign_request`,
  :func:`presign_url`).

URLs are taken in their wire form: the path and query exactly as they will be
sent, already percent-encoded.  The canonical URI encodes that path once more
(for example the wire path ``/v2/email/identities/user%2Btag%40example.com`` is
signed as ``/v2/email/identities/user%252Btag%2540example.com``), which is what
AWS expects from non-S3 clients and what the server recomputes from the raw
request line.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Protocol, TypeAlias
from urllib.parse import quote, quote_from_bytes, unquote, unquote_to_bytes

__all__ = [
    "ALGORITHM",
    "EMPTY_PAYLOAD_HASH",
    "SignatureError",
    "SigningCredentials",
    "VerifiedRequest",
    "VerifiedScope",
    "amz_date",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "credential_scope",
    "derive_signing_key",
    "payload_hash",
    "presign_url",
    "sign_request",
    "signature",
    "string_to_sign",
    "verify_parsed_request",
    "verify_request",
]

ALGORITHM = "AWS4-HMAC-SHA256"
#: Hex SHA-256 of an empty payload.
EMPTY_PAYLOAD_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#: Longest lifetime AWS accepts for a presigned URL (seven days).
MAX_PRESIGN_EXPIRES = 604_800

# RFC 3986 unreserved characters: the only ones SigV4 leaves unescaped.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_PATH_SAFE = _UNRESERVED + "/"

# Headers that hops, proxies and tracers add, drop or rewrite on the way;
# signing them would make a valid request fail.  This is the set botocore
# leaves out, so both sign the same headers for the same request.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}

HeadersInput: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]


class SigningCredentials(Protocol):
    """What signing needs from a credentials object (duck-typed).

    Any object with these three attributes works, such as
    ``sesclient.Credentials`` or botocore's frozen credentials exposed under
    these names.
    """

    @property
    def access_key_id(self) -> str: ...

    @property
    def secret_access_key(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...


# --------------------------------------------------------------------------
# Task 1: Create a canonical request
# --------------------------------------------------------------------------


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, plus AWS's rule that empty segments (repeated
    # slashes) vanish.  A trailing slash survives only when something is left
    # before it, and a trailing "." or ".." leaves none: this matches what
    # botocore (and so AWS's own SDKs) sign.
    kept: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if kept and path.endswith("/") else ""
    return lead + "/".join(kept) + trail


def canonical_uri(path: str) -> str:
    """Task 1, step 2: "Add the canonical URI parameter".

    ``path`` is the path as it goes on the wire (percent-encoded).  Dot
    segments are resolved, repeated slashes collapsed, and then every
    character outside ``A-Z a-z 0-9 - _ . ~`` and ``/`` is percent-encoded,
    so existing escapes are encoded a second time (``%40`` becomes ``%2540``).
    An empty path is ``/``.
    """
    if not path:
        return "/"
    # The common SES path ("/", "/v2/email/outbound-emails") is already canonical.
    if path[0] == "/" and not path.strip(_PATH_SAFE) and "//" not in path and "/." not in path:
        return path
    return quote(_remove_dot_segments(path), safe="/") or "/"


def _encode_component(text: str) -> str:
    # Decode what is already escaped, then escape everything but the
    # unreserved set, so raw and pre-encoded input give the same result and
    # hex digits come out upper-case.  '+' is a literal plus, not a space.
    if not text.strip(_UNRESERVED):
        return text
    return quote_from_bytes(unquote_to_bytes(text), safe="-_.~")


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_encode_component(name), _encode_component(value)))
    return pairs


def canonical_query_string(query: str) -> str:
    """Task 1, step 3: "Add the canonical query string".

    ``query`` is the raw query (without ``?``).  Each name and value is
    RFC 3986-encoded, pairs are sorted by encoded name and then encoded
    value, repeated names are all kept, and a name without ``=`` gets an
    empty value.
    """
    if not query:
        return ""
    pairs = _query_pairs(query)
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs])


def _trim(value: str) -> str:
    # "Trimall": strip both ends and fold every whitespace run (including the
    # line breaks of an obs-folded value) to one space.
    return " ".join(value.split())


def _header_items(headers: HeadersInput | None) -> Iterable[tuple[str, str]]:
    if headers is None:
        return ()
    if type(headers) is dict or isinstance(headers, Mapping):
        return headers.items()  # type: ignore[union-attr]
    return headers  # type: ignore[return-value]


def canonical_headers(
    headers: HeadersInput, *, signed_headers: Iterable[str] | None = None
) -> tuple[str, str]:
    """Task 1, steps 4 and 5: "Add the canonical headers" and "Add the signed headers".

    Returns ``(canonical_headers, signed_headers)``: the ``name:value\\n``
    block and the ``;``-joined list of names.  Names are lower-cased; values
    are trimmed with inner whitespace runs folded to one space; a header that
    occurs more than once is joined with ``,`` in the order given.

    Without ``signed_headers`` every header is signed except the hop-by-hop
    and tracing headers that intermediaries change (``user-agent``,
    ``connection``, ``expect``, ...).  With it (a verifier passes the
    client's list), exactly those names are used, and a listed header that is
    absent canonicalises to an empty value.
    """
    values: dict[str, list[str]] = {}
    for name, value in _header_items(headers):
        lname = name.lower()
        if lname in values:
            values[lname].append(_trim(value))
        else:
            values[lname] = [_trim(value)]
    if signed_headers is None:
        names = sorted(n for n in values if n not in _UNSIGNED_HEADERS)
    else:
        names = sorted({n.strip().lower() for n in signed_headers})
    block = "".join([f"{n}:{','.join(values.get(n, ()))}\n" for n in names])
    return block, ";".join(names)


def payload_hash(body: bytes | bytearray | memoryview | str) -> str:
    """Task 1, step 6: "the hexadecimal SHA-256 hash of the request payload"."""
    if isinstance(body, str):
        body = body.encode()
    if not body:
        return EMPTY_PAYLOAD_HASH
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: HeadersInput,
    payload_sha256: str,
    *,
    signed_headers: Iterable[str] | None = None,
) -> str:
    """Task 1: Create a canonical request.

    ``CanonicalRequest = Method \\n CanonicalURI \\n CanonicalQueryString \\n
    CanonicalHeaders \\n SignedHeaders \\n HexEncode(Hash(Payload))``.

    ``path`` and ``query`` are the raw (wire) path and query string;
    ``headers`` must already contain every header to be signed (``host``,
    ``x-amz-date``, ``x-amz-security-token``).  ``signed_headers`` restricts
    and fixes the list, as a verifier does; see :func:`canonical_headers`.
    """
    block, names = canonical_headers(headers, signed_headers=signed_headers)
    return (
        f"{method.upper()}\n{canonical_uri(path)}\n{canonical_query_string(query)}\n"
        f"{block}\n{names}\n{payload_sha256}"
    )


# --------------------------------------------------------------------------
# Task 2: Create a string to sign
# --------------------------------------------------------------------------


def credential_scope(date: str, region: str, service: str) -> str:
    """Task 2, step 3: the credential scope ``YYYYMMDD/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date_value: str, scope: str, canonical_request_text: str) -> str:
    """Task 2: Create a string to sign.

    ``Algorithm \\n RequestDateTime \\n CredentialScope \\n
    HexEncode(Hash(CanonicalRequest))``.
    """
    digest = hashlib.sha256(canonical_request_text.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date_value}\n{scope}\n{digest}"


# --------------------------------------------------------------------------
# Task 3: Calculate the signature
# --------------------------------------------------------------------------


class _SigningKey:
    """A derived signing key with its HMAC pad states precomputed.

    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)).  Hashing the two padded
    key blocks once per key and copying those states per message halves the
    cost of the per-request HMAC compared with ``hmac.new`` (which redoes the
    key setup every call).
    """

    __slots__ = ("_inner", "_outer", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        block = key.ljust(64, b"\0")  # a SHA-256 key is 32 bytes, shorter than the block
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexmac(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "<SigV4 signing key (hidden)>"


_KEY_CACHE: dict[tuple[int, int, str, str, str], _SigningKey] = {}
_KEY_CACHE_SIZE = 64


def _signing_key(secret: str, date: str, region: str, service: str) -> _SigningKey:
    # Keyed by Python's (salted, per-process, cached-on-the-string) hash of the
    # secret rather than the secret itself, so the cache never holds or shows
    # it; the length is added to make an accidental collision even less likely.
    cache_key = (hash(secret), len(secret), date, region, service)
    found = _KEY_CACHE.get(cache_key)
    if found is not None:
        return found
    k_date = hmac.digest(f"AWS4{secret}".encode(), date.encode(), "sha256")
    k_region = hmac.digest(k_date, region.encode(), "sha256")
    k_service = hmac.digest(k_region, service.encode(), "sha256")
    signing = _SigningKey(hmac.digest(k_service, b"aws4_request", "sha256"))
    if len(_KEY_CACHE) >= _KEY_CACHE_SIZE:
        # Drop the oldest entry.  Another thread may race us here; losing an
        # entry or two only costs a re-derivation.
        try:
            del _KEY_CACHE[next(iter(_KEY_CACHE))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    _KEY_CACHE[cache_key] = signing
    return signing


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Task 3, step 1: "Derive your signing key".

    ``kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request")``.  Results are cached per (secret, date, region,
    service), so a steady stream of requests derives the key once a day.
    """
    return _signing_key(secret, date, region, service).key


def signature(signing_key: bytes, string_to_sign_text: str) -> str:
    """Task 3, step 2: "Calculate the signature": hex HMAC-SHA256 of the string to sign."""
    return hmac.new(signing_key, string_to_sign_text.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------
# Dates and URLs
# --------------------------------------------------------------------------

# (unix second, "YYYYMMDDTHHMMSSZ") of the last formatted time: consecutive
# requests usually fall in the same second.  A tuple swap is atomic.
_last_date: tuple[int, str] = (-1, "")


def _format_unix(second: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))


def _format_second(second: int) -> str:
    global _last_date
    cached = _last_date
    if cached[0] == second:
        return cached[1]
    text = _format_unix(second)
    _last_date = (second, text)
    return text


def amz_date(timestamp: datetime | None = None) -> str:
    """The ``X-Amz-Date`` value (ISO 8601 basic, UTC) for ``timestamp`` (default: now).

    A naive datetime is taken to be UTC; an aware one is converted to UTC.
    """
    if timestamp is None:
        return _format_second(int(time.time()))
    if not isinstance(timestamp, datetime):
        raise TypeError(f"timestamp must be a datetime or None, not {type(timestamp).__name__}")
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=timezone.utc)
    return _format_second(int(timestamp.timestamp() // 1))


def _split_url(url: str) -> tuple[str, str, str, str]:
    """``(scheme, authority, path, query)`` of an absolute URL; the fragment is dropped."""
    sep = url.find("://")
    if sep <= 0:
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = url[:sep].lower()
    rest = url[sep + 3 :].partition("#")[0]
    end = len(rest)
    for mark in "/?":
        at = rest.find(mark)
        if 0 <= at < end:
            end = at
    authority = rest[:end]
    path, _, query = rest[end:].partition("?")
    return scheme, authority, path, query


def _host_header(scheme: str, authority: str) -> str:
    # What an HTTP client sends as Host: no user info, lower case, and no
    # port when it is the scheme's default.
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        close = hostport.find("]")
        host, port = hostport[: close + 1], hostport[close + 1 :].removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if not host:
        raise ValueError(f"URL has no host: {scheme}://{authority}")
    host = host.lower()
    if port:
        if not port.isdigit():
            raise ValueError(f"URL has a bad port: {port!r}")
        port = str(int(port))
        if port != _DEFAULT_PORTS.get(scheme):
            return f"{host}:{port}"
    return host


@functools.lru_cache(maxsize=256)
def _url_facts(url: str) -> tuple[str, str, str]:
    """``(host, canonical_uri, canonical_query)``: pure in the URL, so cached."""
    scheme, authority, path, query = _split_url(url)
    return _host_header(scheme, authority), canonical_uri(path), canonical_query_string(query)


# --------------------------------------------------------------------------
# Task 4: Add the signature to the HTTP request
# --------------------------------------------------------------------------

# Headers of the caller's that signing replaces with its own.
_REPLACED = frozenset({"authorization", "x-amz-date"})
_REPLACED_WITH_TOKEN = _REPLACED | {"x-amz-security-token"}


def sign_request(
    method: str,
    url: str,
    headers: HeadersInput | None,
    body: bytes | str,
    *,
    credentials: SigningCredentials,
    region: str,
    service: str,
    timestamp: datetime | None = None,
) -> dict[str, str]:
    """Sign a request with an ``Authorization`` header and return the headers to send.

    Task 4: "Add the signature to the HTTP request".  The result is
    ``headers`` plus ``X-Amz-Date``, ``X-Amz-Security-Token`` when the
    credentials carry a session token (it is signed), and ``Authorization``.
    A header given more than once (as ``(name, value)`` pairs) comes back
    once, its values joined with ``,``.  ``Host`` is signed as the URL
    implies (default port omitted) unless ``headers`` names one; it is not
    added to the result, since the HTTP client derives the same value.

    ``url`` is absolute and in wire form (see the module docstring).
    ``body`` is the exact payload; a ``str`` is encoded as UTF-8.
    ``timestamp`` defaults to now; a naive datetime is taken as UTC.
    """
    host, c_uri, c_query = _url_facts(url)
    if timestamp is None:
        # Inlined amz_date(): the per-second cache hit is the common case.
        second = int(time.time())
        cached = _last_date
        date_value = cached[1] if cached[0] == second else _format_second(second)
    else:
        date_value = amz_date(timestamp)
    token = credentials.session_token
    replaced = _REPLACED_WITH_TOKEN if token else _REPLACED

    out: dict[str, str] = {}
    spelled: dict[str, str] = {}  # lower-case name -> the caller's spelling
    for name, value in _header_items(headers):
        lname = name.lower()
        if lname in replaced:
            continue
        first = spelled.get(lname)
        if first is None:
            spelled[lname] = name
            out[name] = value
        else:
            # Sent as one header, so it must read the same after the server's
            # trimming as the per-value trimming the spec asks for.
            out[first] = f"{_trim(out[first])},{_trim(value)}"

    signed = [
        (lname, _trim(out[name]))
        for lname, name in spelled.items()
        if lname not in _UNSIGNED_HEADERS
    ]
    if "host" not in spelled:
        signed.append(("host", host))
    signed.append(("x-amz-date", date_value))
    if token:
        signed.append(("x-amz-security-token", token))
    signed.sort()
    names = ";".join([n for n, _ in signed])
    block = "".join([f"{n}:{v}\n" for n, v in signed])

    if isinstance(body, str):
        body = body.encode()
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_PAYLOAD_HASH
    # canonical_request()'s layout, assembled here from the parts already in
    # hand (URL facts cached, headers merged above) to keep the hot path lean;
    # the vector and botocore tests hold both to the same bytes.
    creq = f"{method.upper()}\n{c_uri}\n{c_query}\n{block}\n{names}\n{body_hash}"

    date = date_value[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = string_to_sign(date_value, scope, creq)
    key = _signing_key(credentials.secret_access_key, date, region, service)
    out["X-Amz-Date"] = date_value
    if token:
        out["X-Amz-Security-Token"] = token
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={names}, Signature={key.hexmac(sts.encode())}"
    )
    return out


def presign_url(
    method: str,
    url: str,
    *,
    credentials: SigningCredentials,
    region: str,
    service: str,
    expires: int = 900,
    timestamp: datetime | None = None,
    headers: HeadersInput | None = None,
    body: bytes | str = b"",
) -> str:
    """Sign a request in its query string and return the presigned URL.

    Task 4: "Add the signature to the HTTP request", query-string form: the
    URL gains ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
    ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Security-Token`` (when
    the credentials carry one) and ``X-Amz-Signature``.  ``Host`` and any
    ``headers`` given are signed, so whoever uses the URL must send those
    headers unchanged.  ``body`` is the payload the URL will be used with
    (empty for a GET); its hash is signed.  ``expires`` is in seconds,
    1 to 604800.
    """
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise TypeError("expires must be an int number of seconds")
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds")
    scheme, authority, path, query = _split_url(url)
    date_value = amz_date(timestamp)
    date = date_value[:8]
    scope = credential_scope(date, region, service)
    token = credentials.session_token

    header_list = list(_header_items(headers))
    if not any(name.lower() == "host" for name, _ in header_list):
        header_list.append(("host", _host_header(scheme, authority)))
    names = canonical_headers(header_list)[1]

    auth_params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Amz-Date", date_value),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", names),
    ]
    if token:
        auth_params.append(("X-Amz-Security-Token", token))
    auth_query = "&".join([f"{k}={quote(v, safe='-_.~')}" for k, v in auth_params])
    full_query = f"{query}&{auth_query}" if query else auth_query

    creq = canonical_request(method, path, full_query, header_list, payload_hash(body))
    sts = string_to_sign(date_value, scope, creq)
    sig = _signing_key(credentials.secret_access_key, date, region, service).hexmac(sts.encode())
    return f"{scheme}://{authority}{path}?{full_query}&X-Amz-Signature={sig}"


# --------------------------------------------------------------------------
# Verification (the server side)
# --------------------------------------------------------------------------


class SignatureError(Exception):
    """An incoming request's SigV4 authentication failed.

    ``code`` is the AWS error code to report:

    * ``MissingAuthenticationToken``: no ``Authorization`` header and no
      presigned query.
    * ``IncompleteSignature``: authentication present but malformed.
    * ``InvalidClientTokenId``: the access key id is unknown.
    * ``SignatureDoesNotMatch``: the signature (or its scope) is wrong.
    * ``SignatureExpired``: signed more than the allowed skew ago, or a
      presigned URL past its lifetime.
    * ``RequestTimeTooSkewed``: signed more than the allowed skew in the future.

    ``status_code`` is the HTTP status AWS answers with.  Messages never
    contain the secret key, the session token or the signature.
    """

    def __init__(self, code: str, message: str, *, status_code: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"SignatureError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed an accepted request, and how."""

    access_key_id: str
    region: str
    service: str
    signed_at: datetime
    signed_headers: tuple[str, ...]
    presigned: bool
    expires: int | None = None
    session_token: str | None = field(default=None, repr=False)


_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


def _incomplete(message: str) -> SignatureError:
    return SignatureError("IncompleteSignature", message, status_code=400)


def _parse_amz_date(value: str) -> datetime:
    if len(value) == 16 and value[8] == "T" and value[15] == "Z":
        digits = value[:8] + value[9:15]
        if digits.isdigit() and digits.isascii():
            try:
                return datetime(
                    int(value[0:4]),
                    int(value[4:6]),
                    int(value[6:8]),
                    int(value[9:11]),
                    int(value[11:13]),
                    int(value[13:15]),
                    tzinfo=timezone.utc,
                )
            except ValueError:
                pass
    raise _incomplete(f"X-Amz-Date must be in ISO 8601 basic format (YYYYMMDDTHHMMSSZ): {value!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)
_DEFAULT_MAX_SKEW = timedelta(minutes=15)
_DEFAULT_MAX_SKEW_US = _DEFAULT_MAX_SKEW // _MICROSECOND

# What a server sees again and again: the X-Amz-Date of requests signed in the
# same second, the client's SignedHeaders list, the paths it posts to.  Each
# cache is emptied when full; none holds a secret or a signature.
_FACTS_CACHE_SIZE = 256
_DATE_SECONDS: dict[str, int] = {}
_SIGNED_NAMES: dict[str, tuple[tuple[str, ...], str]] = {}
_CANONICAL_URIS: dict[str, str] = {}


def _amz_date_seconds(value: str) -> int:
    """Unix time of an ``X-Amz-Date`` value; IncompleteSignature when malformed."""
    seconds = _DATE_SECONDS.get(value)
    if seconds is None:
        seconds = (_parse_amz_date(value) - _EPOCH) // _SECOND
        if len(_DATE_SECONDS) >= _FACTS_CACHE_SIZE:
            _DATE_SECONDS.clear()
        _DATE_SECONDS[value] = seconds
    return seconds


def _signed_names(text: str) -> tuple[tuple[str, ...], str]:
    """``(names, joined)``: a SignedHeaders value's names, lower-cased, sorted, unique."""
    found = _SIGNED_NAMES.get(text)
    if found is None:
        names = tuple(sorted({name.strip().lower() for name in text.split(";")}))
        found = (names, ";".join(names))
        if len(_SIGNED_NAMES) >= _FACTS_CACHE_SIZE:
            _SIGNED_NAMES.clear()
        _SIGNED_NAMES[text] = found
    return found


def _cached_canonical_uri(path: str) -> str:
    found = _CANONICAL_URIS.get(path)
    if found is None:
        found = canonical_uri(path)
        if len(_CANONICAL_URIS) >= _FACTS_CACHE_SIZE:
            _CANONICAL_URIS.clear()
        _CANONICAL_URIS[path] = found
    return found


def _format_skew(skew_us: int) -> str:
    # int(timedelta.total_seconds()), which divides the microseconds the same way.
    seconds = int(skew_us / 1_000_000)
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _parse_scope(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise _incomplete(
            "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/"
            f"aws4_request, got {len(parts)} part(s)"
        )
    if parts[4] != "aws4_request":
        raise _incomplete(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not {parts[4]!r}"
        )
    return parts[0], parts[1], parts[2], parts[3]


def _parse_authorization(value: str) -> tuple[str, str, str]:
    """``(credential, signed headers text, signature)`` of an Authorization value."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(
            f"Unsupported Authorization algorithm {algorithm[:40]!r}; use {ALGORITHM}"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, item = part.strip().partition("=")
        if eq:
            fields[name] = item
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise _incomplete(f"Authorization header requires '{required}' parameter")
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _text(item: str | bytes) -> str:
    return item.decode("latin-1") if isinstance(item, (bytes, bytearray)) else item


# What _verify found out: access key id, region, service, signing time (Unix
# seconds), signed header names, presigned, expires, session token.
_Facts: TypeAlias = tuple[str, str, str, int, tuple[str, ...], bool, int | None, str | None]


def _verify(
    method: str,
    raw_path: str,
    raw_query: str,
    lowered: Mapping[str, str],
    pairs: list[tuple[str, str]] | None,
    body: bytes | bytearray | memoryview | str,
    lookup_secret: Callable[[str], str | None],
    now_us: int,
    skew_us: int,
) -> _Facts:
    """The checks of :func:`verify_request`, once for both entry points.

    ``lowered`` maps lower-case header names to their (first) value; the
    signed headers are canonicalised from ``pairs`` when given (repeated
    headers joined as the spec says), else straight from ``lowered``.
    ``now_us`` and ``skew_us`` are in microseconds, so that every comparison
    is exact, as it is between datetimes.
    """
    authorization = lowered.get("authorization")
    query_params: dict[str, str] = {}
    if raw_query and "X-Amz-" in raw_query:
        for part in raw_query.split("&"):
            name, _, value = part.partition("=")
            if name.startswith("X-Amz-"):
                query_params.setdefault(name, unquote(value))
    presigned = "X-Amz-Algorithm" in query_params

    expires: int | None = None
    canonical_query_source = raw_query
    if presigned:
        if authorization is not None:
            raise SignatureError(
                "InvalidRequest",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                "or the Authorization header should be specified",
                status_code=400,
            )
        if query_params["X-Amz-Algorithm"] != ALGORITHM:
            raise _incomplete(f"X-Amz-Algorithm only supports {ALGORITHM}")
        for required in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders"):
            if not query_params.get(required):
                raise _incomplete(f"Presigned URL requires the {required} query parameter")
        if not query_params.get("X-Amz-Signature"):
            raise _incomplete("Presigned URL requires the X-Amz-Signature query parameter")
        credential = query_params["X-Amz-Credential"]
        signed_text = query_params["X-Amz-SignedHeaders"]
        provided = query_params["X-Amz-Signature"]
        date_value = query_params["X-Amz-Date"]
        raw_expires = query_params.get("X-Amz-Expires", "")
        if not (raw_expires.isdigit() and raw_expires.isascii()):
            raise _incomplete("X-Amz-Expires must be a whole number of seconds")
        expires = int(raw_expires)
        if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
            raise _incomplete(f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds")
        session_token = query_params.get("X-Amz-Security-Token")
        # The signature covers every query parameter except itself.
        canonical_query_source = "&".join(
            part for part in raw_query.split("&") if part.partition("=")[0] != "X-Amz-Signature"
        )
    elif authorization is not None:
        credential, signed_text, provided = _parse_authorization(authorization)
        date_header = lowered.get("x-amz-date")
        if not date_header:
            raise _incomplete("Authorization requires an X-Amz-Date header")
        date_value = date_header.strip()
        session_token = lowered.get("x-amz-security-token")
    else:
        raise SignatureError(
            "MissingAuthenticationToken", "Request is missing Authentication Token"
        )

    access_key_id, scope_date, region, service = _parse_scope(credential)
    signed_seconds = _amz_date_seconds(date_value)
    names, joined_names = _signed_names(signed_text)
    if "host" not in names:
        raise _incomplete("'Host' must be a signed header")

    signed_us = signed_seconds * 1_000_000
    if presigned:
        assert expires is not None
        if signed_us + expires * 1_000_000 < now_us:
            raise SignatureError(
                "SignatureExpired",
                f"Request has expired: signed at {date_value} for {expires} seconds, "
                f"now {_format_unix(int(now_us / 1_000_000))}",
            )
    elif signed_us < now_us - skew_us:
        raise SignatureError(
            "SignatureExpired",
            f"Signature expired: {date_value} is now earlier than "
            f"{_format_unix(int((now_us - skew_us) / 1_000_000))} "
            f"({_format_unix(int(now_us / 1_000_000))} - {_format_skew(skew_us)})",
        )
    if signed_us > now_us + skew_us:
        raise SignatureError(
            "RequestTimeTooSkewed",
            f"Signature not yet current: {date_value} is still later than "
            f"{_format_unix(int((now_us + skew_us) / 1_000_000))} "
            f"({_format_unix(int(now_us / 1_000_000))} + {_format_skew(skew_us)})",
        )
    if scope_date != date_value[:8]:
        raise SignatureError(
            "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: {scope_date!r} != {date_value[:8]!r}, from {date_value!r}.",
        )

    secret = lookup_secret(access_key_id)
    if secret is None:
        raise SignatureError(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )

    if pairs is None:
        get = lowered.get
        block = "".join([f"{name}:{_trim(get(name, ''))}\n" for name in names])
    else:
        block = canonical_headers(pairs, signed_headers=names)[0]
    # canonical_request()'s layout, from the parts in hand.
    creq = (
        f"{method.upper()}\n{_cached_canonical_uri(raw_path)}\n"
        f"{canonical_query_string(canonical_query_source)}\n"
        f"{block}\n{joined_names}\n{payload_hash(body)}"
    )
    scope = f"{scope_date}/{region}/{service}/aws4_request"
    sts = string_to_sign(date_value, scope, creq)
    expected = _signing_key(secret, scope_date, region, service).hexmac(sts.encode())
    # compare_digest needs ASCII on both sides; anything else cannot match anyway.
    if not (provided.isascii() and hmac.compare_digest(expected, provided)):
        raise SignatureError("SignatureDoesNotMatch", _MISMATCH_MESSAGE)
    return access_key_id, region, service, signed_seconds, names, presigned, expires, session_token


def verify_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]],
    body: bytes | bytearray | memoryview | str,
    *,
    lookup_secret: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = _DEFAULT_MAX_SKEW,
) -> VerifiedRequest:
    """Check an incoming request's SigV4 signature; the server side of :func:`sign_request`.

    ``raw_path`` and ``raw_query`` are exactly as they arrived on the request
    line (still percent-encoded, query without ``?``); ``headers`` are the
    received headers (a mapping or ``(name, value)`` pairs, ``bytes`` taken
    as Latin-1); ``body`` the received payload.  Both the ``Authorization``
    header and the presigned query form are accepted.  ``lookup_secret``
    maps an access key id to its secret key, or ``None`` when unknown.
    ``now`` is the server's time (a naive datetime is taken as UTC).

    The canonical request is rebuilt with the same code that signs
    (Task 1 to Task 3) and the signatures are compared in constant time.
    Raises :class:`SignatureError`; returns a :class:`VerifiedRequest`.
    """
    pairs = [(_text(n), _text(v)) for n, v in _header_items(headers)]  # type: ignore[arg-type]
    lowered: dict[str, str] = {}
    for name, value in pairs:
        lowered.setdefault(name.lower(), value)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    access_key_id, region, service, signed_seconds, names, presigned, expires, token = _verify(
        method,
        raw_path,
        raw_query,
        lowered,
        pairs,
        body,
        lookup_secret,
        (now - _EPOCH) // _MICROSECOND,
        max_skew // _MICROSECOND,
    )
    return VerifiedRequest(
        access_key_id=access_key_id,
        region=region,
        service=service,
        signed_at=_EPOCH + timedelta(seconds=signed_seconds),
        signed_headers=names,
        presigned=presigned,
        expires=expires,
        session_token=token,
    )


class VerifiedScope(NamedTuple):
    """Who signed a request that :func:`verify_parsed_request` accepted."""

    access_key_id: str
    region: str
    service: str


def verify_parsed_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes | bytearray | memoryview | str,
    *,
    lookup_secret: Callable[[str], str | None],
    now: datetime | None = None,
    max_skew: timedelta = _DEFAULT_MAX_SKEW,
) -> VerifiedScope:
    """:func:`verify_request` for a server whose HTTP layer has parsed the headers already.

    ``headers`` maps lower-case names to one value each (a repeated header
    already joined), which is what the signature is checked against; there
    is no per-request normalisation, so an endpoint pays only for the checks
    and the hashing.  ``now`` defaults to the current time.  Raises the same
    :class:`SignatureError` as :func:`verify_request` for the same request.
    """
    if now is None:
        now_us = time.time_ns() // 1000
    else:
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        now_us = (now - _EPOCH) // _MICROSECOND
    skew_us = _DEFAULT_MAX_SKEW_US if max_skew is _DEFAULT_MAX_SKEW else max_skew // _MICROSECOND
    facts = _verify(
        method, raw_path, raw_query, headers, None, body, lookup_secret, now_us, skew_us
    )
    return VerifiedScope(facts[0], facts[1], facts[2])
