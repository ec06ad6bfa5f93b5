"""Settings of the local SES endpoint, shared by the server, the CLI and the pytest fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_REGION",
    "DEFAULT_SECRET_ACCESS_KEY",
    "SEND_OPERATIONS",
    "LocalSESConfig",
]

# The endpoint's own test key pair.  It protects nothing (the endpoint binds to
# loopback and stores test mail only); it exists so that clients exercise the
# same signing code they use against AWS.
DEFAULT_ACCESS_KEY_ID = "AKIALOCALSES00000001"
DEFAULT_SECRET_ACCESS_KEY = "local-ses-secret-access-key-not-a-real-secret"
DEFAULT_REGION = "us-east-1"

#: Operations that send mail: the only ones faults apply to unless configured otherwise.
SEND_OPERATIONS: frozenset[str] = frozenset(
    {
        "SendEmail",
        "SendRawEmail",
        "SendTemplatedEmail",
        "SendBulkTemplatedEmail",
        "SendBulkEmail",
    }
)


@dataclass(frozen=True, kw_only=True)
class LocalSESConfig:
    """Everything that shapes how the local endpoint behaves.

    Rates and quotas count recipients, as SES does.  ``None`` means unlimited
    (reported as ``-1`` by ``GetSendQuota``/``GetAccount``).  Fault
    probabilities are per faultable request and are drawn from one
    ``random.Random(seed)``, so a given seed and request sequence always
    injects the same faults.
    """

    host: str = "127.0.0.1"
    #: 0 picks a free port; the bound port is on ``LocalSES.port``.
    port: int = 0
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    secret_access_key: str = field(default=DEFAULT_SECRET_ACCESS_KEY, repr=False)
    region: str = DEFAULT_REGION
    #: Refuse requests whose SigV4 signature does not check out.
    check_signatures: bool = True
    #: Require the sender (or its domain) to be a verified identity.
    verify_senders: bool = True
    #: Sandbox mode: recipients must be verified identities too.
    sandbox: bool = False
    #: Identities (addresses or domains) that exist and are verified from the start.
    verified_identities: tuple[str, ...] = ()
    #: Recipients per second (token bucket, burst = rate); None = unlimited.
    max_send_rate: float | None = None
    #: Recipients per sliding 24 hours; None = unlimited.
    max_24h_send: float | None = None
    #: SQLite file for messages, identities, templates, suppression list and counters.
    db: str | None = None
    #: Probability of answering a faultable request with a throttling error.
    throttle_rate: float = 0.0
    #: Probability of answering with a 500 InternalFailure or 503 ServiceUnavailable (even split).
    error_rate: float = 0.0
    #: Probability of resetting the connection before the request is processed (nothing stored).
    reset_before_rate: float = 0.0
    #: Probability of resetting the connection after the message was stored (no response).
    reset_after_rate: float = 0.0
    #: Delay added before a faultable request is processed, in milliseconds.
    latency_ms: float = 0.0
    seed: int | None = None
    #: Operations the faults above apply to.
    fault_operations: frozenset[str] = SEND_OPERATIONS
    #: Largest request body accepted, in bytes (a 40 MB v2 message grows by a third as base64).
    max_body_size: int = 64 * 1024 * 1024
    #: Log every request to stderr.
    debug: bool = False

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "error_rate", "reset_before_rate", "reset_after_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        total = self.throttle_rate + self.error_rate + self.reset_before_rate
        if total + self.reset_after_rate > 1.0 + 1e-9:
            raise ValueError("the fault probabilities add up to more than 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, got {self.latency_ms!r}")
        for name in ("max_send_rate", "max_24h_send"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (or None for unlimited), got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port!r}")
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("access_key_id and secret_access_key must not be empty")
        if not isinstance(self.fault_operations, frozenset):
            object.__setattr__(self, "fault_operations", frozenset(self.fault_operations))
        if not isinstance(self.verified_identities, tuple):
            object.__setattr__(self, "verified_identities", tuple(self.verified_identities))

    @property
    def faults_enabled(self) -> bool:
        return bool(
            self.throttle_rate
            or self.error_rate
            or self.reset_before_rate
            or self.reset_after_rate
            or self.latency_ms
        )

    def replace(self, **changes: object) -> LocalSESConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def build(cls, config: LocalSESConfig | None = None, **overrides: object) -> LocalSESConfig:
        """``config`` (or the defaults) with ``overrides`` applied."""
        base = config if config is not None else cls()
        return base.replace(**overrides) if overrides else base


def normalise_operations(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip() for name in names if name.strip())
