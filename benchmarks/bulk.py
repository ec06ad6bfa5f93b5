"""Bulk sending throughput and client cost: sesclient's BulkSender next to the alternatives.

    python benchmarks/bulk.py [--quick] [--recipients N] [--concurrency 1,16,64,256]

One job, the same for every contender: send a template to N recipients with
their own template data through SESv2 SendBulkEmail, 50 recipients a call,
with so many calls in flight, against the local SES endpoint running in a
process of its own (pinned to its own core when there are two).  For each
contender and concurrency it reports recipients per second and the client
process's CPU time per call ("per send") and per recipient.

Contenders: sesclient's :class:`~sesclient.bulk.BulkSender` (validation,
accounting, rate limiter and all; also with its SQLite journal on, and
sending one SendEmail per recipient), aiobotocore, boto3 on threads and raw
aiohttp (requests signed with sesclient's SigV4, nothing else).  A peer that
is not installed is skipped with a message.  The peers only send and check
each entry's status: they do the least work that still counts as the job.

The module also provides :class:`EndpointProcess` (the local endpoint in a
child process with any configuration) for ``benchmarks/bulk_acceptance.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._harness import cpu_seconds, pin_to_cpu, raise_fd_limit, stop_child  # noqa: E402

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIALOCALSES00000001"
SECRET_ACCESS_KEY = "local-ses-secret-access-key-not-a-real-secret"
SENDER = "bulk@example.com"
TEMPLATE = "BulkBench"
BATCH = 50

__all__ = ["EndpointProcess", "Measurement", "child_env", "recipients", "run_contender"]


# -- the endpoint in its own process ------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment for child interpreters: the repository importable, no stray AWS config."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    for name in list(env):
        if name.startswith("AWS_"):
            del env[name]
    env["AWS_ACCESS_KEY_ID"] = ACCESS_KEY_ID
    env["AWS_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
    env["AWS_DEFAULT_REGION"] = REGION
    return env


class EndpointProcess:
    """The local SES endpoint in a child process, configured by :class:`LocalSESConfig` fields.

    ``with EndpointProcess(max_send_rate=200) as endpoint: endpoint.url``.
    The child exits when its standard input closes.
    """

    def __init__(self, *, cpu: int | None = None, **config: Any) -> None:
        config.setdefault("verified_identities", ["example.com"])
        self.config = config
        self.cpu = cpu
        self.url = ""
        self.pid = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> EndpointProcess:
        script = str(Path(__file__).resolve())
        command = [sys.executable, script, "--serve", json.dumps(self.config)]
        if self.cpu is not None:
            command += ["--cpu", str(self.cpu)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env()
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith(b"{"):
            self.stop()
            raise RuntimeError("the local endpoint did not start")
        facts = json.loads(line)
        self.url, self.pid = facts["url"], facts["pid"]
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        stop_child(process)

    def __enter__(self) -> EndpointProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _get(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        """The endpoint's counters (accepted, throttled, duplicates, faults, ...)."""
        return dict(self._get("/_inbox/api/stats"))

    def messages(self) -> list[dict[str, Any]]:
        return list(self._get("/_inbox/api/messages")["messages"])

    def clear(self) -> None:
        self._get("/_inbox/api/messages", method="DELETE")

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(config_json: str, cpu: int | None) -> None:
    from sesclient.local import LocalSES

    pin_to_cpu(cpu)
    raise_fd_limit()
    config = json.loads(config_json)
    if "verified_identities" in config:
        config["verified_identities"] = tuple(config["verified_identities"])

    async def main() -> None:
        server = LocalSES(port=0, **config)
        await server.start()
        print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
        try:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
        finally:
            await server.stop()

    asyncio.run(main())


def create_template(url: str) -> None:
    from sesclient import Credentials, SESClient
    from sesclient._errors import AlreadyExists

    with SESClient(REGION, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), endpoint_url=url) as c:
        try:
            c.v2.create_email_template(
                TemplateName=TEMPLATE,
                TemplateContent={"Subject": "Hello {{name}}", "Text": "Dear {{name}}, news."},
            )
        except AlreadyExists:
            pass


# -- the job ------------------------------------------------------------------------------


def recipients(count: int, start: int = 0) -> list[tuple[str, dict[str, str]]]:
    return [(f"user{i}@example.org", {"name": f"User {i}"}) for i in range(start, start + count)]


def _batches(people: list[tuple[str, dict[str, str]]]) -> Iterator[list[tuple[str, Any]]]:
    for index in range(0, len(people), BATCH):
        yield people[index : index + BATCH]


