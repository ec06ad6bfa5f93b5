"""The "Amazon SES Email" workflow node, free of any workflow framework.

A host application (a workflow engine) draws the node's form from
:func:`schema`, checks a saved config with :func:`validate`, and runs the
step with :meth:`SESEmailNode.execute` (or ``aexecute``, or
``execute_batch`` for many rows), passing the run's data as the context and
a :class:`SecretStore` that resolves the secret access key's reference.

Configs and outputs are plain JSON-able dicts.
"""

from __future__ import annotations

from ._errors import FieldError, NodeConfigError, NodeError
from ._expressions import ExpressionSyntaxError, MissingValueError
from ._node import SESEmailNode
from ._schema import evaluate_condition, is_required, is_visible, schema
from ._secrets import (
    EnvSecretStore,
    InMemorySecretStore,
    SecretNotFound,
    SecretRef,
    SecretStore,
    parse_secret_ref,
)
from ._validate import validate

__all__ = [
    "EnvSecretStore",
    "ExpressionSyntaxError",
    "FieldError",
    "InMemorySecretStore",
    "MissingValueError",
    "NodeConfigError",
    "NodeError",
    "SESEmailNode",
    "SecretNotFound",
    "SecretRef",
    "SecretStore",
    "evaluate_condition",
    "is_required",
    "is_visible",
    "parse_secret_ref",
    "schema",
    "validate",
]
