"""AWS credentials: the value, where to find it, and keeping it fresh.

The client asks a :class:`CredentialProvider` for :class:`Credentials` before
signing each request, so the common case (credentials still fresh) is one
attribute read and a clock comparison.  When no credentials are given, the
default :class:`ChainProvider` looks in the same places as botocore, in the
same order: environment variables, the shared credentials and config files
(including ``credential_process``), the ECS/EKS container endpoint, and EC2
instance metadata (IMDSv2).  Credentials that expire are refreshed ahead of
time by :class:`RefreshingProvider`, once, however many threads or tasks want
them at that moment.

The region is resolved here too (:func:`resolve_region`), because it shares the
profile lookup in the config file.

Start-up time matters: json, httpx, configparser, subprocess, shlex, datetime
and asyncio are imported only inside the code paths that need them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._endpoints import validate_region
from ._errors import NoCredentialsError, RegionError, SESError, SESValidationError

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    import httpx

__all__ = [
    "ChainProvider",
    "ContainerProvider",
    "CredentialProvider",
    "Credentials",
    "EnvProvider",
    "IMDSProvider",
    "ProcessProvider",
    "RefreshingProvider",
    "SharedFileProvider",
    "StaticCredentialProvider",
    "default_chain",
    "resolve_credentials",
    "resolve_region",
]

_INF = float("inf")


# --------------------------------------------------------------------------
# The value
# --------------------------------------------------------------------------


def _mask_key_id(key_id: str) -> str:
    # The first four characters tell the key's kind (AKIA long-term, ASIA
    # temporary) and the last four identify it, as the AWS console does.
    if len(key_id) <= 8:
        return "*" * len(key_id)
    return f"{key_id[:4]}{'*' * (len(key_id) - 8)}{key_id[-4:]}"


class Credentials:
    """An immutable set of AWS credentials used to sign requests.

    ``expiration`` is a timezone-aware :class:`datetime.datetime` (a naive one
    is taken as UTC) for temporary credentials, or ``None`` for keys that do
    not expire.  The repr shows the access key id masked, and never the secret
    key or the session token.
    """

    __slots__ = ("access_key_id", "expiration", "secret_access_key", "session_token")

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        expiration: datetime | None = None,
    ) -> None:
        for field, value in (
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
        ):
            if not isinstance(value, str):
                raise SESValidationError(
                    f"{field} must be a string, not {type(value).__name__}", field=field
                )
            if not value:
                raise SESValidationError(f"{field} is empty", field=field)
        if session_token is not None and not isinstance(session_token, str):
            raise SESValidationError(
                f"session_token must be a string or None, not {type(session_token).__name__}",
                field="session_token",
            )
        if expiration is not None:
            from datetime import datetime, timezone

            if not isinstance(expiration, datetime):
                raise SESValidationError(
                    f"expiration must be a datetime or None, not {type(expiration).__name__}",
                    field="expiration",
                )
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=timezone.utc)
        setter = object.__setattr__
        setter(self, "access_key_id", access_key_id)
        setter(self, "secret_access_key", secret_access_key)
        setter(self, "session_token", session_token or None)
        setter(self, "expiration", expiration)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Credentials are immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Credentials are immutable; cannot delete {name!r}")

    def _key(self) -> tuple[Any, ...]:
        return (self.access_key_id, self.secret_access_key, self.session_token, self.expiration)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        # The frozen __setattr__ defeats the default slots pickling.
        return (type(self), self._key())

    def __repr__(self) -> str:
        expiration = self.expiration.isoformat() if self.expiration is not None else None
        return (
            f"Credentials(access_key_id={_mask_key_id(self.access_key_id)!r}, "
            f"secret_access_key='<hidden>', "
            f"session_token={'<hidden>' if self.session_token else None}, "
            f"expiration={expiration!r})"
        )

    __str__ = __repr__


def _parse_timestamp(text: str) -> datetime:
    """Parse the ISO 8601 expiry times that credential sources send.

    Python 3.10's ``fromisoformat`` accepts neither ``Z`` nor fractions other
    than 3 or 6 digits, and sources send both.
    """
    from datetime import datetime, timezone

    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    dot = value.find(".", value.find("T"))
    if dot != -1:
        end = dot + 1
        while end < len(value) and value[end].isdigit():
            end += 1
        fraction = value[dot + 1 : end][:6].ljust(6, "0")
        value = f"{value[:dot]}.{fraction}{value[end:]}"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _credentials_from_document(
    document: object,
    *,
    where: str,
    token_key: str,
    token_required: bool = False,
) -> Credentials:
    """Build Credentials from a JSON document (process output, container, IMDS).

    Error messages name missing or malformed fields, never their values.
    """
    if not isinstance(document, dict):
        raise NoCredentialsError(f"{where} did not return a JSON object")
    values: dict[str, str] = {}
    required = ["AccessKeyId", "SecretAccessKey"] + ([token_key] if token_required else [])
    for key in ("AccessKeyId", "SecretAccessKey", token_key, "Expiration"):
        value = document.get(key)
        if value is None or value == "":
            if key in required:
                raise NoCredentialsError(f"{where} returned no {key}")
            continue
        if not isinstance(value, str):
            raise NoCredentialsError(f"{where} returned a {key} that is not a string")
        values[key] = value
    expiration = None
    if "Expiration" in values:
        try:
            expiration = _parse_timestamp(values["Expiration"])
        except ValueError:
            raise NoCredentialsError(
                f"{where} returned an Expiration that is not an ISO 8601 timestamp: "
                f"{values['Expiration'][:40]!r}"
            ) from None
    return Credentials(
        values["AccessKeyId"], values["SecretAccessKey"], values.get(token_key), expiration
    )


# --------------------------------------------------------------------------
# Providers: the protocol, and the simplest ones
# --------------------------------------------------------------------------


class CredentialProvider:
    """Something that hands out :class:`Credentials` for signing.

    The client calls :meth:`get` (sync) or :meth:`aget` (async) before every
    request, so both must be cheap when nothing has to be fetched.  Subclass
    and implement :meth:`get`; override :meth:`aget` too when :meth:`get` may
    block.  Any object with ``get()`` and ``async aget()`` methods works.
    """

    #: A short name for messages ("env", "imds", ...).
    name: str = "custom"

    def get(self) -> Credentials:
        """Return credentials to sign a request with."""
        raise NotImplementedError

    async def aget(self) -> Credentials:
        """Async variant of :meth:`get`; by default calls it directly."""
        return self.get()


class StaticCredentialProvider(CredentialProvider):
    """Always hands out the same credentials, as given."""

    name = "static"

    def __init__(self, credentials: Credentials) -> None:
        if not isinstance(credentials, Credentials):
            raise SESValidationError(
                f"expected Credentials, not {type(credentials).__name__}", field="credentials"
            )
        self.credentials = credentials

    def get(self) -> Credentials:
        return self.credentials

    async def aget(self) -> Credentials:
        return self.credentials

    def __repr__(self) -> str:
        return f"StaticCredentialProvider({self.credentials!r})"


class _NotConfigured(NoCredentialsError):
    """A provider found nothing set up for it; a chain moves on to the next.

    Other errors from a provider mean it *is* configured but failed (a
    credential_process that exits non-zero, a container endpoint that answers
    500); the chain stops there, as botocore's does, rather than silently
    falling back to some other identity.
    """


class _AsyncLocks:
    """One asyncio.Lock per running event loop.

    An asyncio.Lock belongs to the loop it first waits on; a provider shared by
    several loops (``asyncio.run`` called twice, loops in threads) needs one
    per loop.  Cross-loop and cross-thread exclusion is the threading lock's job.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: Any = None  # WeakKeyDictionary, created on first async use

    def for_running_loop(self) -> asyncio.Lock:
        import asyncio
        import weakref

        loop = asyncio.get_running_loop()
        with self._guard:
            if self._locks is None:
                self._locks = weakref.WeakKeyDictionary()
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
        return lock


