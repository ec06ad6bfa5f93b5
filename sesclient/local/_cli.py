"""``sesclient serve``: the local SES endpoint from the command line.

:func:`add_serve_arguments` fills an argparse parser and :func:`run_serve`
runs the endpoint until SIGINT or SIGTERM.  Importing this module is cheap:
the server is imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["DEFAULT_PORT", "add_serve_arguments", "config_from_args", "run_serve"]

DEFAULT_PORT = 8005


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    from ._config import DEFAULT_ACCESS_KEY_ID, DEFAULT_REGION

    net = parser.add_argument_group("listening")
    net.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    net.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any free one ({DEFAULT_PORT})"
    )
    net.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (1); without --db each has its own inbox and state",
    )
    auth = parser.add_argument_group("account")
    auth.add_argument(
        "--access-key-id", default=DEFAULT_ACCESS_KEY_ID, help="access key id clients sign with"
    )
    auth.add_argument(
        "--secret-access-key",
        default=None,
        help="secret key clients sign with (default: the endpoint's built-in test key)",
    )
    auth.add_argument("--region", default=DEFAULT_REGION, help=f"region served ({DEFAULT_REGION})")
    auth.add_argument("--db", help="SQLite file for the inbox and account state (default: memory)")
    auth.add_argument(
        "--no-verify",
        action="store_true",
        help="accept any sender, verified or not",
    )
    auth.add_argument(
        "--sandbox", action="store_true", help="sandbox mode: recipients must be verified too"
    )
    auth.add_argument(
        "--verified",
        action="append",
        default=[],
        metavar="IDENTITY",
        help="address or domain verified from the start (repeatable)",
    )
    auth.add_argument(
        "--no-signature-check",
        action="store_true",
        help="accept requests without checking their SigV4 signature",
    )
    limits = parser.add_argument_group("sending limits (recipients; unlimited by default)")
    limits.add_argument("--max-send-rate", type=_positive, help="recipients per second")
    limits.add_argument("--max-24h-send", type=_positive, help="recipients per 24 hours")
    faults = parser.add_argument_group("fault injection (send operations only)")
    faults.add_argument(
        "--throttle-rate", type=_probability, default=0.0, help="probability of a throttling error"
    )
    faults.add_argument(
        "--error-rate",
        type=_probability,
        default=0.0,
        help="probability of a 500 InternalFailure or 503 ServiceUnavailable",
    )
    faults.add_argument(
        "--reset-rate",
        type=_probability,
        default=0.0,
        help="probability of a connection reset, half before and half after storing the message",
    )
    faults.add_argument(
        "--reset-before-rate", type=_probability, help="probability of a reset before processing"
    )
    faults.add_argument(
        "--reset-after-rate", type=_probability, help="probability of a reset after storing"
    )
    faults.add_argument(
        "--latency-ms", type=_non_negative, default=0.0, help="delay added to each send (ms)"
    )
    faults.add_argument("--seed", type=int, help="seed for reproducible faults")
    parser.add_argument("--debug", action="store_true", help="log every request to stderr")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`LocalSESConfig` the parsed ``serve`` options describe."""
    from ._config import DEFAULT_SECRET_ACCESS_KEY, LocalSESConfig

    half = args.reset_rate / 2
    return LocalSESConfig(
        host=args.host,
        port=args.port,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key or DEFAULT_SECRET_ACCESS_KEY,
        region=args.region,
        db=args.db,
        check_signatures=not args.no_signature_check,
        verify_senders=not args.no_verify,
        sandbox=args.sandbox,
        verified_identities=tuple(args.verified),
        max_send_rate=args.max_send_rate,
        max_24h_send=args.max_24h_send,
        throttle_rate=args.throttle_rate,
        error_rate=args.error_rate,
        reset_before_rate=args.reset_before_rate if args.reset_before_rate is not None else half,
        reset_after_rate=args.reset_after_rate if args.reset_after_rate is not None else half,
        latency_ms=args.latency_ms,
        seed=args.seed,
        debug=args.debug,
    )


def run_serve(args: argparse.Namespace) -> int:
    """Run the endpoint until SIGINT/SIGTERM; 0 on a clean stop, 1 on failure."""
    try:
        config = config_from_args(args)
        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}")
    except ValueError as exc:
        print(f"sesclient serve: {exc}", file=sys.stderr)
        return 2
    from ._workers import serve_forever

    def announce(server: Any) -> None:
        config = server.config
        lines = [
            f"Local SES endpoint listening on {server.url}",
            f"  region             {config.region}",
            f"  access key id      {config.access_key_id}",
            f"  secret access key  {config.secret_access_key}",
            f"  inbox              {server.inbox_url}",
            f"  storage            {config.db or 'memory'}"
            + (f", {args.workers} workers" if args.workers > 1 else ""),
        ]
        if not config.verify_senders:
            lines.append("  senders            any (verification off)")
        if config.sandbox:
            lines.append("  sandbox            on (recipients must be verified)")
        lines.append("Press Ctrl+C to stop.")
        print("\n".join(lines), flush=True)

    try:
        serve_forever(config, workers=args.workers, on_ready=announce)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(
            f"sesclient serve: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr
        )
        return 1
    except RuntimeError as exc:
        print(f"sesclient serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    print("Local SES endpoint stopped.", flush=True)
    return 0
