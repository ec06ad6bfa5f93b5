"""Secret references and the stores that resolve them.

A node config never holds a secret access key.  It holds a *reference* to a
stored secret, written either way::

    {"secret": "ses-production"}
    "secret:ses-production"

and the host application passes a :class:`SecretStore` to the node at run
time.  Errors name the reference, never the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "EnvSecretStore",
    "InMemorySecretStore",
    "SecretNotFound",
    "SecretRef",
    "SecretRefError",
    "SecretStore",
    "parse_secret_ref",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}")
# What an AWS secret access key looks like: 40 characters of base64.  A
# "reference" of that shape is almost surely the key pasted in by mistake.
_LOOKS_LIKE_SECRET_KEY = re.compile(r"[A-Za-z0-9/+=]{40}")
_PREFIX = "secret:"


@runtime_checkable
class SecretStore(Protocol):
    """Where the node looks up secrets by name.

    ``get`` returns the secret's value, or raises :class:`SecretNotFound`
    (any ``LookupError`` is accepted) when there is no secret of that name.
    """

    def get(self, name: str) -> str: ...


class SecretNotFound(LookupError):
    """No secret of this name in the store.  Carries the name only."""

    def __init__(self, name: str, *, where: str = "the secret store") -> None:
        super().__init__(name)
        self.name = name
        self.where = where

    def __str__(self) -> str:
        return f"no secret named {self.name!r} in {self.where}"


class SecretRefError(ValueError):
    """A secret reference that is malformed.  Its message never repeats the value."""


@dataclass(frozen=True)
class SecretRef:
    """A reference to a stored secret, by name."""

    name: str

    def __str__(self) -> str:
        return f"{_PREFIX}{self.name}"

    def to_config(self) -> dict[str, str]:
        """The reference in its object form, for writing configs."""
        return {"secret": self.name}


def parse_secret_ref(value: Any) -> SecretRef:
    """Read a reference from a config value; raise :class:`SecretRefError` if it is not one.

    The error messages say what is wrong without quoting ``value``: if an
    author pasted the key itself, it must not travel on into logs.
    """
    if isinstance(value, Mapping):
        if set(value) != {"secret"}:
            raise SecretRefError('use the form {"secret": "<name of the stored secret>"}')
        name = value["secret"]
        if not isinstance(name, str):
            raise SecretRefError("the secret's name must be text")
    elif isinstance(value, str):
        if not value.startswith(_PREFIX):
            raise SecretRefError(
                "enter a reference to a stored secret, like secret:ses-production, "
                "not the key itself; keep the key in the secret store"
            )
        name = value[len(_PREFIX) :]
    else:
        raise SecretRefError(
            'enter a reference to a stored secret: "secret:<name>" or {"secret": "<name>"}'
        )
    name = name.strip()
    if _LOOKS_LIKE_SECRET_KEY.fullmatch(name) and _mixed(name):
        raise SecretRefError(
            "this looks like a secret access key itself, not the name of a stored secret; "
            "put the key in the secret store and enter its name"
        )
    if not _NAME.fullmatch(name):
        raise SecretRefError(
            "a secret's name has 1 to 128 letters, digits, '_', '-', '.' or '/', "
            "starting with a letter or digit"
        )
    return SecretRef(name)


def _mixed(name: str) -> bool:
    return (
        any(c.isupper() for c in name)
        and any(c.islower() for c in name)
        and any(c.isdigit() for c in name)
    )


class InMemorySecretStore:
    """Secrets held in a dict: for tests and for hosts that load secrets themselves."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._secrets: dict[str, str] = dict(secrets or {})

    def get(self, name: str) -> str:
        try:
            return self._secrets[name]
        except KeyError:
            raise SecretNotFound(name, where="the in-memory secret store") from None

    def set(self, name: str, value: str) -> None:
        """Store (or replace) a secret."""
        self._secrets[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._secrets

    def __repr__(self) -> str:
        # Names only: a repr ends up in logs and tracebacks.
        return f"InMemorySecretStore(names={sorted(self._secrets)!r})"


class EnvSecretStore:
    """Secrets from environment variables: ``<prefix><NAME>``.

    The name is upper-cased and every character other than a letter or digit
    becomes ``_``: with the default prefix, ``ses-production`` is read from
    ``SESCLIENT_SECRET_SES_PRODUCTION``.  The environment is read at each
    lookup, so rotated values are picked up.
    """

    def __init__(
        self,
        prefix: str = "SESCLIENT_SECRET_",
        *,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self.prefix = prefix
        self._environ = os.environ if environ is None else environ

    def variable_for(self, name: str) -> str:
        """The environment variable that holds the secret ``name``."""
        return self.prefix + re.sub(r"[^A-Za-z0-9]", "_", name).upper()

    def get(self, name: str) -> str:
        variable = self.variable_for(name)
        value = self._environ.get(variable)
        if not value:
            raise SecretNotFound(name, where=f"the environment (variable {variable})")
        return value

    def __repr__(self) -> str:
        return f"EnvSecretStore(prefix={self.prefix!r})"
