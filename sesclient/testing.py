"""pytest fixtures for code that sends mail through SES: a real local endpoint per test.

Installed as a pytest plugin (entry point ``sesclient``), so the fixtures are
available in any test once sesclient is installed:

* ``ses_endpoint``: a running :class:`~sesclient.local.LocalSESThread` on a
  free loopback port, as an :class:`SESEndpoint` with ``url``,
  ``access_key_id``, ``secret_access_key``, ``region``, ``boto3_kwargs()`` and
  ``inbox`` (messages, stats, clear);
* ``ses_client``: a :class:`sesclient.SESClient` configured for it;
* ``ses_endpoint_config``: the settings used, a dict to override in a
  ``conftest.py``; a test can also say ``@pytest.mark.ses_endpoint(sandbox=True)``.

Sender verification is off by default in the fixture (any ``From`` works);
turn it on with ``verify_senders=True``.  Importing this module is cheap and
starts nothing: the endpoint starts when a test asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

__all__ = ["InboxClient", "SESEndpoint", "ses_client", "ses_endpoint", "ses_endpoint_config"]


class InboxClient:
    """The endpoint's inbox JSON API (``/_inbox/api``) over plain HTTP."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80

    def _request(self, method: str, path: str) -> tuple[int, bytes]:
        # http.client, not urllib: no proxy settings from the environment apply.
        import http.client

        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _json(self, method: str, path: str) -> Any:
        status, body = self._request(method, path)
        if status != 200:
            raise LookupError(f"{method} {path}: HTTP {status}: {body[:200]!r}")
        return json.loads(body)

    def messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        subject: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Accepted messages, oldest first, optionally only those to/from an address."""
        filters = {"to": to, "from": from_, "subject": subject, "limit": limit}
        query = urlencode({k: v for k, v in filters.items() if v is not None})
        path = "/_inbox/api/messages" + (f"?{query}" if query else "")
        return list(self._json("GET", path)["messages"])

    def message(self, message_id: str) -> dict[str, Any]:
        """One message by the MessageId the send returned; LookupError if unknown."""
        return dict(self._json("GET", f"/_inbox/api/messages/{quote(message_id, safe='')}"))

    def attachment(self, message_id: str, index: int) -> bytes:
        """The content of a message's ``index``-th attachment."""
        status, body = self._request(
            "GET", f"/_inbox/api/messages/{quote(message_id, safe='')}/attachments/{index}"
        )
        if status != 200:
            raise LookupError(f"no attachment {index} on message {message_id}")
        return body

    def clear(self) -> int:
        """Delete every stored message; how many there were."""
        return int(self._json("DELETE", "/_inbox/api/messages")["deleted"])

    def stats(self) -> dict[str, Any]:
        """Counters: accepted, rejected, throttled, quota_exceeded, duplicates, faults, ..."""
        return dict(self._json("GET", "/_inbox/api/stats"))


class SESEndpoint:
    """What the ``ses_endpoint`` fixture yields."""

    def __init__(self, server: Any) -> None:
        self.server = server
        config = server.config
        self.config = config
        self.url: str = server.url
        self.region: str = config.region
        self.access_key_id: str = config.access_key_id
        self.secret_access_key: str = config.secret_access_key
        self.inbox = InboxClient(server.url)

    def boto3_kwargs(self) -> dict[str, str]:
        """``boto3.client("sesv2", **endpoint.boto3_kwargs())``."""
        return {
            "endpoint_url": self.url,
            "region_name": self.region,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }

    def verify(self, *identities: str) -> None:
        """Make addresses or domains verified identities."""
        service = self.server.server.service
        for identity in identities:
            self.server.call(lambda name=identity: service.ensure_identity(name))

    def __repr__(self) -> str:
        return f"SESEndpoint(url={self.url!r}, region={self.region!r})"


@pytest.fixture
def ses_endpoint_config() -> dict[str, Any]:
    """Settings (LocalSESConfig fields) for ``ses_endpoint``; override to change them."""
    return {"verify_senders": False}


@pytest.fixture
def ses_endpoint(
    request: pytest.FixtureRequest, ses_endpoint_config: dict[str, Any]
) -> Iterator[SESEndpoint]:
    """A local SES endpoint on a free loopback port, for one test."""
    from sesclient.local import LocalSESThread

    settings = dict(ses_endpoint_config)
    for marker in reversed(list(request.node.iter_markers("ses_endpoint"))):
        settings.update(marker.kwargs)
    settings.setdefault("host", "127.0.0.1")
    settings["port"] = settings.get("port", 0)
    with LocalSESThread(**settings) as server:
        yield SESEndpoint(server)


@pytest.fixture
def ses_client(ses_endpoint: SESEndpoint) -> Iterator[Any]:
    """A :class:`sesclient.SESClient` (v2) signed for and pointed at ``ses_endpoint``."""
    from sesclient import Credentials, SESClient

    client = SESClient(
        ses_endpoint.region,
        Credentials(ses_endpoint.access_key_id, ses_endpoint.secret_access_key),
        endpoint_url=ses_endpoint.url,
    )
    try:
        yield client
    finally:
        client.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ses_endpoint(**settings): LocalSESConfig fields for the ses_endpoint fixture"
    )
