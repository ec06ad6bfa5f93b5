"""Acceptance checks of the bulk sender against the local endpoint, with measured numbers.

    python benchmarks/bulk_acceptance.py [--quick] [--only rate,faults,kill,quota]

Each check runs the local SES endpoint in a process of its own, configured
for the check, and prints one PASS or FAIL line per criterion with what it
measured:

* rate: the endpoint enforces 200 recipients/s; a 10,000-recipient run
  (2,000 with --quick) holds that rate within 5% and surfaces no throttling;
* faults: 10% throttling, 5% 500/503 and 2% connection resets (half before,
  half after the message is stored); every recipient is accounted for, and by
  the endpoint's own records each is sent exactly once, or reported failed or
  unknown with a reason;
* kill: ``sesclient bulk`` with a journal is killed with SIGKILL mid-run and
  resumed; no acknowledged recipient is sent twice (the endpoint's duplicate
  counter), none is lost;
* quota: the 24-hour quota covers half the recipients; the run stops with the
  rest reported and journaled, both when the quota is checked up front and when
  SES reports it mid-run, and a later resume sends exactly the rest.

The exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bulk import (  # noqa: E402
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    SENDER,
    TEMPLATE,
    EndpointProcess,
    child_env,
    create_template,
)

FAILURES: list[str] = []


def verdict(name: str, ok: bool, detail: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        FAILURES.append(name)


def people(count: int) -> list[Any]:
    from sesclient.bulk import Recipient

    return [Recipient(f"user{i}@example.org", {"name": f"User {i}"}) for i in range(count)]


def run_sender(
    url: str, recipients: list[Any], **options: Any
) -> tuple[Any, list[Any], list[float]]:
    """A template run in this process: the summary, every result and when each came."""
    from sesclient import AsyncSESClient, Credentials
    from sesclient.bulk import BulkSender

    results: list[Any] = []
    stamps: list[float] = []

    def on_result(result: Any) -> None:
        results.append(result)
        stamps.append(time.perf_counter())

    async def go() -> Any:
        async with AsyncSESClient(
            REGION,
            Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
            endpoint_url=url,
            retries=1,
            max_connections=options.get("concurrency", 16),
        ) as client:
            options.setdefault("template", TEMPLATE)
            sender = BulkSender(client, from_addr=SENDER, on_result=on_result, **options)
            return await sender.run(recipients)

    return asyncio.run(go()), results, stamps


def delivered(endpoint: EndpointProcess) -> Counter[str]:
    counts: Counter[str] = Counter()
    for message in endpoint.messages():
        for address in message["to"]:
            counts[address] += 1
    return counts


def write_csv(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        stream.write("email,name\n")
        for i in range(count):
            stream.write(f"user{i}@example.org,User {i}\n")
    return path


def cli(*args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sesclient.cli", "bulk", *args, "--from", SENDER]
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def cli_json(*args: str) -> tuple[int, dict[str, Any], str]:
    process = cli(*args, "--json", "--no-progress")
    out, err = process.communicate(timeout=600)
    summary = json.loads(out) if out.strip().startswith(b"{") else {}
    return process.returncode, summary, err.decode(errors="replace")


def journal_states(path: Path) -> dict[str, int]:
    with sqlite3.connect(path, timeout=10) as db:
        try:
            rows = db.execute("SELECT state, COUNT(*) FROM recipients GROUP BY state").fetchall()
        except sqlite3.OperationalError:
            return {}
    return dict(rows)


# -- the checks -----------------------------------------------------------------------------


def check_rate(count: int) -> None:
    target = 200.0
    with EndpointProcess(max_send_rate=target) as endpoint:
        create_template(endpoint.url)
        summary, results, stamps = run_sender(endpoint.url, people(count))
        stats = endpoint.stats()
    sent_stamps = [stamp for stamp, result in zip(stamps, results, strict=True) if result.ok]
    steady = (len(sent_stamps) - 1) / (sent_stamps[-1] - sent_stamps[0])
    overall = summary.rate
    low, high = target * 0.95, target * 1.05
    verdict(
        "rate held within 5%",
        low <= overall <= high and low <= steady <= high,
        f"{overall:.1f} recipients/s over the run ({summary.elapsed:.1f}s), {steady:.1f}/s "
        f"first to last result; target {target:.0f} (+-5%: {low:.0f}..{high:.0f})",
    )
    throttled_codes = {code: n for code, n in summary.codes.items() if "hrottl" in code}
    verdict(
        "no throttling surfaced",
        summary.sent == count and not throttled_codes,
        f"{summary.sent}/{count} sent, {summary.failed} failed, {summary.unknown} unknown; "
        f"the endpoint throttled {stats['throttled']} recipients along the way "
        f"(re-sent: {summary.throttled})",
    )


def check_faults(count: int) -> None:
    for label, options in (
        ("SendBulkEmail x50", {}),
        ("SendEmail each", {"template": None, "subject": "News", "text": "Hello"}),
    ):
        recipients = people(count)
        if "text" in options:
            recipients = [recipient.address for recipient in recipients]
        check_faults_once(label, recipients, options)


def check_faults_once(label: str, recipients: list[Any], options: dict[str, Any]) -> None:
    count = len(recipients)
    faults = {
        "throttle_rate": 0.10,
        "error_rate": 0.05,
        "reset_before_rate": 0.01,
        "reset_after_rate": 0.01,
        "seed": 20240601,
    }
    with EndpointProcess(**faults) as endpoint:
        create_template(endpoint.url)
        started = time.perf_counter()
        summary, results, _ = run_sender(endpoint.url, recipients, **options)
        elapsed = time.perf_counter() - started
        stats = endpoint.stats()
        counts = delivered(endpoint)
    keys = {result.key for result in results}
    verdict(
        f"faults ({label}): every recipient accounted for",
        len(results) == count and len(keys) == count and summary.total == count,
        f"{len(results)} results for {count} recipients: {summary.sent} sent, "
        f"{summary.failed} failed, {summary.unknown} unknown in {elapsed:.1f}s; "
        f"{summary.requests} requests, {summary.retries} re-sends",
    )
    wrong: list[str] = []
    for result in results:
        seen = counts[result.address]
        if result.status == "sent" and seen != 1:
            wrong.append(f"{result.address} sent, delivered {seen}x")
        elif result.status == "failed" and seen != 0:
            wrong.append(f"{result.address} failed, delivered {seen}x")
        elif result.status == "unknown" and seen > 1:
            wrong.append(f"{result.address} unknown, delivered {seen}x")
        if result.status != "sent" and not (result.code and result.message):
            wrong.append(f"{result.address} {result.status} without a reason")
    unknown_delivered = sum(1 for r in results if r.status == "unknown" and counts[r.address])
    injected = stats["faults"]
    verdict(
        f"faults ({label}): each sent exactly once, or failed/unknown with a reason",
        not wrong and stats["duplicates"] == 0,
        f"endpoint duplicates {stats['duplicates']}, accepted {stats['accepted']}; injected "
        f"{injected['throttle']} throttles, "
        f"{injected['internal_error'] + injected['service_unavailable']} 500/503, "
        f"{injected['reset_before']} resets before and {injected['reset_after']} after storing; "
        f"{unknown_delivered} of {summary.unknown} unknown were in fact delivered; "
        f"codes {summary.codes}" + (f"; problems: {wrong[:5]}" if wrong else ""),
    )


def check_kill_resume(count: int, scratch: Path) -> None:
    recipients = write_csv(scratch / "kill.csv", count)
    journal = scratch / "kill.db"
    with EndpointProcess() as endpoint:
        create_template(endpoint.url)
        common = (str(recipients), "--template", TEMPLATE, "--endpoint-url", endpoint.url,
                  "--journal", str(journal))  # fmt: skip
        process = cli(*common, "--rate", "1000", "--concurrency", "8", "--no-progress")
        deadline = time.monotonic() + 300
        states: dict[str, int] = {}
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            if journal.exists():
                states = journal_states(journal)
                if states.get("sent", 0) >= count * 0.4:
                    break
        process.send_signal(signal.SIGKILL)
        process.communicate()
        killed = process.returncode == -signal.SIGKILL
        states = journal_states(journal)
        acknowledged = states.get("sent", 0)
        before = delivered(endpoint)
        code, summary, err = cli_json(*common, "--resume")
        stats = endpoint.stats()
        counts = delivered(endpoint)
    verdict(
        "kill -9 mid-run",
        killed and 0 < acknowledged < count,
        f"killed with {acknowledged} sent, {states.get('in_flight', 0)} in flight, "
        f"{states.get('pending', 0)} pending in the journal; the endpoint had "
        f"{sum(before.values())} messages",
    )
    total = summary.get("sent", 0) + summary.get("failed", 0) + summary.get("unknown", 0)
    duplicates_ok = stats["duplicates"] == 0 and set(counts.values()) <= {1}
    verdict(
        "resume: nothing sent twice, nothing lost",
        duplicates_ok
        and total == count
        and summary.get("failed", 1) == 0
        and summary.get("sent", 0) <= len(counts) <= summary.get("sent", 0) + summary["unknown"],
        f"resumed run exit {code}: {summary.get('sent')} sent, {summary.get('unknown')} unknown "
        f"(in flight at the kill), {summary.get('previous')} of them settled by the journal, "
        f"{summary.get('failed')} failed; endpoint duplicates {stats['duplicates']}, "
        f"{len(counts)} distinct recipients delivered of {count}"
        + ("" if summary else f"; stderr: {err[-300:]}"),
    )


def check_quota(count: int, scratch: Path) -> None:
    half = count // 2
    recipients = write_csv(scratch / "quota.csv", count)
    for label, extra in (("checked up front", ["--allow-partial"]), ("reported by SES",
                         ["--no-quota-check"])):  # fmt: skip
        journal = scratch / f"quota-{extra[0].strip('-')}.db"
        with EndpointProcess(max_24h_send=half) as endpoint:
            create_template(endpoint.url)
            common = [str(recipients), "--template", TEMPLATE, "--endpoint-url", endpoint.url,
                      "--journal", str(journal)]  # fmt: skip
            code, summary, err = cli_json(*common, *extra)
            stats = endpoint.stats()
        states = journal_states(journal)
        verdict(
            f"daily quota {label}: stops, rest reported and journaled",
            code == 1
            and summary.get("sent") == half
            and summary.get("failed") == count - half
            and summary.get("stopped") == "DailyQuotaExceeded"
            and summary.get("codes") == {"DailyQuotaExceeded": count - half}
            and states.get("not_sent") == count - half
            and stats["accepted"] == half,
            f"exit {code}: {summary.get('sent')} sent, {summary.get('failed')} not sent "
            f"({summary.get('codes')}); journal {states}; endpoint accepted {stats['accepted']}"
            + ("" if summary else f"; stderr: {err[-300:]}"),
        )
        # The next day: a fresh quota, the same journal.
        with EndpointProcess(max_24h_send=half) as endpoint:
            create_template(endpoint.url)
            common[common.index("--endpoint-url") + 1] = endpoint.url
            code, summary, err = cli_json(*common, "--resume")
            stats = endpoint.stats()
        verdict(
            f"daily quota {label}: resume sends exactly the rest",
            code == 0
            and summary.get("sent") == count
            and summary.get("previous") == half
            and stats["accepted"] == count - half,
            f"exit {code}: {summary.get('sent')} sent of which {summary.get('previous')} "
            f"before; endpoint accepted {stats['accepted']}",
        )


CHECKS: dict[str, Callable[[int, Path], None]] = {
    "rate": lambda count, scratch: check_rate(count),
    "faults": lambda count, scratch: check_faults(count),
    "kill": check_kill_resume,
    "quota": check_quota,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/bulk_acceptance.py")
    parser.add_argument("--quick", action="store_true", help="2,000 recipients instead of 10,000")
    parser.add_argument("--recipients", type=int, help="recipients per check")
    parser.add_argument("--only", help="comma-separated checks: " + ",".join(CHECKS))
    args = parser.parse_args(argv)
    count = args.recipients or (2_000 if args.quick else 10_000)
    names = args.only.split(",") if args.only else list(CHECKS)
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            print(f"-- {name} ({count} recipients)", flush=True)
            CHECKS[name](count, Path(scratch))
    print(f"{'FAILED: ' + ', '.join(FAILURES) if FAILURES else 'all checks passed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