class _SourceProvider(CredentialProvider):
    """A provider that fetches credentials from one place, on every call.

    On its own it caches nothing; :class:`ChainProvider` (or a
    :class:`RefreshingProvider` around it) keeps what it returns.
    """

    #: Where this provider looks, for the "looked in" list of NoCredentialsError.
    description = "custom source"

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def get(self) -> Credentials:
        """Fetch credentials now; NoCredentialsError when there are none."""
        raise NotImplementedError

    async def aget(self) -> Credentials:
        import asyncio

        return await asyncio.to_thread(self.get)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EnvProvider(_SourceProvider):
    """Credentials from ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
    ``AWS_SESSION_TOKEN`` (``AWS_CREDENTIAL_EXPIRATION`` when they expire)."""

    name = "env"
    description = "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"

    def get(self) -> Credentials:
        env = self.environ
        key_id = env.get("AWS_ACCESS_KEY_ID", "").strip()
        secret = env.get("AWS_SECRET_ACCESS_KEY", "").strip()
        if not key_id and not secret:
            raise _NotConfigured("not set")
        if not secret:
            raise NoCredentialsError(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both or neither"
            )
        if not key_id:
            raise NoCredentialsError(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both or neither"
            )
        # AWS_SECURITY_TOKEN is the legacy name botocore still reads.
        token = (env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or "").strip()
        expiration = None
        raw_expiration = env.get("AWS_CREDENTIAL_EXPIRATION", "").strip()
        if raw_expiration:
            try:
                expiration = _parse_timestamp(raw_expiration)
            except ValueError:
                raise NoCredentialsError(
                    f"AWS_CREDENTIAL_EXPIRATION {raw_expiration[:40]!r} "
                    "is not an ISO 8601 timestamp"
                ) from None
        return Credentials(key_id, secret, token or None, expiration)


