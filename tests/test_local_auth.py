"""Signature checks of the local endpoint, for both APIs: wrong, unknown, expired, missing."""

from __future__ import annotations

import http.client
import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sesclient.local import LocalSESThread
from sesclient.sigv4 import sign_request

V1_BODY = urlencode({"Action": "GetSendQuota", "Version": "2010-12-01"}).encode()
V1_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.fixture(scope="module")
def server():
    with LocalSESThread() as running:
        yield running


class Keys:
    def __init__(self, access_key_id, secret_access_key):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = None


def call(
    server,
    method,
    path,
    body=b"",
    *,
    content_type=None,
    keys=None,
    timestamp=None,
    region=None,
    sign=True,
):
    """One request over http.client, signed with sesclient.sigv4; (status, headers, body)."""
    headers = {"Host": f"127.0.0.1:{server.port}"}
    if content_type:
        headers["Content-Type"] = content_type
    if sign:
        keys = keys or Keys(server.config.access_key_id, server.config.secret_access_key)
        headers = sign_request(
            method,
            f"{server.url}{path}",
            headers,
            body,
            credentials=keys,
            region=region or server.config.region,
            service="ses",
            timestamp=timestamp,
        )
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def v1(server, **kwargs):
    return call(server, "POST", "/", V1_BODY, content_type=V1_TYPE, **kwargs)


def v2(server, **kwargs):
    return call(server, "GET", "/v2/email/account", **kwargs)


def xml_code(body):
    text = body.decode()
    assert text.startswith("<ErrorResponse")
    return text.split("<Code>")[1].split("</Code>")[0], text.split("<Message>")[1].split("<")[0]


def test_correctly_signed_requests_pass(server):
    status, _, body = v1(server)
    assert status == 200 and b"<GetSendQuotaResult>" in body
    status, _, body = v2(server)
    assert status == 200 and "SendQuota" in json.loads(body)


def test_wrong_secret_is_signature_does_not_match(server):
    keys = Keys(server.config.access_key_id, "not-the-secret")
    status, headers, body = v1(server, keys=keys)
    assert status == 403
    code, message = xml_code(body)
    assert code == "SignatureDoesNotMatch"
    assert message.startswith("The request signature we calculated does not match")
    assert "not-the-secret" not in body.decode()
    status, headers, body = v2(server, keys=keys)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "SignatureDoesNotMatch"
    assert headers["x-amzn-RequestId"]


def test_unknown_access_key(server):
    keys = Keys("AKIAUNKNOWNKEY000000", server.config.secret_access_key)
    status, _, body = v1(server, keys=keys)
    assert (status, xml_code(body)[0]) == (403, "InvalidClientTokenId")
    status, headers, body = v2(server, keys=keys)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    assert json.loads(body)["message"] == "The security token included in the request is invalid."


def test_expired_signature_names_the_server_time(server):
    old = datetime.now(timezone.utc) - timedelta(minutes=20)
    status, headers, body = v1(server, timestamp=old)
    assert status == 403
    code, message = xml_code(body)
    assert code == "SignatureDoesNotMatch"
    assert message.startswith("Signature expired: ")
    # The Date header lets a client measure its clock skew.
    server_time = parsedate_to_datetime(headers["Date"])
    assert abs(server_time - datetime.now(timezone.utc)) < timedelta(minutes=2)
    status, headers, body = v2(server, timestamp=old)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert json.loads(body)["message"].startswith("Signature expired: ")
    assert "Date" in headers


def test_signature_from_the_future_is_refused(server):
    future = datetime.now(timezone.utc) + timedelta(minutes=20)
    status, _, body = v1(server, timestamp=future)
    assert status == 403
    assert xml_code(body)[1].startswith("Signature not yet current")


def test_within_the_allowed_skew_passes(server):
    slightly_off = datetime.now(timezone.utc) - timedelta(minutes=10)
    assert v1(server, timestamp=slightly_off)[0] == 200
    assert v2(server, timestamp=slightly_off)[0] == 200


def test_missing_authentication(server):
    status, _, body = v1(server, sign=False)
    assert (status, xml_code(body)[0]) == (403, "MissingAuthenticationToken")
    status, headers, _ = v2(server, sign=False)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_credential_scoped_to_another_region(server):
    status, _, body = v1(server, region="eu-west-1")
    code, message = xml_code(body)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "eu-west-1" in message


def test_boto3_with_wrong_and_unknown_keys(server):
    def client(service, key, secret):
        return boto3.client(
            service,
            endpoint_url=server.url,
            region_name=server.config.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1}),
        )

    right_key = server.config.access_key_id
    for service, call_name, unknown_code in (
        ("ses", "get_send_quota", "InvalidClientTokenId"),
        ("sesv2", "get_account", "UnrecognizedClientException"),
    ):
        with pytest.raises(ClientError) as wrong:
            getattr(client(service, right_key, "wrong-secret"), call_name)()
        assert wrong.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as unknown:
            getattr(client(service, "AKIANOBODY0000000000", "x"), call_name)()
        assert unknown.value.response["Error"]["Code"] == unknown_code


def test_signed_request_to_an_unknown_v2_path_is_404(server):
    status, headers, body = call(server, "GET", "/v2/email/nothing-here")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "NotFoundException"
    assert json.loads(body)["message"]


def test_signature_checks_can_be_turned_off():
    with LocalSESThread(check_signatures=False) as open_server:
        status, _, body = v1(open_server, sign=False)
        assert status == 200 and b"<Max24HourSend>" in body
        status, _, _ = v2(open_server, sign=False)
        assert status == 200
