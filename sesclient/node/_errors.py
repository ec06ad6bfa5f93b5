"""What a workflow author reads when the node cannot run: field errors and node errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FieldError", "NodeConfigError", "NodeError"]


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of the node's config.

    ``field`` is the config key, ``label`` the name the UI shows, ``message``
    what is wrong and how to fix it.
    """

    field: str
    label: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class NodeError(Exception):
    """The node's step failed.

    ``code`` is stable, for programs (``RecipientNotVerified``, ``Throttled``,
    …); ``message`` says what happened; ``hint`` what the author can do about
    it; ``field`` is the label of the field at fault, when there is one.
    ``retryable`` tells an engine whether running the step again later may
    succeed.  ``request_id`` is SES's, when SES answered.
    """

    def __init__(
        self,
        code: str,
        message: str,
        hint: str,
        field: str | None = None,
        *,
        retryable: bool = False,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
        self.retryable = retryable
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.message} Hint: {self.hint}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"hint={self.hint!r}, field={self.field!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-able data, for a run log or a downstream error branch."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "field": self.field,
            "retryable": self.retryable,
            "request_id": self.request_id,
        }


class NodeConfigError(NodeError):
    """The config is invalid; ``errors`` lists every field error found."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(
            "InvalidConfig",
            f"{first}{more}",
            "Fix the fields named in the node's settings, then run the step again.",
            first.label,
        )

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["errors"] = [e.to_dict() for e in self.errors]
        return data
