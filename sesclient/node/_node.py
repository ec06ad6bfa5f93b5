"""The node itself: validate, fill in the run's data, send, report.

Clients are pooled: one per (key ID, secret, region, endpoint version,
endpoint URL), kept across runs so that connections are reused, and closed
by :meth:`SESEmailNode.close` / :meth:`SESEmailNode.aclose`.  The cache key
holds a keyed hash of the secret (HMAC with a random per-node key), never
the secret itself.  Async clients belong to the event loop they were made
in, so they are cached per loop.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._batch import DEFAULT_CONCURRENCY, send_all
from ._error_map import map_send_error
from ._errors import FieldError, NodeError
from ._render import OutgoingEmail, render_email
from ._schema import field_spec
from ._schema import schema as _schema
from ._secrets import SecretStore
from ._validate import NodeConfig, load_config
from ._validate import validate as _validate

if TYPE_CHECKING:
    import asyncio

__all__ = ["SESEmailNode"]

_log = logging.getLogger("sesclient.node")

_ClientKey = tuple[str, str, str, str, str | None]


class SESEmailNode:
    """The "Amazon SES Email" action node.

    ``secrets`` is the default :class:`SecretStore`; each call may pass its
    own.  ``client_options`` go to every ``SESClient``/``AsyncSESClient`` the
    node creates (``timeout``, ``retries``, ``max_connections``, ...);
    ``async_client_options`` override them for the async clients only (an
    ``http_client`` differs between the two, for instance).
    ``batch_concurrency`` caps the requests in flight during a batch run.
    """

    #: The node type's identifier and display name, as in :func:`schema`.
    type = "sesclient.ses_email"
    label = "Amazon SES Email"

    def __init__(
        self,
        *,
        secrets: SecretStore | None = None,
        client_options: Mapping[str, Any] | None = None,
        async_client_options: Mapping[str, Any] | None = None,
        batch_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if batch_concurrency < 1:
            raise ValueError("batch_concurrency must be at least 1")
        self.secrets = secrets
        self.client_options = dict(client_options or {})
        self.async_client_options = {**self.client_options, **(async_client_options or {})}
        self.batch_concurrency = batch_concurrency
        self._hash_key = os.urandom(32)
        self._lock = threading.Lock()
        self._clients: dict[_ClientKey, Any] = {}
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[_ClientKey, Any]
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return (
            f"SESEmailNode(clients={len(self._clients)}, "
            f"batch_concurrency={self.batch_concurrency})"
        )

    # -- form ------------------------------------------------------------------------

    @staticmethod
    def schema() -> dict[str, Any]:
        """The UI schema; see :func:`sesclient.node.schema`."""
        return _schema()

    @staticmethod
    def validate(config: Mapping[str, Any]) -> list[FieldError]:
        """Field errors of ``config``; see :func:`sesclient.node.validate`."""
        return _validate(config)

    # -- single runs -----------------------------------------------------------------

    def execute(
        self,
        config: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
        *,
        secrets: SecretStore | None = None,
    ) -> dict[str, Any]:
        """Send one email for one run; return the output for downstream nodes.

        The output is ``{"message_id", "request_id", "api", "region",
        "recipients"}``.  Raises :class:`NodeConfigError` for an invalid
        config and :class:`NodeError` (with a hint) for anything else.
        """
        cfg, secret = self._prepare(config, secrets)
        email = render_email(cfg, context)
        client = self._sync_client(cfg, secret)
        _log_send(cfg, email)
        from sesclient._errors import SESError

        try:
            result = client.send_email(**email.send_kwargs())
        except SESError as exc:
            raise self._failed(exc, cfg, email, secret) from exc
        return _output(cfg, email, result)

    async def aexecute(
        self,
        config: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
        *,
        secrets: SecretStore | None = None,
    ) -> dict[str, Any]:
        """The coroutine version of :meth:`execute`."""
        cfg, secret = self._prepare(config, secrets)
        email = render_email(cfg, context)
        client = self._async_client(cfg, secret)
        _log_send(cfg, email)
        from sesclient._errors import SESError

        try:
            result = await client.send_email(**email.send_kwargs())
        except SESError as exc:
            raise self._failed(exc, cfg, email, secret) from exc
        return _output(cfg, email, result)

    # -- batch runs ------------------------------------------------------------------

    def execute_batch(
        self,
        config: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
        *,
        secrets: SecretStore | None = None,
        concurrency: int | None = None,
    ) -> list[dict[str, Any]]:
        """Send one email per item (each item is one run context) through the bulk engine.

        Items with one recipient each that share sender and template go out
        as one :class:`~sesclient.bulk.BulkSender` run: templated ones 50 to a
        bulk call, all paced by the account's send rate, at most
        ``concurrency`` requests in flight, throttling absorbed (see
        :mod:`sesclient.node._batch` for the rest, and for the daily quota:
        a batch larger than what is left of it is not sent at all).

        Returns one result per item, in order: ``{"index", "ok": True,
        "output"}`` (the output of :meth:`execute`; ``request_id`` is the bulk
        call's, shared by the items it carried) or ``{"index", "ok": False,
        "error": {code, message, hint, field, retryable, request_id}}`` with
        the node error a single run would report.  An invalid config or an
        unresolvable secret fails the whole batch with :class:`NodeError`
        before anything is sent.  Not callable from inside a running event
        loop: use :meth:`aexecute_batch` there.
        """
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "execute_batch() cannot run inside an event loop; use await aexecute_batch()"
            )
        return asyncio.run(
            self._batch(config, items, secrets=secrets, concurrency=concurrency, pooled=False)
        )

    async def aexecute_batch(
        self,
        config: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
        *,
        secrets: SecretStore | None = None,
        concurrency: int | None = None,
    ) -> list[dict[str, Any]]:
        """The coroutine version of :meth:`execute_batch`, over the pooled async client."""
        return await self._batch(
            config, items, secrets=secrets, concurrency=concurrency, pooled=True
        )

    async def _batch(
        self,
        config: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
        *,
        secrets: SecretStore | None,
        concurrency: int | None,
        pooled: bool,
    ) -> list[dict[str, Any]]:
        cfg, secret = self._prepare(config, secrets)
        results: list[dict[str, Any] | None] = [None] * len(items)
        ready: list[tuple[int, OutgoingEmail]] = []
        for index, context in enumerate(items):
            try:
                ready.append((index, render_email(cfg, context)))
            except NodeError as exc:
                results[index] = {"index": index, "ok": False, "error": exc.to_dict()}
        _log.debug(
            "batch of %d item(s): %d to send via %s in %s",
            len(items),
            len(ready),
            cfg.api,
            cfg.region,
        )
        if ready:
            client = (
                self._async_client(cfg, secret) if pooled else self._new_client(cfg, secret, True)
            )
            try:
                outcomes = await send_all(
                    client,
                    [email for _, email in ready],
                    concurrency=concurrency or self.batch_concurrency,
                )
            finally:
                if not pooled:
                    await client.aclose()
            for (index, email), outcome in zip(ready, outcomes, strict=True):
                results[index] = self._batch_result(index, outcome, cfg, email, secret)
        done = [r for r in results if r is not None]
        # Every item was either refused while rendering or handed to send_all,
        # which reports each one; a gap here would be a lost item.
        if len(done) != len(items):
            raise RuntimeError("a batch item got no result")
        return done

    def _batch_result(
        self, index: int, outcome: Any, cfg: NodeConfig, email: OutgoingEmail, secret: str
    ) -> dict[str, Any]:
        from sesclient._errors import SESError

        if isinstance(outcome, SESError):
            error = self._failed(outcome, cfg, email, secret)
            if error.code == "AccessDenied" and email.template is not None:
                bulk = "ses:SendBulkEmail" if cfg.api == "v2" else "ses:SendBulkTemplatedEmail"
                error.hint += f" A batch of templated emails also needs {bulk}."
            return {"index": index, "ok": False, "error": error.to_dict()}
        if isinstance(outcome, BaseException):
            error = NodeError(
                "InternalError",
                f"Sending failed unexpectedly ({type(outcome).__name__}).",
                "This is a bug or an environment problem; the details are in the log.",
            )
            return {"index": index, "ok": False, "error": error.to_dict()}
        return {"index": index, "ok": True, "output": _output(cfg, email, outcome)}

    # -- clients -----------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled sync client.  Async clients need :meth:`aclose`."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        """Close the pooled sync clients and the async clients of the running loop.

        Async clients made in other event loops cannot be closed from this one;
        they are dropped (close them from their own loop before it ends).
        """
        import asyncio

        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = self._async_clients.pop(loop, {})
            stale = sum(len(c) for c in self._async_clients.values())
            self._async_clients.clear()
        if stale:
            _log.debug("dropping %d async client(s) of other event loops", stale)
        for client in mine.values():
            await client.aclose()

    def __enter__(self) -> SESEmailNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> SESEmailNode:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _key(self, cfg: NodeConfig, secret: str) -> _ClientKey:
        digest = hmac.new(self._hash_key, secret.encode(), hashlib.sha256).hexdigest()
        return (cfg.access_key_id, digest, cfg.region, cfg.api, cfg.endpoint_url)

    def _new_client(self, cfg: NodeConfig, secret: str, asynchronous: bool) -> Any:
        import sesclient

        credentials = sesclient.Credentials(cfg.access_key_id, secret)
        cls = sesclient.AsyncSESClient if asynchronous else sesclient.SESClient
        return cls(
            cfg.region,
            credentials,
            api=cfg.api,
            endpoint_url=cfg.endpoint_url,
            **(self.async_client_options if asynchronous else self.client_options),
        )

    def _sync_client(self, cfg: NodeConfig, secret: str) -> Any:
        key = self._key(cfg, secret)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._new_client(cfg, secret, False)
        return client

    def _async_client(self, cfg: NodeConfig, secret: str) -> Any:
        import asyncio

        key = self._key(cfg, secret)
        loop = asyncio.get_running_loop()
        with self._lock:
            clients = self._async_clients.setdefault(loop, {})
            client = clients.get(key)
            if client is None:
                client = clients[key] = self._new_client(cfg, secret, True)
        return client

    # -- steps -------------------------------------------------------------------------

    def _prepare(
        self, config: Mapping[str, Any], secrets: SecretStore | None
    ) -> tuple[NodeConfig, str]:
        cfg = load_config(config)
        return cfg, self._secret(cfg, secrets or self.secrets)

    def _secret(self, cfg: NodeConfig, store: SecretStore | None) -> str:
        label = str(field_spec("secret_access_key")["label"])
        if store is None:
            raise NodeError(
                "NoSecretStore",
                f"No secret store is available to resolve {cfg.secret}.",
                "The host application must pass a SecretStore to the node.",
                label,
            )
        try:
            value = store.get(cfg.secret.name)
        except LookupError as exc:
            raise NodeError(
                "SecretNotFound",
                f"The secret {cfg.secret} was not found: {_lookup_text(exc, cfg)}.",
                "Create the secret in the secret store, or choose another one in "
                "AWS Secret Access Key.",
                label,
            ) from None
        if not isinstance(value, str) or not value.strip():
            raise NodeError(
                "SecretEmpty",
                f"The secret {cfg.secret} is empty.",
                "Store the secret access key in it.",
                label,
            )
        return value.strip()

    def _failed(self, exc: Any, cfg: NodeConfig, email: OutgoingEmail, secret: str) -> NodeError:
        error = map_send_error(
            exc, from_addr=email.from_addr, region=cfg.region, api=cfg.api, secret=secret
        )
        _log.info("SES email step failed: %s (request %s)", error.code, error.request_id or "-")
        return error


def _lookup_text(exc: LookupError, cfg: NodeConfig) -> str:
    from ._secrets import SecretNotFound

    if isinstance(exc, SecretNotFound):
        return str(exc)
    # A foreign store's exception text is not ours to trust with secrets.
    return f"the store has no secret named {cfg.secret.name!r}"


def _log_send(cfg: NodeConfig, email: OutgoingEmail) -> None:
    _log.debug(
        "sending %s email via %s in %s to %d recipient(s)",
        "templated" if email.template else "simple",
        cfg.api,
        cfg.region,
        len(email.to),
    )


def _output(cfg: NodeConfig, email: OutgoingEmail, result: Any) -> dict[str, Any]:
    output = {
        "message_id": result.message_id,
        "request_id": result.request_id,
        "api": result.api,
        "region": cfg.region,
        "recipients": list(email.to),
    }
    _log.debug("sent message %s (request %s)", output["message_id"], output["request_id"])
    return output