# --------------------------------------------------------------------------
# Shared files: ~/.aws/credentials and ~/.aws/config
# --------------------------------------------------------------------------

# Profile settings that name a way of getting credentials sesclient does not
# implement.  Using the profile's other keys instead would sign as a different
# identity than the user configured, so these are an error, not a fallback.
_UNSUPPORTED_PROFILE_KEYS = {
    "role_arn": "assume-role",
    "sso_session": "IAM Identity Center (SSO)",
    "sso_start_url": "IAM Identity Center (SSO)",
    "web_identity_token_file": "web identity",
    "login_session": "console login",
}


class _SharedConfig:
    """One profile as read from both shared files."""

    __slots__ = (
        "config",
        "config_path",
        "credentials",
        "credentials_path",
        "origin",
        "profile",
    )

    def __init__(
        self,
        *,
        profile: str,
        origin: str | None,
        credentials_path: str,
        config_path: str,
        credentials: dict[str, str] | None,
        config: dict[str, str] | None,
    ) -> None:
        self.profile = profile
        #: Where the profile name came from; None for the implicit "default".
        self.origin = origin
        self.credentials_path = credentials_path
        self.config_path = config_path
        #: The profile's section in each file; None when the file or section is missing.
        self.credentials = credentials
        self.config = config

    @property
    def merged(self) -> dict[str, str]:
        # botocore overlays the credentials file on the config file.
        merged = dict(self.config or {})
        merged.update(self.credentials or {})
        return merged

    def check_exists(self) -> None:
        # A profile named on purpose but missing is a mistake (often a typo)
        # that must not fall through to some other identity (container, EC2).
        if self.origin is not None and self.config is None and self.credentials is None:
            raise NoCredentialsError(
                f"profile {self.profile!r} (from {self.origin}) is not in "
                f"{self.credentials_path} or {self.config_path}"
            )

    def check_supported(self) -> None:
        for key, what in _UNSUPPORTED_PROFILE_KEYS.items():
            if key in self.merged:
                raise NoCredentialsError(
                    f"profile {self.profile!r} uses {key} ({what} credentials), which sesclient "
                    "does not resolve itself. Give the profile a credential_process instead, "
                    "e.g. credential_process = aws configure export-credentials "
                    "--profile <a profile that has the role> --format process"
                )


