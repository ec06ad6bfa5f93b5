"""Credentials, the provider chain, refreshing, and region resolution (sesclient._credentials).

HTTP providers talk to a real HTTP server on 127.0.0.1, or to respx when the
point is the default link-local address: nothing here ever reaches
169.254.x.x or reads the real ~/.aws.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import shlex
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import respx

from sesclient._credentials import (
    ChainProvider,
    ContainerProvider,
    CredentialProvider,
    Credentials,
    EnvProvider,
    IMDSProvider,
    ProcessProvider,
    RefreshingProvider,
    SharedFileProvider,
    StaticCredentialProvider,
    default_chain,
    resolve_credentials,
    resolve_region,
)
from sesclient._errors import NoCredentialsError, RegionError, SESValidationError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty HOME, no AWS_* variables, and instance metadata off unless a test turns it on."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_minutes(minutes: float) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=minutes)


def credentials_document(key_id: str, *, minutes: float = 60, token_key: str = "Token") -> bytes:
    return json.dumps(
        {
            "Code": "Success",
            "Type": "AWS-HMAC",
            "AccessKeyId": key_id,
            "SecretAccessKey": SECRET,
            token_key: TOKEN,
            "Expiration": iso(in_minutes(minutes)),
        }
    ).encode()


class LoopbackServer:
    """A tiny HTTP server on 127.0.0.1 that answers from a route table and records requests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.command, self.path, headers))
                answer = server.routes.get((self.command, self.path), (404, b"not found"))
                if callable(answer):
                    answer = answer()
                status, body = answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Any:
    srv = LoopbackServer()
    yield srv
    srv.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_command(tmp_path: Path, body: str, *args: str) -> str:
    """A credential_process command line running ``body`` with this Python."""
    script = write(tmp_path / "dir with space" / "creds.py", body)
    return shlex.join([sys.executable, str(script), *args])


class CountingSource(CredentialProvider):
    """A source that hands out new credentials on each call and counts the calls."""

    name = "counting"

    def __init__(
        self, *, minutes: float = 60, fail: bool = False, delay: float = 0.0, clock: Any = None
    ) -> None:
        self.calls = 0
        self.minutes = minutes
        self.fail = fail
        self.delay = delay
        self.clock = clock
        self._lock = threading.Lock()

    def get(self) -> Credentials:
        with self._lock:
            self.calls += 1
            number = self.calls
        if self.delay:
            # Holds the refresh open so that concurrent callers really overlap.
            threading.Event().wait(self.delay)
        if self.fail:
            raise NoCredentialsError("source is down")
        now = self.clock() if self.clock else datetime.now(timezone.utc).timestamp()
        expires = datetime.fromtimestamp(now + self.minutes * 60, timezone.utc)
        return Credentials(f"ASIAREFRESH{number:09d}", SECRET, TOKEN, expires)


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def expiring(clock: FakeClock, seconds: float, key_id: str = "ASIAOLD0000000000000") -> Credentials:
    return Credentials(
        key_id, SECRET, TOKEN, datetime.fromtimestamp(clock.now + seconds, timezone.utc)
    )


# --------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------


def test_repr_and_str_never_show_secret_or_token() -> None:
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN, in_minutes(5))
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert SECRET not in text
        assert TOKEN not in text
        assert "AKIA" in text and "MPLE" in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert "session_token='<hidden>'" in repr(creds) or "session_token=<hidden>" in repr(creds)
    assert "session_token=None" in repr(Credentials("AKIAIOSFODNN7EXAMPLE", SECRET))
    assert repr(StaticCredentialProvider(creds)).count(SECRET) == 0


def test_credentials_are_immutable_comparable_and_picklable() -> None:
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN)
    with pytest.raises(AttributeError):
        creds.secret_access_key = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del creds.session_token
    with pytest.raises(AttributeError):
        creds.extra = 1  # type: ignore[attr-defined]
    assert creds == Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN)
    assert creds != Credentials("AKIAIOSFODNN7EXAMPLE", SECRET)
    assert len({creds, Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN)}) == 1
    assert pickle.loads(pickle.dumps(creds)) == creds


