"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs and reports.

Nothing here looks at timings: the suite must run end to end against a real
local endpoint in its own process, sesclient's own rows must be measured (a
peer that is not installed may show as skipped), and the outputs (markdown,
JSON, README block) must come out in the expected shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SECTIONS = (
    "## Goals",
    "## SigV4 signing: CPU µs per signature",
    "## Sync send, one thread: client CPU µs per send",
    "## Sync send, 8 threads sharing one client: client CPU µs per send",
    "## Async send, 1 in flight: client CPU µs per send",
    "## Async send, 64 in flight: client CPU µs per send",
    "## Bulk send: recipients per second",
    "## Cold start in a fresh interpreter: import + client construction",
    "## Installed size",
    "## Local endpoint throughput",
)

# Rows that must be measured wherever the tests run (sesclient and its one dependency).
MEASURED_ROWS = (
    "sesclient `sigv4.sign_request` (key cached)",
    "bare hashlib/hmac signer (floor)",
    "sesclient v2 (`client.v2.send_email`)",
    "sesclient v1 (`client.v1.send_email`)",
    "sesclient high level (`client.send_email`)",
    "raw httpx, prebuilt request (floor)",
    "sesclient `AsyncSESClient` v2",
    "raw httpx.AsyncClient, prebuilt request",
    "sesclient: `import sesclient; SESClient(region, creds)`",
    "httpx: `import httpx; httpx.Client()`",
    "sesclient alone",
    "signature check off, any sender (unsigned requests)",
    "SigV4 checked, sender must be verified (signed requests)",
)

# Optional peers: present as a row either way, measured or "skipped: <reason>".
PEER_ROWS = (
    "botocore `SigV4Auth.add_auth` (fresh AWSRequest)",
    "boto3 `sesv2`",
    "boto3 `ses`",
    "capo-sesv2",
    "capo-ses",
    "raw aiohttp, prebuilt bytes (floor)",
    "aiobotocore `sesv2`",
    "capo-sesv2 async",
)


def _row(markdown: str, label: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("| ") and label in line.split("|")[1]:
            return line
    raise AssertionError(f"no row for {label!r} in the report")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-chart", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return out, result.stdout.decode()


def test_quick_run_writes_every_section(quick_run: tuple[Path, str]) -> None:
    out, stdout = quick_run
    markdown = (out / "latest.md").read_text(encoding="utf-8")
    assert markdown.startswith("# sesclient benchmarks")
    for section in SECTIONS:
        assert section in markdown, section
    # The report is also printed.
    assert "## Sync send, one thread" in stdout


def test_sesclient_rows_are_measured(quick_run: tuple[Path, str]) -> None:
    out, _ = quick_run
    markdown = (out / "latest.md").read_text(encoding="utf-8")
    for label in MEASURED_ROWS:
        row = _row(markdown, label)
        cells = [cell.strip() for cell in row.split("|")[2:-1]]
        assert "skipped" not in row and "failed" not in row, row
        assert any(cell and cell[0].isdigit() for cell in cells), row


def test_peers_are_measured_or_skipped_with_a_reason(quick_run: tuple[Path, str]) -> None:
    out, _ = quick_run
    markdown = (out / "latest.md").read_text(encoding="utf-8")
    for label in PEER_ROWS:
        row = _row(markdown, label)
        second = row.split("|")[2].strip()
        assert second[:1].isdigit() or second.startswith("skipped: "), row


def test_goal_lines_and_json_record(quick_run: tuple[Path, str]) -> None:
    out, stdout = quick_run
    record = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert record["settings"]["quick"] is True
    assert record["machine"]["nproc"] >= 1
    names = {goal["name"] for goal in record["goals"]}
    assert names >= {"sync send CPU", "signing CPU", "cold start wall", "cold start peak RSS"}
    assert "async send CPU at 64 in flight" in names
    for goal in record["goals"]:
        assert goal["status"] in ("PASS", "FAIL", "SKIP")
        assert any(
            line.startswith(f"{goal['status']} {goal['name']}:") for line in stdout.splitlines()
        )
    scenarios = {group["scenario"] for group in record["groups"]}
    assert scenarios == {
        "sign",
        "sync",
        "threads",
        "async",
        "bulk",
        "cold-start",
        "size",
        "server-rps",
    }


def test_bulk_scenario_uses_the_bulk_benchmark_when_present(quick_run: tuple[Path, str]) -> None:
    out, _ = quick_run
    record = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    (bulk,) = [group for group in record["groups"] if group["scenario"] == "bulk"]
    rows = {row["key"]: row for row in bulk["rows"]}
    if (REPO / "benchmarks" / "bulk.py").exists():
        assert rows["sesclient"]["skipped"] is None, rows["sesclient"]
        assert rows["sesclient"]["samples"]["recipients_per_s"][0] > 0
    else:
        assert "not in this tree" in rows["sesclient"]["skipped"]


def test_from_json_rewrites_only_the_readme_block(
    quick_run: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = quick_run
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\nbefore\n<!-- bench:start -->\nold numbers\n<!-- bench:end -->\nafter\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--from-json",
            str(out / "latest.json"),
            "--out",
            str(tmp_path / "again"),
            "--readme",
            "--readme-file",
            str(readme),
            "--no-chart",
        ],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n<!-- bench:start -->\n")
    assert text.endswith("<!-- bench:end -->\nafter\n")
    assert "old numbers" not in text
    block = text.split("<!-- bench:start -->")[1].split("<!-- bench:end -->")[0]
    assert "| sesclient v2 |" in block
    assert "python -m benchmarks" in block
    assert (
        (tmp_path / "again" / "latest.md")
        .read_text(encoding="utf-8")
        .startswith("# sesclient benchmarks")
    )


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    from benchmarks._report import replace_readme_block

    readme = tmp_path / "README.md"
    readme.write_text("# Title\n<!-- bench:start -->\nno end marker\n", encoding="utf-8")
    assert replace_readme_block(readme, "new") is False
    assert readme.read_text(encoding="utf-8") == "# Title\n<!-- bench:start -->\nno end marker\n"


def test_floor_signer_signs_like_sesclient() -> None:
    # The signing floor must be a real signer: same signature as sesclient's for the same instant.
    from benchmarks._peers import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, V2_BODY, V2_PATH
    from benchmarks._signing import SIGN_URL, FloorSigner
    from sesclient import Credentials
    from sesclient.sigv4 import sign_request

    signer = FloorSigner(
        ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, f"email.{REGION}.amazonaws.com", V2_PATH
    )
    floor = signer.sign(V2_BODY, amz_date="20240301T120000Z")
    expected = sign_request(
        "POST",
        SIGN_URL,
        {"Content-Type": "application/json"},
        V2_BODY,
        credentials=Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
        region=REGION,
        service="ses",
        timestamp=datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc),
    )
    assert floor["Authorization"] == expected["Authorization"]
    assert floor["X-Amz-Date"] == expected["X-Amz-Date"]
    # A different body gives a different signature (the body hash is really signed).
    other = signer.sign(V2_BODY + b" ", amz_date="20240301T120000Z")
    assert other["Authorization"] != floor["Authorization"]
