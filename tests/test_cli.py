"""The ``sesclient`` command line: demo, send, quota and templates, end to end."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from sesclient.cli import main
from sesclient.local import LocalSESThread


@pytest.fixture
def endpoint(monkeypatch):
    with LocalSESThread(verified_identities=("me@example.com",)) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.config.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.config.secret_access_key)
        monkeypatch.setenv("AWS_REGION", server.config.region)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield server


def messages(server):
    return httpx.get(f"{server.url}/_inbox/api/messages").json()["messages"]


def test_demo_runs_the_main_job(capsys):
    assert main(["demo", "--recipients", "200"]) == 0
    out = capsys.readouterr().out
    assert "v1 SendEmail" in out and "v2 SendEmail" in out and "v2 templated SendEmail" in out
    assert "200 of 200 recipients sent" in out
    assert "recipients/s" in out and "/_inbox" in out
    assert "accepted=203" in out
    assert "local-ses-secret" not in out  # the key pair is not printed by the demo


def test_demo_console_script_in_a_fresh_interpreter():
    done = subprocess.run(
        [sys.executable, "-m", "sesclient.cli", "demo", "--recipients", "50"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "50 of 50 recipients sent" in done.stdout


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_send_prints_the_message_id(endpoint, capsys, tmp_path, api):
    html = tmp_path / "body.html"
    html.write_text("<p>from a file</p>")
    code = main(
        [
            "send",
            "--from", "me@example.com",
            "--to", "a@example.com, b@example.com",
            "--cc", "c@example.com",
            "--subject", f"cli {api}",
            "--html", f"@{html}",
            "--api", api,
            "--endpoint-url", endpoint.url,
        ]
    )  # fmt: skip
    assert code == 0
    message_id = capsys.readouterr().out.strip()
    stored = {m["message_id"]: m for m in messages(endpoint)}[message_id]
    assert stored["subject"] == f"cli {api}" and "from a file" in stored["html"]


def test_templates_and_templated_send(endpoint, capsys):
    common = ["--endpoint-url", endpoint.url]
    assert (
        main(
            [
                "templates",
                "create",
                "hello",
                "--subject",
                "Hi {{name}}",
                "--text",
                "Yo {{name}}",
                *common,
            ]
        )
        == 0
    )
    assert main(["templates", "list", *common]) == 0
    assert main(["templates", "get", "hello", *common]) == 0
    out = capsys.readouterr().out
    assert "created hello" in out and "hello" in out.splitlines()[1] and '"Hi {{name}}"' in out
    assert (
        main(
            [
                "send",
                "--from",
                "me@example.com",
                "--to",
                "x@example.com",
                "--template",
                "hello",
                "--var",
                "name=Ann",
                *common,
            ]
        )
        == 0
    )
    message_id = capsys.readouterr().out.strip()
    assert {m["message_id"]: m for m in messages(endpoint)}[message_id]["subject"] == "Hi Ann"
    assert main(["templates", "delete", "hello", "--api", "v1", *common]) == 0
    assert "deleted hello" in capsys.readouterr().out


def test_quota_for_both_apis(endpoint, capsys):
    for api in ("v1", "v2"):
        assert main(["quota", "--api", api, "--endpoint-url", endpoint.url]) == 0
        out = capsys.readouterr().out
        assert "Max24HourSend:" in out and "MaxSendRate:" in out and "SentLast24Hours:" in out


def test_errors_are_one_line_and_non_zero(endpoint, capsys):
    code = main(
        [
            "send",
            "--from",
            "me@example.com",
            "--to",
            "bob@",
            "--subject",
            "s",
            "--text",
            "t",
            "--endpoint-url",
            endpoint.url,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "not a valid email address" in err
    code = main(["templates", "get", "missing", "--endpoint-url", endpoint.url])
    err = capsys.readouterr().err
    assert code == 1 and "TemplateDoesNotExist" in err and len(err.strip().splitlines()) == 1
    code = main(
        [
            "send",
            "--from",
            "me@example.com",
            "--to",
            "x@example.com",
            "--text",
            "@/no/such/file",
            "--subject",
            "s",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "cannot read /no/such/file" in err


def test_wrong_secret_is_reported_without_the_secret(endpoint, capsys, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret-value")
    code = main(["quota", "--endpoint-url", endpoint.url])
    err = capsys.readouterr().err
    assert code == 1 and "SignatureDoesNotMatch" in err and "a-wrong-secret-value" not in err
