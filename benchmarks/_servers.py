"""The servers the benchmark talks to, each in a process of its own.

:class:`ServerProcess` starts ``python -m benchmarks._servers KIND`` and reads
the URL it listens on.  Two kinds:

* ``local``: sesclient's local SES endpoint (:class:`sesclient.local.LocalSES`)
  with rate limits off; by default it checks SigV4 signatures (so every
  client must sign correctly) and accepts any sender.
* ``canned``: a minimal asyncio server that answers every request with a
  fixed SendEmail response (v2 JSON under ``/v2/``, v1 XML elsewhere).  It
  does no SES work at all, so it shows client costs with the server out of
  the way; ``--server canned`` selects it.

The child pins itself to its own core (the client keeps the other) and exits
when its standard input closes, so it never outlives the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from ._harness import pin_to_cpu, raise_fd_limit, stop_child

__all__ = ["ServerProcess"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment for child interpreters: the repository importable, no stray AWS config."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL_SESV2"):
        env.pop(name, None)
    # Installed packages come with bytecode; let the repository's sesclient have it too,
    # or every cold start would compile it from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class ServerProcess:
    """A benchmark server running in a child process.

    ``signatures`` and ``verify_senders`` configure the local endpoint (the
    canned server checks nothing).  ``cpu`` is the core to pin it to.
    """

    def __init__(
        self,
        kind: str = "local",
        *,
        signatures: bool = True,
        verify_senders: bool = False,
        cpu: int | None = None,
    ) -> None:
        if kind not in ("local", "canned"):
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.signatures = signatures
        self.verify_senders = verify_senders
        self.cpu = cpu
        self.url = ""
        self.pid = 0
        self._process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> ServerProcess:
        """Start the child without waiting for it (see :meth:`wait_ready`)."""
        command = [sys.executable, "-m", "benchmarks._servers", self.kind]
        if self.cpu is not None:
            command += ["--cpu", str(self.cpu)]
        if not self.signatures:
            command.append("--no-signatures")
        if self.verify_senders:
            command.append("--verify-senders")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=child_env(),
        )
        return self

    def wait_ready(self) -> ServerProcess:
        """Block until the child reports its URL (it prints one JSON line when listening)."""
        if self.url:
            return self
        process = self._process
        if process is None:
            raise RuntimeError("the server was not spawned")
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(b"{"):
            self.stop()
            raise RuntimeError(f"the {self.kind} benchmark server did not start")
        facts = json.loads(line)
        self.url, self.pid = facts["url"], facts["pid"]
        return self

    def start(self) -> ServerProcess:
        return self.spawn().wait_ready()

    def cpu_seconds(self) -> float:
        """CPU the server process has used so far (user + system), from /proc."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def clear(self) -> None:
        """Empty the local endpoint's inbox so memory stays flat over a long run."""
        if self.kind != "local":
            return
        request = urllib.request.Request(f"{self.url}/_inbox/api/messages", method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        stop_child(process)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- the child side -------------------------------------------------------------

_V2_BODY = b'{"MessageId":"0000000000000000-canned-benchmark-000000"}'
_V1_BODY = (
    b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
    b"<SendEmailResult><MessageId>0000000000000000-canned-benchmark-000000</MessageId>"
    b"</SendEmailResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000"
    b"</RequestId></ResponseMetadata></SendEmailResponse>"
)


def _canned(content_type: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\n"
        b"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


_V2_RESPONSE = _canned(b"application/json", _V2_BODY)
_V1_RESPONSE = _canned(b"text/xml", _V1_BODY)


class _CannedProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: read a request (Content-Length bodies), answer from a constant."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(buffer) < total:
                break
            path = head.split(b" ", 2)[1] if b" " in head else b"/"
            self._transport.write(_V2_RESPONSE if path.startswith(b"/v2/") else _V1_RESPONSE)
            buffer = buffer[total:]
        self._buffer = buffer


async def _wait_for_stdin_eof() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)


async def _serve_local(args: argparse.Namespace) -> None:
    from sesclient.local import LocalSES

    server = LocalSES(
        port=0,
        check_signatures=args.signatures,
        verify_senders=args.verify_senders,
        verified_identities=("example.com",),
        max_send_rate=None,
        max_24h_send=None,
    )
    await server.start()
    print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
    try:
        await _wait_for_stdin_eof()
    finally:
        await server.stop()


async def _serve_canned(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_CannedProtocol, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}), flush=True)
    try:
        await _wait_for_stdin_eof()
    finally:
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._servers")
    parser.add_argument("kind", choices=("local", "canned"))
    parser.add_argument("--cpu", type=int, default=None, help="core to pin the server to")
    parser.add_argument("--no-signatures", dest="signatures", action="store_false")
    parser.add_argument("--verify-senders", action="store_true")
    args = parser.parse_args(argv)
    pin_to_cpu(args.cpu)
    raise_fd_limit()
    serve = _serve_local if args.kind == "local" else _serve_canned
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
