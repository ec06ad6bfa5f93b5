"""Region validation and SES endpoint URLs (sesclient._endpoints)."""

from __future__ import annotations

import os

import pytest

from sesclient._endpoints import (
    SIGNING_NAME,
    configured_endpoint_url,
    endpoint_url,
    resolve_endpoint,
    validate_region,
)
from sesclient._errors import RegionError, SESValidationError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))


GOOD_REGIONS = [
    "us-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-2",
    "ap-southeast-5",
    "il-central-1",
    "us-isob-east-1",
    "us-iso-east-1",
    "eu-isoe-west-1",
    "eusc-de-east-1",
    "mx-central-1",
    "xx-future-12",
]


@pytest.mark.parametrize("region", GOOD_REGIONS)
def test_well_formed_regions_are_accepted(region: str) -> None:
    assert validate_region(region) == region


@pytest.mark.parametrize(
    ("region", "hint"),
    [
        ("US-EAST-1", "lowercase"),
        ("us east 1", ""),
        ("https://email.us-east-1.amazonaws.com", "endpoint_url"),
        ("us-east-1a", "Availability Zone"),
        ("us-east", ""),
        ("us-east-123", ""),
        ("useast1", ""),
        ("us--east-1", ""),
        ("aws-global", ""),
        ("us-east-1 ", ""),
        ("us-east-\uff11", ""),  # a fullwidth digit
    ],
)
def test_malformed_regions_name_the_value_and_a_good_example(region: str, hint: str) -> None:
    with pytest.raises(RegionError) as info:
        validate_region(region)
    message = str(info.value)
    assert repr(region) in message
    assert "'us-east-1'" in message
    assert hint in message


def test_empty_and_non_string_regions() -> None:
    with pytest.raises(RegionError, match="empty"):
        validate_region("")
    with pytest.raises(RegionError, match="must be a string"):
        validate_region(None)
    with pytest.raises(RegionError, match="environment variable AWS_REGION"):
        validate_region("Europe", source="environment variable AWS_REGION")


@pytest.mark.parametrize(
    ("region", "fips", "dualstack", "expected"),
    [
        ("us-east-1", False, False, "https://email.us-east-1.amazonaws.com"),
        ("eu-central-2", False, False, "https://email.eu-central-2.amazonaws.com"),
        ("us-east-1", True, False, "https://email-fips.us-east-1.amazonaws.com"),
        ("us-gov-west-1", False, False, "https://email.us-gov-west-1.amazonaws.com"),
        ("us-gov-west-1", True, False, "https://email-fips.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", False, False, "https://email.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", True, False, "https://email-fips.cn-northwest-1.amazonaws.com.cn"),
        ("us-iso-east-1", False, False, "https://email.us-iso-east-1.c2s.ic.gov"),
        ("us-isob-east-1", False, False, "https://email.us-isob-east-1.sc2s.sgov.gov"),
        ("us-isof-south-1", False, False, "https://email.us-isof-south-1.csp.hci.ic.gov"),
        ("eu-isoe-west-1", False, False, "https://email.eu-isoe-west-1.cloud.adc-e.uk"),
        ("eusc-de-east-1", False, False, "https://email.eusc-de-east-1.amazonaws.eu"),
        ("us-west-2", False, True, "https://email.us-west-2.api.aws"),
        ("us-west-2", True, True, "https://email-fips.us-west-2.api.aws"),
        ("cn-north-1", False, True, "https://email.cn-north-1.api.amazonwebservices.com.cn"),
        # A region newer than this code still gets the standard partition.
        ("ap-future-9", False, False, "https://email.ap-future-9.amazonaws.com"),
    ],
)
def test_endpoint_for_region(region: str, fips: bool, dualstack: bool, expected: str) -> None:
    assert endpoint_url(region, fips=fips, dualstack=dualstack) == expected


def test_signing_name_is_ses() -> None:
    assert SIGNING_NAME == "ses"


def test_endpoint_rejects_malformed_region() -> None:
    with pytest.raises(RegionError):
        endpoint_url("email.us-east-1")


