"""``serve``: the local endpoint as a process, started and stopped like a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sesclient.testing import InboxClient

ROOT = Path(__file__).resolve().parent.parent
DRIVER = (
    "import argparse, sys\n"
    "from sesclient.local._cli import add_serve_arguments, run_serve\n"
    "parser = argparse.ArgumentParser(prog='sesclient serve')\n"
    "add_serve_arguments(parser)\n"
    "sys.exit(run_serve(parser.parse_args()))\n"
)


def launch(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def banner(process):
    """The start-up lines, up to the Ctrl+C hint, as a dict."""
    facts = {}
    for line in process.stdout:
        if line.startswith("Local SES endpoint listening on "):
            facts["url"] = line.rsplit(" ", 1)[1].strip()
        elif line.startswith("  "):
            name, _, value = line.strip().partition("  ")
            facts[name.strip()] = value.strip()
        elif line.startswith("Press Ctrl+C"):
            return facts
    raise AssertionError(f"no banner; stderr: {process.stderr.read()}")


def finish(process, sig):
    process.send_signal(sig)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


def client(facts, service="sesv2"):
    return boto3.client(
        service,
        endpoint_url=facts["url"],
        region_name=facts["region"],
        aws_access_key_id=facts["access key id"],
        aws_secret_access_key=facts["secret access key"],
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_what_a_client_needs_and_stops_cleanly(sig):
    process = launch("--port", "0", "--verified", "me@example.com", "--region", "eu-west-1")
    try:
        facts = banner(process)
        assert facts["url"].startswith("http://127.0.0.1:")
        assert facts["inbox"] == facts["url"] + "/_inbox"
        assert facts["region"] == "eu-west-1"
        reply = client(facts).send_email(
            FromEmailAddress="me@example.com",
            Destination={"ToAddresses": ["you@example.net"]},
            Content={"Simple": {"Subject": {"Data": "cli"}, "Body": {"Text": {"Data": "b"}}}},
        )
        assert InboxClient(facts["url"]).message(reply["MessageId"])["subject"] == "cli"
    finally:
        code, out, err = finish(process, sig)
    assert code == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_invalid_settings_are_one_line_and_non_zero():
    process = launch("--port", "0", "--throttle-rate", "0.7", "--error-rate", "0.7")
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        "sesclient serve: the fault probabilities add up to more than 1"
    ]
    process = launch("--max-send-rate", "-3")
    _, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "must be positive" in err.strip().splitlines()[-1]


def test_port_in_use_is_reported():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = launch("--port", str(port))
        _, err = process.communicate(timeout=15)
    assert process.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"sesclient serve: cannot listen on 127.0.0.1:{port}:")


def test_workers_share_the_port_and_a_database(tmp_path):
    db = tmp_path / "shared.db"
    process = launch("--port", "0", "--workers", "2", "--db", str(db), "--no-verify")
    try:
        facts = banner(process)
        assert facts["storage"] == f"{db}, 2 workers"
        ids = []
        for index in range(6):
            # A new client per send: new connections, spread over both workers.
            reply = client(facts, "ses").send_email(
                Source="anyone@example.org",
                Destination={"ToAddresses": [f"w{index}@example.net"]},
                Message={"Subject": {"Data": f"w{index}"}, "Body": {"Text": {"Data": "b"}}},
            )
            ids.append(reply["MessageId"])
        stored = [m["message_id"] for m in InboxClient(facts["url"]).messages()]
        assert sorted(stored) == sorted(ids)
    finally:
        code, _, err = finish(process, signal.SIGTERM)
    assert code == 0, err