def _profile_name(profile: str | None, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The profile to use and where its name came from (None: the default)."""
    if profile is not None:
        if not isinstance(profile, str) or not profile.strip():
            raise SESValidationError("profile must be a non-empty string", field="profile")
        return profile.strip(), "the profile argument"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        value = environ.get(name, "").strip()
        if value:
            return value, name
    return "default", None


def _shared_paths(environ: Mapping[str, str]) -> tuple[str, str]:
    def expand(value: str) -> str:
        return os.path.expanduser(os.path.expandvars(value))

    credentials = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return expand(credentials), expand(config)


def _read_ini(path: str, error: type[SESError]) -> dict[str, dict[str, str]] | None:
    """The sections of an INI file, or None when it does not exist."""
    import configparser

    parser = configparser.RawConfigParser(strict=False)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise error(f"cannot read AWS config file {path}: {exc}") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _load_shared(
    profile: str | None, environ: Mapping[str, str], *, error: type[SESError]
) -> _SharedConfig:
    name, origin = _profile_name(profile, environ)
    credentials_path, config_path = _shared_paths(environ)
    credentials_file = _read_ini(credentials_path, error)
    config_file = _read_ini(config_path, error)
    config_section = None
    if config_file is not None:
        # "[profile default]" is also accepted for the default profile, and wins.
        config_section = config_file.get(f"profile {name}")
        if config_section is None and name == "default":
            config_section = config_file.get("default")
    return _SharedConfig(
        profile=name,
        origin=origin,
        credentials_path=credentials_path,
        config_path=config_path,
        credentials=None if credentials_file is None else credentials_file.get(name),
        config=config_section,
    )


class SharedFileProvider(_SourceProvider):
    """Static keys from a profile in ``~/.aws/credentials`` or ``~/.aws/config``.

    ``source`` picks the file: ``"credentials"`` (sections named ``[NAME]``,
    path from ``AWS_SHARED_CREDENTIALS_FILE``) or ``"config"`` (sections named
    ``[profile NAME]`` or ``[default]``, path from ``AWS_CONFIG_FILE``).  The
    profile is ``profile``, else ``AWS_PROFILE``, else ``default``.
    """

    def __init__(
        self,
        profile: str | None = None,
        *,
        source: str = "credentials",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(environ=environ)
        if source not in ("credentials", "config"):
            raise SESValidationError("source must be 'credentials' or 'config'", field="source")
        self.profile = profile
        self.source = source
        self.name = f"shared-{source}-file"
        self.description = f"shared {source} file"

    def get(self) -> Credentials:
        shared = _load_shared(self.profile, self.environ, error=NoCredentialsError)
        shared.check_exists()
        if self.source == "credentials":
            path, section = shared.credentials_path, shared.credentials
        else:
            path, section = shared.config_path, shared.config
        if section is None:
            if not os.path.exists(path):
                raise _NotConfigured(f"{path} not found")
            raise _NotConfigured(f"no profile {shared.profile!r} in {path}")
        shared.check_supported()
        key_id = section.get("aws_access_key_id", "").strip()
        secret = section.get("aws_secret_access_key", "").strip()
        if not key_id and not secret:
            raise _NotConfigured(f"profile {shared.profile!r} in {path} has no aws_access_key_id")
        if not key_id or not secret:
            missing = "aws_secret_access_key" if key_id else "aws_access_key_id"
            raise NoCredentialsError(f"profile {shared.profile!r} in {path} lacks {missing}")
        token = (
            section.get("aws_session_token", "") or section.get("aws_security_token", "")
        ).strip()
        return Credentials(key_id, secret, token or None)

    def __repr__(self) -> str:
        return f"SharedFileProvider(profile={self.profile!r}, source={self.source!r})"


class ProcessProvider(_SourceProvider):
    """Credentials printed by the profile's ``credential_process`` command.

    The command is split like a shell would (``shlex.split``) but run without
    one.  Its output must be the documented JSON, ``Version`` 1.  Error
    messages never include the output, which holds the secret.
    """

    name = "credential-process"
    description = "credential_process in the profile"

    def __init__(
        self,
        profile: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(environ=environ)
        self.profile = profile
        self.timeout = timeout

    def get(self) -> Credentials:
        import shlex
        import subprocess

        shared = _load_shared(self.profile, self.environ, error=NoCredentialsError)
        shared.check_exists()
        command = shared.merged.get("credential_process", "").strip()
        if not command:
            raise _NotConfigured(f"not set in profile {shared.profile!r}")
        shared.check_supported()
        where = f"credential_process of profile {shared.profile!r}"
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise NoCredentialsError(f"{where} cannot be split into arguments: {exc}") from None
        if not argv:
            raise NoCredentialsError(f"{where} is empty")
        program = argv[0]
        try:
            # stdin is inherited, as with botocore, so a command can prompt (MFA).
            completed = subprocess.run(argv, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise NoCredentialsError(
                f"{where}: {program!r} did not finish within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise NoCredentialsError(
                f"{where}: cannot run {program!r}: {exc.strerror or exc}"
            ) from None
        if completed.returncode != 0:
            # stderr is the command's error report; stdout may hold a secret.
            detail = completed.stderr.decode("utf-8", "replace").strip()[-1000:]
            raise NoCredentialsError(
                f"{where}: {program!r} exited with status {completed.returncode}"
                + (f": {detail}" if detail else "")
            )
        return _parse_process_output(completed.stdout, where=where)

    def __repr__(self) -> str:
        return f"ProcessProvider(profile={self.profile!r})"


def _parse_process_output(output: bytes, *, where: str) -> Credentials:
    import json

    try:
        document = json.loads(output)
    except ValueError:
        raise NoCredentialsError(
            f"{where} did not print valid JSON (output not shown: it may contain secrets)"
        ) from None
    if not isinstance(document, dict):
        raise NoCredentialsError(f"{where} did not print a JSON object")
    version = document.get("Version")
    if version != 1:
        shown = repr(version)[:20] if isinstance(version, (int, str, type(None))) else "?"
        raise NoCredentialsError(
            f"{where} printed Version {shown}; only Version 1 output is supported"
        )
    return _credentials_from_document(document, where=where, token_key="SessionToken")


# --------------------------------------------------------------------------
# HTTP sources: container endpoint and EC2 instance metadata
# --------------------------------------------------------------------------


def _http_client(timeout: float) -> httpx.Client:
    import httpx

    # trust_env=False: proxy variables must not send metadata requests (and the
    # container token) through a proxy; these endpoints are always direct.
    return httpx.Client(timeout=httpx.Timeout(timeout), trust_env=False, follow_redirects=False)


def _json_body(response: httpx.Response, *, where: str) -> object:
    import json

    try:
        return json.loads(response.content)
    except ValueError:
        raise NoCredentialsError(f"{where} did not return valid JSON") from None


_CONTAINER_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})


def _check_container_full_uri(url: str) -> str:
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    name = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise NoCredentialsError(f"{name} is not a valid URL") from None
    if parts.scheme == "https" and host:
        return url
    if parts.scheme != "http" or not host:
        raise NoCredentialsError(f"{name} must be an http:// or https:// URL")
    if host in _CONTAINER_HOSTS:
        return url
    try:
        if ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise NoCredentialsError(
        f"{name} host {host!r} is not allowed over plain http; use https, a loopback "
        f"address, or one of {', '.join(sorted(_CONTAINER_HOSTS))}"
    )


class ContainerProvider(_SourceProvider):
    """Credentials from the ECS task role or EKS Pod Identity endpoint.

    Runs when ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (path on
    169.254.170.2) or ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` is set.  The
    ``Authorization`` header comes from ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``
    (read again on every refresh, since the platform rotates it) or
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN``.
    """

    name = "container"
    description = "container credentials (ECS / EKS Pod Identity)"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        attempts: int = 3,
        retry_delay: float = 0.5,
        relative_uri_base: str = "http://169.254.170.2",
    ) -> None:
        super().__init__(environ=environ)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self.relative_uri_base = relative_uri_base.rstrip("/")

    def _url(self) -> str:
        env = self.environ
        relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "").strip()
        if relative:
            return self.relative_uri_base + ("" if relative.startswith("/") else "/") + relative
        full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "").strip()
        if full:
            return _check_container_full_uri(full)
        raise _NotConfigured(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI not set"
        )

    def _authorization(self) -> str | None:
        env = self.environ
        token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "").strip()
        if token_file:
            try:
                with open(token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except OSError as exc:
                raise NoCredentialsError(
                    f"cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {token_file!r}: "
                    f"{exc.strerror or exc}"
                ) from None
            source = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
        else:
            token = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "").strip()
            source = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        if not token:
            return None
        if "\r" in token or "\n" in token:
            raise NoCredentialsError(f"the token from {source} contains a line break")
        return token

    def get(self) -> Credentials:
        import httpx

        url = self._url()
        headers = {"Accept": "application/json"}
        token = self._authorization()
        if token is not None:
            headers["Authorization"] = token
        where = "the container credentials endpoint"
        failure = ""
        with _http_client(self.timeout) as client:
            for attempt in range(self.attempts):
                if attempt:
                    time.sleep(self.retry_delay)
                try:
                    response = client.get(url, headers=headers)
                except httpx.HTTPError as exc:
                    failure = f"request failed ({type(exc).__name__})"
                    continue
                if response.status_code == 200:
                    document = _json_body(response, where=where)
                    return _credentials_from_document(document, where=where, token_key="Token")
                failure = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break
        raise NoCredentialsError(f"{where} at {_redact_url(url)} failed: {failure}")

    def __repr__(self) -> str:
        return "ContainerProvider()"


def _redact_url(url: str) -> str:
    # EKS/ECS URLs carry no secrets in the path, but a FULL_URI may carry user info.
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return url


class IMDSProvider(_SourceProvider):
    """Credentials of the EC2 instance's IAM role, from instance metadata (IMDSv2).

    Gets a session token (``PUT /latest/api/token``) first, then the role
    name, then the role's credentials.  Short timeouts (1 s) keep start-up
    quick off EC2.  ``AWS_EC2_METADATA_DISABLED=true`` turns it off;
    ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (or ``..._ENDPOINT_MODE=IPv6``)
    changes the address; ``AWS_METADATA_SERVICE_TIMEOUT`` and
    ``AWS_METADATA_SERVICE_NUM_ATTEMPTS`` tune the requests.  When the token
    request is refused the older IMDSv1 flow is used, as botocore does, unless
    ``AWS_EC2_METADATA_V1_DISABLED=true``.
    """

    name = "imds"
    description = "EC2 instance metadata (IMDSv2)"

    TOKEN_TTL_SECONDS = 21600
    _CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(environ=environ)
        self.timeout = timeout
        self.attempts = attempts

    def _flag(self, name: str) -> bool:
        return self.environ.get(name, "").strip().lower() == "true"

    def _base_url(self) -> str:
        env = self.environ
        endpoint = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").strip()
        if endpoint:
            return endpoint.rstrip("/")
        if env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "").strip().lower() == "ipv6":
            return "http://[fd00:ec2::254]"
        return "http://169.254.169.254"

    def _settings(self) -> tuple[float, int]:
        env = self.environ
        try:
            timeout = (
                self.timeout
                if self.timeout is not None
                else float(env.get("AWS_METADATA_SERVICE_TIMEOUT") or 1.0)
            )
            attempts = (
                self.attempts
                if self.attempts is not None
                else int(env.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS") or 1)
            )
        except ValueError:
            raise NoCredentialsError(
                "AWS_METADATA_SERVICE_TIMEOUT / AWS_METADATA_SERVICE_NUM_ATTEMPTS must be numbers"
            ) from None
        return timeout, max(1, attempts)

    def get(self) -> Credentials:
        if self._flag("AWS_EC2_METADATA_DISABLED"):
            raise _NotConfigured("disabled by AWS_EC2_METADATA_DISABLED=true")
        base = self._base_url()
        timeout, attempts = self._settings()
        with _http_client(timeout) as client:
            token = self._token(client, base, attempts)
            headers = {} if token is None else {"X-aws-ec2-metadata-token": token}
            listing = self._request(client, "GET", base + self._CREDENTIALS_PATH, headers, attempts)
            if listing.status_code == 404:
                raise _NotConfigured(f"no IAM role attached to the instance ({base})")
            self._expect_ok(listing, "the role name")
            role = next((line.strip() for line in listing.text.splitlines() if line.strip()), "")
            if not role:
                raise _NotConfigured(f"no IAM role attached to the instance ({base})")
            reply = self._request(
                client, "GET", base + self._CREDENTIALS_PATH + role, headers, attempts
            )
            self._expect_ok(reply, f"the credentials of role {role!r}")
        where = f"EC2 instance metadata for role {role!r}"
        document = _json_body(reply, where=where)
        if isinstance(document, dict) and document.get("Code", "Success") != "Success":
            code = document.get("Code")
            raise NoCredentialsError(f"{where} answered Code {str(code)[:60]!r}")
        return _credentials_from_document(document, where=where, token_key="Token")

    def _token(self, client: httpx.Client, base: str, attempts: int) -> str | None:
        response = self._request(
            client,
            "PUT",
            base + "/latest/api/token",
            {"X-aws-ec2-metadata-token-ttl-seconds": str(self.TOKEN_TTL_SECONDS)},
            attempts,
        )
        if response.status_code == 200 and response.text.strip():
            return response.text.strip()
        if response.status_code in (403, 404, 405):
            if self._flag("AWS_EC2_METADATA_V1_DISABLED"):
                raise NoCredentialsError(
                    f"EC2 instance metadata refused an IMDSv2 token (HTTP {response.status_code}) "
                    "and AWS_EC2_METADATA_V1_DISABLED=true forbids the IMDSv1 fallback"
                )
            return None
        raise NoCredentialsError(
            f"EC2 instance metadata token request failed: HTTP {response.status_code}"
        )

    def _request(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        headers: dict[str, str],
        attempts: int,
    ) -> httpx.Response:
        import httpx

        failure: Exception | None = None
        response = None
        for _ in range(attempts):
            try:
                response = client.request(method, url, headers=headers)
            except httpx.HTTPError as exc:
                failure = exc
                continue
            if response.status_code < 500:
                return response
        if response is not None:
            return response
        # Nothing answers: not on EC2 (or metadata is blocked).  Not an error
        # for the chain, which simply has nowhere else to look.
        raise _NotConfigured(f"no answer from {_redact_url(url)} ({type(failure).__name__})")

    @staticmethod
    def _expect_ok(response: httpx.Response, what: str) -> None:
        if response.status_code != 200:
            raise NoCredentialsError(
                f"EC2 instance metadata did not return {what}: HTTP {response.status_code}"
            )

    def __repr__(self) -> str:
        return "IMDSProvider()"


# --------------------------------------------------------------------------
# Refreshing and chaining
# --------------------------------------------------------------------------

# When a refresh fails in the advisory window, or the source had nothing newer
# (IMDS keeps serving the old set until shortly before it expires), wait this
# long before asking again instead of asking on every request.
_RETRY_PAUSE = 10.0


class RefreshingProvider(CredentialProvider):
    """Keeps expiring credentials from ``source`` fresh.

    Credentials are fetched again ``advisory_seconds`` before they expire; if
    that fails they are still used while more than ``mandatory_seconds``
    remain.  Inside the last ``mandatory_seconds`` (or once expired) a refresh
    must succeed, else :meth:`get` raises.  Only one refresh runs at a time,
    whatever the number of threads or tasks asking; the others wait for it and
    share its result.  While the credentials are fresh, :meth:`get` takes no
    lock.
    """

    def __init__(
        self,
        source: CredentialProvider,
        *,
        initial: Credentials | None = None,
        advisory_seconds: float = 300.0,
        mandatory_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= mandatory_seconds <= advisory_seconds:
            raise SESValidationError(
                "need 0 <= mandatory_seconds <= advisory_seconds", field="mandatory_seconds"
            )
        self.source = source
        self.name = getattr(source, "name", "custom")
        self.advisory_seconds = advisory_seconds
        self.mandatory_seconds = mandatory_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._async_locks = _AsyncLocks()
        # (refresh at, credentials): one tuple, so a reader never sees the time
        # of one set paired with another set.
        self._state: tuple[float, Credentials | None] = (-_INF, None)
        if initial is not None:
            expires = _INF if initial.expiration is None else initial.expiration.timestamp()
            self._state = (expires - advisory_seconds, initial)

    def get(self) -> Credentials:
        refresh_at, credentials = self._state
        if credentials is not None and self._clock() < refresh_at:
            return credentials
        return self._refresh()

    async def aget(self) -> Credentials:
        refresh_at, credentials = self._state
        if credentials is not None and self._clock() < refresh_at:
            return credentials
        import asyncio

        # Tasks of one loop queue here so that the loop's executor is not filled
        # with threads all waiting on the threading lock.
        async with self._async_locks.for_running_loop():
            refresh_at, credentials = self._state
            if credentials is not None and self._clock() < refresh_at:
                return credentials
            return await asyncio.to_thread(self._refresh)

    def _next_refresh(self, credentials: Credentials, now: float) -> float:
        if credentials.expiration is None:
            return _INF
        expires = credentials.expiration.timestamp()
        advisory_at = expires - self.advisory_seconds
        if advisory_at > now:
            return advisory_at
        mandatory_at = expires - self.mandatory_seconds
        if mandatory_at > now:
            return min(now + _RETRY_PAUSE, mandatory_at)
        return min(now + _RETRY_PAUSE, expires)

    def _refresh(self) -> Credentials:
        with self._lock:
            refresh_at, current = self._state
            now = self._clock()
            if current is not None and now < refresh_at:
                return current  # another thread refreshed while this one waited
            mandatory = current is None or (
                current.expiration is not None
                and now >= current.expiration.timestamp() - self.mandatory_seconds
            )
            try:
                fresh = self.source.get()
                if fresh.expiration is not None and fresh.expiration.timestamp() <= now:
                    raise NoCredentialsError(
                        f"credentials from {self.name} expired at "
                        f"{fresh.expiration.isoformat()} (is the system clock right?)"
                    )
            except Exception as exc:
                if mandatory or current is None:
                    raise
                # Advisory: any failure (network, process, parse) is survivable
                # while the current credentials still have time left.
                self._log_advisory_failure(exc)
                assert current.expiration is not None
                mandatory_at = current.expiration.timestamp() - self.mandatory_seconds
                self._state = (min(now + _RETRY_PAUSE, mandatory_at), current)
                return current
            self._state = (self._next_refresh(fresh, now), fresh)
            return fresh

    def _log_advisory_failure(self, exc: Exception) -> None:
        import logging

        logging.getLogger("sesclient.credentials").warning(
            "refreshing credentials from %s failed, still using the current ones: %s: %s",
            self.name,
            type(exc).__name__,
            exc,
        )

    def __repr__(self) -> str:
        return f"RefreshingProvider({self.source!r})"


class ChainProvider(CredentialProvider):
    """Tries providers in order; the first that yields credentials wins.

    The search runs once, on first use, and the winner is remembered in
    :attr:`source`: later calls go straight to it.  Expiring credentials from
    the winner are wrapped in a :class:`RefreshingProvider`.  A provider with
    nothing configured is skipped; one that is configured but fails (a
    credential_process exiting non-zero) stops the search with its error.
    When none yields, :class:`NoCredentialsError` lists where it looked.
    """

    name = "chain"

    def __init__(
        self,
        providers: Sequence[CredentialProvider],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.providers = tuple(providers)
        self._environ = environ
        #: The provider whose credentials are in use, once found.
        self.source: CredentialProvider | None = None
        self._active: CredentialProvider | None = None
        self._lock = threading.Lock()
        self._async_locks = _AsyncLocks()

    def get(self) -> Credentials:
        active = self._active
        if active is None:
            active = self._resolve()
        return active.get()

    async def aget(self) -> Credentials:
        active = self._active
        if active is None:
            import asyncio

            async with self._async_locks.for_running_loop():
                active = self._active
                if active is None:
                    active = await asyncio.to_thread(self._resolve)
        return await active.aget()

    def _resolve(self) -> CredentialProvider:
        with self._lock:
            if self._active is not None:
                return self._active
            looked: list[str] = []
            for provider in self.providers:
                try:
                    credentials = provider.get()
                except NoCredentialsError as exc:
                    # Our own sources say "not configured" with _NotConfigured;
                    # for anyone else's, NoCredentialsError is the only signal.
                    if isinstance(provider, _SourceProvider) and not isinstance(
                        exc, _NotConfigured
                    ):
                        raise
                    where = getattr(provider, "description", None) or provider.name
                    looked.append(f"{where}: {exc.message}")
                    continue
                active: CredentialProvider
                if not isinstance(provider, _SourceProvider):
                    active = provider  # it keeps its own credentials fresh
                elif credentials.expiration is None:
                    active = StaticCredentialProvider(credentials)
                else:
                    active = RefreshingProvider(provider, initial=credentials)
                self.source = provider
                self._active = active
                return active
            raise NoCredentialsError(_not_found_message(looked, self._hint()))

    def _hint(self) -> str:
        env = os.environ if self._environ is None else self._environ
        if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
            return (
                "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set (EKS IAM roles for "
                "service accounts); sesclient does not exchange web identity tokens. Use EKS Pod "
                "Identity, or a profile with credential_process."
            )
        return ""

    def __repr__(self) -> str:
        return f"ChainProvider({list(self.providers)!r})"


def _not_found_message(looked: list[str], hint: str) -> str:
    lines = ["No AWS credentials found. Looked in:"]
    lines.extend(f"  - {entry}" for entry in looked)
    lines.append(
        "Pass credentials=Credentials(access_key_id, secret_access_key) or set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
    )
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def default_chain(
    profile: str | None = None, *, environ: Mapping[str, str] | None = None
) -> ChainProvider:
    """The provider chain used when no credentials are given, in botocore's order.

    An explicit ``profile`` leaves out the environment variables, as botocore
    does: naming a profile means "use that profile".
    """
    providers: list[CredentialProvider] = []
    if profile is None:
        providers.append(EnvProvider(environ=environ))
    providers += [
        SharedFileProvider(profile, source="credentials", environ=environ),
        ProcessProvider(profile, environ=environ),
        SharedFileProvider(profile, source="config", environ=environ),
        ContainerProvider(environ=environ),
        IMDSProvider(environ=environ),
    ]
    return ChainProvider(providers, environ=environ)


def resolve_credentials(
    credentials: Credentials | CredentialProvider | None = None,
    *,
    profile: str | None = None,
) -> CredentialProvider:
    """The provider a client signs with.

    ``credentials`` may be a :class:`Credentials` (used as is), any provider
    (an object with ``get()`` and ``async aget()``), or ``None`` for the
    default chain.  Nothing is looked up until the provider is first used.
    """
    if credentials is None:
        return default_chain(profile)
    if isinstance(credentials, Credentials):
        return StaticCredentialProvider(credentials)
    if isinstance(credentials, CredentialProvider):
        return credentials
    if callable(getattr(credentials, "get", None)) and callable(getattr(credentials, "aget", None)):
        return credentials
    raise SESValidationError(
        "credentials must be a sesclient.Credentials, a credential provider (with get() and "
        f"aget()) or None, not {type(credentials).__name__}; "
        "e.g. credentials=Credentials(access_key_id, secret_access_key)",
        field="credentials",
    )


# --------------------------------------------------------------------------
# Region
# --------------------------------------------------------------------------


def resolve_region(
    region: str | None = None,
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The region to use: the argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
    then ``region`` in the profile of the shared config file.

    The result is checked for shape (``us-east-1``); :class:`RegionError`
    when it is malformed or when nothing gives one.
    """
    env = os.environ if environ is None else environ
    if region is not None:
        return validate_region(region, source="region")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = env.get(name, "").strip()
        if value:
            return validate_region(value, source=f"environment variable {name}")
    shared = _load_shared(profile, env, error=RegionError)
    value = shared.merged.get("region", "").strip()
    if value:
        return validate_region(
            value, source=f"region of profile {shared.profile!r} in {shared.config_path}"
        )
    if shared.config is None and shared.credentials is None:
        in_files = f"profile {shared.profile!r} not found in {shared.config_path}"
    else:
        in_files = f"profile {shared.profile!r} in {shared.config_path} has no region"
    raise RegionError(
        "No AWS region configured: no region argument, AWS_REGION and AWS_DEFAULT_REGION "
        f"are not set, and {in_files}. Pass region='us-east-1' (for example) or set AWS_REGION."
    )