def test_credentials_validation_and_naive_expiration() -> None:
    naive = datetime(2030, 1, 1, 12, 0, 0)
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, expiration=naive)
    assert creds.expiration == naive.replace(tzinfo=timezone.utc)
    assert Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, "").session_token is None
    with pytest.raises(SESValidationError, match="secret_access_key is empty"):
        Credentials("AKIAIOSFODNN7EXAMPLE", "")
    with pytest.raises(SESValidationError, match="access_key_id must be a string"):
        Credentials(None, SECRET)  # type: ignore[arg-type]
    with pytest.raises(SESValidationError, match="expiration"):
        Credentials("AKIAIOSFODNN7EXAMPLE", SECRET, expiration="2030-01-01")  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


def test_env_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert EnvProvider().get() == Credentials("AKIAENV0000000000000", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z")
    creds = EnvProvider().get()
    assert creds.session_token == TOKEN
    assert creds.expiration == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_env_provider_partial_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with pytest.raises(NoCredentialsError, match="AWS_ACCESS_KEY_ID is not") as info:
        EnvProvider().get()
    assert SECRET not in str(info.value)
    # A half-configured environment stops the chain instead of using some other identity.
    write(Path(os.environ["HOME"]) / ".aws/credentials", "[default]\naws_access_key_id=A\n")
    with pytest.raises(NoCredentialsError, match="AWS_ACCESS_KEY_ID is not"):
        default_chain().get()


def test_env_provider_takes_mapping() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAMAP0000000000000", "AWS_SECRET_ACCESS_KEY": SECRET}
    assert EnvProvider(environ=env).get().access_key_id == "AKIAMAP0000000000000"


# --------------------------------------------------------------------------
# Shared files
# --------------------------------------------------------------------------


def test_shared_credentials_file_profiles(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        home / ".aws/credentials",
        f"""
        [default]
        aws_access_key_id = AKIADEFAULT000000000
        aws_secret_access_key = {SECRET}

        [work]
        aws_access_key_id = ASIAWORK000000000000
        aws_secret_access_key = {SECRET}
        aws_session_token = {TOKEN}
        """,
    )
    assert SharedFileProvider().get().access_key_id == "AKIADEFAULT000000000"
    assert SharedFileProvider("work").get().session_token == TOKEN
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert SharedFileProvider().get().access_key_id == "ASIAWORK000000000000"


def test_config_file_uses_profile_prefix(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        home / ".aws/config",
        f"""
        [default]
        aws_access_key_id = AKIACONFIGDEFAULT000
        aws_secret_access_key = {SECRET}

        [profile dev]
        aws_access_key_id = AKIACONFIGDEV0000000
        aws_secret_access_key = {SECRET}

        [bare]
        aws_access_key_id = AKIAWRONGSECTION0000
        aws_secret_access_key = {SECRET}
        """,
    )
    config = SharedFileProvider(source="config")
    assert config.get().access_key_id == "AKIACONFIGDEFAULT000"
    assert SharedFileProvider("dev", source="config").get().access_key_id == "AKIACONFIGDEV0000000"
    # In the config file "[bare]" is not the profile "bare".
    with pytest.raises(NoCredentialsError, match="bare"):
        SharedFileProvider("bare", source="config").get()
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert default_chain().get().access_key_id == "AKIACONFIGDEV0000000"


def test_shared_file_locations_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds_file = write(
        tmp_path / "elsewhere" / "creds.ini",
        f"[default]\naws_access_key_id = AKIAELSEWHERE0000000\naws_secret_access_key = {SECRET}\n",
    )
    config_file = write(tmp_path / "elsewhere" / "config.ini", "[default]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds_file))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    assert default_chain().get().access_key_id == "AKIAELSEWHERE0000000"
    assert resolve_region() == "eu-west-3"


def test_credentials_file_beats_config_file(home: Path) -> None:
    write(
        home / ".aws/credentials",
        f"[default]\naws_access_key_id=AKIACREDFILE00000000\naws_secret_access_key={SECRET}\n",
    )
    write(
        home / ".aws/config",
        f"[default]\naws_access_key_id=AKIACONFFILE00000000\naws_secret_access_key={SECRET}\n",
    )
    chain = default_chain()
    assert chain.get().access_key_id == "AKIACREDFILE00000000"
    assert chain.source is not None and chain.source.name == "shared-credentials-file"


def test_partial_profile_is_an_error(home: Path) -> None:
    write(home / ".aws/credentials", "[default]\naws_access_key_id = AKIAPARTIAL000000000\n")
    with pytest.raises(NoCredentialsError, match="lacks aws_secret_access_key"):
        default_chain().get()


def test_explicit_profile_skips_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    write(
        home / ".aws/credentials",
        f"[ops]\naws_access_key_id = AKIAOPS0000000000000\naws_secret_access_key = {SECRET}\n",
    )
    assert default_chain().get().access_key_id == "AKIAENV0000000000000"
    assert default_chain("ops").get().access_key_id == "AKIAOPS0000000000000"
    assert resolve_credentials(profile="ops").get().access_key_id == "AKIAOPS0000000000000"


def test_missing_named_profile_does_not_fall_through(
    home: Path, monkeypatch: pytest.MonkeyPatch, server: LoopbackServer
) -> None:
    server.routes[("GET", "/creds")] = (200, credentials_document("ASIACONTAINER0000000"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
    write(home / ".aws/config", "[profile real]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "typo")
    with pytest.raises(NoCredentialsError, match=r"profile 'typo' \(from AWS_PROFILE\)"):
        default_chain().get()
    assert server.requests == []
    # Without a named profile the container is used.
    monkeypatch.delenv("AWS_PROFILE")
    assert default_chain().get().access_key_id == "ASIACONTAINER0000000"


def test_unsupported_profile_kind_is_a_clear_error(home: Path) -> None:
    write(
        home / ".aws/config",
        f"""
        [profile admin]
        role_arn = arn:aws:iam::123456789012:role/Admin
        source_profile = base
        aws_access_key_id = AKIASHOULDNOTBEUSED0
        aws_secret_access_key = {SECRET}
        """,
    )
    with pytest.raises(NoCredentialsError, match="role_arn") as info:
        default_chain("admin").get()
    assert "credential_process" in str(info.value)


def test_unparsable_config_file(home: Path) -> None:
    write(home / ".aws/credentials", "aws_access_key_id = no section header\n")
    with pytest.raises(NoCredentialsError, match="cannot read AWS config file"):
        default_chain().get()
    write(home / ".aws/config", "region = no section header\n")
    with pytest.raises(RegionError, match="cannot read AWS config file"):
        resolve_region()


# --------------------------------------------------------------------------
# credential_process
# --------------------------------------------------------------------------

PROCESS_OK = f"""
    import json, sys
    print(json.dumps({{
        "Version": 1,
        "AccessKeyId": "|".join(sys.argv[1:]) or "ASIAPROCESS000000000",
        "SecretAccessKey": "{SECRET}",
        "SessionToken": "{TOKEN}",
        "Expiration": "2031-05-06T07:08:09.123Z",
    }}))
"""


def test_credential_process(home: Path, tmp_path: Path) -> None:
    command = process_command(tmp_path, PROCESS_OK)
    write(home / ".aws/config", f"[default]\ncredential_process = {command}\n")
    chain = default_chain()
    creds = chain.get()
    assert creds.access_key_id == "ASIAPROCESS000000000"
    assert creds.secret_access_key == SECRET
    assert creds.session_token == TOKEN
    assert creds.expiration == datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    assert isinstance(chain.source, ProcessProvider)


def test_credential_process_runs_without_a_shell(home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    command = process_command(tmp_path, PROCESS_OK, "two words", ";", "touch", str(marker))
    write(home / ".aws/credentials", f"[default]\ncredential_process = {command}\n")
    creds = ProcessProvider().get()
    assert creds.access_key_id == f"two words|;|touch|{marker}"
    assert not marker.exists()


def test_credential_process_failure_shows_stderr_not_stdout(home: Path, tmp_path: Path) -> None:
    command = process_command(
        tmp_path,
        f"""
        import sys
        print('{{"SecretAccessKey": "{SECRET}"}}')
        print("token expired, run aws sso login", file=sys.stderr)
        sys.exit(3)
        """,
    )
    write(home / ".aws/config", f"[profile p]\ncredential_process = {command}\n")
    with pytest.raises(NoCredentialsError) as info:
        ProcessProvider("p").get()
    message = str(info.value)
    assert "exited with status 3" in message
    assert "run aws sso login" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        (f"not json {SECRET}", "valid JSON"),
        (f'["{SECRET}"]', "JSON object"),
        (
            json.dumps({"Version": 2, "AccessKeyId": "A", "SecretAccessKey": SECRET}),
            "Version 2",
        ),
        (json.dumps({"Version": 1, "SecretAccessKey": SECRET}), "no AccessKeyId"),
        (json.dumps({"Version": 1, "AccessKeyId": "A"}), "no SecretAccessKey"),
        (
            json.dumps(
                {
                    "Version": 1,
                    "AccessKeyId": "A",
                    "SecretAccessKey": SECRET,
                    "Expiration": "tomorrow",
                }
            ),
            "ISO 8601",
        ),
    ],
)
def test_credential_process_bad_output(
    home: Path, tmp_path: Path, output: str, fragment: str
) -> None:
    command = process_command(tmp_path, f"import sys\nsys.stdout.write({output!r})\n")
    write(home / ".aws/config", f"[default]\ncredential_process = {command}\n")
    with pytest.raises(NoCredentialsError) as info:
        ProcessProvider().get()
    assert fragment in str(info.value)
    assert SECRET not in str(info.value)


def test_credential_process_missing_program(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-program"
    write(home / ".aws/config", f"[default]\ncredential_process = {missing} --flag\n")
    with pytest.raises(NoCredentialsError, match="cannot run"):
        default_chain().get()
    write(home / ".aws/config", "[default]\ncredential_process = 'unterminated\n")
    with pytest.raises(NoCredentialsError, match="cannot be split"):
        default_chain().get()


def test_process_credentials_are_refreshed_by_running_again(home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    command = process_command(
        tmp_path,
        f"""
        import json, pathlib
        counter = pathlib.Path({str(counter)!r})
        runs = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(runs))
        print(json.dumps({{"Version": 1, "AccessKeyId": f"ASIARUN{{runs:013d}}",
                          "SecretAccessKey": "s", "Expiration": "2031-01-01T00:00:00Z"}}))
        """,
    )
    write(home / ".aws/config", f"[default]\ncredential_process = {command}\n")
    expires = datetime(2031, 1, 1, tzinfo=timezone.utc).timestamp()
    clock = FakeClock(expires - 3600)
    provider = RefreshingProvider(ProcessProvider(), clock=clock)
    assert provider.get().access_key_id == "ASIARUN0000000000001"
    assert provider.get().access_key_id == "ASIARUN0000000000001"
    clock.now = expires - 30
    assert provider.get().access_key_id == "ASIARUN0000000000002"
    assert counter.read_text() == "2"


# --------------------------------------------------------------------------
# Container credentials
# --------------------------------------------------------------------------


def test_container_full_uri_with_token(server: LoopbackServer, monkeypatch) -> None:
    server.routes[("GET", "/v2/credentials")] = (200, credentials_document("ASIACONTAINER0000001"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/v2/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc")
    creds = ContainerProvider().get()
    assert creds.access_key_id == "ASIACONTAINER0000001"
    assert creds.session_token == TOKEN
    assert creds.expiration is not None
    [(method, path, headers)] = server.requests
    assert (method, path) == ("GET", "/v2/credentials")
    assert headers["authorization"] == "Basic abc"


def test_container_token_file_is_read_on_every_refresh(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server.routes[("GET", "/pod")] = (200, credentials_document("ASIAPOD0000000000001"))
    token_file = write(tmp_path / "eks-pod-identity-token", "first-token\n")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/pod")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-is-set")
    provider = ContainerProvider()
    provider.get()
    token_file.write_text("second-token")
    provider.get()
    assert [h["authorization"] for _, _, h in server.requests] == ["first-token", "second-token"]


def test_container_token_with_newline_is_rejected_without_echo(monkeypatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Injected: secret-part")
    with pytest.raises(NoCredentialsError, match="line break") as info:
        ContainerProvider().get()
    assert "secret-part" not in str(info.value)


def test_container_relative_uri(server: LoopbackServer, monkeypatch) -> None:
    server.routes[("GET", "/v2/credentials/abc-123")] = (200, credentials_document("ASIAECS1"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc-123")
    creds = ContainerProvider(relative_uri_base=server.url).get()
    assert creds.access_key_id == "ASIAECS1"
    assert "authorization" not in server.requests[0][2]


def test_container_relative_uri_default_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/xyz")
    with respx.mock(assert_all_called=True) as mock:
        mock.get("http://169.254.170.2/v2/credentials/xyz").respond(
            200, content=credentials_document("ASIAECSDEFAULT")
        )
        assert ContainerProvider().get().access_key_id == "ASIAECSDEFAULT"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "http://localhost:9911/creds",
        "https://credentials.example.com/creds",
    ],
)
def test_container_full_uri_allowed_hosts(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(url).respond(200, content=credentials_document("ASIAALLOWED"))
        assert ContainerProvider().get().access_key_id == "ASIAALLOWED"


@pytest.mark.parametrize(
    "url", ["http://example.com/creds", "http://169.254.169.254/creds", "ftp://127.0.0.1/x"]
)
def test_container_full_uri_disallowed_hosts(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    with respx.mock(assert_all_called=False) as mock, pytest.raises(NoCredentialsError):
        ContainerProvider().get()
    assert not mock.calls


def test_container_errors_retry_then_fail(server: LoopbackServer, monkeypatch) -> None:
    server.routes[("GET", "/creds")] = (500, b"oops")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
    with pytest.raises(NoCredentialsError, match="HTTP 500"):
        ContainerProvider(attempts=2, retry_delay=0).get()
    assert len(server.requests) == 2
    server.requests.clear()
    server.routes[("GET", "/creds")] = (403, b"denied")
    with pytest.raises(NoCredentialsError, match="HTTP 403"):
        ContainerProvider(attempts=3, retry_delay=0).get()
    assert len(server.requests) == 1
    server.routes[("GET", "/creds")] = (200, b"{not json")
    with pytest.raises(NoCredentialsError, match="valid JSON"):
        ContainerProvider().get()


def test_container_unreachable_stops_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{closed_port()}/creds"
    )
    with pytest.raises(NoCredentialsError, match="request failed"):
        default_chain().get()


# --------------------------------------------------------------------------
# EC2 instance metadata
# --------------------------------------------------------------------------

ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


def imds_routes(server: LoopbackServer, *, token_status: int = 200) -> None:
    server.routes[("PUT", "/latest/api/token")] = (token_status, b"imds-session-token")
    server.routes[("GET", ROLE_PATH)] = (200, b"my-instance-role\n")
    server.routes[("GET", ROLE_PATH + "my-instance-role")] = (
        200,
        credentials_document("ASIAIMDS000000000001"),
    )


def test_imds_v2_flow(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    imds_routes(server)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url + "/")
    creds = IMDSProvider().get()
    assert creds.access_key_id == "ASIAIMDS000000000001"
    assert creds.secret_access_key == SECRET
    assert creds.session_token == TOKEN
    assert creds.expiration is not None
    assert [(m, p) for m, p, _ in server.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", ROLE_PATH),
        ("GET", ROLE_PATH + "my-instance-role"),
    ]
    assert server.requests[0][2]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    for _, _, headers in server.requests[1:]:
        assert headers["x-aws-ec2-metadata-token"] == "imds-session-token"


def test_imds_disabled(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    imds_routes(server)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "TRUE")
    with pytest.raises(NoCredentialsError, match="AWS_EC2_METADATA_DISABLED"):
        IMDSProvider().get()
    with pytest.raises(NoCredentialsError, match="AWS_EC2_METADATA_DISABLED"):
        default_chain().get()
    assert server.requests == []


def test_imds_v1_fallback(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    imds_routes(server, token_status=403)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    assert IMDSProvider().get().access_key_id == "ASIAIMDS000000000001"
    assert all("x-aws-ec2-metadata-token" not in h for _, _, h in server.requests[1:])
    monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
    with pytest.raises(NoCredentialsError, match="V1_DISABLED"):
        IMDSProvider().get()


def test_imds_without_role(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.routes[("PUT", "/latest/api/token")] = (200, b"t")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    with pytest.raises(NoCredentialsError, match="no IAM role"):
        IMDSProvider().get()
    with pytest.raises(NoCredentialsError, match="No AWS credentials found"):
        default_chain().get()


def test_imds_error_document(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    imds_routes(server)
    server.routes[("GET", ROLE_PATH + "my-instance-role")] = (
        200,
        json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "Message": "nope"}).encode(),
    )
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    with pytest.raises(NoCredentialsError, match="AssumeRoleUnauthorizedAccess"):
        default_chain().get()


def test_imds_nothing_listening_means_not_on_ec2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NoCredentialsError, match="no answer from") as info:
        default_chain().get()
    assert "No AWS credentials found" in str(info.value)


def test_imds_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    with respx.mock(assert_all_called=True) as mock:
        token = mock.put("http://169.254.169.254/latest/api/token").respond(200, text="tok")
        mock.get("http://169.254.169.254" + ROLE_PATH).respond(200, text="role")
        mock.get("http://169.254.169.254" + ROLE_PATH + "role").respond(
            200, content=credentials_document("ASIADEFAULTIMDS")
        )
        assert IMDSProvider().get().access_key_id == "ASIADEFAULTIMDS"
        assert token.calls.last.request.headers["x-aws-ec2-metadata-token-ttl-seconds"]


def test_imds_retries_server_errors(server: LoopbackServer, monkeypatch) -> None:
    answers = iter([(503, b""), (200, b"tok")])
    server.routes[("PUT", "/latest/api/token")] = lambda: next(answers)
    server.routes[("GET", ROLE_PATH)] = (200, b"r")
    server.routes[("GET", ROLE_PATH + "r")] = (200, credentials_document("ASIARETRIED"))
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2")
    assert IMDSProvider().get().access_key_id == "ASIARETRIED"


# --------------------------------------------------------------------------
# The chain
# --------------------------------------------------------------------------


def test_chain_order(
    home: Path, tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every source configured at once; removing the winner each time reveals the next."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    creds_file = write(
        home / ".aws/credentials",
        f"[default]\naws_access_key_id=AKIAFROMCREDSFILE000\naws_secret_access_key={SECRET}\n",
    )
    command = process_command(tmp_path, PROCESS_OK)
    config_text = (
        f"[default]\naws_access_key_id=AKIAFROMCONFIGFILE00\naws_secret_access_key={SECRET}\n"
    )
    config_file = write(home / ".aws/config", config_text + f"credential_process = {command}\n")
    server.routes[("GET", "/creds")] = (200, credentials_document("ASIAFROMCONTAINER000"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
    imds_routes(server)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")

    def winner() -> tuple[str, str]:
        chain = default_chain()
        key_id = chain.get().access_key_id
        assert chain.source is not None
        return key_id, chain.source.name

    assert winner() == ("AKIAFROMENV000000000", "env")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert winner() == ("AKIAFROMCREDSFILE000", "shared-credentials-file")
    creds_file.unlink()
    assert winner() == ("ASIAPROCESS000000000", "credential-process")
    config_file.write_text(config_text)
    assert winner() == ("AKIAFROMCONFIGFILE00", "shared-config-file")
    config_file.unlink()
    assert winner() == ("ASIAFROMCONTAINER000", "container")
    assert [p for m, p, _ in server.requests] == ["/creds"]
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    assert winner() == ("ASIAIMDS000000000001", "imds")


def test_chain_remembers_the_winner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFIRST00000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    chain = resolve_credentials()
    assert isinstance(chain, ChainProvider)
    assert chain.get().access_key_id == "AKIAFIRST00000000000"
    assert isinstance(chain.source, EnvProvider)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECOND0000000000")
    assert chain.get().access_key_id == "AKIAFIRST00000000000"
    assert asyncio.run(chain.aget()).access_key_id == "AKIAFIRST00000000000"


def test_chain_caches_expiring_credentials(server: LoopbackServer, monkeypatch) -> None:
    server.routes[("GET", "/creds")] = (200, credentials_document("ASIACACHED"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
    chain = default_chain()
    for _ in range(5):
        assert chain.get().access_key_id == "ASIACACHED"
    assert asyncio.run(chain.aget()).access_key_id == "ASIACACHED"
    assert len(server.requests) == 1


def test_nothing_found_lists_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = resolve_credentials()  # lazy: nothing is looked up yet
    with pytest.raises(NoCredentialsError) as info:
        provider.get()
    message = str(info.value)
    for fragment in (
        "No AWS credentials found",
        "AWS_ACCESS_KEY_ID",
        "shared credentials file",
        "credential_process",
        "shared config file",
        "container credentials",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "EC2 instance metadata",
        "AWS_EC2_METADATA_DISABLED",
    ):
        assert fragment in message
    with pytest.raises(NoCredentialsError, match="No AWS credentials found"):
        asyncio.run(provider.aget())


def test_nothing_found_hints_at_web_identity(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    with pytest.raises(NoCredentialsError, match="web identity"):
        default_chain().get()


def test_chain_with_custom_providers() -> None:
    class Nothing(CredentialProvider):
        name = "nothing"

        def get(self) -> Credentials:
            raise NoCredentialsError("nothing here")

    class Broken(CredentialProvider):
        def get(self) -> Credentials:
            raise RuntimeError("broken")

    fixed = Credentials("AKIAFIXED00000000000", SECRET)
    chain = ChainProvider([Nothing(), StaticCredentialProvider(fixed)])
    assert chain.get() is fixed
    assert isinstance(chain.source, StaticCredentialProvider)
    with pytest.raises(RuntimeError, match="broken"):
        ChainProvider([Broken(), StaticCredentialProvider(fixed)]).get()
    with pytest.raises(NoCredentialsError, match="nothing here"):
        ChainProvider([Nothing()]).get()


# --------------------------------------------------------------------------
# resolve_credentials
# --------------------------------------------------------------------------


def test_resolve_credentials_accepts_credentials_and_providers() -> None:
    fixed = Credentials("AKIAFIXED00000000000", SECRET)
    provider = resolve_credentials(fixed)
    assert provider.get() is fixed
    assert asyncio.run(provider.aget()) is fixed
    static = StaticCredentialProvider(fixed)
    assert resolve_credentials(static) is static

    class DuckTyped:
        def get(self) -> Credentials:
            return fixed

        async def aget(self) -> Credentials:
            return fixed

    duck = DuckTyped()
    assert resolve_credentials(duck) is duck  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", [{"aws_access_key_id": "A", "aws_secret_access_key": SECRET}, ("A", SECRET), "A"]
)
def test_resolve_credentials_rejects_other_types(bad: object) -> None:
    with pytest.raises(SESValidationError, match="Credentials") as info:
        resolve_credentials(bad)  # type: ignore[arg-type]
    assert SECRET not in str(info.value)


# --------------------------------------------------------------------------
# Refreshing
# --------------------------------------------------------------------------


def test_fresh_credentials_do_not_call_the_source() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock)
    initial = expiring(clock, 3600)
    provider = RefreshingProvider(source, initial=initial, clock=clock)
    for _ in range(10):
        assert provider.get() is initial
    assert asyncio.run(provider.aget()) is initial
    assert source.calls == 0
    clock.now += 3600 - 301
    assert provider.get() is initial
    assert source.calls == 0


def test_first_get_fetches_and_caches() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock)
    provider = RefreshingProvider(source, clock=clock)
    first = provider.get()
    assert provider.get() is first
    assert source.calls == 1


def test_advisory_refresh_replaces_credentials() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock)
    provider = RefreshingProvider(source, initial=expiring(clock, 200), clock=clock)
    fresh = provider.get()
    assert fresh.access_key_id == "ASIAREFRESH000000001"
    assert provider.get() is fresh
    assert source.calls == 1


def test_advisory_refresh_failure_keeps_current(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock, fail=True)
    initial = expiring(clock, 200)
    provider = RefreshingProvider(source, initial=initial, clock=clock)
    with caplog.at_level(logging.WARNING, logger="sesclient.credentials"):
        assert provider.get() is initial
        assert provider.get() is initial  # no new attempt straight away
    assert source.calls == 1
    assert "source is down" in caplog.text
    assert SECRET not in caplog.text and TOKEN not in caplog.text
    clock.now += 11
    assert provider.get() is initial
    assert source.calls == 2
    # Inside the mandatory window a failure is an error.
    clock.now = initial.expiration.timestamp() - 30  # type: ignore[union-attr]
    with pytest.raises(NoCredentialsError, match="source is down"):
        provider.get()
    with pytest.raises(NoCredentialsError, match="source is down"):
        asyncio.run(provider.aget())


def test_expired_credentials_must_be_refreshed() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock)
    provider = RefreshingProvider(source, initial=expiring(clock, -5), clock=clock)
    assert provider.get().access_key_id == "ASIAREFRESH000000001"


def test_source_returning_expired_credentials_is_an_error() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock, minutes=-1)
    provider = RefreshingProvider(source, clock=clock)
    with pytest.raises(NoCredentialsError, match="expired"):
        provider.get()


def test_source_with_nothing_newer_is_not_asked_on_every_call() -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock, minutes=3)  # always inside the advisory window
    provider = RefreshingProvider(source, clock=clock)
    first = provider.get()
    for _ in range(20):
        assert provider.get() is first
    assert source.calls == 1
    clock.now += 11
    assert provider.get() is not first
    assert source.calls == 2


def test_refresh_window_validation() -> None:
    with pytest.raises(SESValidationError):
        RefreshingProvider(CountingSource(), advisory_seconds=10, mandatory_seconds=60)


@pytest.mark.parametrize("seconds_left", [-10.0, 30.0, 200.0])
def test_refresh_happens_once_under_50_threads(seconds_left: float) -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock, delay=0.05)
    provider = RefreshingProvider(source, initial=expiring(clock, seconds_left), clock=clock)
    barrier = threading.Barrier(50)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(provider.get())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert source.calls == 1
    assert len(results) == 50
    assert {c.access_key_id for c in results} <= {"ASIAREFRESH000000001", "ASIAOLD0000000000000"}
    if seconds_left < 60:
        # Mandatory: nobody may be handed the old, (nearly) expired set.
        assert {c.access_key_id for c in results} == {"ASIAREFRESH000000001"}
    assert provider.get().access_key_id == "ASIAREFRESH000000001"


@pytest.mark.parametrize("initial_seconds", [None, 30.0])
def test_refresh_happens_once_under_100_tasks(initial_seconds: float | None) -> None:
    clock = FakeClock()
    source = CountingSource(clock=clock, delay=0.05)
    initial = None if initial_seconds is None else expiring(clock, initial_seconds)
    provider = RefreshingProvider(source, initial=initial, clock=clock)

    async def main() -> list[Credentials]:
        return await asyncio.gather(*(provider.aget() for _ in range(100)))

    results = asyncio.run(main())
    assert source.calls == 1
    assert {c.access_key_id for c in results} == {"ASIAREFRESH000000001"}
    # A second event loop (a second asyncio.run) works with the same provider.
    clock.now += 3600
    assert asyncio.run(main())[0].access_key_id == "ASIAREFRESH000000002"
    assert source.calls == 2


def test_chain_resolution_happens_once_under_concurrency(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes[("GET", "/creds")] = (200, credentials_document("ASIACONCURRENT"))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
    chain = default_chain()

    async def main() -> list[Credentials]:
        return await asyncio.gather(*(chain.aget() for _ in range(100)))

    results = asyncio.run(main())
    assert {c.access_key_id for c in results} == {"ASIACONCURRENT"}
    assert len(server.requests) == 1


# --------------------------------------------------------------------------
# Region
# --------------------------------------------------------------------------


def test_region_resolution_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        home / ".aws/config",
        """
        [default]
        region = ap-southeast-5

        [profile eu]
        region = eu-central-2
        """,
    )
    assert resolve_region() == "ap-southeast-5"
    assert resolve_region(profile="eu") == "eu-central-2"
    monkeypatch.setenv("AWS_PROFILE", "eu")
    assert resolve_region() == "eu-central-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-gov-west-1")
    assert resolve_region() == "us-gov-west-1"
    monkeypatch.setenv("AWS_REGION", "cn-north-1")
    assert resolve_region() == "cn-north-1"
    assert resolve_region("il-central-1") == "il-central-1"


def test_region_missing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RegionError) as info:
        resolve_region()
    message = str(info.value)
    assert "AWS_REGION" in message and "AWS_DEFAULT_REGION" in message
    assert "region='us-east-1'" in message
    monkeypatch.setenv("AWS_REGION", "")
    write(home / ".aws/config", "[default]\noutput = json\n")
    with pytest.raises(RegionError, match="has no region"):
        resolve_region()
    with pytest.raises(RegionError, match="profile 'nope' not found"):
        resolve_region(profile="nope")


def test_region_malformed_values_name_their_source(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RegionError, match="'US-EAST-1'"):
        resolve_region("US-EAST-1")
    write(home / ".aws/config", "[default]\nregion = us east 1\n")
    with pytest.raises(RegionError, match=r"config.*'us east 1'"):
        resolve_region()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "https://email.us-east-1.amazonaws.com")
    with pytest.raises(RegionError, match="AWS_DEFAULT_REGION"):
        resolve_region()


# --------------------------------------------------------------------------
# Import cost
# --------------------------------------------------------------------------


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, sesclient._credentials, sesclient._endpoints\n"
        "heavy = ['json', 'httpx', 'xml', 'configparser', 'subprocess', 'shlex', "
        "'asyncio', 'dataclasses', 'datetime', 'logging']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
