"""Paginators and waiters, as plans the sync and async clients both drive.

A plan says which parameters the next request takes and what a reply means;
the clients own the loop and the I/O.  Only the paginators and waiters the
published models define exist, as in boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import SESError

__all__ = ["PagePlan", "WaitPlan", "WaiterError"]


class WaiterError(SESError):
    """A waiter gave up: the resource did not reach the wanted state in time."""


class PagePlan:
    """The pages of one paginated call, honouring boto3's ``PaginationConfig``.

    ``PaginationConfig`` takes ``MaxItems`` (stop after that many result
    items, cutting the last page short), ``PageSize`` (the operation's limit
    parameter) and ``StartingToken`` (resume from a ``NextToken``).
    """

    def __init__(
        self,
        spec: tuple[str, str, str | None, str],
        params: Mapping[str, Any],
        config: Mapping[str, Any] | None,
    ) -> None:
        self.input_token, self.output_token, self.limit_key, self.result_key = spec
        config = dict(config or {})
        unknown = set(config) - {"MaxItems", "PageSize", "StartingToken"}
        if unknown:
            raise SESError(
                f"unknown PaginationConfig keys: {', '.join(sorted(unknown))}",
                code="ValidationError",
            )
        self._params = dict(params)
        if config.get("PageSize") is not None:
            if self.limit_key is None:
                raise SESError("this operation does not take a PageSize", code="ValidationError")
            self._params[self.limit_key] = config["PageSize"]
        if config.get("StartingToken") is not None:
            self._params[self.input_token] = config["StartingToken"]
        self._remaining: int | None = config.get("MaxItems")
        self._done = False

    def next_params(self) -> dict[str, Any] | None:
        """Parameters for the next request, or None when there are no more pages."""
        return None if self._done else dict(self._params)

    def add_page(self, page: dict[str, Any]) -> dict[str, Any]:
        """Record a reply; returns the page as the caller should see it."""
        token = page.get(self.output_token)
        items = page.get(self.result_key)
        if self._remaining is not None and isinstance(items, list):
            if len(items) >= self._remaining:
                page[self.result_key] = items[: self._remaining]
                self._done = True
            self._remaining -= len(page[self.result_key])
        if not token or token == self._params.get(self.input_token):
            self._done = True
        else:
            self._params[self.input_token] = token
        return page


class WaitPlan:
    """One waiter run: the acceptors from the model, with ``WaiterConfig`` overrides."""

    def __init__(
        self,
        spec: tuple[str, int, int, tuple[tuple[str, str, str | None, Any], ...]],
        config: Mapping[str, Any] | None,
    ) -> None:
        self.operation, delay, max_attempts, self.acceptors = spec
        config = config or {}
        self.delay: float = config.get("Delay", delay)
        self.max_attempts: int = config.get("MaxAttempts", max_attempts)
        self.attempts = 0

    def check(self, response: Mapping[str, Any] | None, error: SESError | None) -> str:
        """``"success"``, ``"failure"`` or ``"retry"`` for one poll's outcome."""
        self.attempts += 1
        for state, matcher, argument, expected in self.acceptors:
            if matcher == "error":
                if error is not None and error.code == expected:
                    return state
                continue
            if response is None:
                continue
            values = _search(response, argument or "")
            if matcher == "pathAll":
                if values and all(value == expected for value in values):
                    return state
            elif matcher == "pathAny":
                if any(value == expected for value in values):
                    return state
            elif matcher == "path":
                if values == [expected]:
                    return state
            elif matcher == "status":
                status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == expected:
                    return state
        if error is not None:
            raise error
        if self.attempts >= self.max_attempts:
            return "exhausted"
        return "retry"


def _search(document: Any, path: str) -> list[Any]:
    """The small JMESPath subset the SES waiters use: ``a.b``, ``a.*.b`` and ``a[].b``."""
    current = [document]
    for part in path.split("."):
        if not part:
            continue
        flatten = part.endswith("[]")
        key = part[:-2] if flatten else part
        following: list[Any] = []
        for value in current:
            if key == "*":
                if isinstance(value, Mapping):
                    following.extend(value.values())
                elif isinstance(value, list):
                    following.extend(value)
            elif isinstance(value, Mapping) and key in value:
                following.append(value[key])
        if flatten:
            following = [item for value in following if isinstance(value, list) for item in value]
        current = following
    return current