def _v2_params(batch: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    return {
        "FromEmailAddress": SENDER,
        "DefaultContent": {"Template": {"TemplateName": TEMPLATE, "TemplateData": "{}"}},
        "BulkEmailEntries": [
            {
                "Destination": {"ToAddresses": [address]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": json.dumps(data)}
                },
            }
            for address, data in batch
        ],
    }


def _count_ok(entries: list[dict[str, Any]], key: str = "Status") -> int:
    bad = [e for e in entries if e.get(key) != "SUCCESS"]
    if bad:
        raise RuntimeError(f"{len(bad)} entries failed: {bad[0]}")
    return len(entries)


@dataclass
class Measurement:
    recipients: int
    requests: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.recipients / self.wall

    @property
    def cpu_us_per_send(self) -> float:
        return self.cpu / self.requests * 1e6

    @property
    def cpu_us_per_recipient(self) -> float:
        return self.cpu / self.recipients * 1e6


class Skip(Exception):
    """A contender that cannot run here (not installed)."""


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise Skip(f"not installed (pip install {module})")


def _measure(job: Callable[[], int], people: int) -> Measurement:
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    requests = job()
    wall1, cpu1 = time.perf_counter(), cpu_seconds()
    return Measurement(people, requests, wall1 - wall0, cpu1 - cpu0)


def sesclient_bulk(
    url: str, people: list[Any], concurrency: int, *, journal: bool = False, single: bool = False
) -> Measurement:
    from sesclient import AsyncSESClient, Credentials
    from sesclient.bulk import BulkSender, Recipient

    items = [Recipient(address, data) for address, data in people]
    if single:
        items = [Recipient(address) for address, _ in people]

    async def job() -> int:
        async with AsyncSESClient(
            REGION,
            Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
            endpoint_url=url,
            retries=1,
            max_connections=concurrency,
        ) as client:
            with tempfile.TemporaryDirectory() as scratch:
                content: dict[str, Any] = (
                    {"subject": "Hello", "text": "Dear reader, news."}
                    if single
                    else {"template": TEMPLATE}
                )
                sender = BulkSender(
                    client,
                    from_addr=SENDER,
                    concurrency=concurrency,
                    journal=os.path.join(scratch, "run.db") if journal else None,
                    **content,
                )
                summary = await sender.run(items)
        if summary.sent != len(items):
            raise RuntimeError(f"not all sent: {summary}")
        return summary.requests

    return _measure(lambda: asyncio.run(job()), len(items))


def aiobotocore_bulk(url: str, people: list[Any], concurrency: int) -> Measurement:
    _require("aiobotocore")
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    async def job() -> int:
        batches = _batches(people)
        requests = 0
        context = get_session().create_client(
            "sesv2",
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            endpoint_url=url,
            config=AioConfig(max_pool_connections=concurrency),
        )
        async with context as client:

            async def worker() -> None:
                nonlocal requests
                for batch in batches:
                    response = await client.send_bulk_email(**_v2_params(batch))
                    _count_ok(response["BulkEmailEntryResults"])
                    requests += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests

    return _measure(lambda: asyncio.run(job()), len(people))


def boto3_threads_bulk(url: str, people: list[Any], concurrency: int) -> Measurement:
    _require("boto3")
    import threading

    import boto3
    from botocore.config import Config

    client = boto3.client(
        "sesv2",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        endpoint_url=url,
        config=Config(max_pool_connections=concurrency),
    )
    lock = threading.Lock()
    batches = _batches(people)
    counts = [0]

    def worker() -> None:
        while True:
            with lock:
                batch = next(batches, None)
            if batch is None:
                return
            response = client.send_bulk_email(**_v2_params(batch))
            _count_ok(response["BulkEmailEntryResults"])
            with lock:
                counts[0] += 1

    def job() -> int:
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return counts[0]

    try:
        return _measure(job, len(people))
    finally:
        client.close()


def aiohttp_bulk(url: str, people: list[Any], concurrency: int) -> Measurement:
    _require("aiohttp")
    import aiohttp

    from sesclient import Credentials
    from sesclient.sigv4 import sign_request

    target = url + "/v2/email/outbound-bulk-emails"
    credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)

    async def job() -> int:
        batches = _batches(people)
        requests = 0
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal requests
                for batch in batches:
                    body = json.dumps(_v2_params(batch), separators=(",", ":")).encode()
                    headers = sign_request(
                        "POST",
                        target,
                        {"Content-Type": "application/json"},
                        body,
                        credentials=credentials,
                        region=REGION,
                        service="ses",
                    )
                    async with session.post(target, data=body, headers=headers) as response:
                        payload = await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
                    _count_ok(json.loads(payload)["BulkEmailEntryResults"])
                    requests += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests

    return _measure(lambda: asyncio.run(job()), len(people))


