"""The pytest plugin ``sesclient.testing``: its fixtures, run inside a pytest of their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sesclient.testing

pytest_plugins = ["pytester"]

# Entry-point plugins are switched off so that an installed sesclient does not
# register the plugin a second time next to the explicit ``-p``.
PLUGIN_ARGS = ("-p", "sesclient.testing", "-q")


def run(pytester, monkeypatch, source):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(source)
    return pytester.runpytest_inprocess(*PLUGIN_ARGS)


def test_fixtures_send_and_read_the_inbox(pytester, monkeypatch):
    result = run(
        pytester,
        monkeypatch,
        """
import boto3
import pytest

def test_boto3_against_the_fixture(ses_endpoint):
    client = boto3.client("ses", **ses_endpoint.boto3_kwargs())
    reply = client.send_email(
        Source="anyone@example.com",
        Destination={"ToAddresses": ["to@example.net"]},
        Message={"Subject": {"Data": "fixture"}, "Body": {"Text": {"Data": "b"}}},
    )
    [message] = ses_endpoint.inbox.messages(to="to@example.net")
    assert message["message_id"] == reply["MessageId"]
    assert ses_endpoint.inbox.stats()["accepted"] == 1
    assert ses_endpoint.inbox.clear() == 1
    assert ses_endpoint.url.startswith("http://127.0.0.1:")

def test_each_test_gets_a_fresh_endpoint(ses_endpoint):
    assert ses_endpoint.inbox.messages() == []

def test_ses_client_fixture(ses_client, ses_endpoint):
    result = ses_client.send_email(
        from_addr="me@example.com", to="you@example.net", subject="via sesclient", text="hi"
    )
    assert ses_endpoint.inbox.message(result.message_id)["subject"] == "via sesclient"

@pytest.mark.ses_endpoint(verify_senders=True, sandbox=True)
def test_marker_configures_the_endpoint(ses_endpoint):
    import botocore.exceptions
    client = boto3.client("sesv2", **ses_endpoint.boto3_kwargs())
    assert client.get_account()["ProductionAccessEnabled"] is False
    kwargs = dict(
        FromEmailAddress="me@example.com",
        Destination={"ToAddresses": ["you@example.net"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
    )
    with pytest.raises(botocore.exceptions.ClientError):
        client.send_email(**kwargs)
    ses_endpoint.verify("me@example.com", "you@example.net")
    client.send_email(**kwargs)
""",
    )
    result.assert_outcomes(passed=4)


def test_config_fixture_can_be_overridden(pytester, monkeypatch):
    result = run(
        pytester,
        monkeypatch,
        """
import pytest

@pytest.fixture
def ses_endpoint_config():
    return {"region": "ap-south-1", "max_send_rate": 2}

def test_region(ses_endpoint):
    import boto3
    assert ses_endpoint.region == "ap-south-1"
    quota = boto3.client("ses", **ses_endpoint.boto3_kwargs()).get_send_quota()
    assert quota["MaxSendRate"] == 2.0
""",
    )
    result.assert_outcomes(passed=1)


def test_importing_the_plugin_is_cheap_and_starts_nothing():
    code = (
        "import sys, threading\n"
        "import sesclient.testing\n"
        "assert threading.active_count() == 1\n"
        "loaded = [m for m in ('asyncio', 'sqlite3', 'boto3', 'sesclient.local._server')"
        " if m in sys.modules]\n"
        "print(loaded)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(Path(sesclient.testing.__file__).resolve().parent.parent),
    ).stdout
    assert output.strip() == "[]"
