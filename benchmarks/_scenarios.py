"""The scenarios of the suite and how big each one is, in full and quick mode.

Each scenario function returns :class:`~benchmarks._harness.Group` tables.
The send scenarios share one local endpoint in a separate process; the
throughput scenario starts its own two (checks off and on).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ._harness import Group, Row, run_interleaved
from ._servers import ServerProcess

__all__ = ["SCENARIOS", "Settings", "Suite"]

#: Scenario ids, in run order (``--only`` takes these).
SCENARIOS = ("sign", "sync", "threads", "async", "bulk", "cold-start", "size", "server-rps")


@dataclass
class Settings:
    """How much of everything to do."""

    quick: bool = False
    rounds: int = 5
    server: str = "local"
    client_cpu: int | None = None
    server_cpu: int | None = None
    threads: int = 8
    concurrency: tuple[int, ...] = ()
    only: tuple[str, ...] = SCENARIOS
    sizes: dict[str, int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        full = {
            "sign_n": 20000,
            "sign_warmup": 2000,
            "sync_n": 500,
            "sync_warmup": 50,
            "threads_n": 800,
            "threads_warmup": 80,
            "async_n": 1024,
            "rps_seconds": 3.0,
            "rps_connections": 64,
            "round_seconds": 4.0,
        }
        quick = {
            "sign_n": 300,
            "sign_warmup": 30,
            "sync_n": 5,
            "sync_warmup": 1,
            "threads_n": 16,
            "threads_warmup": 0,
            "async_n": 0,
            "rps_seconds": 0.3,
            "rps_connections": 16,
            "round_seconds": 1.0,
        }
        self.sizes = {**(quick if self.quick else full), **self.sizes}
        if not self.concurrency:
            # Quick mode keeps the level the goal is about and drops the costly 256.
            self.concurrency = (1, 64) if self.quick else (1, 16, 64, 256)


_STARTED = time.perf_counter()


def _log(message: str) -> None:
    print(f"[bench {time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


class Suite:
    """Runs the selected scenarios, owning the shared server's life."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._server: ServerProcess | None = None

    # -- the shared send server ---------------------------------------------------

    def server(self) -> ServerProcess:
        if self._server is None:
            self._spawn_server()
        assert self._server is not None
        return self._server.wait_ready()

    def _spawn_server(self) -> None:
        _log(f"starting the {self.settings.server} server")
        self._server = ServerProcess(self.settings.server, cpu=self.settings.server_cpu).spawn()

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _clear(self) -> Callable[[], None]:
        server = self.server()
        return server.clear

    # -- running --------------------------------------------------------------------

    def run(self) -> list[Group]:
        groups: list[Group] = []
        steps = {
            "sign": self.sign,
            "sync": self.sync,
            "threads": self.threads,
            "async": self.async_sends,
            "bulk": self.bulk,
            "cold-start": self.cold_start,
            "size": self.size,
            "server-rps": self.server_rps,
        }
        try:
            if {"sync", "threads", "async", "bulk"} & set(self.settings.only):
                self._spawn_server()  # it starts up while the first scenarios run
            for name in SCENARIOS:
                if name in self.settings.only:
                    _log(f"scenario {name}")
                    groups += steps[name]()
        finally:
            self.close()
        return groups

    def _progress(self, what: str) -> Callable[[str], None]:
        return lambda message: _log(f"  {what}: {message}")

    def sign(self) -> list[Group]:
        from ._signing import signing_contenders

        s = self.settings
        rows = run_interleaved(
            signing_contenders(),
            rounds=s.rounds,
            n=int(s.sizes["sign_n"]),
            warmup=int(s.sizes["sign_warmup"]),
            round_seconds=float(s.sizes["round_seconds"]),
            min_n=1000,
            progress=self._progress("sign"),
        )
        return [
            Group(
                "sign",
                "SigV4 signing: CPU µs per signature",
                "cpu",
                rows,
                params={"n": s.sizes["sign_n"]},
                subject="sesclient",
                floor="floor",
                note="One SESv2 SendEmail request (POST, JSON body) signed at the current time.",
            )
        ]

    def sync(self) -> list[Group]:
        from ._peers import sync_contenders

        s = self.settings
        rows = run_interleaved(
            sync_contenders(self.server().url),
            rounds=s.rounds,
            n=int(s.sizes["sync_n"]),
            warmup=int(s.sizes["sync_warmup"]),
            round_seconds=float(s.sizes["round_seconds"]),
            min_n=20,
            between=self._clear(),
            progress=self._progress("sync"),
        )
        return [
            Group(
                "sync",
                "Sync send, one thread: client CPU µs per send",
                "cpu",
                rows,
                params={"n": s.sizes["sync_n"]},
                subject="sesclient-v2",
                floor="raw-httpx",
                note="Client CPU = getrusage(RUSAGE_SELF) user+sys / sends; wall rate includes "
                "the server's time.",
            )
        ]

    def threads(self) -> list[Group]:
        from ._peers import thread_contenders

        s = self.settings
        rows = run_interleaved(
            thread_contenders(self.server().url, s.threads),
            rounds=s.rounds,
            n=int(s.sizes["threads_n"]),
            warmup=int(s.sizes["threads_warmup"]),
            round_seconds=float(s.sizes["round_seconds"]),
            min_n=s.threads * 4,
            between=self._clear(),
            progress=self._progress("threads"),
        )
        return [
            Group(
                "threads",
                f"Sync send, {s.threads} threads sharing one client: client CPU µs per send",
                "cpu",
                rows,
                params={"n": s.sizes["threads_n"], "threads": s.threads},
                subject="sesclient-v2",
                floor="raw-httpx",
                note="All threads of the client process are counted; the client is pinned to "
                "one core, so threads add concurrency, not parallelism.",
            )
        ]

    def async_sends(self) -> list[Group]:
        from ._peers import async_contenders

        s = self.settings
        groups = []
        for concurrency in s.concurrency:
            n = max(int(s.sizes["async_n"]), concurrency * (1 if s.quick else 4))
            rows = run_interleaved(
                async_contenders(self.server().url, concurrency),
                rounds=s.rounds,
                n=n,
                warmup=0 if s.quick else concurrency * 2,
                round_seconds=float(s.sizes["round_seconds"]),
                min_n=concurrency * 2,
                between=self._clear(),
                progress=self._progress(f"async {concurrency}"),
            )
            groups.append(
                Group(
                    "async",
                    f"Async send, {concurrency} in flight: client CPU µs per send",
                    "cpu",
                    rows,
                    params={"n": n, "concurrency": concurrency},
                    subject="sesclient-v2",
                    floor="raw-aiohttp",
                    note="One event loop; the connection pool is sized to the concurrency.",
                )
            )
        return groups

    def bulk(self) -> list[Group]:
        from ._bulkbench import bulk_group

        return [bulk_group(self.settings, self.server)]

    def cold_start(self) -> list[Group]:
        from ._footprint import cold_start_contenders

        s = self.settings
        rows = run_interleaved(
            cold_start_contenders(warm=not s.quick),
            rounds=s.rounds,
            n=1,
            progress=self._progress("cold start"),
        )
        return [
            Group(
                "cold-start",
                "Cold start in a fresh interpreter: import + client construction",
                "cold",
                rows,
                subject="sesclient",
                floor="httpx",
                note="Wall time of the snippet inside the child (interpreter start-up excluded, "
                "see the baseline); peak RSS (VmHWM) of the whole child process.",
            )
        ]

    def size(self) -> list[Group]:
        from ._footprint import installed_sizes

        rows = []
        for key, label, role, mib, files, packages in installed_sizes():
            row = Row(key, label, role)
            if files < 0:
                row.skipped = packages
            else:
                row.add(mib=mib, files=files)
                row.note = packages
            rows.append(row)
        return [
            Group(
                "size",
                "Installed size (files installed, without __pycache__ and metadata)",
                "size",
                rows,
                subject="sesclient+httpx",
                floor="boto3",
            )
        ]

    def server_rps(self) -> list[Group]:
        from ._loadgen import rps_contenders

        s = self.settings
        if self.settings.server != "local":
            return []
        _log("starting two local endpoints (checks off / on)")
        servers = {
            "off": ServerProcess("local", signatures=False, cpu=s.server_cpu),
            "on": ServerProcess("local", signatures=True, verify_senders=True, cpu=s.server_cpu),
        }
        try:
            for server in servers.values():
                server.spawn()
            for server in servers.values():
                server.wait_ready()
            connections = int(s.sizes["rps_connections"])
            rows = run_interleaved(
                rps_contenders(
                    servers, connections=connections, seconds=float(s.sizes["rps_seconds"])
                ),
                rounds=s.rounds,
                n=1,
                progress=self._progress("server rps"),
            )
        finally:
            for server in servers.values():
                server.stop()
        return [
            Group(
                "server-rps",
                f"Local endpoint throughput: v2 SendEmail, {connections} keep-alive connections",
                "rps",
                rows,
                params={"seconds": s.sizes["rps_seconds"], "connections": connections},
                note="Load from a raw asyncio generator on the client core; the endpoint runs "
                "in one process on its own core. Server CPU from /proc/<pid>/stat.",
            )
        ]


def bulk_available() -> bool:
    return importlib.util.find_spec("benchmarks.bulk") is not None