CONTENDERS: dict[str, tuple[str, Callable[..., Measurement]]] = {
    "sesclient": ("sesclient BulkSender (SendBulkEmail x50)", sesclient_bulk),
    "sesclient-journal": (
        "sesclient BulkSender + SQLite journal",
        lambda url, people, c: sesclient_bulk(url, people, c, journal=True),
    ),
    "aiobotocore": ("aiobotocore sesv2, gather workers", aiobotocore_bulk),
    "boto3-threads": ("boto3 sesv2 on threads", boto3_threads_bulk),
    "raw-aiohttp": ("raw aiohttp + sesclient.sigv4 (floor)", aiohttp_bulk),
}


def run_contender(
    key: str, url: str, people: list[Any], concurrency: int, rounds: int = 1
) -> Measurement:
    """The round with the median wall time of one contender."""
    function = CONTENDERS[key][1]
    return _median([function(url, people, concurrency) for _ in range(rounds)])


def _format(m: Measurement) -> str:
    return (
        f"{m.rate:10.0f} {m.cpu_us_per_send:12.0f} {m.cpu_us_per_recipient:13.1f} {m.requests:6d}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/bulk.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small runs, one round")
    parser.add_argument("--recipients", type=int, help="recipients per run")
    parser.add_argument("--concurrency", default="1,16,64,256", help="in-flight levels")
    parser.add_argument("--rounds", type=int, help="rounds per point (median kept)")
    parser.add_argument("--only", help="comma-separated contender keys")
    parser.add_argument("--json", help="write the numbers to this file")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        _serve(args.serve, args.cpu)
        return 0

    count = args.recipients or (2_500 if args.quick else 20_000)
    rounds = args.rounds or (1 if args.quick else 3)
    levels = [int(level) for level in args.concurrency.split(",")]
    keys = args.only.split(",") if args.only else list(CONTENDERS)
    two_cores = hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2
    raise_fd_limit()
    records: list[dict[str, Any]] = []
    with EndpointProcess(cpu=1 if two_cores else None, check_signatures=True) as endpoint:
        if two_cores:
            pin_to_cpu(0)
        create_template(endpoint.url)
        people = recipients(count)
        # Warm-up: imports, connections, the endpoint's template cache.
        sesclient_bulk(endpoint.url, recipients(200), 4)
        endpoint.clear()
        print(
            f"bulk job: {count} recipients, SendBulkEmail x{BATCH}, local endpoint in its own "
            f"process{' (pinned, client on the other core)' if two_cores else ''}; "
            f"median of {rounds} round(s)"
        )
        header = (
            f"{'contender':42} {'in flight':>9} {'recipients/s':>10} {'cpu us/send':>12} "
            f"{'cpu us/recip':>13} {'calls':>6}"
        )
        print(header)
        print("-" * len(header))
        for level in levels:
            for key in keys:
                label = CONTENDERS[key][0]
                try:
                    measured = run_contender(key, endpoint.url, people, level, rounds)
                except Skip as exc:
                    print(f"{label:42} {level:9d} skipped: {exc}")
                    records.append({"contender": key, "concurrency": level, "skipped": str(exc)})
                    continue
                finally:
                    endpoint.clear()
                print(f"{label:42} {level:9d} {_format(measured)}")
                records.append(
                    {
                        "contender": key,
                        "concurrency": level,
                        "recipients": measured.recipients,
                        "requests": measured.requests,
                        "recipients_per_second": round(measured.rate, 1),
                        "cpu_us_per_send": round(measured.cpu_us_per_send, 1),
                        "cpu_us_per_recipient": round(measured.cpu_us_per_recipient, 2),
                    }
                )
        # One SendEmail per recipient: the engine's cost per request, not amortised over 50.
        single_count = max(500, count // 10)
        singles = recipients(single_count)
        for level in levels:
            measured = _median(
                [sesclient_bulk(endpoint.url, singles, level, single=True) for _ in range(rounds)]
            )
            endpoint.clear()
            label = "sesclient BulkSender (SendEmail each)"
            print(f"{label:42} {level:9d} {_format(measured)}")
            records.append(
                {
                    "contender": "sesclient-single",
                    "concurrency": level,
                    "recipients": measured.recipients,
                    "requests": measured.requests,
                    "recipients_per_second": round(measured.rate, 1),
                    "cpu_us_per_send": round(measured.cpu_us_per_send, 1),
                    "cpu_us_per_recipient": round(measured.cpu_us_per_recipient, 2),
                }
            )
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return 0


def _median(results: list[Measurement]) -> Measurement:
    walls = [m.wall for m in results]
    middle = statistics.median_low(walls)
    return next(m for m in results if m.wall == middle)


if __name__ == "__main__":
    sys.exit(main())
