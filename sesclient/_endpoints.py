"""Region validation and the SES endpoint URL for a region.

Both SES APIs (v1 Query and v2 REST/JSON) live on the same host,
``email.{region}.{partition suffix}``, and both sign as service ``ses``.  The
service's endpoint rule sets reduce to a handful of rules (partition DNS
suffix, FIPS and dual-stack host names, a custom endpoint that excludes both),
which are encoded here directly so that nothing is loaded from JSON at run time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._errors import RegionError, SESValidationError

__all__ = [
    "SIGNING_NAME",
    "configured_endpoint_url",
    "endpoint_url",
    "resolve_endpoint",
    "validate_region",
]

#: The service name that goes into the SigV4 credential scope, for both APIs.
SIGNING_NAME = "ses"

_EXAMPLE_REGION = "us-east-1"

# (region prefix, DNS suffix, dual-stack DNS suffix), most specific first.
# Every region that matches no prefix belongs to the standard "aws" partition,
# which is also how the rule sets' partition lookup treats unknown regions;
# GovCloud shares the standard suffixes.  Every partition supports FIPS and
# dual-stack, so neither needs a per-partition flag.
_PARTITIONS: tuple[tuple[str, str, str], ...] = (
    ("cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("eusc-", "amazonaws.eu", "api.amazonwebservices.eu"),
    ("us-isob-", "sc2s.sgov.gov", "api.aws.scloud"),
    ("us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov", "api.aws.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
)
_DEFAULT_SUFFIXES = ("amazonaws.com", "api.aws")

# Environment variables botocore reads for a configured endpoint, per API.
_SERVICE_ENDPOINT_ENV = {"v1": "AWS_ENDPOINT_URL_SES", "v2": "AWS_ENDPOINT_URL_SESV2"}

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _is_region(region: str) -> bool:
    # Shape: a 2-4 letter area, one or more lowercase words, a 1-2 digit
    # number ("us-east-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1").
    # A hand check rather than a regex keeps `re` out of import time.
    parts = region.split("-")
    if len(parts) < 3:
        return False
    area, *words, number = parts
    if not (2 <= len(area) <= 4 and _LOWER.issuperset(area)):
        return False
    if not all(word and _LOWER.issuperset(word) for word in words):
        return False
    return 1 <= len(number) <= 2 and number.isascii() and number.isdigit()


def validate_region(region: object, *, source: str = "region") -> str:
    """Check that ``region`` looks like an AWS region name and return it.

    Any well-formed name is accepted, including regions newer than this
    library; only the shape is checked.  ``source`` names where the value came
    from (an argument, an environment variable, a config file) for the error
    message.
    """
    if not isinstance(region, str):
        raise RegionError(
            f"{source} must be a string such as {_EXAMPLE_REGION!r}, not {type(region).__name__}"
        )
    if not region:
        raise RegionError(f"{source} is empty; expected a region name such as {_EXAMPLE_REGION!r}")
    if not _is_region(region):
        hint = ""
        if region.lower() != region:
            hint = " (region names are lowercase)"
        elif "://" in region:
            hint = " (that is a URL; pass it as endpoint_url and give the region separately)"
        elif region[-1:].isalpha() and _is_region(region[:-1]):
            hint = " (that is an Availability Zone; drop the final letter)"
        raise RegionError(
            f"{source} {region!r} is not a valid AWS region name{hint}; "
            f"expected something like {_EXAMPLE_REGION!r} or 'eu-central-2'"
        )
    return region


def _suffixes(region: str) -> tuple[str, str]:
    for prefix, suffix, dualstack_suffix in _PARTITIONS:
        if region.startswith(prefix):
            return suffix, dualstack_suffix
    return _DEFAULT_SUFFIXES


def _validate_custom(url: object, *, source: str) -> str:
    field = "endpoint_url"
    if not isinstance(url, str):
        raise SESValidationError(
            f"{source} must be a string URL, not {type(url).__name__}", field=field
        )
    from urllib.parse import urlsplit

    # Never echo a URL with user information: it may hold a password.
    shown = "<URL with user information>" if "@" in url else repr(url)
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise SESValidationError(f"{source} {shown} contains whitespace", field=field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise SESValidationError(
            f"{source} {shown} is not a valid URL: {exc}", field=field
        ) from None
    if parts.username is not None or parts.password is not None:
        raise SESValidationError(
            f"{source} must not contain user information (user:password@)", field=field
        )
    if parts.scheme not in ("http", "https"):
        raise SESValidationError(
            f"{source} {shown} must start with http:// or https://, "
            "e.g. 'http://127.0.0.1:8025' or 'https://vpce-123.email.us-east-1.vpce.amazonaws.com'",
            field=field,
        )
    host = parts.hostname
    if not host or (":" not in host and not all(host.split("."))):
        raise SESValidationError(f"{source} {shown} has no valid host name", field=field)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise SESValidationError(
            f"{source} {shown} must not have a query string or fragment", field=field
        )
    return url.rstrip("/")


def endpoint_url(
    region: str,
    *,
    fips: bool = False,
    dualstack: bool = False,
    endpoint_url: str | None = None,
) -> str:
    """The base URL (no trailing slash) for SES in ``region``.

    A custom ``endpoint_url`` (the local SES endpoint, a VPC endpoint, a
    proxy) is validated and returned as given, minus any trailing slash; as in
    the service's own rules it cannot be combined with ``fips`` or
    ``dualstack``.  Otherwise the URL is built from the region's partition.
    """
    return _build(region, fips=fips, dualstack=dualstack, custom=endpoint_url)


def _build(region: str, *, fips: bool, dualstack: bool, custom: str | None) -> str:
    if custom is not None:
        if fips:
            raise SESValidationError(
                "fips=True cannot be combined with a custom endpoint_url", field="endpoint_url"
            )
        if dualstack:
            raise SESValidationError(
                "dualstack=True cannot be combined with a custom endpoint_url",
                field="endpoint_url",
            )
        return _validate_custom(custom, source="endpoint_url")
    validate_region(region)
    suffix, dualstack_suffix = _suffixes(region)
    host = "email-fips" if fips else "email"
    return f"https://{host}.{region}.{dualstack_suffix if dualstack else suffix}"


def _env_flag(environ: Mapping[str, str], name: str) -> bool | None:
    value = environ.get(name, "").strip().lower()
    if not value:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise SESValidationError(f"environment variable {name} must be 'true' or 'false'", field=name)


def configured_endpoint_url(
    api: str = "v2", *, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """The endpoint configured through the environment, as ``(url, variable name)``.

    Mirrors botocore: the per-service variable (``AWS_ENDPOINT_URL_SES`` for
    v1, ``AWS_ENDPOINT_URL_SESV2`` for v2) wins over ``AWS_ENDPOINT_URL``, and
    ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns both off.  Returns
    ``None`` when neither is set.  The URL is validated.
    """
    env = os.environ if environ is None else environ
    if _env_flag(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        return None
    try:
        service_var = _SERVICE_ENDPOINT_ENV[api]
    except KeyError:
        raise SESValidationError(f"api must be 'v1' or 'v2', not {api!r}", field="api") from None
    for name in (service_var, "AWS_ENDPOINT_URL"):
        value = env.get(name)
        if value:
            return _validate_custom(value, source=f"environment variable {name}"), name
    return None


def resolve_endpoint(
    region: str,
    *,
    api: str = "v2",
    fips: bool | None = None,
    dualstack: bool | None = None,
    endpoint_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The endpoint the client should use: the argument, then the environment, then AWS.

    ``fips`` and ``dualstack`` default to ``AWS_USE_FIPS_ENDPOINT`` and
    ``AWS_USE_DUALSTACK_ENDPOINT``.  A custom endpoint (argument or
    ``AWS_ENDPOINT_URL_SES``/``AWS_ENDPOINT_URL_SESV2``/``AWS_ENDPOINT_URL``)
    is used as given.
    """
    env = os.environ if environ is None else environ
    if fips is None:
        fips = bool(_env_flag(env, "AWS_USE_FIPS_ENDPOINT"))
    if dualstack is None:
        dualstack = bool(_env_flag(env, "AWS_USE_DUALSTACK_ENDPOINT"))
    if endpoint_url is None:
        configured = configured_endpoint_url(api, environ=env)
        if configured is not None:
            url, name = configured
            if fips or dualstack:
                which = "FIPS" if fips else "dual-stack"
                raise SESValidationError(
                    f"{which} endpoints cannot be combined with the custom endpoint set in "
                    f"{name}; unset one of them",
                    field="endpoint_url",
                )
            return url
    return _build(region, fips=fips, dualstack=dualstack, custom=endpoint_url)
