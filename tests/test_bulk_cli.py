"""``sesclient bulk``: files in, summary out, exit codes, and resume after ``kill -9``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sesclient.cli import main
from sesclient.local import LocalSESThread
from sesclient.testing import InboxClient

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    with LocalSESThread(verified_identities=("example.com",), latency_ms=5) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.config.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.config.secret_access_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        assert main(["templates", "create", "T", "--subject", "Hi {{name}}", "--text", "Hello",
                     "--endpoint-url", server.url]) == 0  # fmt: skip
        yield server


def write_csv(path: Path, count: int, *, extra: str = "") -> Path:
    rows = "".join(f"user{i}@example.org,U{i}\n" for i in range(count))
    path.write_text("email,name\n" + rows + extra, encoding="utf-8")
    return path


def bulk(server: LocalSESThread, *args: str) -> int:
    return main(["bulk", "--from", "news@example.com", *args, "--endpoint-url", server.url])


def delivered(server: LocalSESThread) -> Counter[str]:
    counts: Counter[str] = Counter()
    for message in InboxClient(server.url).messages():
        for address in message["to"]:
            counts[address] += 1
    return counts


def test_csv_template_run_prints_a_json_summary(server, tmp_path, capsys) -> None:
    recipients = write_csv(tmp_path / "r.csv", 120)
    results = tmp_path / "results.jsonl"
    code = bulk(server, str(recipients), "--template", "T", "--json", "--results", str(results))
    out, err = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert summary["sent"] == 120
    assert summary["requests"] == 3
    assert summary["failed"] == summary["unknown"] == 0
    assert "120 recipients: 120 sent" in err
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 120
    assert {line["status"] for line in lines} == {"sent"}
    assert all(line["message_id"] for line in lines)
    subjects = {m["to"][0]: m["subject"] for m in InboxClient(server.url).messages()}
    assert subjects["user5@example.org"] == "Hi U5"


def test_jsonl_content_run_with_bad_rows_exits_non_zero(server, tmp_path, capsys) -> None:
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"email": f"j{i}@example.org", "name": "x"}) for i in range(5)]
    lines += ["{not json", json.dumps({"email": "not an address"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    body = tmp_path / "body.html"
    body.write_text("<p>Hello</p>", encoding="utf-8")
    code = bulk(
        server, str(path), "--subject", "News", "--html", f"@{body}", "--json", "--api", "v1"
    )
    out, err = capsys.readouterr()
    assert code == 1
    summary = json.loads(out)
    assert (summary["sent"], summary["failed"]) == (5, 2)
    assert summary["requests"] == 5
    assert summary["codes"] == {"InvalidInput": 1, "ValidationError": 1}
    assert "InvalidInput: 1" in err
    html = {m["to"][0]: m["html"] for m in InboxClient(server.url).messages()}
    assert html["j3@example.org"] == "<p>Hello</p>"


def test_progress_line_on_request(server, tmp_path, capsys) -> None:
    recipients = write_csv(tmp_path / "r.csv", 30)
    assert bulk(server, str(recipients), "--template", "T", "--progress") == 0
    err = capsys.readouterr().err
    assert "\r" in err
    assert "30/30 100.0%" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--template", "T"], "No such file"),
        (["r.xml", "--template", "T"], "cannot tell the format"),
        (["r.csv"], "give --template"),
        (["r.csv", "--template", "T", "--resume"], "--resume needs --journal"),
        (["r.csv", "--template", "T", "--default-data", "[1]"], "JSON object"),
        (["r.csv", "--template", "T", "--subject", "S"], "template"),
        (["nocol.csv", "--template", "T"], "no 'email' or 'address' column"),
        (["r.csv", "--template", "T", "--batch-size", "51"], "batch_size"),
        (["r.csv", "--template", "T", "--journal", "j.db", "--from", "not an address"], "from"),
    ],
)
def test_unusable_input_exits_2(server, tmp_path, monkeypatch, capsys, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "r.csv", 2)
    (tmp_path / "r.xml").write_text("<x/>", encoding="utf-8")
    (tmp_path / "nocol.csv").write_text("name\nx\n", encoding="utf-8")
    assert bulk(server, *args) == 2
    assert message in capsys.readouterr().err
    assert InboxClient(server.url).stats()["accepted"] == 0


def test_daily_quota_refusal_is_reported(tmp_path, monkeypatch, capsys) -> None:
    with LocalSESThread(verified_identities=("example.com",), max_24h_send=10) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.config.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.config.secret_access_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        recipients = write_csv(tmp_path / "r.csv", 25)
        base = [str(recipients), "--subject", "S", "--text", "T", "--json"]
        assert bulk(server, *base) == 1
        assert "DailyQuotaExceeded" in capsys.readouterr().err
        assert bulk(server, *base, "--allow-partial", "--journal", str(tmp_path / "j.db")) == 1
        summary = json.loads(capsys.readouterr().out)
        assert (summary["sent"], summary["failed"]) == (10, 15)
        assert summary["stopped"] == "DailyQuotaExceeded"


def test_kill_9_mid_run_then_resume_sends_nothing_twice(server, tmp_path, capsys) -> None:
    count = 600
    recipients = write_csv(tmp_path / "r.csv", count)
    journal = tmp_path / "run.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    command = [
        sys.executable, "-m", "sesclient.cli", "bulk", str(recipients), "--template", "T",
        "--from", "news@example.com", "--endpoint-url", server.url, "--journal", str(journal),
        "--rate", "400", "--batch-size", "10", "--concurrency", "4", "--no-progress",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        sent = 0
        while sent < 100:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the bulk run made no progress"
            time.sleep(0.05)
            if journal.exists():
                with sqlite3.connect(journal, timeout=5) as db:
                    try:
                        sent = db.execute(
                            "SELECT COUNT(*) FROM recipients WHERE state='sent'"
                        ).fetchone()[0]
                    except sqlite3.OperationalError:  # the schema is not there yet
                        sent = 0
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(journal) as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM recipients GROUP BY state"))
    assert states.get("sent", 0) >= 100
    assert sum(states.values()) < count or states.get("in_flight", 0) > 0

    code = bulk(server, str(recipients), "--template", "T", "--journal", str(journal),
                "--resume", "--json")  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    counts = delivered(server)
    assert InboxClient(server.url).stats()["duplicates"] == 0
    assert set(counts.values()) == {1}
    assert summary["sent"] + summary["failed"] + summary["unknown"] == count
    assert summary["failed"] == 0
    assert summary["previous"] >= states["sent"]
    assert summary["unknown"] <= states.get("in_flight", 0)
    assert code == (0 if summary["unknown"] == 0 else 1)
    # Every acknowledged recipient is in the inbox once; the unknown ones at most once.
    assert len(counts) >= summary["sent"]
    assert len(counts) <= summary["sent"] + summary["unknown"]
