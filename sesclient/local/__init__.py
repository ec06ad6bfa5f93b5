"""A local SES endpoint for tests, demos and load runs (``sesclient serve``).

It speaks both SES APIs on the wire (v1 Query/XML and v2 REST-JSON, SigV4
checked), keeps what it accepts in an inbox (memory or SQLite) with a JSON API
and an HTML page at ``/_inbox``, enforces SES's sending rules (verified
identities, sandbox, 50 recipients, size, send rate, 24-hour quota) and can
inject faults reproducibly::

    from sesclient.local import LocalSESThread

    with LocalSESThread(verified_identities=("me@example.com",)) as server:
        client = boto3.client("sesv2", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id=server.config.access_key_id,
                              aws_secret_access_key=server.config.secret_access_key)

The names are imported on first use, so importing this package starts nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["LocalSES", "LocalSESConfig", "LocalSESThread", "SESFault"]

_EXPORTS = {
    "LocalSES": "sesclient.local._server",
    "LocalSESThread": "sesclient.local._server",
    "LocalSESConfig": "sesclient.local._config",
    "SESFault": "sesclient.local._faults",
}

if TYPE_CHECKING:
    from ._config import LocalSESConfig
    from ._faults import SESFault
    from ._server import LocalSES, LocalSESThread


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sesclient.local' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