@pytest.mark.parametrize(
    ("region", "fips", "dualstack"),
    [
        ("us-east-1", False, False),
        ("eu-west-3", True, False),
        ("us-gov-east-1", True, False),
        ("cn-northwest-1", False, False),
        ("cn-north-1", True, False),
        ("us-isob-east-1", False, False),
        ("us-east-2", True, True),
    ],
)
@pytest.mark.parametrize("service", ["ses", "sesv2"])
def test_endpoints_match_botocore(service: str, region: str, fips: bool, dualstack: bool) -> None:
    botocore_session = pytest.importorskip("botocore.session")
    config = pytest.importorskip("botocore.config")
    session = botocore_session.get_session()
    client = session.create_client(
        service,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
        config=config.Config(use_fips_endpoint=fips, use_dualstack_endpoint=dualstack),
    )
    try:
        assert endpoint_url(region, fips=fips, dualstack=dualstack) == client.meta.endpoint_url
    finally:
        client.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8025", "http://127.0.0.1:8025"),
        ("http://127.0.0.1:8025/", "http://127.0.0.1:8025"),
        ("http://localhost:4566///", "http://localhost:4566"),
        ("https://proxy.example.com/ses/", "https://proxy.example.com/ses"),
        (
            "https://vpce-0123-abcd.email.us-east-1.vpce.amazonaws.com",
            "https://vpce-0123-abcd.email.us-east-1.vpce.amazonaws.com",
        ),
        ("http://[::1]:8025/", "http://[::1]:8025"),
    ],
)
def test_custom_endpoint_used_as_given(given: str, expected: str) -> None:
    assert endpoint_url("us-east-1", endpoint_url=given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("ftp://example.com", "http:// or https://"),
        ("email.us-east-1.amazonaws.com", "http:// or https://"),
        ("https://", "host"),
        ("https://..", "host"),
        ("http://example.com:99999", "not a valid URL"),
        ("https://example.com/?a=b", "query"),
        ("https://example.com/#x", "fragment"),
        (" https://example.com", "whitespace"),
    ],
)
def test_bad_custom_endpoint(given: str, fragment: str) -> None:
    with pytest.raises(SESValidationError, match="endpoint_url") as info:
        endpoint_url("us-east-1", endpoint_url=given)
    assert fragment in str(info.value)
    assert info.value.field == "endpoint_url"


def test_custom_endpoint_with_password_is_rejected_without_echoing_it() -> None:
    with pytest.raises(SESValidationError) as info:
        endpoint_url("us-east-1", endpoint_url="https://user:hunter2@proxy.example.com")
    assert "hunter2" not in str(info.value)
    with pytest.raises(SESValidationError) as info:
        endpoint_url("us-east-1", endpoint_url="https://user:hunter2@proxy.example.com:bad")
    assert "hunter2" not in str(info.value)


def test_fips_or_dualstack_with_custom_endpoint_is_an_error() -> None:
    with pytest.raises(SESValidationError, match="fips"):
        endpoint_url("us-east-1", fips=True, endpoint_url="http://127.0.0.1:8025")
    with pytest.raises(SESValidationError, match="dualstack"):
        endpoint_url("us-east-1", dualstack=True, endpoint_url="http://127.0.0.1:8025")


def test_resolve_endpoint_default_and_argument() -> None:
    assert resolve_endpoint("eu-west-1") == "https://email.eu-west-1.amazonaws.com"
    assert resolve_endpoint("eu-west-1", endpoint_url="http://127.0.0.1:1/") == "http://127.0.0.1:1"


def test_resolve_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")
    assert resolve_endpoint("us-east-1", api="v1") == "http://127.0.0.1:9000"
    assert resolve_endpoint("us-east-1", api="v2") == "http://127.0.0.1:9000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", "http://127.0.0.1:9001")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:9002")
    assert resolve_endpoint("us-east-1", api="v1") == "http://127.0.0.1:9001"
    assert resolve_endpoint("us-east-1", api="v2") == "http://127.0.0.1:9002"
    assert configured_endpoint_url("v1") == ("http://127.0.0.1:9001", "AWS_ENDPOINT_URL_SES")
    # The argument beats the environment.
    assert resolve_endpoint("us-east-1", endpoint_url="http://10.0.0.1") == "http://10.0.0.1"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert resolve_endpoint("us-east-1", api="v1") == "https://email.us-east-1.amazonaws.com"
    assert configured_endpoint_url("v2") is None


def test_resolve_endpoint_validates_environment_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "localhost:8025")
    with pytest.raises(SESValidationError, match="AWS_ENDPOINT_URL_SESV2"):
        resolve_endpoint("us-east-1")


def test_resolve_endpoint_fips_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert resolve_endpoint("us-east-1") == "https://email-fips.us-east-1.amazonaws.com"
    assert resolve_endpoint("us-east-1", fips=False) == "https://email.us-east-1.amazonaws.com"
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "TRUE")
    assert resolve_endpoint("us-east-1") == "https://email-fips.us-east-1.api.aws"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8025")
    with pytest.raises(SESValidationError, match="AWS_ENDPOINT_URL"):
        resolve_endpoint("us-east-1")
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "yes")
    with pytest.raises(SESValidationError, match="AWS_USE_FIPS_ENDPOINT"):
        resolve_endpoint("us-east-1")


def test_resolve_endpoint_rejects_unknown_api() -> None:
    with pytest.raises(SESValidationError, match="api"):
        resolve_endpoint("us-east-1", api="v3")
